//! OAuth2 client credentials against a token endpoint of the test's own (a second loopback
//! server): tokens that expire, renewal before expiry and after a 401, a refusing endpoint, both
//! ways of client authentication, resume needing the client secret again, one token shared by
//! concurrent batches, and neither the secret nor any token in what pulse prints or stores.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;

use crate::support::server::{Recorded, Reply, TestServer};
use crate::support::{numbered_csv, Sandbox};

const CLIENT_ID: &str = "pulse client";
/// With characters form-urlencoding changes, as RFC 6749 section 2.3.1 has them encoded.
const CLIENT_SECRET: &str = "cs-sentinel:5e+c/r=t";

/// A token endpoint: issues `tok-sentinel-N` tokens living `lifetime` seconds, and remembers
/// when each was issued and what each token request said.
struct TokenEndpoint {
    server: TestServer,
    issued: Arc<Mutex<HashMap<String, Instant>>>,
    lifetime: f64,
}

impl TokenEndpoint {
    fn start(lifetime: f64) -> TokenEndpoint {
        TokenEndpoint::answering(lifetime, |_| None)
    }

    /// As `start`, but `refuse(n)` may answer the n-th token request instead (0-based).
    fn answering(
        lifetime: f64,
        refuse: impl Fn(usize) -> Option<Reply> + Send + Sync + 'static,
    ) -> TokenEndpoint {
        let issued = Arc::new(Mutex::new(HashMap::new()));
        let kept = issued.clone();
        let server = TestServer::start(move |n, _| {
            if let Some(reply) = refuse(n) {
                return reply;
            }
            let token = format!("tok-sentinel-{n}");
            kept.lock().unwrap().insert(token.clone(), Instant::now());
            Reply::status(200).body(&format!(
                r#"{{"access_token":"{token}","token_type":"Bearer","expires_in":{lifetime}}}"#
            ))
        });
        TokenEndpoint {
            server,
            issued,
            lifetime,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/oauth/token", self.server.port)
    }

    /// Whether `request` carries a token this endpoint issued that has not expired yet.
    fn valid(&self, request: &Recorded) -> bool {
        let Some(token) = request
            .header("authorization")
            .and_then(|a| a.strip_prefix("Bearer "))
        else {
            return false;
        };
        let issued = self.issued.lock().unwrap();
        issued
            .get(token)
            .is_some_and(|at| at.elapsed().as_secs_f64() < self.lifetime)
    }
}

/// A token request's form body, decoded.
fn form_of(request: &Recorded) -> HashMap<String, String> {
    form_urlencoded::parse(&request.body).into_owned().collect()
}

/// `pulse push INPUT --url URL --no-sign` with the OAuth2 flags for `endpoint`.
fn push_args(input: &std::path::Path, url: &str, endpoint: &str) -> Vec<String> {
    [
        "push",
        input.to_str().unwrap(),
        "--url",
        url,
        "--no-sign",
        "--oauth2-token-url",
        endpoint,
        "--oauth2-client-id",
        CLIENT_ID,
    ]
    .map(String::from)
    .to_vec()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn oauth2_tokens_living_one_second_are_renewed_before_they_expire_over_many_batches() {
    let sandbox = Sandbox::new();
    // 1.5 s rather than 1: pulse renews at half a token's life, and the other half is the
    // slack a request has to reach the receiver on a machine busy with the other tests.
    let endpoint = Arc::new(TokenEndpoint::start(1.5));
    let checking = endpoint.clone();
    let expired = Arc::new(AtomicUsize::new(0));
    let counted = expired.clone();
    // Each request is checked as it arrives: a token unknown or expired is a 401.
    let receiver = TestServer::start(move |_, request| {
        if checking.valid(request) {
            Reply::status(200).delay(Duration::from_millis(60))
        } else {
            counted.fetch_add(1, Ordering::SeqCst);
            Reply::status(401)
        }
    });
    let input = sandbox.write("d.csv", numbered_csv(40));
    let mut args = push_args(&input, &receiver.url(), &endpoint.url());
    args.extend(["--batch-size", "1", "--oauth2-scope", "events:write read"].map(String::from));
    args.extend(["--oauth2-audience", "https://api.example/"].map(String::from));
    let out = with_client_secret(&sandbox, &args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        expired.load(Ordering::SeqCst),
        0,
        "every request had a live token"
    );
    assert_eq!(receiver.requests().len(), 40);
    let asked = endpoint.server.requests();
    assert!(
        (2..40).contains(&asked.len()),
        "the endpoint is asked again as tokens run out, not per batch: {}",
        asked.len()
    );
    // Client authentication by HTTP Basic (the default), id and secret form-urlencoded first.
    for request in &asked {
        assert_eq!(request.method, "POST");
        assert_eq!(
            request.header("content-type"),
            Some("application/x-www-form-urlencoded")
        );
        let basic = request.header("authorization").unwrap();
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(basic.strip_prefix("Basic ").unwrap())
            .unwrap();
        assert_eq!(
            String::from_utf8(decoded).unwrap(),
            "pulse+client:cs-sentinel%3A5e%2Bc%2Fr%3Dt"
        );
        let form = form_of(request);
        assert_eq!(form["grant_type"], "client_credentials");
        assert_eq!(form["scope"], "events:write read");
        assert_eq!(form["audience"], "https://api.example/");
        assert!(!form.contains_key("client_secret"));
    }
    // The log shows that a token went, never which.
    let logged = sandbox.texts("SELECT request_headers FROM attempts");
    assert_eq!(logged.len(), 40);
    for headers in logged {
        let headers: serde_json::Value = serde_json::from_str(&headers).unwrap();
        assert_eq!(headers["authorization"], "[redacted]");
    }
}

#[test]
fn oauth2_a_401_renews_the_token_once_and_tries_the_batch_again_at_once() {
    let sandbox = Sandbox::new();
    let endpoint = TokenEndpoint::start(3600.0);
    // The third request is refused: the token was revoked.
    let receiver = TestServer::start(|n, _| Reply::status(if n == 2 { 401 } else { 200 }));
    let input = sandbox.write("d.csv", numbered_csv(5));
    let mut args = push_args(&input, &receiver.url(), &endpoint.url());
    args.extend(["--batch-size", "1"].map(String::from));
    let started = Instant::now();
    let out = with_client_secret(&sandbox, &args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "tried again at once, not after the retry schedule"
    );
    assert_eq!(endpoint.server.requests().len(), 2, "one renewal");
    let tokens: Vec<String> = receiver
        .requests()
        .iter()
        .map(|r| r.header("authorization").unwrap().to_string())
        .collect();
    assert_eq!(tokens.len(), 6, "the refused batch went twice");
    assert!(tokens[..3].iter().all(|t| t == "Bearer tok-sentinel-0"));
    assert!(tokens[3..].iter().all(|t| t == "Bearer tok-sentinel-1"));
    // The 401 is recorded as any attempt.
    let statuses = sandbox.texts("SELECT http_status FROM attempts ORDER BY id");
    assert_eq!(statuses, ["200", "200", "401", "200", "200", "200"]);

    // A second 401 in a row is the receiver's answer: the batch fails, as a 401 does.
    let sandbox = Sandbox::new();
    let refusing = TestServer::start(|_, _| Reply::status(401));
    let args = push_args(&input, &refusing.url(), &endpoint.url());
    let out = with_client_secret(&sandbox, &args);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(stderr(&out).contains("HTTP 401"), "{}", stderr(&out));
    assert_eq!(refusing.requests().len(), 2, "tried twice, not retried on");
    assert_eq!(endpoint.server.requests().len(), 4, "one renewal per push");
}

#[test]
fn oauth2_a_refusing_token_endpoint_says_its_error_before_any_batch_or_with_the_batch_named() {
    let sandbox = Sandbox::new();
    let refusal =
        r#"{"error":"invalid_client","error_description":"Client authentication failed"}"#;
    let endpoint = TokenEndpoint::answering(1.0, move |_| Some(Reply::status(401).body(refusal)));
    let receiver = TestServer::ok();
    let input = sandbox.write("d.csv", numbered_csv(6));
    let args = push_args(&input, &receiver.url(), &endpoint.url());
    let out = with_client_secret(&sandbox, &args);
    let text = stderr(&out);
    assert_eq!(out.status.code(), Some(4), "{text}");
    assert!(
        text.contains("invalid_client (Client authentication failed)")
            && text.contains(&endpoint.url())
            && text.contains("no batch was sent"),
        "{text}"
    );
    assert!(receiver.requests().is_empty(), "nothing sent");
    assert_eq!(sandbox.texts("SELECT id FROM attempts").len(), 0);

    // Mid-run: the first token is issued, its renewal refused; the batch is named.
    let sandbox = Sandbox::new();
    let endpoint = TokenEndpoint::answering(1.0, move |n| {
        (n > 0).then(|| Reply::status(400).body(r#"{"error":"unauthorized_client"}"#))
    });
    let slow = TestServer::start(|_, _| Reply::status(200).delay(Duration::from_millis(300)));
    let mut args = push_args(&input, &slow.url(), &endpoint.url());
    args.extend(["--batch-size", "1"].map(String::from));
    let out = with_client_secret(&sandbox, &args);
    let text = stderr(&out);
    assert_eq!(out.status.code(), Some(4), "{text}");
    assert!(
        text.contains("refused the client credentials: unauthorized_client")
            && text.contains("was not sent")
            && text.contains("batch "),
        "{text}"
    );
    let sent = slow.requests().len();
    assert!((1..6).contains(&sent), "stopped mid-run after {sent}");
    assert_eq!(sandbox.delivered_count(), sent as i64);
}

#[test]
fn oauth2_client_auth_in_the_form_sends_id_and_secret_in_the_body() {
    let sandbox = Sandbox::new();
    let endpoint = TokenEndpoint::start(3600.0);
    let receiver = TestServer::ok();
    let input = sandbox.write("d.csv", numbered_csv(2));
    let mut args = push_args(&input, &receiver.url(), &endpoint.url());
    args.extend(["--oauth2-auth-style", "form"].map(String::from));
    let out = with_client_secret(&sandbox, &args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let asked = endpoint.server.requests();
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].header("authorization"), None);
    let form = form_of(&asked[0]);
    assert_eq!(form["grant_type"], "client_credentials");
    assert_eq!(form["client_id"], CLIENT_ID);
    assert_eq!(form["client_secret"], CLIENT_SECRET);
    assert!(!form.contains_key("scope"));
    assert_eq!(
        receiver.requests()[0].header("authorization"),
        Some("Bearer tok-sentinel-0")
    );
}

#[test]
fn oauth2_resume_and_resend_need_the_client_secret_again() {
    let sandbox = Sandbox::new();
    let endpoint = TokenEndpoint::start(3600.0);
    // Refuses the push's first batch, takes everything after.
    let receiver = TestServer::start(|n, _| Reply::status(if n == 0 { 422 } else { 200 }));
    let input = sandbox.write("d.csv", numbered_csv(4));
    let mut args = push_args(&input, &receiver.url(), &endpoint.url());
    let flags = [
        "--batch-size",
        "2",
        "--oauth2-auth-style",
        "form",
        "--oauth2-scope",
        "events",
    ];
    args.extend(flags.map(String::from));
    let out = with_client_secret(&sandbox, &args);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let run_id = sandbox.last_run();

    for command in ["resume", "resend"] {
        let out = sandbox.pulse().args([command, &run_id]).output().unwrap();
        let text = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{text}");
        assert!(text.contains("PULSE_OAUTH2_CLIENT_SECRET"), "{text}");
    }
    assert_eq!(
        endpoint.server.requests().len(),
        1,
        "no token without the secret"
    );
    assert_eq!(receiver.requests().len(), 1);

    // With the secret again: the stored endpoint, id, scope and way of authenticating.
    let out = with_client_secret(&sandbox, ["resume", &run_id]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let asked = endpoint.server.requests();
    assert_eq!(asked.len(), 2);
    let form = form_of(&asked[1]);
    assert_eq!(form["client_id"], CLIENT_ID);
    assert_eq!(form["client_secret"], CLIENT_SECRET);
    assert_eq!(form["scope"], "events");
    let sent = receiver.requests();
    assert_eq!(sent.len(), 3);
    assert_eq!(
        sent[2].header("authorization"),
        Some("Bearer tok-sentinel-1")
    );
}

#[test]
fn oauth2_with_concurrency_4_the_batches_in_flight_share_one_token() {
    let sandbox = Sandbox::new();
    let endpoint = TokenEndpoint::start(3600.0);
    let receiver = TestServer::start(|n, _| Reply::status(200).hold_until((n / 4 + 1) * 4));
    let input = sandbox.write("d.csv", numbered_csv(16));
    let mut args = push_args(&input, &receiver.url(), &endpoint.url());
    args.extend(["--batch-size", "1", "--concurrency", "4"].map(String::from));
    let out = with_client_secret(&sandbox, &args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(receiver.most_in_flight(), 4);
    assert_eq!(endpoint.server.requests().len(), 1, "one token for all");
    assert!(receiver
        .requests()
        .iter()
        .all(|r| r.header("authorization") == Some("Bearer tok-sentinel-0")));

    // Four 401s at once to the same token: one renewal between them.
    let sandbox = Sandbox::new();
    let endpoint = TokenEndpoint::start(3600.0);
    let receiver = TestServer::start(|_, request| {
        match request.header("authorization") == Some("Bearer tok-sentinel-0") {
            true => Reply::status(401).hold_until(4),
            false => Reply::status(200),
        }
    });
    let mut args = push_args(&input, &receiver.url(), &endpoint.url());
    args.extend(["--batch-size", "1", "--concurrency", "4"].map(String::from));
    let out = with_client_secret(&sandbox, &args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        endpoint.server.requests().len(),
        2,
        "one renewal for four 401s"
    );
    assert_eq!(sandbox.delivered_count(), 16);
}

#[test]
fn oauth2_dry_run_shows_the_bearer_redacted_and_fetches_no_token() {
    let sandbox = Sandbox::new();
    let endpoint = TokenEndpoint::start(3600.0);
    let input = sandbox.write("d.csv", numbered_csv(2));
    let out = sandbox
        .pulse()
        .args([
            "push",
            input.to_str().unwrap(),
            "--dry-run",
            "--no-sign",
            "--oauth2-token-url",
            &endpoint.url(),
            "--oauth2-client-id",
            CLIENT_ID,
        ])
        .env("PULSE_OAUTH2_CLIENT_SECRET", CLIENT_SECRET)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("\nauthorization: Bearer [redacted]\n"),
        "{stdout}"
    );
    assert!(endpoint.server.requests().is_empty());
}

#[test]
fn oauth2_beside_another_authorization_or_without_its_secret_is_a_usage_error() {
    let sandbox = Sandbox::new();
    let input = sandbox.write("d.csv", numbered_csv(2));
    let hook = "http://127.0.0.1:9/hook";
    let token = "http://127.0.0.1:9/token";
    let base = push_args(&input, hook, token);
    let cases: [(&str, &str, &[&str], &str); 5] = [
        (
            hook,
            token,
            &["--auth-header-name", "X-Api-Key"],
            "--auth-header-name",
        ),
        (
            hook,
            token,
            &["--header", "Authorization: Bearer other"],
            "--header Authorization",
        ),
        ("http://u@127.0.0.1:9/hook", token, &[], "a user in the URL"),
        (hook, "http://id:pw@127.0.0.1:9/t", &[], "not in the URL"),
        (hook, token, &["--oauth2-auth-style", "digest"], "digest"),
    ];
    for (url, token_url, extra, says) in cases {
        let out = sandbox
            .pulse()
            .args(push_args(&input, url, token_url))
            .args(extra)
            .env("PULSE_OAUTH2_CLIENT_SECRET", CLIENT_SECRET)
            .env("PULSE_AUTH_HEADER_VALUE", "v")
            .output()
            .unwrap();
        let text = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {text}");
        assert!(text.contains(says), "{extra:?}: {text}");
        assert!(
            !text.contains("cs-sentinel") && !text.contains(":pw@"),
            "{text}"
        );
    }
    let out = sandbox.pulse().args(&base).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("PULSE_OAUTH2_CLIENT_SECRET"));
    // A client secret on the command line is warned about.
    let out = sandbox
        .pulse()
        .args(&base)
        .args([
            "--oauth2-client-secret",
            CLIENT_SECRET,
            "--header",
            "Authorization: x",
        ])
        .output()
        .unwrap();
    let text = stderr(&out);
    assert!(
        text.contains("warning: --oauth2-client-secret on the command line"),
        "{text}"
    );
    assert!(!text.contains("cs-sentinel"), "{text}");
}

/// Fails if `text` holds the client secret, a token, or the client's Basic credentials.
fn assert_no_oauth2_credential(what: &str, text: &str) {
    let basic = base64::engine::general_purpose::STANDARD
        .encode("pulse+client:cs-sentinel%3A5e%2Bc%2Fr%3Dt");
    for needle in ["cs-sentinel", "sentinel%3A5e", "tok-sentinel", &basic] {
        assert!(!text.contains(needle), "{what} holds {needle}:\n{text}");
    }
}

/// Every header of `request` echoed back, as lines, as JSON and percent-encoded.
fn echo_of(request: &Recorded) -> String {
    let mut headers: Vec<(&String, &String)> = request.headers.iter().collect();
    headers.sort();
    let lines: Vec<String> = headers.iter().map(|(n, v)| format!("{n}: {v}")).collect();
    let json = serde_json::to_string(&request.headers).unwrap();
    let mut form = form_urlencoded::Serializer::new(String::new());
    form.extend_pairs(headers.iter().copied());
    let body = String::from_utf8_lossy(&request.body);
    format!(
        "{}\n{json}\n{}\nbody: {body}",
        lines.join("\n"),
        form.finish()
    )
}

#[test]
fn oauth2_planted_client_secrets_and_tokens_stay_out_of_every_output_and_the_log() {
    let sandbox = Sandbox::new();
    let endpoint = TokenEndpoint::start(3600.0);
    // Echoes every request's headers: a 401 first (the token is renewed), then 200s.
    let receiver = TestServer::start(|n, request| {
        Reply::status(if n == 0 { 401 } else { 200 }).body(&echo_of(request))
    });
    let input = sandbox.write("d.csv", numbered_csv(4));
    let mut args = push_args(&input, &receiver.url(), &endpoint.url());
    args.extend(["--batch-size", "2", "--json"].map(String::from));
    let run = |args: &[String]| {
        let out = with_client_secret(&sandbox, args);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let what = format!("`pulse {}`", args[..args.len().min(2)].join(" "));
        assert_no_oauth2_credential(&what, &stdout);
        assert_no_oauth2_credential(&what, &stderr(&out));
        (out.status.code(), stdout)
    };
    assert_eq!(run(&args).0, Some(0));
    assert!(receiver.requests()[1]
        .header("authorization")
        .is_some_and(|a| a.contains("tok-sentinel")));
    let responses = sandbox.texts("SELECT response FROM attempts").join("\n");
    assert!(
        responses.contains("authorization: Bearer [redacted]"),
        "the echo is kept, redacted: {responses}"
    );
    let run_id = sandbox.last_run();
    let plan = sandbox.texts("SELECT options FROM runs").join("\n");
    assert!(
        plan.contains(&endpoint.url()) && plan.contains(CLIENT_ID),
        "the run keeps where its tokens come from: {plan}"
    );
    for words in [
        &["log"][..],
        &["log", "--json"],
        &["log", &run_id],
        &["log", &run_id, "--json"],
        &["resend", &run_id],
    ] {
        let words: Vec<String> = words.iter().map(|w| w.to_string()).collect();
        assert_eq!(run(&words).0, Some(0), "{words:?}");
    }

    // A refusing endpoint that echoes what it was sent (the secret, in the form or in Basic).
    for style in ["basic", "form"] {
        let refusing = TestServer::start(|_, request| {
            let echo = serde_json::to_string(&echo_of(request)).unwrap();
            Reply::status(401).body(&format!(
                r#"{{"error":"invalid_client","error_description":{echo}}}"#
            ))
        });
        let url = format!("http://127.0.0.1:{}/oauth/token", refusing.port);
        let mut args = push_args(&input, &receiver.url(), &url);
        args.extend(["--oauth2-auth-style", style].map(String::from));
        assert_eq!(run(&args).0, Some(4), "{style}");
        assert!(refusing.requests().len() == 1);
    }

    // Nor in any file pulse wrote: the log, its WAL, the lock files.
    drop(sandbox.conn());
    let mut files = Vec::new();
    for entry in std::fs::read_dir(sandbox.dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        } else {
            files.push(path);
        }
    }
    for file in files.iter().filter(|f| !f.ends_with("d.csv")) {
        if let Ok(bytes) = std::fs::read(file) {
            let text = String::from_utf8_lossy(&bytes);
            assert_no_oauth2_credential(&file.display().to_string(), &text);
        }
    }
    assert_no_oauth2_credential("the PostgreSQL log", &sandbox.postgres_text());
}

/// Runs pulse with `args` and the client secret in its variable, as a user's cron line would.
fn with_client_secret<I, S>(sandbox: &Sandbox, args: I) -> std::process::Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    sandbox
        .pulse()
        .args(args)
        .env("PULSE_OAUTH2_CLIENT_SECRET", CLIENT_SECRET)
        .output()
        .unwrap()
}
