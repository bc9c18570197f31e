//! `pulse prune`: old runs go with everything they own; newer runs stay; `--vacuum` compacts.

use crate::support::server::{Reply, TestServer};
use crate::support::{numbered_csv, stderr_of, Sandbox};

fn push(sandbox: &Sandbox, server: &TestServer, rows: usize) -> String {
    let input = sandbox.write("d.csv", numbered_csv(rows));
    sandbox
        .pulse()
        .args(["push", input.to_str().unwrap(), "--url", &server.url()])
        .args(["--no-sign", "--batch-size", "10"])
        .assert()
        .success();
    sandbox.last_run()
}

fn count(sandbox: &Sandbox, table: &str) -> i64 {
    sandbox
        .query(&format!("SELECT count(*) FROM {table}"))
        .unwrap()
}

#[test]
fn old_runs_go_with_their_payloads_and_attempts() {
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    let old = push(&sandbox, &server, 30);
    let recent = push(&sandbox, &server, 5);
    // Age the first run by 40 days.
    sandbox.execute(&format!(
        "UPDATE runs SET started_at = started_at - 3456000000 WHERE id = '{old}'"
    ));

    let out = sandbox.stdout_of(&["prune", "--older-than", "30d"]);
    assert!(
        out.starts_with("pruned 1 run: 1 event, 3 batches ("),
        "{out}"
    );
    assert!(out.contains("of payloads), 3 attempts"), "{out}");
    let log = sandbox.stdout_of(&["log"]);
    assert!(!log.contains(&old) && log.contains(&recent), "{log}");
    assert_eq!(count(&sandbox, "batches"), 1);
    assert_eq!(count(&sandbox, "payloads"), 1);
    assert_eq!(count(&sandbox, "attempts"), 1);

    // Nothing older than 30 days is left.
    let out = sandbox.stdout_of(&["prune", "--older-than", "30d", "--json"]);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["runs"], 0);

    // Everything started before now, and the file is compacted.
    let out = sandbox.stdout_of(&["prune", "--older-than", "0s", "--vacuum"]);
    assert!(out.starts_with("pruned 1 run:"), "{out}");
    assert!(out.contains("compacted"), "{out}");
    for table in ["runs", "events", "batches", "payloads", "attempts"] {
        assert_eq!(count(&sandbox, table), 0, "{table}");
    }
    if crate::support::on_postgres() {
        // The server keeps the space for later runs, and the message says so.
        assert!(out.contains("PostgreSQL keeps the space"), "{out}");
        return;
    }
    // An empty log does not shrink below one page per table and index: the message says so,
    // and the file is that size.
    assert!(
        out.contains("a log takes at least") && out.contains("64 KiB page for each table"),
        "{out}"
    );
    let out = sandbox.stdout_of(&["prune", "--older-than", "0s", "--vacuum", "--json"]);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let floor = report["file_bytes_min"].as_u64().unwrap();
    assert_eq!(report["file_bytes_after"].as_u64().unwrap(), floor, "{out}");
    assert_eq!(floor % 65536, 0, "{out}");
}

#[test]
fn older_than_must_be_an_age_or_a_date() {
    let sandbox = Sandbox::new();
    let out = sandbox
        .pulse()
        .args(["prune", "--older-than", "a while"])
        .assert()
        .code(2);
    let stderr = stderr_of(&out);
    assert!(stderr.starts_with("error: --older-than"), "{stderr}");
    sandbox
        .pulse()
        .args(["prune", "--older-than", "2026-01-01"])
        .assert()
        .success();
}

#[test]
fn unfinished_runs_are_kept_and_counted_unless_asked_for() {
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    let delivered = push(&sandbox, &server, 5);
    // Two runs that `pulse resume` would still send: a failed one and an interrupted one.
    let refusing = TestServer::start(|_, _| Reply::status(503));
    for rows in [5, 6] {
        let input = sandbox.write("d.csv", numbered_csv(rows));
        sandbox
            .push_unsigned(&input, &refusing.url())
            .args(["--retries", "0"])
            .assert()
            .code(4);
    }
    let unfinished = sandbox.texts("SELECT id FROM runs WHERE status != 'delivered'");
    assert_eq!(unfinished.len(), 2);
    sandbox.execute(&format!(
        "UPDATE runs SET status = 'interrupted' WHERE id = '{}'",
        unfinished[0]
    ));

    let out = sandbox.stdout_of(&["prune", "--older-than", "0s"]);
    assert!(out.starts_with("pruned 1 run:"), "{out}");
    assert!(
        out.contains(
            "kept 2 unfinished runs (they can still be resumed); pass --unfinished to delete them"
        ),
        "{out}"
    );
    let left = sandbox.texts("SELECT id FROM runs ORDER BY id");
    assert!(!left.contains(&delivered), "{left:?}");
    assert_eq!(left.len(), 2, "{left:?}");
    let out = sandbox.stdout_of(&["prune", "--older-than", "0s", "--json"]);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (report["runs"].as_u64(), report["kept_unfinished"].as_u64()),
        (Some(0), Some(2))
    );

    let out = sandbox.stdout_of(&["prune", "--older-than", "0s", "--unfinished"]);
    assert!(out.starts_with("pruned 2 runs:"), "{out}");
    assert!(!out.contains("kept"), "{out}");
    assert_eq!(count(&sandbox, "runs"), 0);
}

#[test]
fn a_run_leaves_no_lock_file_behind() {
    if crate::support::on_postgres() {
        return; // Lock files are a SQLite log's.
    }
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    push(&sandbox, &server, 30);
    let refusing = TestServer::start(|_, _| Reply::status(503));
    let input = sandbox.write("d.csv", numbered_csv(5));
    sandbox
        .push_unsigned(&input, &refusing.url())
        .args(["--retries", "0"])
        .assert()
        .code(4);
    sandbox
        .pulse()
        .args(["cancel", &sandbox.last_run()])
        .assert()
        .success();
    let locks = sandbox.path("pulse.db.locks");
    let lock_files = || -> Vec<String> {
        std::fs::read_dir(&locks)
            .map(|dir| {
                dir.map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(
        lock_files(),
        Vec::<String>::new(),
        "after a delivered and a failed run"
    );
    // A lock file a killed process left (the kernel dropped its lock) goes with the run.
    let run = sandbox.last_run();
    std::fs::write(locks.join(format!("{run}.lock")), "").unwrap();
    sandbox.stdout_of(&["prune", "--older-than", "0s"]);
    assert_eq!(lock_files(), Vec::<String>::new(), "after prune");
}
