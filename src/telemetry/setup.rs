//! Tracing's set-up from the `OTEL_*` variables: whether it is on, the exporter (protocol,
//! endpoint, headers), the resource (`OTEL_SERVICE_NAME`, default `pulse`;
//! `OTEL_RESOURCE_ATTRIBUTES`), and the caller's `TRACEPARENT`.

use std::time::Duration;

use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry::Context;
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::trace::{BatchSpanProcessor, SdkTracer, SdkTracerProvider};
use opentelemetry_sdk::Resource;

use super::context::{parse_traceparent, TraceHeaders};
use super::export::WarnOnce;

/// How long one export may take: a collector that does not answer costs a batch of spans, never
/// the run (the batch thread waits, not pulse).
const EXPORT_TIMEOUT: Duration = Duration::from_secs(3);

/// How long `finish` waits for the last spans to go at exit.
pub(super) const FLUSH_TIMEOUT: Duration = Duration::from_secs(4);

/// What tracing does in this process, decided once from the environment.
pub(super) enum State {
    Off,
    /// Not tracing, but a caller's `TRACEPARENT` (and `TRACESTATE`) to pass on.
    PassOn(TraceHeaders),
    On(Box<On>),
}

pub(super) struct On {
    pub(super) provider: SdkTracerProvider,
    pub(super) tracer: SdkTracer,
    /// The caller's context (`TRACEPARENT`), or none: the run span is then a trace's root.
    pub(super) parent: Context,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.trim().is_empty())
}

/// What the environment asks for.
pub(super) fn from_environment() -> State {
    let caller = var("TRACEPARENT").map(|traceparent| TraceHeaders {
        traceparent: traceparent.trim().to_string(),
        tracestate: var("TRACESTATE").map(|s| s.trim().to_string()),
    });
    // A traceparent that is not one is neither continued nor passed on.
    let parent = caller
        .as_ref()
        .and_then(|caller| parse_traceparent(&caller.traceparent, caller.tracestate.as_deref()));
    let caller = caller.filter(|_| parent.is_some());
    let disabled = var("OTEL_SDK_DISABLED").is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    let endpoint =
        var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").or_else(|| var("OTEL_EXPORTER_OTLP_ENDPOINT"));
    let on = match (disabled, endpoint) {
        (false, Some(endpoint)) => start(&endpoint),
        _ => None,
    };
    match (on, caller) {
        (Some((provider, tracer)), _) => {
            let parent = match parent {
                Some(parent) => Context::new().with_remote_span_context(parent),
                None => Context::new(),
            };
            State::On(Box::new(On {
                provider,
                tracer,
                parent,
            }))
        }
        (None, Some(caller)) => State::PassOn(caller),
        (None, None) => State::Off,
    }
}

/// The protocol `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL` or `OTEL_EXPORTER_OTLP_PROTOCOL` names
/// (`http/protobuf` by default); an error for one pulse does not speak (gRPC).
fn protocol() -> Result<Protocol, String> {
    let named =
        var("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL").or_else(|| var("OTEL_EXPORTER_OTLP_PROTOCOL"));
    match named.as_deref().map(str::trim) {
        None | Some("http/protobuf") => Ok(Protocol::HttpBinary),
        Some("http/json") => Ok(Protocol::HttpJson),
        Some(other) => Err(format!(
            "OTEL_EXPORTER_OTLP_PROTOCOL={other} is not supported (http/protobuf or http/json)"
        )),
    }
}

/// The resource: `OTEL_RESOURCE_ATTRIBUTES` and `OTEL_SERVICE_NAME` as the SDK reads them, with
/// `service.name` `pulse` when neither names the service.
fn resource() -> Resource {
    let named = var("OTEL_SERVICE_NAME").is_some()
        || var("OTEL_RESOURCE_ATTRIBUTES").is_some_and(|attrs| {
            attrs
                .split(',')
                .any(|kv| kv.trim().starts_with("service.name="))
        });
    let builder = Resource::builder();
    if named {
        builder.build()
    } else {
        builder.with_service_name("pulse").build()
    }
}

/// The tracer provider and tracer exporting to `endpoint`, or none (with one warning) when the
/// exporter cannot be built.
fn start(endpoint: &str) -> Option<(SdkTracerProvider, SdkTracer)> {
    let shown = crate::redact::shown_url(endpoint);
    let warn = |words: &str| crate::output::errln!("pulse: warning: traces are not sent: {words}");
    let protocol = match protocol() {
        Ok(protocol) => protocol,
        Err(words) => {
            warn(&words);
            return None;
        }
    };
    // The endpoint, headers and compression are read from the environment by the exporter.
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(protocol)
        .with_timeout(EXPORT_TIMEOUT)
        .build();
    let exporter = match exporter {
        Ok(exporter) => exporter,
        Err(err) => {
            warn(&format!("{shown}: {err}"));
            return None;
        }
    };
    // Each export is bounded by the HTTP client's timeout (`EXPORT_TIMEOUT`).
    let processor = BatchSpanProcessor::builder(WarnOnce::new(exporter, shown)).build();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(processor)
        .with_resource(resource())
        .build();
    let tracer = provider.tracer("pulse");
    Some((provider, tracer))
}
