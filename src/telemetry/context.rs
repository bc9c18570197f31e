//! W3C trace context: the `traceparent` (and `tracestate`) a request carries, and a caller's
//! `TRACEPARENT` read and checked.

use opentelemetry::trace::{SpanContext, TraceState};

/// The trace headers of a request: `traceparent` and, when there is one, `tracestate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TraceHeaders {
    pub(crate) traceparent: String,
    pub(crate) tracestate: Option<String>,
}

impl TraceHeaders {
    pub(super) fn of(context: &SpanContext) -> TraceHeaders {
        let state = context.trace_state().header();
        TraceHeaders {
            traceparent: format!(
                "00-{}-{}-{:02x}",
                context.trace_id(),
                context.span_id(),
                context.trace_flags().to_u8()
            ),
            tracestate: (!state.is_empty()).then_some(state),
        }
    }
}

/// Whether `value` is a W3C `traceparent` pulse can continue, as a span context.
pub(super) fn parse_traceparent(value: &str, state: Option<&str>) -> Option<SpanContext> {
    use opentelemetry::trace::{SpanId, TraceFlags, TraceId};
    let mut parts = value.trim().split('-');
    let (version, trace, span, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let hex = |s: &str, n: usize| {
        s.len() == n
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    if !hex(version, 2) || version == "ff" || !hex(trace, 32) || !hex(span, 16) || !hex(flags, 2) {
        return None;
    }
    // Version 00 has exactly four fields; later versions may add some.
    if version == "00" && parts.next().is_some() {
        return None;
    }
    let trace_id = TraceId::from_hex(trace).ok()?;
    let span_id = SpanId::from_hex(span).ok()?;
    if trace_id == TraceId::INVALID || span_id == SpanId::INVALID {
        return None;
    }
    let flags = TraceFlags::new(u8::from_str_radix(flags, 16).ok()? & 1);
    let state = state
        .and_then(|s| s.parse::<TraceState>().ok())
        .unwrap_or_default();
    Some(SpanContext::new(trace_id, span_id, flags, true, state))
}
