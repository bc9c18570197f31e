//! A stdout or stderr that cannot be written (`> /dev/full`, a closed descriptor): no panic
//! (exit 101), the run's state recorded first, a documented exit code, and a message naming
//! the stream rather than the log's disk.

use std::process::Stdio;

use crate::support::server::TestServer;
use crate::support::Sandbox;

/// Runs pulse with stdout and/or stderr on /dev/full; returns the exit code and stderr (empty
/// when stderr was the full one).
fn run_full(sandbox: &Sandbox, args: &[&str], full_out: bool, full_err: bool) -> (i32, String) {
    let full = || Stdio::from(std::fs::File::create("/dev/full").unwrap());
    let mut cmd = sandbox.command(&assert_cmd::cargo::cargo_bin("pulse"));
    cmd.args(args).stdin(Stdio::null());
    cmd.stdout(if full_out { full() } else { Stdio::null() });
    cmd.stderr(if full_err { full() } else { Stdio::piped() });
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    (out.status.code().expect("exited, not killed"), stderr)
}

#[test]
fn a_full_stdout_or_stderr_never_panics_and_the_run_is_recorded_first() {
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    let csv = sandbox.write("d.csv", "id,name\n1,Ada\n2,Bob\n");
    let csv = csv.to_str().unwrap();
    let push = ["push", csv, "--url", &server.url(), "--no-sign"];

    // The JSON summary cannot be written: the run is delivered and recorded, exit 1 says so.
    let (code, stderr) = run_full(&sandbox, &[&push[..], &["--json"]].concat(), true, false);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("cannot write to standard output"),
        "{stderr}"
    );
    assert_eq!(sandbox.delivered_count(), 1);

    // stderr full: only messages are lost; the exit code still tells how the run went.
    let (code, _) = run_full(&sandbox, &[&push[..], &["--force"]].concat(), false, true);
    assert_eq!(code, 0);
    assert_eq!(sandbox.delivered_count(), 2);
    assert_eq!(server.requests().len(), 2);

    // `pulse log` names standard output, not the disk holding the log.
    let (code, stderr) = run_full(&sandbox, &["log"], true, false);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("cannot write to standard output"),
        "{stderr}"
    );
    assert!(!stderr.contains("log database"), "{stderr}");

    // validate: a full stderr keeps its verdict (3: invalid rows); a full stdout is exit 1.
    let bad = sandbox.write("bad.csv", "id,name\n1,Ada,extra\n");
    let validate = ["validate", bad.to_str().unwrap()];
    assert_eq!(run_full(&sandbox, &validate, false, true).0, 3);
    let (code, stderr) = run_full(
        &sandbox,
        &[&validate[..], &["--json"]].concat(),
        true,
        false,
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("cannot write to standard output"),
        "{stderr}"
    );

    // Generated text (clap_complete panics on a failed write by itself).
    let (code, stderr) = run_full(&sandbox, &["completions", "bash"], true, false);
    assert_eq!(code, 1, "{stderr}");
}
