//! Credentials that really go out and never come back: the URL's password given apart from the
//! URL is sent by every command and asked for again, a proxy's credentials echoed back are
//! redacted, and a mistyped flag's error never repeats the credential in it.

use base64::Engine;

use crate::support::server::{Recorded, Reply, TestServer};
use crate::support::{numbered_csv, stderr_of, Sandbox};

fn basic(user_password: &str) -> String {
    let token = base64::engine::general_purpose::STANDARD.encode(user_password);
    format!("Basic {token}")
}

/// A password with what a URL would need percent-encoded, and a literal `%41` that
/// `--url-password` must not decode.
const PASSWORD: &str = "hu%41nter@2:pwsentinel";

#[test]
fn push_sends_the_url_password_from_the_environment_and_resume_needs_it_again() {
    let sandbox = Sandbox::new();
    // The first batch is delivered, the second refused: the run waits for a resume.
    let server = TestServer::start(|n, _| Reply::status(if n == 1 { 503 } else { 200 }));
    let input = sandbox.write("d.csv", numbered_csv(3));
    let url = format!("http://bob@127.0.0.1:{}/hook", server.port);
    let with_password = [("PULSE_URL_PASSWORD", PASSWORD)];
    let push = [
        "push",
        input.to_str().unwrap(),
        "--url",
        &url,
        "--no-sign",
        "--batch-size",
        "1",
        "--retries",
        "0",
    ];
    let out = sandbox
        .pulse()
        .envs(with_password)
        .args(push)
        .assert()
        .code(4);
    assert!(!stderr_of(&out).contains("pwsentinel"));
    let sent = |requests: &[Recorded]| {
        requests
            .iter()
            .map(|r| r.header("authorization").unwrap_or("").to_string())
            .collect::<Vec<_>>()
    };
    let expected = basic(&format!("bob:{PASSWORD}"));
    assert_eq!(
        sent(&server.requests()),
        [expected.clone(), expected.clone()]
    );

    // The log keeps the URL with its password masked, never the password.
    let run = sandbox.last_run();
    let shown = sandbox.stdout_of(&["log", &run, "--json"]);
    let masked = format!("http://bob:***@127.0.0.1:{}/hook", server.port);
    assert!(shown.contains(&masked), "{shown}");
    assert!(!shown.contains("pwsentinel"), "{shown}");
    let stored: Vec<String> = sandbox.texts("SELECT url FROM runs");
    assert_eq!(stored, [masked]);

    // Resume without the password refuses before sending anything, and says how to give it.
    let out = sandbox.pulse().args(["resume", &run]).assert().code(2);
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains("--url-password") && stderr.contains("PULSE_URL_PASSWORD"),
        "{stderr}"
    );
    assert_eq!(server.requests().len(), 2, "nothing sent without it");
    sandbox
        .pulse()
        .envs(with_password)
        .args(["resume", &run])
        .assert()
        .success();
    sandbox
        .pulse()
        .envs(with_password)
        .args(["resend", &run, "--no-sign"])
        .assert()
        .success();
    let requests = server.requests();
    // The push sent 2 (the second refused); resume the refused one and the third; resend all 3.
    assert_eq!(requests.len(), 2 + 2 + 3);
    assert!(sent(&requests).iter().all(|a| *a == expected));
}

#[test]
fn a_user_only_url_with_url_password_is_masked_in_a_dry_run_too() {
    let sandbox = Sandbox::new();
    let input = sandbox.write("d.csv", numbered_csv(1));
    let out = sandbox
        .pulse()
        .env("PULSE_URL_PASSWORD", PASSWORD)
        .args(["push", input.to_str().unwrap(), "--dry-run", "--no-sign"])
        .args(["--url", "http://bob@127.0.0.1:9/hook"])
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(
        stdout.contains("http://bob:***@127.0.0.1:9/hook"),
        "{stdout}"
    );
    assert!(!stdout.contains("pwsentinel"), "{stdout}");
}

