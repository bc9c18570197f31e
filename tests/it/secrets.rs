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
    let again = [&push[..], &auth, &["--force"]].concat();
    let (code, _, stderr) = run_clean(&sandbox, &again, &env);
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
    let text = sandbox.postgres_text();
    assert!(
        !text.contains(SECRET_PART) && !text.contains(AUTH_PART),
        "the PostgreSQL log"
    );
}

/// Every kind of credential pulse is given, each holding a distinctive word to look for: in
/// whatever form a credential is echoed (raw, percent-encoded, JSON-escaped), its word stays.
/// The URL's password as written in the URL (percent-encoded) and as sent (decoded).
const URL_PASSWORD_IN_URL: &str = "pw%40urlpass%3A7c1";
const URL_PASSWORD: &str = "pw@urlpass:7c1";
/// With `"` and `\`, which a JSON echo escapes.
const AUTH_VALUE: &str = r#"Bearer QQ"authpass\55d"#;
const API_KEY: &str = "key-sentinel-81b";
const COOKIE: &str = "cookie-sentinel-3e0";
/// `whsec_` and base64 of "secret-sentinel-0a9".
const SIGNING: &str = "whsec_c2VjcmV0LXNlbnRpbmVsLTBhOQ==";
/// A `whsk_` Ed25519 signing key (v1a) beside it, as in a migration: its seed is
/// "whsk-sentinel-seed-0123456789abc", whose base64 starts both of its forms.
const SIGNING_KEY: &str =
    "whsk_d2hzay1zZW50aW5lbC1zZWVkLTAxMjM0NTY3ODlhYmPt11NKNcBAQT53Jrt72m3a7PD2/xTNkVEMgTGvqKQoCA==";
/// The proxy's password as written in `HTTP_PROXY` and as sent (in Proxy-Authorization).
const PROXY_PASSWORD_IN_URL: &str = "px%2Fproxypass%3D9";
const PROXY_PASSWORD: &str = "px/proxypass=9";

