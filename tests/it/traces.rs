//! OpenTelemetry traces: a collector on loopback (the test server) receiving OTLP/HTTP, and the
//! receiver's `traceparent` on every request joining them.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::server::{Recorded, Reply, TestServer};
use crate::support::{stderr_of, Sandbox};

const CALLER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

/// One span as the collector got it (OTLP/JSON).
#[derive(Debug, Clone)]
struct Span {
    name: String,
    trace: String,
    id: String,
    parent: String,
    attributes: HashMap<String, Value>,
    failed: bool,
}

impl Span {
    fn int(&self, key: &str) -> Option<i64> {
        match self.attributes.get(key)? {
            Value::String(text) => text.parse().ok(),
            other => other.as_i64(),
        }
    }

    fn text(&self, key: &str) -> Option<&str> {
        self.attributes.get(key)?.as_str()
    }
}

fn attributes(list: &Value) -> HashMap<String, Value> {
    let mut map = HashMap::new();
    for kv in list.as_array().into_iter().flatten() {
        let value = &kv["value"];
        let value = ["stringValue", "intValue", "boolValue", "doubleValue"]
            .iter()
            .find_map(|kind| value.get(kind).cloned())
            .unwrap_or(Value::Null);
        map.insert(kv["key"].as_str().unwrap().to_string(), value);
    }
    map
}

/// Every span of every OTLP/JSON export the collector got, and the resources' attributes.
fn spans(collector: &TestServer) -> (Vec<Span>, Vec<HashMap<String, Value>>) {
    let (mut spans, mut resources) = (Vec::new(), Vec::new());
    for request in collector.requests() {
        assert_eq!(request.path, "/v1/traces");
        assert_eq!(request.header("content-type"), Some("application/json"));
        let export = request.json();
        for resource in export["resourceSpans"].as_array().unwrap() {
            resources.push(attributes(&resource["resource"]["attributes"]));
            for scope in resource["scopeSpans"].as_array().unwrap() {
                for span in scope["spans"].as_array().unwrap() {
                    let text = |key: &str| span[key].as_str().unwrap_or("").to_string();
                    let code = &span["status"]["code"];
                    spans.push(Span {
                        name: text("name"),
                        trace: text("traceId").to_lowercase(),
                        id: text("spanId").to_lowercase(),
                        parent: text("parentSpanId").to_lowercase(),
                        attributes: attributes(&span["attributes"]),
                        failed: code == 2 || code == "STATUS_CODE_ERROR",
                    });
                }
            }
        }
    }
    (spans, resources)
}

fn named<'a>(spans: &'a [Span], name: &str) -> Vec<&'a Span> {
    spans.iter().filter(|span| span.name == name).collect()
}

/// `00-<trace>-<span>-<flags>`: the trace and span ids of a valid version-00 traceparent.
fn traceparent(request: &Recorded) -> (String, String) {
    let value = request.header("traceparent").expect("a traceparent");
    let parts: Vec<&str> = value.split('-').collect();
    assert_eq!(parts.len(), 4, "{value}");
    assert_eq!(parts[0], "00", "{value}");
    let hex = |s: &str, n| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    assert!(
        hex(parts[1], 32) && hex(parts[2], 16) && hex(parts[3], 2),
        "{value}"
    );
    assert_ne!(parts[1], "0".repeat(32));
    assert_ne!(parts[2], "0".repeat(16));
    (parts[1].to_string(), parts[2].to_string())
}

/// The collector's address, to which the exporter adds `/v1/traces`.
fn base(collector: &TestServer) -> String {
    format!("http://127.0.0.1:{}", collector.port)
}

fn rows(n: usize) -> String {
    let mut text = String::from("id,name\n");
    for i in 1..=n {
        text.push_str(&format!("{i},name {i}\n"));
    }
    text
}

