//! `pulse resume` and crash safety: SIGKILL and SIGINT mid-delivery, Ctrl-C while staging,
//! restaging an unchanged file, locks against a live process, two processes on one log.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::support::server::{Recorded, Reply, TestServer};
use crate::support::{finish, numbered_csv, signal, stderr_of, wait_for, Sandbox};

const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

/// A server that answers slowly while `slow` is set, so a test can stop pulse mid-delivery.
fn slow_server() -> (TestServer, Arc<AtomicBool>) {
    TestServer::slow(Duration::from_millis(200))
}

/// Every batch of the event arrived, in order, each under exactly one webhook-id; a batch may
/// arrive twice (the one in flight when pulse died) but never out of order.
fn assert_complete_in_order(requests: &[Recorded], batches: u64) {
    let mut id_of_index: HashMap<u64, String> = HashMap::new();
    let mut index_of_id: HashMap<String, u64> = HashMap::new();
    let mut last = 0;
    for r in requests {
        let index = r.json()["index"].as_u64().unwrap();
        let id = r.header("webhook-id").unwrap().to_string();
        assert!(index >= last, "batch {index} arrived after batch {last}");
        last = index;
        assert_eq!(id_of_index.entry(index).or_insert(id.clone()), &id);
        assert_eq!(index_of_id.entry(id).or_insert(index), &index);
    }
    assert_eq!(id_of_index.len() as u64, batches, "every batch arrived");
}

#[test]
fn sigkill_during_delivery_then_resume_delivers_every_batch_once_per_id() {
    let sandbox = Sandbox::new();
    let (server, slow) = slow_server();
    let input = sandbox.write("d.csv", numbered_csv(8));
    let child = sandbox.spawn(&[
        "push",
        input.to_str().unwrap(),
        "--url",
        &server.url(),
        "--batch-size",
        "1",
        "--secret",
        SECRET,
    ]);
    wait_for("three requests", || server.requests().len() >= 3);
    let mut child = child;
    child.kill().unwrap();
    child.wait().unwrap();
    let run = sandbox.last_run();
    let status: String = sandbox.query("SELECT status FROM runs").unwrap();
    assert_eq!(status, "delivering", "SIGKILL leaves the run as it was");
    let listed = sandbox.stdout_of(&["log"]);
    assert!(listed.contains("delivering (stopped)"), "{listed}");
    assert!(sandbox.delivered_count() < 8);

    slow.store(false, Ordering::SeqCst);
    let out = sandbox
        .pulse()
        .env("PULSE_SECRET", SECRET)
        .arg("resume")
        .assert()
        .success();
    let stderr = stderr_of(&out);
    assert!(stderr.contains(&run), "{stderr}");
    assert_complete_in_order(&server.requests(), 8);
    assert_eq!(sandbox.delivered_count(), 8);
    let status: String = sandbox.query("SELECT status FROM runs").unwrap();
    assert_eq!(status, "delivered");
    sandbox.assert_every_delivered_batch_has_its_2xx();
}

#[test]
fn sigint_stops_with_130_and_the_run_resumes() {
    let sandbox = Sandbox::new();
    let (server, slow) = slow_server();
    let input = sandbox.write("d.csv", numbered_csv(6));
    let child = sandbox.spawn(&[
        "push",
        input.to_str().unwrap(),
        "--url",
        &server.url(),
        "--batch-size",
        "1",
        "--no-sign",
    ]);
    wait_for("a request", || !server.requests().is_empty());
    signal(&child, "INT");
    let (code, _, stderr) = finish(child);
    assert_eq!(code, Some(130), "{stderr}");
    let run = sandbox.last_run();
    assert!(stderr.contains(&format!("pulse resume {run}")), "{stderr}");
    let status: String = sandbox.query("SELECT status FROM runs").unwrap();
    assert_eq!(status, "interrupted");
    let sent = server.requests().len() as i64;
    let attempts: i64 = sandbox.query("SELECT count(*) FROM attempts").unwrap();
    assert_eq!(attempts, sent, "the attempt in flight was recorded");

    slow.store(false, Ordering::SeqCst);
    sandbox.pulse().args(["resume", &run]).assert().success();
    assert_complete_in_order(&server.requests(), 6);
    assert_eq!(sandbox.delivered_count(), 6);
}