fn planted() -> Vec<String> {
    use base64::Engine;
    let b64 = |text: &str| base64::engine::general_purpose::STANDARD.encode(text);
    [
        "urlpass",
        "authpass",
        API_KEY,
        COOKIE,
        "c2VjcmV0LXNlbnRpbmVs",
        "d2hzay1zZW50aW5lbC1zZWVk",
        "proxypass",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([
        b64(&format!("u:{URL_PASSWORD}")),
        b64(&format!("u:{URL_PASSWORD_IN_URL}")),
        b64(&format!("proxyuser:{PROXY_PASSWORD}")),
    ])
    .collect()
}

fn assert_clean(what: &str, text: &str) {
    for needle in planted() {
        assert!(!text.contains(&needle), "{what} holds {needle}:\n{text}");
    }
}

/// What an echoing receiver answers: every request header as lines, as JSON (with `/` escaped,
/// as PHP writes it), as a form-encoded query, and the user and password of each Basic
/// credential decoded.
fn echo_of(request: &crate::support::server::Recorded) -> String {
    use base64::Engine;
    let mut headers: Vec<(&String, &String)> = request.headers.iter().collect();
    headers.sort();
    let lines: Vec<String> = headers.iter().map(|(n, v)| format!("{n}: {v}")).collect();
    let json = serde_json::to_string(&request.headers)
        .unwrap()
        .replace('/', "\\/");
    let mut form = form_urlencoded::Serializer::new(String::new());
    form.extend_pairs(headers.iter().copied());
    let decoded = ["authorization", "proxy-authorization"].map(|name| {
        let token = request.header(name).and_then(|v| v.strip_prefix("Basic "));
        let bytes = token.and_then(|t| base64::engine::general_purpose::STANDARD.decode(t).ok());
        format!(
            "{name} decoded: {}",
            String::from_utf8_lossy(&bytes.unwrap_or_default())
        )
    });
    format!(
        "{}\n{json}\n{}\n{}",
        lines.join("\n"),
        form.finish(),
        decoded.join("\n")
    )
}

#[test]
fn planted_credentials_stay_out_of_every_output_the_log_and_the_lock_files() {
    let sandbox = Sandbox::new();
    // Echoes every request in many forms, as httpbin and friends do; refuses the first request
    // for good. It is the proxy too: asked in absolute form, it answers itself.
    // It echoes the whsk_ signing key too, as a receiver showing its configuration would.
    let echo = TestServer::start(|n, request| {
        let body = format!("{}\nconfigured key: {SIGNING_KEY}", echo_of(request));
        Reply::status(if n == 0 { 400 } else { 200 }).body(&body)
    });
    let url = format!(
        "http://u:{URL_PASSWORD_IN_URL}@127.0.0.1:{}/hook",
        echo.port
    );
    let proxy = format!(
        "http://proxyuser:{PROXY_PASSWORD_IN_URL}@127.0.0.1:{}",
        echo.port
    );
    let input = sandbox.write("d.csv", numbered_csv(4));
    let input = input.to_str().unwrap();
    let headers = [
        "--header",
        &format!("X-Api-Key: {API_KEY}"),
        "--header",
        &format!("Cookie: session={COOKIE}"),
        "--header",
        "X-Plain: visible",
    ]
    .map(String::from);
    let signing = format!("{SIGNING} {SIGNING_KEY}");
    let env = [
        ("PULSE_AUTH_HEADER_VALUE", AUTH_VALUE),
        ("PULSE_SECRET", &signing),
        ("HTTP_PROXY", proxy.as_str()),
    ];
    let run = |args: Vec<String>, env: &[(&str, &str)]| {
        let out = sandbox
            .pulse()
            .envs(env.iter().copied())
            .args(&args)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_clean(&format!("`pulse {}` stdout", args[0]), &stdout);
        assert_clean(&format!("`pulse {}` stderr", args[0]), &stderr);
        (out.status.code().unwrap(), stdout, stderr)
    };
    let args = |words: &[&str], extra: &[String]| -> Vec<String> {
        words
            .iter()
            .map(|w| w.to_string())
            .chain(extra.iter().cloned())
            .collect()
    };

    // The push meets a 400 whose body echoes every credential: exit 4, nothing leaked.
    let push = args(
        &["push", input, "--url", &url, "--batch-size", "2", "--json"],
        &headers,
    );
    let auth = args(&["--auth-header-name", "X-Auth"], &[]);
    let (code, _, stderr) = run([push, auth.clone()].concat(), &env);
    assert_eq!(code, 4, "{stderr}");
    assert!(
        stderr.contains("[redacted]"),
        "the echo is shown, redacted: {stderr}"
    );
    assert!(
        stderr.contains("--header X-Api-Key carries a credential"),
        "{stderr}"
    );
    let run_id = sandbox.last_run();

    // Resume needs each credential again, and says which.
    let (code, _, stderr) = run(args(&["resume", &run_id], &[]), &env);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--url-password"), "{stderr}");
    let with_password = [("PULSE_URL_PASSWORD", URL_PASSWORD), env[0], env[1], env[2]];
    let (code, _, stderr) = run(args(&["resume", &run_id], &[]), &with_password);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("X-Api-Key") && stderr.contains("Cookie"),
        "{stderr}"
    );
    let (code, _, stderr) = run(
        args(&["resume", &run_id, "--json"], &headers),
        &with_password,
    );
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = run(args(&["resend", &run_id], &headers), &with_password);
    assert_eq!(code, 0, "{stderr}");

    // What the receiver got: every credential, as sent.
    let requests = echo.requests();
    let last = requests.last().unwrap();
    assert_eq!(last.header("x-api-key"), Some(API_KEY));
    assert_eq!(last.header("x-auth"), Some(AUTH_VALUE));
    assert_eq!(last.header("x-plain"), Some("visible"));
    let signatures = last.header("webhook-signature").unwrap();
    assert!(
        signatures.starts_with("v1,") && signatures.contains(" v1a,"),
        "signed with both: {signatures}"
    );
    assert!(last
        .header("authorization")
        .is_some_and(|a| a.starts_with("Basic ")));
    assert!(
        echo_of(last).contains(&format!("authorization decoded: u:{URL_PASSWORD}")),
        "the URL's password is sent decoded"
    );
    assert!(
        requests
            .iter()
            .all(|r| r.path.starts_with("http://") && r.header("proxy-authorization").is_some()),
        "every request went through the proxy, with its credentials"
    );
    // Every form of the echo was kept (it fits the log's 4 KiB), each credential redacted.
    let responses = sandbox.texts("SELECT response FROM attempts").join("\n");
    for kept in [
        "\nauthorization decoded: u:[redacted]",
        "\nproxy-authorization decoded: proxyuser:[redacted]",
        "x-auth=[redacted]&",
        r#""x-auth":"[redacted]""#,
        "configured key: [redacted]",
    ] {
        assert!(responses.contains(kept), "{kept} in {responses}");
    }

    for words in [
        &["log"][..],
        &["log", "--json"],
        &["log", "--failed", "--json"],
        &["log", &run_id],
        &["log", &run_id, "--json"],
    ] {
        let (code, _, stderr) = run(args(words, &[]), &[]);
        assert_eq!(code, 0, "{stderr}");
    }

    // Nor in any file pulse wrote: the log, its WAL, the lock files.
    drop(sandbox.conn());
    let mut files = vec![sandbox.db()];
    for suffix in ["-wal", "-shm"] {
        files.push(sandbox.path(&format!("pulse.db{suffix}")));
    }
    for entry in std::fs::read_dir(sandbox.dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        }
    }
    for file in files {
        if let Ok(bytes) = std::fs::read(&file) {
            assert_clean(
                &file.display().to_string(),
                &String::from_utf8_lossy(&bytes),
            );
        }
    }
    assert_clean("the PostgreSQL log", &sandbox.postgres_text());
}

