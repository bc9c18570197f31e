//! Retries, backoff, Retry-After, fail-fast answers and timeouts, against loopback servers.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::receive::Receiver;
use crate::support::server::{Reply, TestServer};
use crate::support::{stderr_of, Sandbox};

fn csv(rows: usize) -> String {
    let mut text = String::from("id,name\n");
    for i in 1..=rows {
        text.push_str(&format!("{i},name {i}\n"));
    }
    text
}

fn attempts_in_log(sandbox: &Sandbox) -> Vec<(String, i64)> {
    sandbox
        .rows("SELECT batch_id, http_status FROM attempts ORDER BY id")
        .into_iter()
        .map(|row| {
            (
                row[0].as_str().unwrap().to_string(),
                row[1].as_i64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn retryable_answers_are_retried_until_delivered() {
    let sandbox = Sandbox::new();
    let server = TestServer::start(|n, _| match n {
        0 => Reply::status(503),
        1 => Reply::status(429),
        2 => Reply::status(408),
        _ => Reply::status(200),
    });
    let input = sandbox.write("d.csv", csv(3));
    let out = sandbox
        .push_unsigned(&input, &server.url())
        .args(["--retry-schedule", "10ms", "--retries", "5"])
        .assert()
        .success();
    let stderr = stderr_of(&out);
    assert!(stderr.contains("batch 1/1"), "{stderr}");
    assert!(
        stderr.contains("batch 1/1 (all): HTTP 503, retry 1/5"),
        "one line per retry: {stderr}"
    );
    assert!(stderr.contains("retry 3/5"), "{stderr}");
    let requests = server.requests();
    assert_eq!(requests.len(), 4);
    let id = requests[0].header("webhook-id").unwrap();
    assert!(
        requests.iter().all(|r| r.header("webhook-id") == Some(id)),
        "same id on every retry"
    );
    let statuses: Vec<i64> = attempts_in_log(&sandbox).into_iter().map(|a| a.1).collect();
    assert_eq!(statuses, vec![503, 429, 408, 200]);
}

#[test]
fn retry_after_seconds_and_dates_are_honoured() {
    for as_date in [false, true] {
        let sandbox = Sandbox::new();
        let said = Arc::new(std::sync::Mutex::new(String::new()));
        let header = said.clone();
        let server = TestServer::start(move |n, _| {
            if n == 0 {
                // Made as the request comes: a date 2 s ahead, to the second, is at least 1 s
                // after the request (a date made earlier, before a slow set-up, may not be).
                let value = if as_date {
                    httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(2))
                } else {
                    "1".to_string()
                };
                *header.lock().unwrap() = value.clone();
                let mut reply = Reply::status(429);
                reply.headers.push(("retry-after".into(), value));
                reply
            } else {
                Reply::status(200)
            }
        });
        let input = sandbox.write("d.csv", csv(1));
        let clock = Instant::now();
        sandbox
            .push_unsigned(&input, &server.url())
            .args(["--retry-schedule", "10ms", "--quiet"])
            .assert()
            .success();
        assert_eq!(server.requests().len(), 2);
        // A lower bound only: pulse never waits less than the server asked (HTTP dates have
        // one-second resolution, hence the 900 ms).
        let value = said.lock().unwrap().clone();
        assert!(
            clock.elapsed() >= Duration::from_millis(900),
            "{value}: {:?}",
            clock.elapsed()
        );
    }
}

#[test]
fn retry_after_is_capped() {
    let sandbox = Sandbox::new();
    let server = TestServer::start(|n, _| {
        if n == 0 {
            let mut reply = Reply::status(503);
            reply.headers.push(("retry-after".into(), "3600".into()));
            reply
        } else {
            Reply::status(200)
        }
    });
    let input = sandbox.write("d.csv", csv(1));
    sandbox
        .push_unsigned(&input, &server.url())
        .args(["--retry-schedule", "10ms", "--max-retry-after", "50ms"])
        .timeout(Duration::from_secs(60))
        .assert()
        .success();
    assert_eq!(server.requests().len(), 2);
}

#[test]
fn final_answers_fail_fast_with_one_attempt() {
    for (status, words) in [
        (400, "HTTP 400"),
        (404, "HTTP 404"),
        (410, "gone"),
        (301, "redirects are not followed"),
        (302, "to /elsewhere"),
    ] {
        let sandbox = Sandbox::new();
        let server = TestServer::start(move |_, _| {
            let mut reply = Reply::status(status).body("{\"error\":\"nope\"}");
            reply.headers.push(("location".into(), "/elsewhere".into()));
            reply
        });
        let input = sandbox.write("d.csv", csv(4));
        let out = sandbox
            .push_unsigned(&input, &server.url())
            .args(["--batch-size", "2", "--retry-schedule", "10ms"])
            .assert()
            .code(4);
        let stderr = stderr_of(&out);
        assert!(stderr.contains(words), "{status}: {stderr}");
        assert!(stderr.contains("nope"), "response snippet shown: {stderr}");
        assert_eq!(
            server.requests().len(),
            1,
            "{status}: no retry, no next batch"
        );
        assert_eq!(attempts_in_log(&sandbox).len(), 1);
    }
}

#[test]
fn retries_run_out_then_exit_4() {
    let sandbox = Sandbox::new();
    let server = TestServer::start(|_, _| Reply::status(502).body("bad gateway"));
    let input = sandbox.write("d.csv", csv(2));
    let out = sandbox
        .push_unsigned(&input, &server.url())
        .args(["--retry-schedule", "1ms,2ms", "--retries", "3", "--quiet"])
        .assert()
        .code(4);
    let stderr = stderr_of(&out);
    assert!(stderr.contains("after 4 attempts"), "{stderr}");
    assert!(
        !stderr.contains("retry 1/"),
        "--quiet hides retry lines: {stderr}"
    );
    assert_eq!(server.requests().len(), 4);
}

#[test]
fn hung_receiver_hits_the_timeout() {
    let sandbox = Sandbox::new();
    let server = TestServer::start(|_, _| {
        let mut reply = Reply::status(200);
        reply.delay = Duration::from_secs(30);
        reply
    });
    let input = sandbox.write("d.csv", csv(1));
    let out = sandbox
        .push_unsigned(&input, &server.url())
        .args([
            "--timeout",
            "200ms",
            "--retries",
            "1",
            "--retry-schedule",
            "10ms",
        ])
        .timeout(Duration::from_secs(25))
        .assert()
        .code(4);
    let stderr = stderr_of(&out);
    assert!(stderr.contains("timed out"), "{stderr}");
    assert!(stderr.contains("(all): timed out, retry 1/1"), "{stderr}");
    assert!(
        !stderr.contains("timed out: operation timed out"),
        "{stderr}"
    );
    let attempts = attempts_in_log(&sandbox);
    assert_eq!(attempts.len(), 2);
    assert!(attempts.iter().all(|a| a.1 == 0), "no response is status 0");
}

#[test]
fn nothing_listening_is_a_network_error_after_retries() {
    let sandbox = Sandbox::new();
    // Bind then drop, so the port is (almost certainly) closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let input = sandbox.write("d.csv", csv(1));
    let out = sandbox
        .pulse()
        .args([
            "push",
            input.to_str().unwrap(),
            "--url",
            &format!("http://127.0.0.1:{port}/"),
        ])
        .args(["--no-sign", "--retries", "2", "--retry-schedule", "5ms"])
        .assert()
        .code(4);
    let stderr = stderr_of(&out);
    assert!(stderr.contains("cannot connect"), "{stderr}");
    // The retry note names the error's kind, not just "no response".
    assert!(
        stderr.contains("batch 1/1 (all): connection refused, retry 1/2"),
        "{stderr}"
    );
    assert_eq!(attempts_in_log(&sandbox).len(), 3);
}

#[test]
fn soak_under_failures_and_drops_delivers_every_batch_once_in_order() {
    let sandbox = Sandbox::new();
    let rows_out = sandbox.path("rows.jsonl");
    let receiver = Receiver::start(&[
        "--fail-rate",
        "0.3",
        "--drop-rate",
        "0.1",
        "--seed",
        "7",
        "--out",
        rows_out.to_str().unwrap(),
    ]);
    let input = sandbox.write("d.csv", csv(600));
    sandbox
        .pulse()
        .args([
            "push",
            input.to_str().unwrap(),
            "--url",
            &receiver.url(),
            "--no-sign",
        ])
        .args([
            "--batch-size",
            "10",
            "--retries",
            "30",
            "--retry-schedule",
            "1ms",
            "--quiet",
        ])
        .timeout(Duration::from_secs(120))
        .assert()
        .success();
    let lines = receiver.lines();
    let rows: Vec<serde_json::Value> = std::fs::read_to_string(&rows_out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 600, "every row exactly once");
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row["__index"], i as u64 + 1, "in order");
    }
    let injected = lines.iter().filter(|l| l.contains("injected")).count();
    let dropped = lines.iter().filter(|l| l.starts_with("dropped")).count();
    let accepted = lines.iter().filter(|l| l.contains("rows unsigned")).count();
    assert_eq!(accepted, 60);
    assert!(
        injected > 0 && dropped > 0,
        "faults were injected: {injected} {dropped}"
    );
    assert!(
        !lines.iter().any(|l| l.contains("duplicate")),
        "no batch delivered twice"
    );
    let attempts = attempts_in_log(&sandbox);
    assert_eq!(
        attempts.len(),
        injected + dropped + accepted,
        "one logged attempt per request"
    );
    assert_eq!(attempts.iter().filter(|a| a.1 == 0).count(), dropped);
}

#[test]
fn receiver_fail_first_and_retry_after_flags() {
    let sandbox = Sandbox::new();
    let receiver = Receiver::start(&["--fail-first", "2", "--status", "429", "--retry-after", "0"]);
    let input = sandbox.write("d.csv", csv(2));
    sandbox
        .pulse()
        .args([
            "push",
            input.to_str().unwrap(),
            "--url",
            &receiver.url(),
            "--no-sign",
        ])
        .args(["--batch-size", "1", "--retry-schedule", "5ms", "--quiet"])
        .assert()
        .success();
    let lines = receiver.lines();
    let injected = lines.iter().filter(|l| l.starts_with("429")).count();
    assert_eq!(injected, 4, "two failures per webhook-id: {lines:?}");
    let statuses: Vec<i64> = attempts_in_log(&sandbox).into_iter().map(|a| a.1).collect();
    assert_eq!(statuses, vec![429, 429, 200, 429, 429, 200]);
}

#[test]
fn insecure_warns_and_bad_cacert_is_a_usage_error() {
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    let input = sandbox.write("d.csv", csv(1));
    let out = sandbox
        .pulse()
        .args([
            "push",
            input.to_str().unwrap(),
            "--url",
            &server.url(),
            "--no-sign",
            "--insecure",
        ])
        .assert()
        .success();
    let stderr = stderr_of(&out);
    assert!(stderr.contains("warning: --insecure"), "{stderr}");
    let bad = sandbox.write("ca.pem", "not a certificate");
    sandbox
        .push_unsigned(&input, &server.url())
        .args(["--cacert", bad.to_str().unwrap(), "--force"])
        .assert()
        .code(2);
}

#[test]
fn resume_after_a_failure_completes_in_order() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let sandbox = Sandbox::new();
    let healthy = Arc::new(AtomicBool::new(false));
    let switch = healthy.clone();
    // Batch 2 fails until the receiver is "fixed".
    let server = TestServer::start(move |n, _| {
        if n == 0 || switch.load(Ordering::SeqCst) {
            Reply::status(200)
        } else {
            Reply::status(503)
        }
    });
    let input = sandbox.write("d.csv", csv(6));
    sandbox
        .push_unsigned(&input, &server.url())
        .args([
            "--batch-size",
            "2",
            "--retries",
            "1",
            "--retry-schedule",
            "5ms",
            "--quiet",
        ])
        .assert()
        .code(4);
    healthy.store(true, Ordering::SeqCst);
    sandbox
        .pulse()
        .args(["resume", "--retry-schedule", "5ms", "--quiet"])
        .assert()
        .success();
    // Requests: batch 1 (200), batch 2 twice (503), then after resume batch 2 and 3 (200).
    let requests = server.requests();
    let indexes: Vec<u64> = requests
        .iter()
        .map(|r| r.json()["index"].as_u64().unwrap())
        .collect();
    assert_eq!(indexes, vec![1, 2, 2, 2, 3]);
    let ids: Vec<&str> = requests
        .iter()
        .map(|r| r.header("webhook-id").unwrap())
        .collect();
    assert_eq!(
        ids[1], ids[2],
        "retries and the resume share the webhook-id"
    );
    assert_eq!(ids[2], ids[3]);
}