#[test]
fn proxy_credentials_from_lower_case_all_proxy_are_redacted_from_an_echo() {
    let sandbox = Sandbox::new();
    // The proxy, answering itself: 400 with every request header echoed.
    let echo = TestServer::start(|_, request| {
        let mut headers: Vec<String> = request
            .headers
            .iter()
            .map(|(name, value)| format!("{name}: {value}"))
            .collect();
        headers.sort();
        Reply::status(400).body(&headers.join("\n"))
    });
    let proxy = format!("http://puser:proxy%25sentinel@127.0.0.1:{}", echo.port);
    let token = basic("puser:proxy%sentinel");
    let token = token.trim_start_matches("Basic ");
    let input = sandbox.write("d.csv", numbered_csv(1));
    let out = sandbox
        .push_unsigned(&input, "http://127.0.0.1:9/hook")
        .env("all_proxy", &proxy)
        .args(["--retries", "0"])
        .assert()
        .code(4);
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains("proxy-authorization: Basic [redacted] "),
        "{stderr}"
    );
    let requests = echo.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].header("proxy-authorization"),
        Some(format!("Basic {token}").as_str())
    );
    for args in [&["log", "--json"][..], &["log", "--failed", "--json"]] {
        let shown = sandbox.stdout_of(args);
        assert!(!shown.contains(token), "{shown}");
    }
    let responses = sandbox.texts("SELECT response FROM attempts");
    assert!(
        responses.iter().all(|r| !r.contains(token)),
        "{responses:?}"
    );
}

#[test]
fn usage_errors_never_echo_a_credential() {
    let sandbox = Sandbox::new();
    let input = sandbox.write("d.csv", numbered_csv(1));
    let input = input.to_str().unwrap();
    let push = |more: &[&str]| -> Vec<String> {
        ["push", input, "--no-sign"]
            .iter()
            .chain(more)
            .map(|s| s.to_string())
            .collect()
    };
    let ok_url = "http://127.0.0.1:9/hook";
    let cases: Vec<(Vec<String>, &str)> = vec![
        (push(&["--url", "http://carol:PWsentinel@[::1"]), "***"),
        (push(&["--url", "carol:PWsentinel@example.com"]), "***"),
        (
            push(&["--url", "ftp://carol:PWsentinel@example.com/"]),
            "***",
        ),
        (push(&["http://carol:PWsentinel@example.com/"]), "***"),
        (
            push(&[
                "--url",
                ok_url,
                "--header",
                "Authorization Bearer TOKsentinel",
            ]),
            "--header",
        ),
        (
            push(&[
                "--url",
                ok_url,
                "--header",
                "Authorization Bearer TOKsentinel: x",
            ]),
            "Authorization",
        ),
        (
            push(&["--url", ok_url, "--header", "X-Api-Key: TOKsentinel\u{1}"]),
            "X-Api-Key",
        ),
        (
            push(&["--url", ok_url, "--auth-header-name", "Bearer TOKsentinel"]),
            "--auth-header-name",
        ),
        (
            vec![
                "resend".into(),
                "run_x".into(),
                "--url".into(),
                "http://carol:PWsentinel@[::1".into(),
            ],
            "***",
        ),
        (
            vec![
                "secret".into(),
                "show".into(),
                "http://carol:PWsentinel@[::1".into(),
            ],
            "***",
        ),
    ];
    for (args, hint) in cases {
        let out = sandbox
            .pulse()
            .env("PULSE_AUTH_HEADER_VALUE", "x")
            .args(&args)
            .assert()
            .code(2);
        let stderr = stderr_of(&out);
        assert!(
            !stderr.contains("sentinel"),
            "`pulse {}` printed the credential:\n{stderr}",
            args.join(" ")
        );
        assert!(
            stderr.contains(hint),
            "`pulse {}`: {stderr}",
            args.join(" ")
        );
    }
}
