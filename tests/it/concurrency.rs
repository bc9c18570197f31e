//! Many pulse processes on one log at once, on a machine kept busy: no command may fail because
//! another holds the database (issue 24: a deferred transaction that read before it wrote got
//! SQLITE_BUSY_SNAPSHOT, without waiting, about once in twenty pairs of pushes).
//!
//! What it asserts does not depend on timing: every command succeeds and every row is delivered
//! once. `PULSE_STRESS_ROUNDS` runs more rounds; `PULSE_STRESS_BIN` runs another pulse binary
//! (to measure how often an older build fails).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::support::server::{Reply, TestServer};
use crate::support::{finish, numbered_csv, Sandbox};

/// Threads spinning on the CPU until dropped, so that pulse's processes are descheduled at
/// awkward moments, as on a busy CI runner.
struct BusyMachine {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl BusyMachine {
    fn new(threads: usize) -> BusyMachine {
        let stop = Arc::new(AtomicBool::new(false));
        let threads = (0..threads)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let mut x = 1u64;
                    while !stop.load(Ordering::Relaxed) {
                        for _ in 0..10_000 {
                            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                        }
                        std::hint::black_box(x);
                    }
                })
            })
            .collect();
        BusyMachine { stop, threads }
    }
}

impl Drop for BusyMachine {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

fn rounds() -> usize {
    std::env::var("PULSE_STRESS_ROUNDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(6)
}

fn pulse_binary() -> PathBuf {
    std::env::var_os("PULSE_STRESS_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| assert_cmd::cargo::cargo_bin("pulse"))
}

#[test]
fn pushes_resumes_resends_logs_and_prunes_at_once_never_fail_on_a_locked_log() {
    let sandbox = Sandbox::new();
    let server = TestServer::sink_with(|_, _| Reply::status(200).delay(Duration::from_millis(20)));
    let url = server.url();
    let inputs: Vec<PathBuf> = ["a.csv", "b.csv"]
        .iter()
        .map(|name| sandbox.write(name, numbered_csv(2000)))
        .collect();
    let binary = pulse_binary();
    let spawn = |args: &[&str]| {
        sandbox
            .command(&binary)
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let _busy = BusyMachine::new(2);
    let mut failures = Vec::new();
    for round in 0..rounds() {
        let earlier_run: Option<String> =
            sandbox.query("SELECT id FROM runs WHERE status = 'delivered' ORDER BY started_at");
        let mut children = Vec::new();
        for input in &inputs {
            let input = input.to_str().unwrap();
            let args = [
                "push",
                input,
                "--url",
                &url,
                "--no-sign",
                "--batch-size",
                "50",
                "--quiet",
                // The same files every round, pushed anew.
                "--force",
            ];
            children.push(("push", spawn(&args)));
        }
        children.push(("log", spawn(&["log"])));
        children.push(("resume", spawn(&["resume", "--quiet"])));
        children.push(("prune", spawn(&["prune", "--older-than", "1d"])));
        if let Some(run) = &earlier_run {
            let args = ["resend", run.as_str(), "--quiet"];
            children.push(("resend", spawn(&args)));
        }
        children.push(("log --failed", spawn(&["log", "--failed"])));
        for (what, child) in children {
            let (code, _, stderr) = finish(child);
            if code != Some(0) {
                failures.push(format!("round {round}: {what} exited {code:?}: {stderr}"));
            }
        }
    }
    let runs: i64 = sandbox.query("SELECT count(*) FROM runs").unwrap();
    let undelivered: i64 = sandbox
        .query("SELECT count(*) FROM batches WHERE status != 'delivered'")
        .unwrap();
    eprintln!("{} rounds, {} commands failed", rounds(), failures.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(runs as usize, 2 * rounds());
    assert_eq!(undelivered, 0);
}

#[test]
fn many_processes_creating_one_new_log_at_once_all_succeed() {
    if crate::support::on_postgres() {
        return; // A SQLite file's set-up (a PostgreSQL log's is under an advisory lock).
    }
    // Issue 31: two pushes creating a new log at once, one failed "was busy" about 20 times
    // in 50. Eight processes (six pushes, two logs) on a new log every round.
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    let input = sandbox.write("d.csv", numbered_csv(20));
    let binary = pulse_binary();
    let _busy = BusyMachine::new(2);
    let mut failures = Vec::new();
    for round in 0..rounds() {
        let db = sandbox.path(&format!("round{round}/pulse.db"));
        let db = db.to_str().unwrap();
        let children: Vec<(String, std::process::Child)> = (0..8)
            .map(|n| {
                let url = format!("{}/{n}", server.url());
                let args: Vec<&str> = match n {
                    0 | 1 => vec!["log", "--db", db],
                    _ => vec![
                        "push",
                        input.to_str().unwrap(),
                        "--url",
                        &url,
                        "--no-sign",
                        "--quiet",
                        "--db",
                        db,
                    ],
                };
                let child = sandbox
                    .command(&binary)
                    .args(&args)
                    .stdin(std::process::Stdio::null())
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap();
                (args[0].to_string(), child)
            })
            .collect();
        for (what, child) in children {
            let (code, _, stderr) = finish(child);
            if code != Some(0) {
                failures.push(format!("round {round}: {what} exited {code:?}: {stderr}"));
            }
        }
    }
    eprintln!("{} rounds, {} commands failed", rounds(), failures.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
