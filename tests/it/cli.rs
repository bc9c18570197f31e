//! The command line itself: what the usage line after a mistake lists, which commands take
//! which flags, and what the help says.

use crate::support::{stderr_of, Sandbox};

const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

/// The `Usage:` line of a failed command's stderr.
fn usage_line(stderr: &str) -> String {
    stderr
        .lines()
        .find(|l| l.starts_with("Usage:"))
        .unwrap_or_else(|| panic!("no usage line in {stderr}"))
        .to_string()
}

#[test]
fn the_usage_line_lists_no_flag_that_came_from_the_environment() {
    let sandbox = Sandbox::new();
    // PULSE_DB is set by the sandbox; PULSE_SECRET here.
    let missing_url = sandbox
        .pulse()
        .env("PULSE_SECRET", SECRET)
        .args(["push", "d.csv"])
        .assert()
        .code(2);
    let stderr = stderr_of(&missing_url);
    assert!(stderr.contains("--url <URL>"), "{stderr}");
    assert_eq!(
        usage_line(&stderr),
        "Usage: pulse push --url <URL> <FILE|-|URL>",
        "{stderr}"
    );
    let unknown = sandbox
        .pulse()
        .env("PULSE_SECRET", SECRET)
        .env("PULSE_AUTH_HEADER_VALUE", "token")
        .args(["resume", "--bogus"])
        .assert()
        .code(2);
    let usage = usage_line(&stderr_of(&unknown));
    assert!(
        !usage.contains("--secret") && !usage.contains("--db") && !usage.contains("--auth"),
        "{usage}"
    );
    // Given on the command line, a flag is listed as clap lists it.
    let given = sandbox
        .pulse()
        .args(["push", "d.csv", "--db"])
        .arg(sandbox.db())
        .assert()
        .code(2);
    assert!(usage_line(&stderr_of(&given)).contains("--db <PATH|URL>"));
}

#[test]
fn only_the_commands_that_open_the_log_take_db() {
    let sandbox = Sandbox::new();
    let input = sandbox.write("d.csv", "id\n1\n");
    let db = sandbox.path("other.db");
    for (args, command) in [
        (vec!["validate", input.to_str().unwrap()], &["validate"][..]),
        (vec!["secret", "new"], &["secret", "new"]),
        (vec!["completions", "bash"], &["completions"]),
        (vec!["receive", "--port", "0"], &["receive"]),
    ] {
        let out = sandbox
            .pulse()
            .args(&args)
            .arg("--db")
            .arg(&db)
            .assert()
            .code(2);
        let stderr = stderr_of(&out);
        assert!(
            stderr.contains("unexpected argument '--db'"),
            "{args:?}: {stderr}"
        );
        let help = sandbox.stdout_of(&[command, &["--help"]].concat());
        assert!(!help.contains("--db"), "{args:?} offers --db: {help}");
    }
    for args in [
        &["push", "--help"][..],
        &["log", "--help"],
        &["resend", "--help"],
        &["resume", "--help"],
        &["cancel", "--help"],
        &["prune", "--help"],
        &["export", "--help"],
        &["secret", "show", "--help"],
    ] {
        let help = sandbox.stdout_of(args);
        assert!(help.contains("--db <PATH|URL>"), "{args:?}: {help}");
    }
    // Where it is offered, it works.
    sandbox
        .pulse()
        .env_remove("PULSE_DB")
        .args(["log", "--db"])
        .arg(&db)
        .assert()
        .success();
    assert!(db.exists());
}

#[test]
fn retries_help_says_the_default_is_the_larger_of_five_and_the_schedule() {
    let sandbox = Sandbox::new();
    let help = sandbox.stdout_of(&["push", "--help"]);
    let flat = help.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains("[default: the larger of 5 and the schedule's length]"),
        "{help}"
    );
    // As it says: a schedule of 7 delays gives 7 retries by default.
    let server = crate::support::server::TestServer::start(|_, _| {
        crate::support::server::Reply::status(503)
    });
    let input = sandbox.write("d.csv", "id\n1\n");
    sandbox
        .push_unsigned(&input, &server.url())
        .args(["--retry-schedule", "1ms,1ms,1ms,1ms,1ms,1ms,1ms", "--quiet"])
        .assert()
        .code(4);
    assert_eq!(server.requests().len(), 8);
}

#[test]
fn no_sign_wins_over_a_secret_in_the_environment_but_not_over_one_on_the_command_line() {
    let sandbox = Sandbox::new();
    let server = crate::support::server::TestServer::ok();
    let input = sandbox.write("d.csv", "id\n1\n");
    // PULSE_SECRET set for every push (a crontab, a shell profile): --no-sign still works.
    sandbox
        .pulse()
        .env("PULSE_SECRET", SECRET)
        .args([
            "push",
            input.to_str().unwrap(),
            "--url",
            &server.url(),
            "--no-sign",
        ])
        .assert()
        .success();
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].header("webhook-signature"),
        None,
        "sent unsigned"
    );
    // Both on the command line contradict each other.
    let out = sandbox
        .pulse()
        .args([
            "push",
            input.to_str().unwrap(),
            "--url",
            &server.url(),
            "--no-sign",
        ])
        .args(["--secret", SECRET, "--force"])
        .assert()
        .code(2);
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains("--no-sign and --secret contradict each other"),
        "{stderr}"
    );
    assert_eq!(server.requests().len(), 1, "nothing more sent");
}

#[test]
fn value_names_are_taken_in_any_case() {
    let sandbox = Sandbox::new();
    let input = sandbox.write("d.csv", "a,b\n1,2\n");
    let out = sandbox
        .pulse()
        .args([
            "push",
            input.to_str().unwrap(),
            "--url",
            "http://127.0.0.1:9/h",
        ])
        .args([
            "--dry-run",
            "--no-sign",
            "--method",
            "GET",
            "--format",
            "Pulse",
        ])
        .args(["--on-failure", "SKIP", "--mode", "Append"])
        .assert()
        .success();
    sandbox
        .pulse()
        .args([
            "push",
            input.to_str().unwrap(),
            "--url",
            "http://127.0.0.1:9/h",
        ])
        .args(["--dry-run", "--no-sign", "--compress", "GZIP"])
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(
        stdout.starts_with("GET http://127.0.0.1:9/h?a=1"),
        "{stdout}"
    );
}

#[test]
fn a_home_that_does_not_exist_is_a_clear_error_not_a_new_folder() {
    let sandbox = Sandbox::new();
    let home = sandbox.path("no-such-home");
    let out = sandbox
        .pulse()
        .args(["log"])
        .env_remove("PULSE_DB")
        .env("HOME", &home)
        .assert()
        .code(2);
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains("is not a directory") && stderr.contains("--db"),
        "{stderr}"
    );
    assert!(!home.exists(), "pulse created {}", home.display());
}
