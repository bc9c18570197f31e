//! OpenTelemetry traces of a run: a span for the run, for staging, for each batch and each
//! attempt, exported over OTLP/HTTP (protobuf or JSON) when `OTEL_EXPORTER_OTLP_ENDPOINT` or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set (and `OTEL_SDK_DISABLED` is not `true`); and
//! the W3C `traceparent` every attempt's request carries.
//!
//! Off, this costs a `OnceLock` read per span: no exporter is built, spans are `None`. A
//! `TRACEPARENT` in the environment with tracing off is passed on unchanged to every request
//! (W3C trace context asks a participant that does not trace to forward it).
//!
//! Why the SDK's batch processor on a thread of its own (not a simple processor, not the async
//! one): pulse stages on the main thread and delivers on a current-thread tokio runtime, so an
//! export must neither block an attempt (a simple processor sends each span as it ends) nor
//! need a runtime of pulse's. The batch thread sends through reqwest's blocking client, built
//! off any runtime; a span that ends only queues it (dropped when 2048 wait, never blocking).
//! `finish` flushes it at exit, on every path `main` takes, within `FLUSH_TIMEOUT`, so a
//! collector that is down or silent costs a run a few seconds at most and one warning.
//!
//! Spans take their parent explicitly (batches run as futures side by side on one thread, so a
//! thread's "current" span would be wrong): stage and batch spans are children of the run span
//! `start_run` opens, attempts children of their batch. No attribute holds a credential: URLs
//! are masked as the log shows them, error texts are the log's, already redacted.

mod context;
mod export;
mod setup;

use std::sync::{Mutex, OnceLock};

use opentelemetry::trace::{
    Span as _, SpanContext, SpanKind, Status, TraceContextExt, Tracer as _,
};
use opentelemetry::{Context, KeyValue};

/// An attribute's value (`"text".into()`, `3_i64.into()`).
pub(crate) use opentelemetry::Value;

pub(crate) use context::TraceHeaders;
use setup::{On, State};

static STATE: OnceLock<State> = OnceLock::new();

/// The run span open now: its context is the parent of stage and batch spans.
static RUN: Mutex<Option<opentelemetry_sdk::trace::Span>> = Mutex::new(None);

fn state() -> &'static State {
    STATE.get_or_init(setup::from_environment)
}

/// A span, or nothing when tracing is off; ended when dropped.
pub(crate) struct Span(Option<opentelemetry_sdk::trace::Span>);

impl Span {
    /// A child of this span (an attempt of a batch).
    pub(crate) fn child(&self, name: &'static str) -> Span {
        match (&self.0, state()) {
            (Some(parent), State::On(on)) => Span(Some(on.start(name, parent.span_context()))),
            _ => Span(None),
        }
    }

    /// Whether the span is traced: attributes that cost an allocation are made only then.
    pub(crate) fn is_on(&self) -> bool {
        self.0.is_some()
    }

    pub(crate) fn set(&mut self, key: &'static str, value: impl Into<Value>) {
        if let Some(span) = &mut self.0 {
            span.set_attribute(KeyValue::new(key, value));
        }
    }

    /// Marks the span failed with `text` (an error as the log keeps it).
    pub(crate) fn fail(&mut self, text: &str) {
        if let Some(span) = &mut self.0 {
            span.set_attribute(KeyValue::new("error.message", text.to_string()));
            span.set_status(Status::error(text.to_string()));
        }
    }

    /// What a request made in this span carries: this span's context when tracing, the
    /// caller's `TRACEPARENT` as it came when only passing it on, else nothing.
    pub(crate) fn headers(&self) -> Option<TraceHeaders> {
        match (&self.0, state()) {
            (Some(span), _) => Some(TraceHeaders::of(span.span_context())),
            (None, State::PassOn(headers)) => Some(headers.clone()),
            _ => None,
        }
    }
}

impl On {
    fn start(&self, name: &'static str, parent: &SpanContext) -> opentelemetry_sdk::trace::Span {
        let context = Context::new().with_remote_span_context(parent.clone());
        self.tracer
            .span_builder(name)
            .with_kind(SpanKind::Internal)
            .start_with_context(&self.tracer, &context)
    }
}

/// Opens the run span (`pulse push`, `pulse resume`, `pulse resend`), a child of the caller's
/// `TRACEPARENT` when one is set. Ended by `end_run`.
pub(crate) fn start_run(name: &'static str, attributes: Vec<(&'static str, Value)>) {
    let State::On(on) = state() else { return };
    let attributes = attributes.into_iter().map(|(k, v)| KeyValue::new(k, v));
    let span = on
        .tracer
        .span_builder(name)
        .with_kind(SpanKind::Internal)
        .with_attributes(attributes)
        .start_with_context(&on.tracer, &on.parent);
    *RUN.lock().unwrap_or_else(|e| e.into_inner()) = Some(span);
}

/// Sets an attribute of the run span open now, if any.
pub(crate) fn run_attribute(key: &'static str, value: impl Into<Value>) {
    if let Some(span) = RUN.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
        span.set_attribute(KeyValue::new(key, value));
    }
}

/// Ends the run span with how the command ended (`exit` its exit code).
pub(crate) fn end_run(error: Option<&anyhow::Error>, exit: u8) {
    let Some(mut span) = RUN.lock().unwrap_or_else(|e| e.into_inner()).take() else {
        return;
    };
    span.set_attribute(KeyValue::new("process.exit.code", i64::from(exit)));
    if let Some(err) = error {
        span.set_status(Status::error(format!("{err:#}")));
    }
    span.end();
}

/// A span under the run span open now (staging, a batch); nothing when no run span is open.
pub(crate) fn span(name: &'static str) -> Span {
    let State::On(on) = state() else {
        return Span(None);
    };
    let run = RUN.lock().unwrap_or_else(|e| e.into_inner());
    match run.as_ref() {
        Some(run) => Span(Some(on.start(name, run.span_context()))),
        None => Span(None),
    }
}

/// Sends the spans still queued and stops the exporter, within a bounded time: called by `main`
/// on every way out, so an exit 4 or 124 run's spans are sent too. Nothing when off.
pub fn finish() {
    if let Some(State::On(on)) = STATE.get() {
        // A run span still open (an error before `end_run`) is ended as it is.
        if let Some(mut span) = RUN.lock().unwrap_or_else(|e| e.into_inner()).take() {
            span.end();
        }
        // The warning, if any, was said by the exporter: a failure here says nothing more.
        let _ = on.provider.shutdown_with_timeout(setup::FLUSH_TIMEOUT);
    }
}

#[cfg(test)]
mod tests;