#[test]
fn a_push_sends_run_stage_batch_and_attempt_spans_in_the_callers_trace() {
    let sandbox = Sandbox::new();
    let collector = TestServer::ok();
    // The first request is refused once: its batch has two attempts.
    let receiver = TestServer::start(|n, _| Reply::status(if n == 0 { 503 } else { 200 }));
    let input = sandbox.write("d.csv", rows(5));
    let url = receiver.url().replace("http://", "http://user:pa55word@");
    let out = sandbox
        .push_unsigned(&input, &url)
        .args(["--batch-size", "2", "--retry-schedule", "10ms"])
        .args(["--header", "Authorization: Bearer tok-secret-1"])
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", base(&collector))
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
        .env("TRACEPARENT", format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01"))
        .env("TRACESTATE", "congo=t61rcWkgMzE")
        .assert()
        .success();
    let stderr = stderr_of(&out);
    assert!(!stderr.contains("traces"), "{stderr}");

    let (spans, resources) = spans(&collector);
    assert!(
        spans.iter().all(|span| span.trace == CALLER_TRACE),
        "{spans:#?}"
    );
    let run = named(&spans, "pulse push");
    assert_eq!(run.len(), 1, "{spans:#?}");
    let run = run[0];
    assert_eq!(run.parent, CALLER_SPAN);
    assert_eq!(run.int("pulse.rows"), Some(5));
    assert_eq!(run.int("process.exit.code"), Some(0));
    assert_eq!(run.text("pulse.run.id"), Some(sandbox.last_run().as_str()));
    let stage = named(&spans, "stage");
    assert_eq!(stage.len(), 1);
    assert_eq!(stage[0].parent, run.id);
    assert_eq!(stage[0].int("pulse.rows"), Some(5));
    let batches = named(&spans, "batch");
    assert_eq!(batches.len(), 3, "{spans:#?}");
    assert!(batches.iter().all(|batch| batch.parent == run.id));
    let mut indexes: Vec<i64> = batches
        .iter()
        .filter_map(|b| b.int("pulse.batch.index"))
        .collect();
    indexes.sort();
    assert_eq!(indexes, [1, 2, 3]);
    assert!(batches.iter().all(|b| b.int("pulse.bytes").unwrap() > 0));
    let attempts = named(&spans, "attempt");
    assert_eq!(attempts.len(), 4, "{spans:#?}");
    let batch_ids: Vec<&str> = batches.iter().map(|b| b.id.as_str()).collect();
    assert!(attempts
        .iter()
        .all(|a| batch_ids.contains(&a.parent.as_str())));
    let refused: Vec<_> = attempts.iter().filter(|a| a.failed).collect();
    assert_eq!(refused.len(), 1, "{attempts:#?}");
    assert_eq!(refused[0].int("http.response.status_code"), Some(503));
    assert_eq!(refused[0].int("pulse.retry"), Some(0));
    let retried = attempts.iter().find(|a| a.int("pulse.retry") == Some(1));
    assert_eq!(
        retried.unwrap().parent,
        refused[0].parent,
        "a retry is its batch's"
    );
    assert!(
        resources.iter().all(|r| r["service.name"] == "pulse"),
        "{resources:?}"
    );

    // Every request carries its attempt span's context, and the caller's tracestate.
    let requests = receiver.requests();
    assert_eq!(requests.len(), 4);
    let mut seen = Vec::new();
    for request in &requests {
        let (trace, span) = traceparent(request);
        assert_eq!(trace, CALLER_TRACE);
        assert!(
            attempts.iter().any(|a| a.id == span),
            "{span} is no attempt's"
        );
        assert!(!seen.contains(&span), "one span per attempt");
        seen.push(span);
        assert_eq!(request.header("tracestate"), Some("congo=t61rcWkgMzE"));
    }
    // No credential reaches the collector.
    for export in collector.requests() {
        let body = String::from_utf8_lossy(&export.body);
        assert!(
            !body.contains("pa55word") && !body.contains("tok-secret-1"),
            "{body}"
        );
    }
}

#[test]
fn protobuf_is_the_default_with_the_variables_headers_and_service_name() {
    let sandbox = Sandbox::new();
    let collector = TestServer::ok();
    let receiver = TestServer::ok();
    let input = sandbox.write("d.csv", rows(3));
    sandbox
        .push_unsigned(&input, &receiver.url())
        .env(
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            format!("{}/v1/traces", base(&collector)),
        )
        .env("OTEL_EXPORTER_OTLP_HEADERS", "x-collector-key=k1")
        .env("OTEL_SERVICE_NAME", "nightly-sync")
        .assert()
        .success();
    let exports = collector.requests();
    assert!(!exports.is_empty());
    for export in &exports {
        assert_eq!(export.path, "/v1/traces");
        assert_eq!(
            export.header("content-type"),
            Some("application/x-protobuf")
        );
        assert_eq!(export.header("x-collector-key"), Some("k1"));
        assert!(!export.body.is_empty());
    }
    let body: Vec<u8> = exports.iter().flat_map(|e| e.body.clone()).collect();
    let body = String::from_utf8_lossy(&body);
    assert!(body.contains("nightly-sync") && body.contains("pulse push"));
    // A trace of pulse's own: a fresh trace id, the same on every request.
    let requests = receiver.requests();
    let (trace, _) = traceparent(&requests[0]);
    assert!(requests.iter().all(|r| traceparent(r).0 == trace));
    assert!(requests[0].header("tracestate").is_none());
}

#[test]
fn an_unreachable_collector_neither_fails_nor_holds_up_a_push() {
    let sandbox = Sandbox::new();
    let receiver = TestServer::ok();
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let input = sandbox.write("d.csv", rows(5));
    let clock = Instant::now();
    let out = sandbox
        .push_unsigned(&input, &receiver.url())
        .args(["--batch-size", "1"])
        .env(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("http://127.0.0.1:{port}"),
        )
        .assert()
        .success();
    assert!(clock.elapsed() < Duration::from_secs(30));
    let stderr = stderr_of(&out);
    assert!(
        stderr.matches("traces could not be sent").count() <= 1,
        "{stderr}"
    );
    assert_eq!(receiver.requests().len(), 5);
    assert!(receiver
        .requests()
        .iter()
        .all(|r| r.header("traceparent").is_some()));
}

#[test]
fn a_failed_delivery_still_sends_its_spans() {
    let sandbox = Sandbox::new();
    let collector = TestServer::ok();
    let receiver = TestServer::start(|_, _| Reply::status(400));
    let input = sandbox.write("d.csv", rows(2));
    sandbox
        .push_unsigned(&input, &receiver.url())
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", base(&collector))
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
        .assert()
        .code(4);
    let (spans, _) = spans(&collector);
    let run = named(&spans, "pulse push");
    assert_eq!(run.len(), 1, "{spans:#?}");
    assert!(run[0].failed);
    assert_eq!(run[0].int("process.exit.code"), Some(4));
    let batch = named(&spans, "batch");
    assert!(batch.len() == 1 && batch[0].failed, "{spans:#?}");
    let attempt = named(&spans, "attempt");
    assert_eq!(attempt.len(), 1);
    assert_eq!(attempt[0].int("http.response.status_code"), Some(400));
    assert_eq!(traceparent(&receiver.requests()[0]).1, attempt[0].id);
}

#[test]
fn without_tracing_a_callers_traceparent_is_passed_on_and_none_is_made_up() {
    let sandbox = Sandbox::new();
    let receiver = TestServer::ok();
    let input = sandbox.write("d.csv", rows(2));
    sandbox
        .push_unsigned(&input, &receiver.url())
        .assert()
        .success();
    assert!(receiver.requests()[0].header("traceparent").is_none());

    let collector = TestServer::ok();
    let caller = format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01");
    sandbox
        .push_unsigned(&input, &receiver.url())
        .arg("--force")
        .env("TRACEPARENT", &caller)
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", base(&collector))
        .env("OTEL_SDK_DISABLED", "true")
        .assert()
        .success();
    let requests = receiver.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[1].header("traceparent"), Some(caller.as_str()));
    assert!(collector.requests().is_empty(), "OTEL_SDK_DISABLED");
}

