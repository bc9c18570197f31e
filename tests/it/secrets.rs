//! Secrets and auth values: a warning when they are given on the command line, and never a
//! trace of them in what pulse prints or stores (only a secret pulse generates is printed, once).

use crate::support::server::{Reply, TestServer};
use crate::support::{numbered_csv, Sandbox};

/// Distinctive values to look for: the signing secret (its base64 part is what could leak) and
/// the auth header value.
const SECRET: &str = "whsec_c2VjcmV0LXNlbnRpbmVsLTQyLXh5eg==";
const SECRET_PART: &str = "c2VjcmV0LXNlbnRpbmVsLTQy";
const AUTH: &str = "Bearer tok-sentinel-9f3a";
const AUTH_PART: &str = "tok-sentinel";

/// Runs pulse and returns exit code, stdout and stderr, after checking neither names a secret.
fn run_clean(sandbox: &Sandbox, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let out = sandbox
        .pulse()
        .envs(env.iter().copied())
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    for text in [&stdout, &stderr] {
        for needle in [SECRET_PART, AUTH_PART] {
            assert!(
                !text.contains(needle),
                "`pulse {}` printed {needle}:\n{text}",
                args.join(" ")
            );
        }
    }
    (out.status.code().unwrap(), stdout, stderr)
}

#[test]
fn secrets_given_as_flags_are_warned_about_and_environment_values_are_not() {
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    let input = sandbox.write("d.csv", numbered_csv(2));
    let push = ["push", input.to_str().unwrap(), "--url", &server.url()];
    let auth = ["--auth-header-name", "Authorization"];
    let flags = [
        &push[..],
        &auth,
        &["--secret", SECRET, "--auth-header-value", AUTH],
    ]
    .concat();
    let (code, _, stderr) = run_clean(&sandbox, &flags, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("warning: --secret on the command line")
            && stderr.contains("set PULSE_SECRET instead"),
        "{stderr}"
    );
    assert!(
        stderr.contains("warning: --auth-header-value on the command line"),
        "{stderr}"
    );

    let env = [("PULSE_SECRET", SECRET), ("PULSE_AUTH_HEADER_VALUE", AUTH)];
    let (code, _, stderr) = run_clean(&sandbox, &[&push[..], &auth].concat(), &env);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert!(requests
        .iter()
        .all(|r| r.header("authorization") == Some(AUTH)));
}

#[test]
fn secrets_and_auth_values_never_show_in_output_or_the_log() {
    let sandbox = Sandbox::new();
    let ok = TestServer::ok();
    let failing = TestServer::start(|_, _| Reply::status(503).body("nope"));
    let input = sandbox.write("d.csv", numbered_csv(3));
    let input = input.to_str().unwrap();
    let with_flags = [
        "--secret",
        SECRET,
        "--auth-header-name",
        "Authorization",
        "--auth-header-value",
        AUTH,
    ];
    let env = [("PULSE_SECRET", SECRET), ("PULSE_AUTH_HEADER_VALUE", AUTH)];
    let fast_fail = ["--retries", "1", "--retry-schedule", "10ms"];

    // A delivered push, a failed one, and one refused for a malformed auth value.
    let (code, _, stderr) = run_clean(
        &sandbox,
        &[
            &["push", input, "--url", &ok.url(), "--json"],
            &with_flags[..],
        ]
        .concat(),
        &[],
    );
    assert_eq!(code, 0, "{stderr}");
    let delivered = sandbox.last_run();
    let (code, _, _) = run_clean(
        &sandbox,
        &[
            &["push", input, "--url", &failing.url(), "--json"],
            &with_flags[..],
            &fast_fail,
        ]
        .concat(),
        &[],
    );
    assert_eq!(code, 4);
    let failed = sandbox.last_run();
    let (code, _, stderr) = run_clean(
        &sandbox,
        &[
            "push",
            input,
            "--url",
            &ok.url(),
            "--auth-header-name",
            "Authorization",
        ],
        &[("PULSE_AUTH_HEADER_VALUE", "Bearer tok-sentinel\n-x")],
    );
    assert_eq!(code, 2, "{stderr}");

    // Resend and resume, from flags and from the environment, succeeding and failing.
    let resend = ["resend", &delivered, "--json"];
    let (code, _, stderr) = run_clean(&sandbox, &[&resend[..], &with_flags[..]].concat(), &[]);
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = run_clean(&sandbox, &resend, &env);
    assert_eq!(code, 0, "{stderr}");
    let resend_failed = ["resend", &failed, "--failed", "--json"];
    let (code, _, _) = run_clean(&sandbox, &[&resend_failed[..], &fast_fail].concat(), &env);
    assert_eq!(code, 4);
    let (code, _, stderr) = run_clean(
        &sandbox,
        &[&["resume", &failed, "--json"][..], &fast_fail].concat(),
        &env,
    );
    assert!(code == 0 || code == 4, "{stderr}");

    // Everything the log shows.
    for args in [
        &["log"][..],
        &["log", "--json"],
        &["log", "--failed", "--json"],
        &["log", &delivered],
        &["log", &delivered, "--json"],
        &["log", &failed, "--json"],
    ] {
        let (code, stdout, stderr) = run_clean(&sandbox, args, &[]);
        assert_eq!(code, 0, "{stderr}");
        assert!(!stdout.is_empty());
    }
    assert!(ok
        .requests()
        .iter()
        .all(|r| r.header("authorization") == Some(AUTH)));

    // Nor in the database: given secrets and auth values are never stored.
    drop(sandbox.conn());
    for name in ["pulse.db", "pulse.db-wal"] {
        let Ok(bytes) = std::fs::read(sandbox.path(name)) else {
            continue;
        };
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains(SECRET_PART) && !text.contains(AUTH_PART),
            "{name}"
        );
    }
}