#[cfg(unix)]
#[test]
fn files_pulse_creates_are_private_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    let input = sandbox.write("d.csv", numbered_csv(2));
    let db = sandbox.dir.path().join("new/dir/pulse.db");
    let pulse = assert_cmd::cargo::cargo_bin("pulse");
    let status = sandbox
        .command(std::path::Path::new("/bin/sh"))
        .args(["-c", "umask 000 && exec \"$0\" \"$@\""])
        .arg(&pulse)
        .args([
            "push",
            input.to_str().unwrap(),
            "--url",
            &server.url(),
            "--no-sign",
        ])
        .env("PULSE_DB", &db)
        .status()
        .unwrap();
    assert!(status.success());
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&db), 0o600);
    assert_eq!(mode(db.parent().unwrap()), 0o700);
    assert_eq!(mode(&sandbox.dir.path().join("new")), 0o700);
    let locks: Vec<_> = std::fs::read_dir(db.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    assert!(!locks.is_empty(), "a lock directory");
    for dir in locks {
        assert_eq!(mode(&dir), 0o700, "{}", dir.display());
        for file in std::fs::read_dir(&dir).unwrap() {
            let file = file.unwrap().path();
            assert_eq!(mode(&file), 0o600, "{}", file.display());
        }
    }
}

#[test]
fn the_secret_generated_for_a_url_can_be_shown_again() {
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    let input = sandbox.write("d.csv", numbered_csv(2));
    let out = sandbox
        .pulse()
        .args(["push", input.to_str().unwrap(), "--url", &server.url()])
        .arg("--quiet")
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    // Printed even with --quiet (the receiver needs it), with the way to see it again.
    assert!(
        stderr.contains(&format!(
            "`pulse secret show {}` prints it again",
            server.url()
        )),
        "{stderr}"
    );
    let printed = stderr
        .split_whitespace()
        .find(|w| w.starts_with("whsec_") && w.len() > 10)
        .map(|w| w.trim_end_matches('`').to_string())
        .unwrap_or_else(|| panic!("no generated secret in {stderr}"));
    let shown = sandbox.stdout_of(&["secret", "show", &server.url()]);
    assert_eq!(shown.trim(), printed);
    // A user in the URL makes another destination, with no secret of its own; so has another URL.
    let with_password = server.url().replace("http://", "http://u:pw@");
    let out = sandbox
        .pulse()
        .args(["secret", "show", &with_password])
        .assert()
        .code(1);
    assert!(crate::support::stderr_of(&out).contains("no signing secret"));
    let other = sandbox
        .pulse()
        .args(["secret", "show", "http://127.0.0.1:9/x"])
        .assert()
        .code(1);
    assert!(crate::support::stderr_of(&other).contains("http://127.0.0.1:9/x"));
}