#[test]
fn a_deadline_stops_the_run_with_124_and_its_spans_are_sent() {
    let sandbox = Sandbox::new();
    let collector = TestServer::ok();
    let receiver = TestServer::start(|_, _| Reply::status(200).delay(Duration::from_millis(400)));
    let input = sandbox.write("d.csv", rows(20));
    sandbox
        .push_unsigned(&input, &receiver.url())
        .args(["--batch-size", "1", "--deadline", "1s"])
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", base(&collector))
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
        .assert()
        .code(124);
    let (spans, _) = spans(&collector);
    let run = named(&spans, "pulse push");
    assert_eq!(run.len(), 1, "{spans:#?}");
    assert_eq!(run[0].int("process.exit.code"), Some(124));
    let attempts = named(&spans, "attempt");
    assert!(!attempts.is_empty(), "{spans:#?}");
    let requests = receiver.requests();
    for request in &requests {
        let (_, span) = traceparent(request);
        assert!(
            attempts.iter().any(|a| a.id == span),
            "{span} is no attempt's"
        );
    }
}

#[test]
fn resume_and_resend_are_runs_of_their_own() {
    let sandbox = Sandbox::new();
    // The first request is refused for good: the push stops, resume delivers.
    let receiver = TestServer::start(|n, _| Reply::status(if n == 0 { 400 } else { 200 }));
    let input = sandbox.write("d.csv", rows(2));
    sandbox
        .push_unsigned(&input, &receiver.url())
        .assert()
        .code(4);
    let run_id = sandbox.last_run();
    for (command, name) in [("resume", "pulse resume"), ("resend", "pulse resend")] {
        let collector = TestServer::ok();
        sandbox
            .pulse()
            .args([command, &run_id, "--no-sign"])
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", base(&collector))
            .env("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
            .assert()
            .success();
        let (spans, _) = spans(&collector);
        let run = named(&spans, name);
        assert_eq!(run.len(), 1, "{spans:#?}");
        let batch = named(&spans, "batch");
        assert!(
            batch.len() == 1 && batch[0].parent == run[0].id,
            "{spans:#?}"
        );
        let attempt = named(&spans, "attempt");
        assert!(attempt.len() == 1 && attempt[0].parent == batch[0].id);
        let last = receiver.requests().pop().unwrap();
        assert_eq!(
            traceparent(&last),
            (run[0].trace.clone(), attempt[0].id.clone())
        );
    }
}
