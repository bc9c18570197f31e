use super::context::{parse_traceparent, TraceHeaders};

#[test]
fn a_traceparent_is_read_as_w3c_writes_it() {
    let value = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let context = parse_traceparent(value, Some("congo=t61rcWkgMzE")).unwrap();
    assert_eq!(
        context.trace_id().to_string(),
        "4bf92f3577b34da6a3ce929d0e0e4736"
    );
    assert_eq!(context.span_id().to_string(), "00f067aa0ba902b7");
    assert!(context.is_sampled() && context.is_remote());
    let headers = TraceHeaders::of(&context);
    assert_eq!(headers.traceparent, value);
    assert_eq!(headers.tracestate.as_deref(), Some("congo=t61rcWkgMzE"));
}

#[test]
fn a_damaged_traceparent_is_refused() {
    for value in [
        "",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
    ] {
        assert!(parse_traceparent(value, None).is_none(), "{value}");
    }
    // A later version may add fields after the four it shares with 00.
    let later = "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra";
    assert!(parse_traceparent(later, None).is_some());
}

#[test]
fn an_unsampled_caller_stays_unsampled() {
    let value = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";
    let context = parse_traceparent(value, None).unwrap();
    assert!(!context.is_sampled());
    assert_eq!(TraceHeaders::of(&context).traceparent, value);
    assert_eq!(TraceHeaders::of(&context).tracestate, None);
}