#[test]
fn a_different_secret_is_refused_by_resume_and_resend_before_anything_is_sent() {
    let sandbox = Sandbox::new();
    // Refuses the first request only.
    let server = TestServer::start(|n, _| Reply::status(if n == 0 { 503 } else { 200 }));
    let input = sandbox.write("d.csv", numbered_csv(2));
    let other = "whsec_b3RoZXItc2VjcmV0LXh5eg==";
    sandbox
        .pulse()
        .env("PULSE_SECRET", SECRET)
        .args([
            "push",
            input.to_str().unwrap(),
            "--url",
            &server.url(),
            "--retries",
            "0",
        ])
        .assert()
        .code(4);
    let run = sandbox.last_run();
    for args in [&["resume", run.as_str()][..], &["resend", run.as_str()]] {
        let out = sandbox
            .pulse()
            .env("PULSE_SECRET", other)
            .args(args)
            .assert()
            .code(4);
        let stderr = crate::support::stderr_of(&out);
        assert!(
            stderr.contains("another secret")
                && stderr.contains("fp_")
                && stderr.contains("--resign")
                && stderr.contains(&format!("pulse cancel {run}")),
            "{stderr}"
        );
        assert!(!stderr.contains(SECRET_PART));
    }
    assert_eq!(
        server.requests().len(),
        1,
        "nothing sent with the wrong secret"
    );
    // The right one among others (rotation) goes through.
    let both = format!("{other} {SECRET}");
    sandbox
        .pulse()
        .env("PULSE_SECRET", &both)
        .args(["resume", &run])
        .assert()
        .success();
}

/// Issue 32, item 2: a crontab that got its `PULSE_SECRET` only after a first run (signed with
/// the secret pulse generated, refused 401) does not jam the URL: the stored run is held with
/// exit 4 and a message naming `--resign` and `pulse cancel`, and `--resign` sends it signed
/// with the receiver's secret, ahead of the next push.
#[test]
fn a_run_signed_before_the_secret_was_set_up_goes_with_resign() {
    let sandbox = Sandbox::new();
    // The receiver knows only SECRET.
    let server = TestServer::start(|_, req| {
        let verified = match (
            req.header("webhook-id"),
            req.header("webhook-timestamp"),
            req.header("webhook-signature"),
        ) {
            (Some(id), Some(ts), Some(sig)) => {
                crate::support::signature_matches(SECRET, id, ts, &req.body, sig)
            }
            _ => false,
        };
        Reply::status(if verified { 200 } else { 401 })
    });
    let first = sandbox.write("first.csv", numbered_csv(3));
    let second = sandbox.write("second.csv", numbered_csv(2));
    let push = |input: &std::path::Path, extra: &[&str]| {
        let mut cmd = sandbox.pulse();
        cmd.env("PULSE_SECRET", SECRET).args([
            "push",
            input.to_str().unwrap(),
            "--url",
            &server.url(),
            "--retries",
            "0",
        ]);
        cmd.args(extra);
        cmd
    };
    // No PULSE_SECRET yet: a secret is generated, the receiver refuses it.
    sandbox
        .pulse()
        .env_remove("PULSE_SECRET")
        .args([
            "push",
            first.to_str().unwrap(),
            "--url",
            &server.url(),
            "--retries",
            "0",
        ])
        .assert()
        .code(4);
    let run_a = sandbox.last_run();
    let refused = server.requests().len();
    // The secret is set up now: resume and the next push are held with a way out named.
    let out = sandbox
        .pulse()
        .env("PULSE_SECRET", SECRET)
        .args(["resume", &run_a])
        .assert()
        .code(4);
    let stderr = crate::support::stderr_of(&out);
    assert!(
        stderr.contains("generated")
            && stderr.contains(&format!("pulse resume {run_a} --resign"))
            && stderr.contains(&format!("pulse cancel {run_a}")),
        "{stderr}"
    );
    let out = push(&second, &[]).assert().code(4);
    let stderr = crate::support::stderr_of(&out);
    assert!(stderr.contains("--resign"), "{stderr}");
    assert_eq!(server.requests().len(), refused, "nothing sent meanwhile");
    // --resign on the push: the held run goes first, signed with SECRET, then the new one.
    push(&second, &["--resign"]).assert().success();
    let requests = server.requests();
    let sent: Vec<usize> = requests[refused..]
        .iter()
        .map(|r| r.json()["data"].as_array().unwrap().len())
        .collect();
    assert!(
        requests[refused..].iter().all(|r| {
            crate::support::signature_matches(
                SECRET,
                r.header("webhook-id").unwrap(),
                r.header("webhook-timestamp").unwrap(),
                &r.body,
                r.header("webhook-signature").unwrap(),
            )
        }),
        "all signed with the receiver's secret"
    );
    assert_eq!(sent, vec![3, 2], "the held run first, then the new one");
    let status = sandbox.stdout_of(&["log", &run_a, "--json"]);
    assert!(status.contains("\"delivered\""), "{status}");
}
