//! Disk use stays proportionate to the data (issue 19): the log's WAL peaks at no more than
//! max(64 MiB, twice the final log) at any batch size, and nothing large is left after pulse
//! exits, delivered or not.

use crate::support::server::{Reply, TestServer};
use crate::support::{finish, Sandbox};

const MIB: u64 = 1 << 20;

fn csv(rows: usize) -> String {
    let mut csv = String::from("id,name,email,note\n");
    for i in 1..=rows {
        csv.push_str(&format!("{i},name {i},u{i}@example.com,\"a note, {i}\"\n"));
    }
    csv
}

/// Runs pulse, polling the WAL's size meanwhile; returns the exit code and the largest size
/// seen (a poll may miss the very peak; it never sees more than there was).
fn peak_wal(sandbox: &Sandbox, args: &[&str]) -> (Option<i32>, u64) {
    let wal = sandbox.path("pulse.db-wal");
    let mut child = sandbox.spawn(args);
    let mut peak = 0;
    while child.try_wait().unwrap().is_none() {
        peak = peak.max(std::fs::metadata(&wal).map_or(0, |m| m.len()));
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let (code, _, stderr) = finish(child);
    assert!(!stderr.contains("panicked"), "{stderr}");
    (code, peak)
}

#[test]
fn the_wal_stays_within_its_bound_at_small_batch_sizes_and_is_gone_after_exit() {
    if crate::support::on_postgres() {
        return; // SQLite's WAL.
    }
    let sandbox = Sandbox::new();
    let server = TestServer::sink();
    let input = sandbox.write("d.csv", csv(20_000));
    let input = input.to_str().unwrap();
    for batch_size in ["5", "200"] {
        let args = [
            "push",
            input,
            "--url",
            &server.url(),
            "--no-sign",
            "--quiet",
            "--batch-size",
            batch_size,
        ];
        let (code, peak) = peak_wal(&sandbox, &args);
        assert_eq!(code, Some(0));
        let log = std::fs::metadata(sandbox.db()).unwrap().len();
        assert!(
            peak <= (64 * MIB).max(2 * log),
            "--batch-size {batch_size}: WAL peaked at {peak} bytes, the log is {log}"
        );
        assert!(
            !sandbox.path("pulse.db-wal").exists(),
            "the WAL is gone after exit"
        );
    }

    // A run that fails (exit 4) leaves no WAL behind either.
    let refusing = TestServer::start(|_, _| Reply::status(503));
    let args = [
        "push",
        input,
        "--url",
        &refusing.url(),
        "--no-sign",
        "--quiet",
        "--batch-size",
        "5",
        "--retries",
        "0",
    ];
    let (code, _) = peak_wal(&sandbox, &args);
    assert_eq!(code, Some(4));
    assert!(
        !sandbox.path("pulse.db-wal").exists(),
        "no WAL left after exit 4"
    );
}

/// A small filesystem of its own (tmpfs), unmounted when dropped; None where this process may
/// not mount one (the test then says so and checks nothing else).
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().unwrap();
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        mounted.then_some(SmallDisk { dir })
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(self.dir.path())
            .status();
    }
}

#[test]
fn a_full_disk_is_a_clear_error_naming_the_log_and_what_to_do() {
    let Some(disk) = SmallDisk::mount("3m") else {
        eprintln!("skipped: cannot mount a tmpfs here (needs root)");
        return;
    };
    let sandbox = Sandbox::new();
    let server = TestServer::sink();
    // Well past what fits in 3 MiB however the WAL is checkpointed: staging always fills it.
    let input = sandbox.write("d.csv", csv(100_000));
    let db = disk.dir.path().join("pulse.db");
    let db_arg = db.to_str().unwrap();
    let push = [
        "push",
        input.to_str().unwrap(),
        "--url",
        &server.url(),
        "--no-sign",
        "--db",
        db_arg,
    ];
    for args in [&push[..], &["prune", "--db", db_arg, "--older-than", "0s"]] {
        let (code, _, stderr) = finish(sandbox.spawn(args));
        assert_eq!(code, Some(1), "{stderr}");
        let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(errors.len(), 1, "{stderr}");
        assert!(
            errors[0].contains(db_arg)
                && errors[0].contains("is full")
                && errors[0].contains("free space"),
            "{stderr}"
        );
    }
    // Nothing was sent: staging never finished.
    assert!(server.requests().is_empty());
}
