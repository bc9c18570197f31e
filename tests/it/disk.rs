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

#[test]
fn the_wal_stays_within_its_bound_when_every_attempt_fails() {
    if crate::support::on_postgres() {
        return; // SQLite's WAL.
    }
    // Each failed attempt's record adds a few 64 KiB pages to the WAL: 800 of them are well
    // past 64 MiB when nothing but a delivery counts toward checkpoints (issue 31: 2,000
    // failed batches left a 404 MB WAL beside a 4.5 MB log).
    let sandbox = Sandbox::new();
    let wal = sandbox.path("pulse.db-wal");
    let seen = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let largest = seen.clone();
    // The receiver looks at the WAL as each request arrives, the poll between them.
    let refusing = TestServer::sink_with(move |_, _| {
        let size = std::fs::metadata(&wal).map_or(0, |m| m.len());
        largest.fetch_max(size, std::sync::atomic::Ordering::SeqCst);
        Reply::status(400)
    });
    let input = sandbox.write("d.csv", csv(800));
    let args = [
        "push",
        input.to_str().unwrap(),
        "--url",
        &refusing.url(),
        "--no-sign",
        "--quiet",
        "--batch-size",
        "1",
        "--retries",
        "0",
        "--on-failure",
        "skip",
    ];
    let (code, polled) = peak_wal(&sandbox, &args);
    assert_eq!(code, Some(4));
    assert_eq!(refusing.requests().len(), 800);
    let peak = polled.max(seen.load(std::sync::atomic::Ordering::SeqCst));
    let log = std::fs::metadata(sandbox.db()).unwrap().len();
    assert!(
        peak <= (64 * MIB).max(2 * log),
        "WAL peaked at {peak} bytes, the log is {log}"
    );
    assert!(
        !sandbox.path("pulse.db-wal").exists(),
        "the WAL is gone after exit"
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

impl SmallDisk {
    /// Gives the filesystem a new size, as freeing space on a full disk does.
    fn resize(&self, size: &str) -> bool {
        self.remount(&format!("remount,size={size}"))
    }

    fn remount(&self, options: &str) -> bool {
        std::process::Command::new("mount")
            .args(["-o", options])
            .arg(self.dir.path())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Makes the filesystem read-only, as a read-only mount or medium is.
    fn remount_read_only(&self) -> bool {
        self.remount("remount,ro")
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
    for args in [
        &push[..],
        &[
            "prune",
            "--db",
            db_arg,
            "--older-than",
            "0s",
            "--unfinished",
        ],
    ] {
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
    // Every connection was closed, but SQLite could not copy the WAL into the log without
    // room: it stays, the only copy of what was recorded. The next command with room copies it.
    let beside = |suffix: &str| disk.dir.path().join(format!("pulse.db{suffix}"));
    assert!(beside("-wal").exists());
    assert!(disk.resize("16m"), "cannot grow the tmpfs");
    let listed = sandbox.stdout_of(&["log", "--db", db_arg]);
    assert!(listed.contains("d.csv"), "{listed}");
    assert!(!beside("-wal").exists() && !beside("-shm").exists());
    let locks = std::fs::read_dir(beside(".locks")).unwrap().count();
    assert_eq!(locks, 0, "no run lock file is left");
}

#[test]
fn a_log_on_a_read_only_filesystem_is_read_and_a_write_says_why_not() {
    if crate::support::on_postgres() {
        return; // A SQLite file.
    }
    // A read-only mount, since root (which these tests often run as) may write to any 0444
    // file in any 0555 directory: no chmod would show what a read-only log is.
    let Some(disk) = SmallDisk::mount("16m") else {
        eprintln!("skipped: cannot mount a tmpfs here (needs root)");
        return;
    };
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    let input = sandbox.write("d.csv", csv(10));
    let db = disk.dir.path().join("pulse.db");
    let db_arg = db.to_str().unwrap();
    sandbox
        .push_unsigned(&input, &server.url())
        .args(["--db", db_arg, "--quiet"])
        .assert()
        .success();
    let run = sandbox.stdout_of(&["log", "--db", db_arg, "--json"]);
    assert!(
        disk.remount_read_only(),
        "cannot remount the tmpfs read-only"
    );

    let read = sandbox.stdout_of(&["log", "--db", db_arg, "--json"]);
    assert_eq!(read, run);
    let nothing_new = |name: &str| !disk.dir.path().join(name).exists();
    assert!(nothing_new("pulse.db-wal") && nothing_new("pulse.db-shm"));
    // A command that writes says that the log is read-only.
    let (code, _, stderr) = finish(sandbox.spawn(&["prune", "--db", db_arg, "--older-than", "0s"]));
    assert_ne!(code, Some(0));
    assert!(
        stderr.contains(db_arg) && stderr.contains("read-only"),
        "{stderr}"
    );
}
