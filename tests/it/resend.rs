//! `pulse resend`: an event or a batch again under the same webhook-id with a fresh signature,
//! `--failed`, `--url`, stored secrets, and auth header values that are never stored.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::support::server::{Recorded, Reply, TestServer};
use crate::support::{numbered_csv, signature_matches, stderr_of, Sandbox};

const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

fn ids_of(sandbox: &Sandbox, sql: &str) -> Vec<String> {
    sandbox.texts(sql)
}

fn batch_ids(sandbox: &Sandbox) -> Vec<String> {
    ids_of(sandbox, "SELECT id FROM batches ORDER BY idx")
}

fn verified(secret: &str, r: &Recorded) -> bool {
    signature_matches(
        secret,
        r.header("webhook-id").unwrap(),
        r.header("webhook-timestamp").unwrap(),
        &r.body,
        r.header("webhook-signature").unwrap(),
    )
}

/// A server that answers 500 while `failing` is set.
fn switchable() -> (TestServer, Arc<AtomicBool>) {
    let failing = Arc::new(AtomicBool::new(false));
    let flag = failing.clone();
    let server = TestServer::start(move |_, _| {
        if flag.load(Ordering::SeqCst) {
            Reply::status(500).body("not now")
        } else {
            Reply::status(200)
        }
    });
    (server, failing)
}

#[test]
fn an_event_and_a_batch_go_again_under_the_same_webhook_id() {
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    let input = sandbox.write("d.csv", numbered_csv(5));
    sandbox
        .pulse()
        .args(["push", input.to_str().unwrap(), "--url", &server.url()])
        .args(["--batch-size", "2", "--secret", SECRET])
        .assert()
        .success();
    let event: String = sandbox.query("SELECT id FROM events").unwrap();
    sandbox
        .pulse()
        .env("PULSE_SECRET", SECRET)
        .args(["resend", &event])
        .assert()
        .success();
    let requests = server.requests();
    assert_eq!(requests.len(), 6);
    for (first, again) in requests[..3].iter().zip(&requests[3..]) {
        assert_eq!(first.header("webhook-id"), again.header("webhook-id"));
        assert_eq!(first.body, again.body, "the exact same bytes");
        assert!(verified(SECRET, again));
    }

    let second = &batch_ids(&sandbox)[1];
    sandbox
        .pulse()
        .args(["resend", second, "--secret", SECRET])
        .assert()
        .success();
    let requests = server.requests();
    assert_eq!(requests.len(), 7);
    assert_eq!(requests[6].header("webhook-id"), Some(second.as_str()));
    assert_eq!(requests[6].json()["index"], 2);
    assert!(verified(SECRET, &requests[6]));
    let attempts: i64 = sandbox
        .query(&format!(
            "SELECT count(*) FROM attempts WHERE batch_id = '{second}'"
        ))
        .unwrap();
    assert_eq!(attempts, 3, "every attempt is logged against the batch");
}

#[test]
fn failed_resends_only_undelivered_batches_and_completes_the_run() {
    let sandbox = Sandbox::new();
    let (server, failing) = switchable();
    let input = sandbox.write("d.csv", numbered_csv(5));
    // The first batch goes through, the second fails, the third is never tried.
    let first_ok = TestServer::start(|n, _| {
        if n == 0 {
            Reply::status(200)
        } else {
            Reply::status(500)
        }
    });
    sandbox
        .pulse()
        .args(["push", input.to_str().unwrap(), "--url", &first_ok.url()])
        .args(["--no-sign", "--batch-size", "2", "--retries", "0"])
        .assert()
        .code(4);
    let run = sandbox.last_run();
    let event: String = sandbox.query("SELECT id FROM events").unwrap();
    // Point the run at the switchable server, as if the receiver had been fixed.
    sandbox.execute(&format!("UPDATE runs SET url = '{}'", server.url()));
    assert!(!failing.load(Ordering::SeqCst));
    sandbox
        .pulse()
        .args(["resend", &event, "--failed"])
        .assert()
        .success();
    let indexes: Vec<u64> = server
        .requests()
        .iter()
        .map(|r| r.json()["index"].as_u64().unwrap())
        .collect();
    assert_eq!(indexes, [2, 3]);
    let status: String = sandbox.query("SELECT status FROM runs").unwrap();
    assert_eq!(status, "delivered");
    // Nothing is left to resend.
    let out = sandbox
        .pulse()
        .args(["resend", &run, "--failed"])
        .assert()
        .success();
    let stderr = stderr_of(&out);
    assert!(stderr.contains("nothing to resend"), "{stderr}");
    assert_eq!(server.requests().len(), 2);
}

