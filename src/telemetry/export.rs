//! The OTLP exporter, wrapped so that a collector that cannot be reached is said once, not at
//! every batch of spans (the SDK itself says nothing: its internal logs are not built in).

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use opentelemetry_sdk::Resource;

#[derive(Debug)]
pub(super) struct WarnOnce<E> {
    inner: E,
    /// The collector's URL, its password masked.
    shown: String,
    warned: AtomicBool,
}

impl<E> WarnOnce<E> {
    pub(super) fn new(inner: E, shown: String) -> Self {
        WarnOnce {
            inner,
            shown,
            warned: AtomicBool::new(false),
        }
    }
}

impl<E: SpanExporter> SpanExporter for WarnOnce<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let result = self.inner.export(batch).await;
        if let Err(err) = &result
            && !self.warned.swap(true, Ordering::Relaxed)
        {
            // On the batch thread: a stderr that cannot be written is no reason to stop it.
            let _ = writeln!(
                std::io::stderr().lock(),
                "pulse: warning: traces could not be sent to {}: {err}",
                self.shown
            );
        }
        result
    }

    fn shutdown_with_timeout(&mut self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&mut self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}
