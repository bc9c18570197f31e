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
                "pulse: warning: traces could not be sent to {}: {}",
                self.shown,
                in_few_words(&err.to_string())
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

/// The exporter's error (reqwest's debug text inside the SDK's) in a few words.
fn in_few_words(error: &str) -> String {
    // The SDK's text of a refused export holds the collector's URL whole: its status only.
    if let Some((_, rest)) = error.split_once("Status Code: ") {
        let code: String = rest.chars().take_while(char::is_ascii_digit).collect();
        return format!("HTTP {code}");
    }
    let words = if error.contains("TimedOut") {
        "no answer in time"
    } else if error.contains("ConnectionRefused") {
        "connection refused"
    } else if error.contains("ConnectError") || error.contains("dns error") {
        "cannot connect"
    } else {
        error.strip_prefix("Operation failed: ").unwrap_or(error)
    };
    words.to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn export_errors_are_said_in_a_few_words() {
        let refused = "Operation failed: reqwest::Error { kind: Request, source: hyper_util::\
                       client::legacy::Error(Connect, ConnectError(\"tcp connect error\", Os { \
                       code: 111, kind: ConnectionRefused }))";
        assert_eq!(super::in_few_words(refused), "connection refused");
        let slow = "Operation failed: reqwest::Error { kind: Request, source: TimedOut }";
        assert_eq!(super::in_few_words(slow), "no answer in time");
        let status = "Operation failed: OpenTelemetry trace export failed. Url: https://u:pw@c/, \
                      Status Code: 500, Response: []";
        assert_eq!(super::in_few_words(status), "HTTP 500");
    }
}