#[test]
fn sigterm_during_a_retry_wait_stops_promptly_and_the_run_resumes() {
    let sandbox = Sandbox::new();
    let failing = Arc::new(AtomicBool::new(true));
    let flag = failing.clone();
    let server = TestServer::start(move |_, _| {
        Reply::status(if flag.load(Ordering::SeqCst) {
            503
        } else {
            200
        })
    });
    let input = sandbox.write("d.csv", numbered_csv(4));
    let child = sandbox.spawn(&[
        "push",
        input.to_str().unwrap(),
        "--url",
        &server.url(),
        "--batch-size",
        "2",
        "--no-sign",
        "--retry-schedule",
        "1h",
    ]);
    wait_for("the first try", || !server.requests().is_empty());
    // Let pulse record the attempt and start waiting an hour for the retry.
    wait_for("the attempt recorded", || {
        sandbox.query::<i64>("SELECT count(*) FROM attempts") == Some(1)
    });
    std::thread::sleep(Duration::from_millis(200));
    let signalled = std::time::Instant::now();
    signal(&child, "TERM");
    let (code, _, stderr) = finish(child);
    let took = signalled.elapsed();
    assert_eq!(code, Some(143), "{stderr}");
    assert!(took < Duration::from_secs(10), "took {took:?} to stop");
    let run = sandbox.last_run();
    assert!(stderr.contains(&format!("pulse resume {run}")), "{stderr}");
    let status: String = sandbox.query("SELECT status FROM runs").unwrap();
    assert_eq!(status, "interrupted");
    assert_eq!(
        server.requests().len(),
        1,
        "no retry was sent after SIGTERM"
    );

    failing.store(false, Ordering::SeqCst);
    sandbox.pulse().args(["resume", &run]).assert().success();
    assert_complete_in_order(&server.requests(), 2);
    assert_eq!(sandbox.delivered_count(), 2);
}

#[test]
fn ctrl_c_while_staging_stdin_stops_and_says_it_cannot_resume() {
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    let mut child = sandbox.spawn_with(
        &[
            "push",
            "-",
            "--url",
            &server.url(),
            "--no-sign",
            "--batch-size",
            "2",
        ],
        &[],
        Stdio::piped(),
    );
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(numbered_csv(5).as_bytes()).unwrap();
    stdin.flush().unwrap();
    wait_for("two staged batches", || {
        sandbox
            .query::<i64>("SELECT count(*) FROM batches")
            .unwrap_or(0)
            >= 2
    });
    signal(&child, "INT");
    // Staging is blocked reading stdin; the next row lets it see the interruption.
    wait_for("the interruption to be seen", || {
        let _ = stdin.write_all(b"9,late\n");
        let _ = stdin.flush();
        child.try_wait().unwrap().is_some()
    });
    drop(stdin);
    let (code, _, stderr) = finish(child);
    assert_eq!(code, Some(130), "{stderr}");
    assert!(stderr.contains("stdin"), "{stderr}");
    assert!(
        server.requests().is_empty(),
        "nothing is sent before staging ends"
    );
    let run = sandbox.last_run();
    let status: String = sandbox.query("SELECT status FROM runs").unwrap();
    assert_eq!(status, "interrupted");

    // Resuming every run abandons it, saying why, rather than failing on it.
    let out = sandbox.pulse().arg("resume").assert().success();
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains(&format!("{run} (<stdin>) is abandoned"))
            && stderr.contains("stdin, which cannot be read again"),
        "{stderr}"
    );
    let status: String = sandbox.query("SELECT status FROM runs").unwrap();
    assert_eq!(status, "abandoned");
    // Asked for by name, it says why it was abandoned.
    let out = sandbox.pulse().args(["resume", &run]).assert().code(1);
    let stderr = stderr_of(&out);
    assert!(stderr.contains("was abandoned: it read stdin"), "{stderr}");
}

