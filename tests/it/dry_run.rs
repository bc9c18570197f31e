//! `pulse push --dry-run`: each request as it would be sent (request line, headers with the
//! signature, body), `--limit`, and no `--url` needed; nothing sent, nothing logged.

use crate::support::server::TestServer;
use crate::support::{numbered_csv, signature_matches, stderr_of, Sandbox};

const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

/// One printed request: its request line, headers and body.
#[derive(Debug)]
struct Printed {
    line: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Printed {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Reads the dry run's stdout back: a request line, headers up to a blank line, then for a
/// POST the body on one line and a blank line.
fn parse(stdout: &str) -> Vec<Printed> {
    let mut lines = stdout.lines().peekable();
    let mut printed = Vec::new();
    while let Some(line) = lines.next() {
        if line.is_empty() {
            continue;
        }
        let mut headers = Vec::new();
        for header in lines.by_ref() {
            if header.is_empty() {
                break;
            }
            let (name, value) = header.split_once(": ").expect("a header line");
            headers.push((name.to_string(), value.to_string()));
        }
        let body = if line.starts_with("POST ") {
            lines.next().unwrap_or_default().to_string()
        } else {
            String::new()
        };
        printed.push(Printed {
            line: line.to_string(),
            headers,
            body,
        });
    }
    printed
}

#[test]
fn a_dry_run_prints_requests_as_sent_signature_included_up_to_the_limit() {
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    let input = sandbox.write("d.csv", numbered_csv(50));
    let out = sandbox
        .pulse()
        .env("PULSE_SECRET", SECRET)
        .args(["push", input.to_str().unwrap(), "--url", &server.url()])
        .args(["--batch-size", "10", "--dry-run", "--limit", "2"])
        .args([
            "--header",
            "X-Team: data",
            "--header",
            "Authorization: Bearer s3cr3t",
        ])
        .assert()
        .success();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let requests = parse(&stdout);
    assert_eq!(requests.len(), 2, "--limit 2: {stdout}");
    for (i, request) in requests.iter().enumerate() {
        assert_eq!(request.line, format!("POST {}", server.url()));
        assert_eq!(request.header("content-type"), Some("application/json"));
        assert_eq!(request.header("x-team"), Some("data"));
        assert_eq!(request.header("authorization"), Some("[redacted]"));
        let body: serde_json::Value = serde_json::from_str(&request.body).unwrap();
        assert_eq!(body["index"], i + 1);
        assert_eq!(body["count"], 5);
        // The signature is the one the push would send: it verifies over the body shown.
        assert!(signature_matches(
            SECRET,
            request.header("webhook-id").unwrap(),
            request.header("webhook-timestamp").unwrap(),
            request.body.as_bytes(),
            request.header("webhook-signature").unwrap(),
        ));
    }
    assert!(!stdout.contains("s3cr3t"), "{stdout}");
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains("50 rows in 5 batches (the first 2 shown) would go to"),
        "{stderr}"
    );
    assert!(server.requests().is_empty(), "nothing sent");
    assert!(!sandbox.db().exists(), "nothing logged");
}

#[test]
fn a_dry_run_needs_no_url() {
    let sandbox = Sandbox::new();
    let input = sandbox.write("d.csv", numbered_csv(3));
    let path = input.to_str().unwrap();
    // Without a secret there is no signature to show, and the output says why.
    let out = sandbox
        .pulse()
        .args(["push", path, "--dry-run"])
        .assert()
        .success();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let requests = parse(&stdout);
    assert_eq!(requests.len(), 1, "{stdout}");
    assert_eq!(requests[0].line, "POST <url>");
    assert!(
        requests[0]
            .header("webhook-signature")
            .is_some_and(|s| s.contains("--secret or PULSE_SECRET")),
        "{stdout}"
    );
    assert!(
        stderr_of(&out).contains("would go to the push's --url (shown as <url>)"),
        "{}",
        stderr_of(&out)
    );
    // With a secret, it is signed; GET requests show their query on the request line.
    let out = sandbox
        .pulse()
        .env("PULSE_SECRET", SECRET)
        .args(["push", path, "--dry-run", "--method", "get"])
        .assert()
        .success();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let requests = parse(&stdout);
    assert_eq!(requests.len(), 3, "one row per GET: {stdout}");
    assert!(
        requests[0].line.starts_with("GET <url>?id=1&name=name+1"),
        "{stdout}"
    );
    let query = requests[0].line.split_once('?').unwrap().1;
    assert!(signature_matches(
        SECRET,
        requests[0].header("webhook-id").unwrap(),
        requests[0].header("webhook-timestamp").unwrap(),
        query.as_bytes(),
        requests[0].header("webhook-signature").unwrap(),
    ));
    // Without --dry-run, --url is still required.
    let out = sandbox.pulse().args(["push", path]).assert().code(2);
    assert!(stderr_of(&out).contains("--url <URL>"));
    // --limit belongs to --dry-run.
    sandbox
        .pulse()
        .args(["push", path, "--url", "http://127.0.0.1:9/", "--limit", "1"])
        .assert()
        .code(2);
}

#[test]
fn a_dry_run_signs_with_the_secret_generated_for_its_url() {
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    let input = sandbox.write("d.csv", numbered_csv(3));
    let path = input.to_str().unwrap();
    // No secret generated yet: the dry run does not make one.
    let out = sandbox
        .pulse()
        .args(["push", path, "--url", &server.url(), "--dry-run"])
        .assert()
        .success();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(
        stdout.contains("webhook-signature: (none yet: the first push generates a secret"),
        "{stdout}"
    );
    sandbox
        .pulse()
        .args(["push", path, "--url", &server.url()])
        .assert()
        .success();
    let secret = sandbox.stdout_of(&["secret", "show", &server.url()]);
    let out = sandbox
        .pulse()
        .args(["push", path, "--url", &server.url(), "--dry-run"])
        .assert()
        .success();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let request = &parse(&stdout)[0];
    assert!(signature_matches(
        secret.trim(),
        request.header("webhook-id").unwrap(),
        request.header("webhook-timestamp").unwrap(),
        request.body.as_bytes(),
        request.header("webhook-signature").unwrap(),
    ));
    assert_eq!(server.requests().len(), 1, "only the real push sent");
}

#[test]
fn a_dry_run_leaves_no_scratch_files_behind() {
    let sandbox = Sandbox::new();
    let tmp = sandbox.path("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let input = sandbox.write("d.csv", numbered_csv(3000));
    sandbox
        .pulse()
        .env("TMPDIR", &tmp)
        .args(["push", input.to_str().unwrap(), "--dry-run", "--limit", "1"])
        .assert()
        .success();
    // The scratch log, its WAL and shared-memory file: all gone (the log's connection is
    // closed before the file is removed, or SQLite leaves the other two).
    let left: Vec<_> = std::fs::read_dir(&tmp)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn a_compressed_push_shows_its_encoding_and_the_body_it_signs() {
    let sandbox = Sandbox::new();
    let input = sandbox.write("d.csv", numbered_csv(3));
    let out = sandbox
        .pulse()
        .env("PULSE_SECRET", SECRET)
        .args([
            "push",
            input.to_str().unwrap(),
            "--dry-run",
            "--compress",
            "zstd",
        ])
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    let printed = parse(&stdout);
    assert_eq!(printed[0].header("content-encoding"), Some("zstd"));
    // The body shown is the decoded one, and the signature is over it.
    let id = printed[0].header("webhook-id").unwrap();
    let ts = printed[0].header("webhook-timestamp").unwrap();
    let sig = printed[0].header("webhook-signature").unwrap();
    assert!(signature_matches(
        SECRET,
        id,
        ts,
        printed[0].body.as_bytes(),
        sig
    ));
    assert!(
        stderr_of(&out).contains("zstd-encoded; bodies shown decoded"),
        "{}",
        stderr_of(&out)
    );
}