#[test]
fn a_delivered_batch_stays_delivered_when_its_resend_fails() {
    let sandbox = Sandbox::new();
    let (server, failing) = switchable();
    let input = sandbox.write("d.csv", numbered_csv(2));
    sandbox
        .pulse()
        .args(["push", input.to_str().unwrap(), "--url", &server.url()])
        .args(["--no-sign"])
        .assert()
        .success();
    failing.store(true, Ordering::SeqCst);
    let batch = &batch_ids(&sandbox)[0];
    let out = sandbox
        .pulse()
        .args(["resend", batch, "--retries", "0"])
        .assert()
        .code(4);
    let stderr = stderr_of(&out);
    assert!(stderr.contains("HTTP 500"), "{stderr}");
    let status: String = sandbox.query("SELECT status FROM batches").unwrap();
    let attempts: i64 = sandbox.query("SELECT count(*) FROM attempts").unwrap();
    assert_eq!((status.as_str(), attempts), ("delivered", 2));
}

#[test]
fn another_url_gets_the_batch_but_status_is_left_alone() {
    let sandbox = Sandbox::new();
    let broken = TestServer::start(|_, _| Reply::status(500));
    let other = TestServer::ok();
    let input = sandbox.write("d.csv", numbered_csv(2));
    sandbox
        .pulse()
        .args(["push", input.to_str().unwrap(), "--url", &broken.url()])
        .args(["--no-sign", "--retries", "0"])
        .assert()
        .code(4);
    let batch = &batch_ids(&sandbox)[0];
    sandbox
        .pulse()
        .args(["resend", batch, "--url", &other.url()])
        .assert()
        .success();
    assert_eq!(
        other.requests()[0].header("webhook-id"),
        Some(batch.as_str())
    );
    let status: String = sandbox.query("SELECT status FROM batches").unwrap();
    assert_eq!(status, "failed", "delivered elsewhere is not delivered");
    let urls = ids_of(&sandbox, "SELECT url FROM attempts ORDER BY id");
    assert_eq!(urls, [broken.url(), other.url()]);
}

#[test]
fn the_stored_generated_secret_signs_again_and_a_given_one_must_be_given_again() {
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    let input = sandbox.write("d.csv", numbered_csv(1));
    sandbox
        .pulse()
        .args(["push", input.to_str().unwrap(), "--url", &server.url()])
        .assert()
        .success();
    let secret: String = sandbox.query("SELECT secret FROM secrets").unwrap();
    let batch = &batch_ids(&sandbox)[0];
    sandbox.pulse().args(["resend", batch]).assert().success();
    assert!(verified(&secret, &server.requests()[1]));

    let other = Sandbox::new();
    let input = other.write("d.csv", numbered_csv(1));
    other
        .pulse()
        .args(["push", input.to_str().unwrap(), "--url", &server.url()])
        .args(["--secret", SECRET])
        .assert()
        .success();
    let batch = &batch_ids(&other)[0];
    let out = other.pulse().args(["resend", batch]).assert().code(2);
    let stderr = stderr_of(&out);
    assert!(stderr.contains("--secret"), "{stderr}");
    assert_eq!(
        server.requests().len(),
        3,
        "nothing sent without the secret"
    );
}

#[test]
fn auth_header_values_are_asked_again_and_never_stored_or_shown() {
    let sandbox = Sandbox::new();
    let (server, failing) = switchable();
    failing.store(true, Ordering::SeqCst);
    let token = "Bearer sekrit-token-123";
    let input = sandbox.write("d.csv", numbered_csv(2));
    sandbox
        .pulse()
        .env("PULSE_AUTH_HEADER_VALUE", token)
        .args(["push", input.to_str().unwrap(), "--url", &server.url()])
        .args([
            "--no-sign",
            "--retries",
            "0",
            "--auth-header-name",
            "Authorization",
        ])
        .assert()
        .code(4);
    failing.store(false, Ordering::SeqCst);
    let run = sandbox.last_run();

    // Without the value: a usage error, and no unauthenticated request.
    let out = sandbox
        .pulse()
        .args(["resend", &run, "--failed"])
        .assert()
        .code(2);
    let stderr = stderr_of(&out);
    assert!(stderr.contains("--auth-header-value"), "{stderr}");
    assert_eq!(server.requests().len(), 1);

    sandbox
        .pulse()
        .env("PULSE_AUTH_HEADER_VALUE", token)
        .args(["resend", &run, "--failed"])
        .assert()
        .success();
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[1].header("authorization"), Some(token));

    for file in ["pulse.db", "pulse.db-wal"] {
        if let Ok(bytes) = std::fs::read(sandbox.path(file)) {
            assert!(
                !bytes.windows(6).any(|w| w == b"sekrit"),
                "auth value leaked into {file}"
            );
        }
    }
    for args in [
        vec!["log"],
        vec!["log", "--json"],
        vec!["log", run.as_str()],
        vec!["log", run.as_str(), "--json"],
    ] {
        let out = sandbox.stdout_of(&args);
        assert!(!out.contains("sekrit"), "{args:?}: {out}");
    }
    let json = sandbox.stdout_of(&["log", &run, "--json"]);
    assert!(json.contains(r#""authorization":"[redacted]""#), "{json}");
}