/// A run that was stopped while staging: a failed push turned back into a half-staged run,
/// as SIGKILL would leave it (status `staging`, no input hash, only its first batch).
fn half_staged_run(sandbox: &Sandbox, csv: &str) -> (String, String) {
    let refusing = TestServer::start(|_, _| Reply::status(500));
    let input = sandbox.write("d.csv", csv);
    sandbox
        .pulse()
        .args(["push", input.to_str().unwrap(), "--url", &refusing.url()])
        .args(["--no-sign", "--batch-size", "2", "--retries", "0"])
        .assert()
        .code(4);
    sandbox.as_if_killed_while_staging();
    let event: String = sandbox.query("SELECT id FROM events").unwrap();
    (sandbox.last_run(), event)
}

#[test]
fn a_run_stopped_while_staging_is_restaged_from_its_unchanged_file() {
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    let (run, event) = half_staged_run(&sandbox, &numbered_csv(5));
    sandbox.execute(&format!("UPDATE runs SET url = '{}'", server.url()));
    // Run from elsewhere: the stored absolute path finds the file.
    sandbox
        .pulse()
        .current_dir("/")
        .args(["resume", &run])
        .assert()
        .success();
    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    for (i, r) in requests.iter().enumerate() {
        let body = r.json();
        assert_eq!(body["id"], event.as_str(), "the event keeps its id");
        assert_eq!(body["index"], i as u64 + 1);
        assert_eq!(body["count"], 3);
        assert_eq!(body["totalRows"], 5);
    }
    let rows: Vec<String> = requests
        .iter()
        .flat_map(|r| r.json()["data"].as_array().unwrap().clone())
        .map(|row| row["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(rows, ["1", "2", "3", "4", "5"]);
    let batches: i64 = sandbox.query("SELECT count(*) FROM batches").unwrap();
    let hash: Option<String> = sandbox.query("SELECT source_hash FROM runs").unwrap();
    assert_eq!(batches, 3, "the partial batch was replaced, not kept");
    assert!(hash.is_some());
}

#[test]
fn a_changed_file_is_not_restaged() {
    let sandbox = Sandbox::new();
    let csv = numbered_csv(5);
    let (run, _) = half_staged_run(&sandbox, &csv);
    // Same size, different bytes.
    sandbox.write("d.csv", csv.replace("name 1", "nome 1"));
    let out = sandbox.pulse().args(["resume", &run]).assert().code(1);
    let stderr = stderr_of(&out);
    assert!(stderr.contains("changed since it was pushed"), "{stderr}");
    assert!(stderr.contains("content differs"), "{stderr}");
    assert!(stderr.contains("is abandoned"), "{stderr}");
    // Abandoned for good, with its reason, even once the file is back as it was.
    sandbox.write("d.csv", &csv);
    let out = sandbox.pulse().args(["resume", &run]).assert().code(1);
    let stderr = stderr_of(&out);
    assert!(stderr.contains("was abandoned: "), "{stderr}");
    assert!(stderr.contains("content differs"), "{stderr}");
    let batches: i64 = sandbox.query("SELECT count(*) FROM batches").unwrap();
    assert_eq!(batches, 1, "a refused resume changes nothing");
    let shown = sandbox.stdout_of(&["log", &run]);
    assert!(
        shown.contains("abandoned") && shown.contains("why       "),
        "{shown}"
    );
    // Another size is a reason too.
    let sandbox = Sandbox::new();
    let (run, _) = half_staged_run(&sandbox, &csv);
    sandbox.write("d.csv", format!("{csv}6,name 6\n"));
    let out = sandbox.pulse().args(["resume", &run]).assert().code(1);
    let stderr = stderr_of(&out);
    assert!(stderr.contains("bytes"), "{stderr}");
}

#[test]
fn a_run_another_process_is_sending_is_left_alone() {
    let sandbox = Sandbox::new();
    let (server, slow) = slow_server();
    let input = sandbox.write("d.csv", numbered_csv(4));
    let child = sandbox.spawn(&[
        "push",
        input.to_str().unwrap(),
        "--url",
        &server.url(),
        "--batch-size",
        "1",
        "--no-sign",
    ]);
    wait_for("a request", || !server.requests().is_empty());
    let run = sandbox.last_run();
    let out = sandbox.pulse().args(["resume", &run]).assert().code(1);
    let stderr = stderr_of(&out);
    assert!(stderr.contains("another pulse process"), "{stderr}");
    let out = sandbox.pulse().arg("resume").assert().success();
    let stderr = stderr_of(&out);
    assert!(stderr.contains("being sent by another process"), "{stderr}");
    let listed = sandbox.stdout_of(&["log", "--json"]);
    assert!(listed.contains(r#""running":true"#), "{listed}");
    slow.store(false, Ordering::SeqCst);
    let (code, _, stderr) = finish(child);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(server.requests().len(), 4, "no batch was sent twice");
}

#[test]
fn resume_takes_runs_only_and_is_quiet_when_all_is_delivered() {
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    let input = sandbox.write("d.csv", numbered_csv(2));
    sandbox
        .push_unsigned(&input, &server.url())
        .assert()
        .success();
    let event: String = sandbox.query("SELECT id FROM events").unwrap();
    let out = sandbox.pulse().args(["resume", &event]).assert().code(2);
    let stderr = stderr_of(&out);
    assert!(stderr.contains("pulse resend"), "{stderr}");
    let out = sandbox.pulse().arg("resume").assert().success();
    let stderr = stderr_of(&out);
    assert!(stderr.contains("nothing to resume"), "{stderr}");
    let run = sandbox.last_run();
    let out = sandbox.pulse().args(["resume", &run]).assert().success();
    let stderr = stderr_of(&out);
    assert!(stderr.contains("already delivered"), "{stderr}");
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn two_pushes_setting_up_a_new_log_at_once_both_run() {
    if crate::support::on_postgres() {
        return; // SQLite's own set-up: a new file switched to WAL.
    }
    // Each round a fresh log that both create and set up at the same moment; SQLite answered
    // one of them busy without waiting in about half the rounds before set-up was retried.
    for _ in 0..12 {
        let sandbox = Sandbox::new();
        let input = sandbox.write("a.csv", "id\n1\n");
        let push = |path: &str| {
            let url = format!("http://127.0.0.1:9/{path}");
            sandbox.spawn(&[
                "push",
                input.to_str().unwrap(),
                "--url",
                &url,
                "--retries",
                "0",
            ])
        };
        let (first, second) = (push("a"), push("b"));
        for child in [first, second] {
            let (code, _, stderr) = finish(child);
            assert_eq!(code, Some(4), "only the closed port fails it: {stderr}");
            assert!(!stderr.contains("busy"), "{stderr}");
        }
    }
}

#[test]
fn two_pushes_and_a_log_share_one_database() {
    let sandbox = Sandbox::new();
    let server = TestServer::start(|_, _| Reply::status(200).delay(Duration::from_millis(5)));
    let a = sandbox.write("a.csv", numbered_csv(40));
    let b = sandbox.write("b.csv", numbered_csv(40));
    let push = |path: &std::path::Path| {
        sandbox.spawn(&[
            "push",
            path.to_str().unwrap(),
            "--url",
            &server.url(),
            "--batch-size",
            "2",
        ])
    };
    // Both generate-or-reuse the URL's secret at once: they must agree on one.
    let mut first = push(&a);
    let mut second = push(&b);
    // Until both runs are in the log, or a push ended (its exit code and stderr are checked
    // below).
    wait_for("both runs to start", || {
        sandbox
            .query::<i64>("SELECT count(*) FROM runs")
            .unwrap_or(0)
            == 2
            || first.try_wait().unwrap().is_some()
            || second.try_wait().unwrap().is_some()
    });
    for _ in 0..3 {
        sandbox.pulse().arg("log").assert().success();
    }
    for child in [first, second] {
        let (code, _, stderr) = finish(child);
        assert_eq!(code, Some(0), "{stderr}");
    }
    assert_eq!(sandbox.delivered_count(), 40);
    let secret: String = sandbox.query("SELECT secret FROM secrets").unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 40);
    let mut by_event: HashMap<String, Vec<Recorded>> = HashMap::new();
    for r in requests {
        assert!(crate::support::signature_matches(
            &secret,
            r.header("webhook-id").unwrap(),
            r.header("webhook-timestamp").unwrap(),
            &r.body,
            r.header("webhook-signature").unwrap()
        ));
        by_event
            .entry(r.json()["id"].as_str().unwrap().to_string())
            .or_default()
            .push(r);
    }
    assert_eq!(by_event.len(), 2);
    for requests in by_event.values() {
        assert_complete_in_order(requests, 20);
    }
    let out = sandbox.stdout_of(&["log"]);
    assert_eq!(out.matches("delivered").count(), 2, "{out}");
}

#[test]
fn a_resumed_mirror_run_makes_its_state_current() {
    let sandbox = Sandbox::new();
    let refusing = TestServer::start(|_, _| Reply::status(500));
    let input = sandbox.write("people.csv", "id,email\n1,a@x.io\n2,b@x.io\n");
    let path = input.to_str().unwrap();
    let mirror = [
        "--mode",
        "mirror",
        "--key",
        "id",
        "--sync",
        "people",
        "--no-sign",
    ];
    sandbox
        .pulse()
        .args(["push", path, "--url", &refusing.url(), "--retries", "0"])
        .args(mirror)
        .assert()
        .code(4);
    let server = TestServer::ok();
    sandbox.execute(&format!("UPDATE runs SET url = '{}'", server.url()));
    sandbox.pulse().arg("resume").assert().success();
    let ops: Vec<String> = crate::support::rows_of(&server.requests())
        .iter()
        .map(|r| r["__op"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ops, ["upsert", "upsert"]);
    // The resumed run's state is the sync's state now: the same file again sends nothing.
    sandbox
        .pulse()
        .args(["push", path, "--url", &server.url()])
        .args(mirror)
        .assert()
        .success();
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn a_run_refused_for_invalid_rows_is_never_resumed() {
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    let input = sandbox.write("d.csv", "a,b\n1,2\n3\n");
    sandbox
        .pulse()
        .args(["push", input.to_str().unwrap(), "--url", &server.url()])
        .args(["--no-sign", "--fail-on-invalid"])
        .assert()
        .code(3);
    let run = sandbox.last_run();
    let out = sandbox.pulse().arg("resume").assert().success();
    let stderr = stderr_of(&out);
    assert!(stderr.contains("nothing to resume"), "{stderr}");
    let out = sandbox.pulse().args(["resume", &run]).assert().code(1);
    let stderr = stderr_of(&out);
    assert!(stderr.contains("--fail-on-invalid"), "{stderr}");
    sandbox.pulse().args(["resend", &run]).assert().code(1);
    assert!(server.requests().is_empty());
    let status: String = sandbox.query("SELECT status FROM runs").unwrap();
    assert_eq!(status, "invalid");
}

#[test]
fn sigkill_then_the_same_push_again_continues_the_run_under_its_webhook_ids() {
    let sandbox = Sandbox::new();
    let (server, slow) = slow_server();
    let input = sandbox.write("d.csv", numbered_csv(8));
    let args = [
        "push",
        input.to_str().unwrap(),
        "--url",
        &server.url(),
        "--batch-size",
        "1",
        "--secret",
        SECRET,
    ];
    sandbox.kill_once(&args, "three requests", || server.requests().len() >= 3);
    let run = sandbox.last_run();

    // The obvious retry: the very same command.
    slow.store(false, Ordering::SeqCst);
    let out = sandbox.pulse().args(args).assert().success();
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains(&format!("pushed already as {run}")),
        "{stderr}"
    );
    let runs: i64 = sandbox.query("SELECT count(*) FROM runs").unwrap();
    assert_eq!(runs, 1, "not staged twice");
    assert_eq!(sandbox.delivered_count(), 8);
    // Every row under one webhook-id only: a batch in flight at the kill may come twice, but
    // under its own id.
    let mut ids_by_row: HashMap<u64, HashSet<String>> = HashMap::new();
    for request in server.requests() {
        let id = request.header("webhook-id").unwrap().to_string();
        for row in request.json()["data"].as_array().unwrap() {
            ids_by_row
                .entry(row["__index"].as_u64().unwrap())
                .or_default()
                .insert(id.clone());
        }
    }
    assert_eq!(ids_by_row.len(), 8);
    assert!(
        ids_by_row.values().all(|ids| ids.len() == 1),
        "{ids_by_row:?}"
    );
}
