//! `pulse log`: run lines, a run/event/batch with its attempts, `--failed`, `--limit`,
//! `--since`, `--json`, unknown ids and a closed pipe.

use std::io::{BufRead, BufReader};

use serde_json::Value;

use crate::support::server::{Reply, TestServer};
use crate::support::{numbered_csv, stderr_of, Sandbox};

/// One delivered run (3 batches) and one that failed on its second batch with a 500.
fn two_runs(sandbox: &Sandbox) -> (String, String) {
    let ok = TestServer::ok();
    let input = sandbox.write("d.csv", numbered_csv(5));
    let path = input.to_str().unwrap();
    sandbox
        .pulse()
        .args([
            "push",
            path,
            "--url",
            &ok.url(),
            "--no-sign",
            "--batch-size",
            "2",
        ])
        .assert()
        .success();
    let delivered = sandbox.last_run();
    let failing = TestServer::start(|n, _| {
        if n == 0 {
            Reply::status(200)
        } else {
            Reply::status(500).body("database on fire")
        }
    });
    sandbox
        .pulse()
        .args(["push", path, "--url", &failing.url(), "--no-sign"])
        .args(["--batch-size", "2", "--retries", "0"])
        .assert()
        .code(4);
    let failed = sandbox.last_run();
    assert_ne!(delivered, failed);
    (delivered, failed)
}

fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn runs_are_listed_newest_first_one_line_each() {
    let sandbox = Sandbox::new();
    let (delivered, failed) = two_runs(&sandbox);
    let out = sandbox.stdout_of(&["log"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines[0].starts_with(&failed), "{out}");
    assert!(
        lines[0].contains("failed") && lines[0].contains("1/3 batches"),
        "{out}"
    );
    assert!(lines[0].contains("5 rows (5 valid, 0 invalid)"), "{out}");
    assert!(lines[0].contains("d.csv -> http://127.0.0.1:"), "{out}");
    assert!(lines[1].starts_with(&delivered), "{out}");
    assert!(
        lines[1].contains("delivered") && lines[1].contains("3/3 batches"),
        "{out}"
    );
}

#[test]
fn a_run_shows_its_events_batches_and_attempts() {
    let sandbox = Sandbox::new();
    let (_, failed) = two_runs(&sandbox);
    let out = sandbox.stdout_of(&["log", &failed]);
    assert!(out.starts_with(&format!("{failed}  failed")), "{out}");
    assert!(out.contains("batches   1/3 delivered"), "{out}");
    assert!(
        out.contains(" all: 5 rows in 3 batches, 1 delivered"),
        "{out}"
    );
    assert!(out.contains("batch 1/3 msg_"), "{out}");
    assert!(out.contains("HTTP 200"), "{out}");
    assert!(out.contains("HTTP 500"), "{out}");
    assert!(out.contains("database on fire"), "{out}");
    assert!(
        out.contains("batch 3/3") && out.contains("pending"),
        "{out}"
    );

    // An event id shows the same event; a batch id only that batch and its attempts.
    let lines = json_lines(&sandbox.stdout_of(&["log", &failed, "--json"]));
    let event = lines.iter().find(|l| l["type"] == "event").unwrap();
    let event_id = event["id"].as_str().unwrap();
    let by_event = sandbox.stdout_of(&["log", event_id]);
    assert!(by_event.contains("batch 3/3"), "{by_event}");
    let second = lines
        .iter()
        .find(|l| l["type"] == "batch" && l["index"] == 2)
        .unwrap();
    let batch_id = second["id"].as_str().unwrap();
    let by_batch = sandbox.stdout_of(&["log", batch_id]);
    assert!(
        by_batch.contains(&format!("batch 2/3 {batch_id}")),
        "{by_batch}"
    );
    assert!(!by_batch.contains("batch 1/3"), "{by_batch}");
    assert!(by_batch.contains("HTTP 500"), "{by_batch}");
    assert!(by_batch.contains("3 batches, 1 delivered"), "{by_batch}");
}

#[test]
fn json_lines_have_stable_fields() {
    let sandbox = Sandbox::new();
    let (delivered, failed) = two_runs(&sandbox);
    let runs = json_lines(&sandbox.stdout_of(&["log", "--json"]));
    assert_eq!(runs.len(), 2);
    let run = &runs[1];
    assert_eq!(run["type"], "run");
    assert_eq!(run["id"], delivered.as_str());
    assert_eq!(run["status"], "delivered");
    assert_eq!(run["running"], false);
    assert_eq!(run["rows"]["total"], 5);
    assert_eq!(run["batches"], 3);
    assert_eq!(run["delivered"], 3);
    assert!(run["started_at"].as_str().unwrap().ends_with('Z'));
    for field in ["finished_at", "source", "source_size", "url"] {
        assert!(!run[field].is_null(), "{field}: {run}");
    }

    let detail = json_lines(&sandbox.stdout_of(&["log", &failed, "--json"]));
    let types: Vec<&str> = detail.iter().map(|l| l["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        ["run", "event", "batch", "attempt", "batch", "attempt", "batch"]
    );
    let batch = &detail[4];
    assert_eq!(batch["index"], 2);
    assert_eq!(batch["count"], 3);
    assert_eq!(batch["status"], "failed");
    assert_eq!(batch["last_status"], 500);
    assert_eq!(batch["attempts"], 1);
    let attempt = &detail[5];
    assert_eq!(attempt["batch_id"], batch["id"]);
    assert_eq!(attempt["http_status"], 500);
    assert_eq!(attempt["response"], "database on fire");
    assert!(attempt["duration_ms"].is_u64());
    assert_eq!(
        attempt["request_headers"]["webhook-id"], batch["id"],
        "{attempt}"
    );
}

#[test]
fn failed_lists_undelivered_batches_with_their_last_answer() {
    let sandbox = Sandbox::new();
    let (_, failed) = two_runs(&sandbox);
    let out = sandbox.stdout_of(&["log", "--failed"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines[0].contains(&failed) && lines[0].contains("all 2/3"),
        "{out}"
    );
    assert!(lines[0].contains("HTTP 500"), "{out}");
    assert!(
        lines[1].contains("all 3/3") && lines[1].contains("never tried"),
        "{out}"
    );
    // The same for one run, and as JSON.
    let json = json_lines(&sandbox.stdout_of(&["log", &failed, "--failed", "--json"]));
    assert_eq!(json.len(), 2);
    assert_eq!(json[0]["last_status"], 500);
    assert_eq!(json[1]["last_status"], Value::Null);
    assert_eq!(json[1]["status"], "pending");
    assert_eq!(json[1]["run_status"], "failed");
    // A cancelled run will never be sent: it is no failure to act on, unless --all asks.
    sandbox.pulse().args(["cancel", &failed]).assert().success();
    let out = sandbox.stdout_of(&["log", "--failed"]);
    assert_eq!(out.lines().count(), 0, "{out}");
    let json = json_lines(&sandbox.stdout_of(&["log", "--failed", "--all", "--json"]));
    assert_eq!(json.len(), 2);
    assert!(json.iter().all(|line| line["run_status"] == "cancelled"));
}

#[test]
fn limit_and_since_narrow_the_list() {
    let sandbox = Sandbox::new();
    two_runs(&sandbox);
    assert_eq!(
        sandbox.stdout_of(&["log", "--limit", "1"]).lines().count(),
        1
    );
    assert_eq!(
        sandbox.stdout_of(&["log", "--limit", "0"]).lines().count(),
        2
    );
    assert_eq!(
        sandbox.stdout_of(&["log", "--since", "1h"]).lines().count(),
        2
    );
    assert_eq!(
        sandbox
            .stdout_of(&["log", "--since", "2999-01-01"])
            .lines()
            .count(),
        0
    );
    assert_eq!(
        sandbox
            .stdout_of(&["log", "--since", "2001-01-01T00:00:00Z"])
            .lines()
            .count(),
        2
    );
    let out = sandbox
        .pulse()
        .args(["log", "--since", "last tuesday"])
        .assert()
        .code(2);
    let stderr = stderr_of(&out);
    assert!(stderr.starts_with("error: --since"), "{stderr}");
}

#[test]
fn unknown_ids_are_one_line_errors_with_exit_1() {
    let sandbox = Sandbox::new();
    two_runs(&sandbox);
    for args in [
        vec!["log", "evt_nope"],
        vec!["resend", "msg_nope"],
        vec!["resume", "run_nope"],
    ] {
        let out = sandbox.pulse().args(&args).assert().code(1);
        let stderr = stderr_of(&out);
        assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
        assert!(stderr.contains(args[1]), "{args:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
    }
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    // More output than a pipe buffers (64 KiB): one batch per row, each with its attempt.
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    let input = sandbox.write("d.csv", numbered_csv(700));
    sandbox
        .pulse()
        .args(["push", input.to_str().unwrap(), "--url", &server.url()])
        .args(["--no-sign", "--batch-size", "1"])
        .assert()
        .success();
    let run = sandbox.last_run();
    let mut child = sandbox.spawn(&["log", &run]);
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.starts_with(&run), "{first}");
    // The reader is gone now, like `pulse log | head -1`: pulse stops quietly, either by the
    // default SIGPIPE (as other Unix tools do) or by treating the broken pipe as success.
    let out = child.wait_with_output().unwrap();
    use std::os::unix::process::ExitStatusExt;
    let sigpipe = 13;
    assert!(
        out.status.success() || out.status.signal() == Some(sigpipe),
        "{:?}",
        out.status
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_run_stopped_while_staging_shows_its_batch_count_as_unknown() {
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    // Staging stops at line 32 (invalid UTF-8) after three batches were stored.
    let mut csv = b"id,text\n".to_vec();
    for i in 1..=30 {
        csv.extend_from_slice(format!("{i},x\n").as_bytes());
    }
    csv.extend_from_slice(b"31,\xff\n");
    let input = sandbox.write("bad.csv", csv);
    sandbox
        .push_unsigned(&input, &server.url())
        .args(["--batch-size", "10"])
        .assert()
        .code(1);
    // A run that stopped at an input error is final: listed with --all.
    assert_eq!(sandbox.stdout_of(&["log", "--failed"]), "");
    let out = sandbox.stdout_of(&["log", "--failed", "--all"]);
    assert_eq!(out.lines().count(), 3, "{out}");
    assert!(
        out.lines().all(|l| l.contains("/?") && !l.contains("/0")),
        "{out}"
    );
    let json = json_lines(&sandbox.stdout_of(&["log", "--failed", "--all", "--json"]));
    assert_eq!(json[0]["count"], Value::Null);
    assert_eq!(json[0]["run_status"], "input-error");
    assert!(server.requests().is_empty());
}

#[test]
fn the_run_list_is_aligned_and_a_long_delivered_stretch_folds_into_one_line() {
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    let one = sandbox.write("one.csv", numbered_csv(1));
    let many = sandbox.write("many.csv", numbered_csv(12));
    sandbox
        .push_unsigned(&one, &server.url())
        .assert()
        .success();
    sandbox
        .push_unsigned(&many, &server.url())
        .args(["--batch-size", "1"])
        .assert()
        .success();
    let list = sandbox.stdout_of(&["log"]);
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 2, "{list}");
    assert!(
        list.contains("1/1 batch ") && list.contains("1 row ("),
        "plurals: {list}"
    );
    assert!(
        list.contains("12/12 batches") && list.contains("12 rows ("),
        "{list}"
    );
    // Every column starts at the same place on every line.
    let column = |line: &str, text: &str| line.find(text).unwrap();
    assert_eq!(
        column(lines[0], " delivered"),
        column(lines[1], " delivered"),
        "{list}"
    );
    let source = sandbox.dir.path().to_str().unwrap();
    assert_eq!(column(lines[0], source), column(lines[1], source), "{list}");

    let run = sandbox.last_run();
    let folded = sandbox.stdout_of(&["log", &run]);
    assert!(
        folded.contains("batches 1-12  12 rows  delivered at the first try"),
        "{folded}"
    );
    let all = sandbox.stdout_of(&["log", &run, "--all"]);
    assert_eq!(all.matches("  batch ").count(), 12, "{all}");
}

#[test]
fn one_of_a_thing_reads_in_the_singular() {
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    let input = sandbox.write("one.csv", numbered_csv(1));
    let out = sandbox
        .push_unsigned(&input, &server.url())
        .assert()
        .success();
    assert!(
        stderr_of(&out).contains("delivered 1 row in 1/1 batch to"),
        "{}",
        stderr_of(&out)
    );
    let run = sandbox.last_run();
    let shown = sandbox.stdout_of(&["log", &run]);
    assert!(shown.contains(": 1 row in 1 batch, 1 delivered"), "{shown}");
    assert!(shown.contains("rows      1: 1 valid"), "{shown}");
    let list = sandbox.stdout_of(&["log"]);
    assert!(
        list.contains("1/1 batch ") && list.contains("1 row ("),
        "{list}"
    );
    // A failed one-row run: --failed says "1 row", and the hint "0/1 batch".
    let failing = TestServer::start(|_, _| Reply::status(400));
    let out = sandbox
        .push_unsigned(&input, &failing.url())
        .assert()
        .code(4);
    assert!(
        stderr_of(&out).contains("0/1 batch delivered"),
        "{}",
        stderr_of(&out)
    );
    let failed = sandbox.stdout_of(&["log", "--failed"]);
    assert!(failed.contains("all 1/1  1 row  failed"), "{failed}");
}

#[cfg(unix)]
#[test]
fn a_log_in_a_directory_this_user_may_not_write_to_is_read() {
    use std::os::unix::fs::PermissionsExt;
    if crate::support::on_postgres() {
        return; // A SQLite file.
    }
    let sandbox = Sandbox::new();
    let dir = sandbox.path("shared");
    std::fs::create_dir(&dir).unwrap();
    let db = dir.join("pulse.db");
    let db_arg = db.to_str().unwrap();
    let server = TestServer::ok();
    let input = sandbox.write("d.csv", numbered_csv(5));
    sandbox
        .push_unsigned(&input, &server.url())
        .args(["--db", db_arg])
        .assert()
        .success();
    let listed = sandbox.stdout_of(&["log", "--db", db_arg]);
    let run = listed.split_whitespace().next().unwrap().to_string();
    assert!(run.starts_with("run_"), "{listed}");
    // The log and its directory as another user's: readable, not writable. Root may write
    // anywhere, so as root pulse runs as `nobody` (through setpriv), as another user would.
    let pulse = assert_cmd::cargo::cargo_bin("pulse");
    let mut command = if is_root() {
        if std::process::Command::new("setpriv")
            .arg("--help")
            .output()
            .is_err()
        {
            eprintln!("skipped: running as root, without setpriv to run as another user");
            return;
        }
        let mut command = sandbox.command(std::path::Path::new("setpriv"));
        command.args(["--reuid=65534", "--regid=65534", "--clear-groups"]);
        command.arg(&pulse);
        command
    } else {
        sandbox.command(&pulse)
    };
    let _ = std::fs::remove_dir_all(dir.join("pulse.db.locks"));
    let mode = |path: &std::path::Path, mode| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap()
    };
    mode(sandbox.dir.path(), 0o755);
    mode(&db, 0o444);
    mode(&dir, 0o555);
    let out = command
        .args(["log", "--db", db_arg])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    mode(&dir, 0o755);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stdout, listed);
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["pulse.db"], "nothing made beside the log");
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}
