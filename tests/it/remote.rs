//! Remote inputs: `pulse push http://...` against a local file server (the repeat check by
//! `ETag` without a download, a push killed while staging a download, 404, redirects,
//! `--input-header`), and `s3://` against moto's S3 server (`remote_s3.rs`).

use crate::support::files::FileServer;
use crate::support::server::TestServer;
use crate::support::{numbered_csv, on_postgres, rows_of, stderr_of, Sandbox};

fn push_url(sandbox: &Sandbox, input: &str, to: &str) -> assert_cmd::Command {
    let mut cmd = sandbox.pulse();
    cmd.args(["push", input, "--url", to, "--no-sign"]);
    cmd
}

/// The log's bytes (the SQLite file and its WAL, or the PostgreSQL tables as text).
fn log_text(sandbox: &Sandbox) -> String {
    if on_postgres() {
        return sandbox.postgres_text();
    }
    let mut text = String::new();
    for file in ["pulse.db", "pulse.db-wal"] {
        if let Ok(bytes) = std::fs::read(sandbox.path(file)) {
            text.push_str(&String::from_utf8_lossy(&bytes));
        }
    }
    text
}

#[test]
fn a_url_is_pushed_and_pushed_again_unchanged_by_its_etag_without_a_download() {
    let sandbox = Sandbox::new();
    let files = FileServer::start(numbered_csv(5), Some("\"v1\""));
    let receiver = TestServer::ok();
    let input = files.url("/export.csv");
    push_url(&sandbox, &input, &receiver.url())
        .assert()
        .success();
    assert_eq!(rows_of(&receiver.requests()).len(), 5);
    assert_eq!(files.methods(), ["GET"]);
    let options: String = sandbox.query("SELECT options FROM runs").unwrap();
    assert!(options.contains(r#""source_etag":"\"v1\"""#), "{options}");
    assert!(options.contains("source_last_modified"), "{options}");
    let size: i64 = sandbox.query("SELECT source_size FROM runs").unwrap();
    assert_eq!(size, numbered_csv(5).len() as i64);

    let out = push_url(&sandbox, &input, &receiver.url())
        .assert()
        .success();
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains(&format!("{input} is unchanged")),
        "{stderr}"
    );
    assert_eq!(files.methods(), ["GET", "HEAD"], "asked, not downloaded");
    assert_eq!(receiver.requests().len(), 1);

    // Changed: downloaded and sent.
    files.replace(numbered_csv(7), Some("\"v2\""));
    push_url(&sandbox, &input, &receiver.url())
        .assert()
        .success();
    assert_eq!(files.methods(), ["GET", "HEAD", "HEAD", "GET"]);
    assert_eq!(rows_of(&receiver.requests()).len(), 12);
    let shown = sandbox.stdout_of(&["log"]);
    assert!(shown.contains(&input), "{shown}");
}

#[test]
fn a_url_without_an_etag_is_compared_by_its_content() {
    let sandbox = Sandbox::new();
    let files = FileServer::start(numbered_csv(3), None);
    let receiver = TestServer::ok();
    let input = files.url("/export.csv");
    push_url(&sandbox, &input, &receiver.url())
        .assert()
        .success();
    let out = push_url(&sandbox, &input, &receiver.url())
        .assert()
        .success();
    assert!(
        stderr_of(&out).contains("is unchanged"),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(receiver.requests().len(), 1);
    let runs: i64 = sandbox.query("SELECT count(*) FROM runs").unwrap();
    assert_eq!(runs, 1, "the second download is not kept as a run");
}

#[test]
fn a_server_refusing_head_is_compared_by_a_download() {
    let sandbox = Sandbox::new();
    let files = FileServer::start(numbered_csv(3), Some("\"v1\""));
    let receiver = TestServer::ok();
    let input = files.url("/export.csv");
    push_url(&sandbox, &input, &receiver.url())
        .assert()
        .success();
    files.refuse_head(403);
    let out = push_url(&sandbox, &input, &receiver.url())
        .assert()
        .success();
    assert!(
        stderr_of(&out).contains("is unchanged"),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(files.methods(), ["GET", "HEAD", "GET"]);
    assert_eq!(receiver.requests().len(), 1);
}

#[test]
fn input_headers_reach_the_server_and_no_credential_is_kept_or_printed() {
    let sandbox = Sandbox::new();
    let files = FileServer::start(numbered_csv(2), Some("\"a\""));
    let receiver = TestServer::ok();
    let input = format!(
        "http://reader:pw-hidden-77@127.0.0.1:{}/export.csv",
        files.port
    );
    let out = push_url(&sandbox, &input, &receiver.url())
        .args(["--input-header", "X-Api-Key: key-hidden-99"])
        .assert()
        .success();
    let fetched = &files.requests()[0];
    assert_eq!(
        fetched.headers.get("x-api-key").map(String::as_str),
        Some("key-hidden-99")
    );
    assert!(fetched.headers["authorization"].starts_with("Basic "));
    let shown = sandbox.stdout_of(&["log"]) + &sandbox.stdout_of(&["log", &sandbox.last_run()]);
    let printed = format!(
        "{}{}{shown}",
        stderr_of(&out),
        String::from_utf8_lossy(&out.get_output().stdout)
    );
    assert!(shown.contains("reader:***@127.0.0.1"), "{shown}");
    // The receiver's bodies too (impler's fileName, the template id).
    let bodies: String = receiver
        .requests()
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect();
    for (what, text) in [
        ("the log", log_text(&sandbox)),
        ("the output", printed),
        ("the bodies", bodies),
    ] {
        assert!(!text.contains("hidden-99"), "the input header is in {what}");
        assert!(
            !text.contains("hidden-77"),
            "the URL's password is in {what}"
        );
    }
}

#[test]
fn a_url_answering_404_is_an_error_naming_it() {
    let sandbox = Sandbox::new();
    let files = FileServer::start("id\n1\n", None);
    let input = files.url("/gone.csv");
    let out = push_url(&sandbox, &input, "http://127.0.0.1:9/")
        .assert()
        .code(1);
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains(&input) && stderr.contains("404"),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    let runs: i64 = sandbox.query("SELECT count(*) FROM runs").unwrap_or(0);
    assert_eq!(runs, 0);
}

#[test]
fn redirects_are_followed_within_the_same_origin_only() {
    let sandbox = Sandbox::new();
    let files = FileServer::start(numbered_csv(2), None);
    let moved = files.url("/moved");
    let out = sandbox
        .pulse()
        .args(["validate", &moved])
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(stdout.contains("2 rows, 2 valid"), "{stdout}");
    let paths: Vec<String> = files.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/moved", "/export.csv"]);

    // Another host name for the same server is another origin.
    let elsewhere = format!("http://localhost:{}/export.csv", files.port);
    files.redirect_to(&elsewhere);
    let out = sandbox.pulse().args(["validate", &moved]).assert().code(1);
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains(&moved) && stderr.contains(&elsewhere),
        "{stderr}"
    );
    assert!(stderr.contains("another origin"), "{stderr}");
    assert!(!files
        .requests()
        .iter()
        .any(|r| r.headers["host"].starts_with("localhost")));
}

#[test]
fn validate_schema_infer_select_and_dry_run_read_a_url() {
    let sandbox = Sandbox::new();
    let files = FileServer::start("id,name,age\n1,ann,31\n2,bob,x\n", None);
    let input = files.url("/export.csv");
    let schema = sandbox.stdout_of(&["schema", "infer", &input]);
    assert!(schema.contains(r#""name": "age""#), "{schema}");
    let schema_file = sandbox.write(
        "s.json",
        r#"{"fields":[{"name":"id","type":"integer"},{"name":"age","type":"integer"}]}"#,
    );
    let out = sandbox
        .pulse()
        .args(["validate", &input, "--select", "id,age", "--schema"])
        .arg(&schema_file)
        .assert()
        .code(3);
    assert!(
        stderr_of(&out).contains("1 of 2 rows is invalid"),
        "{}",
        stderr_of(&out)
    );
    let shown = sandbox.stdout_of(&[
        "push",
        &input,
        "--dry-run",
        "--rename",
        "name=who",
        "--no-sign",
    ]);
    assert!(shown.contains(r#""who":"ann""#), "{shown}");
    assert!(shown.contains(r#""templateId":"export""#), "{shown}");
}

#[test]
fn a_push_killed_while_staging_a_download_is_restaged_or_abandoned_as_the_object_changed() {
    for changed in [false, true] {
        let sandbox = Sandbox::new();
        let csv = numbered_csv(3000);
        let files = FileServer::start(csv.clone(), Some("\"one\""));
        let receiver = TestServer::ok();
        let input = files.url("/export.csv");
        files.stall_after(csv.len() / 2);
        let args = [
            "push",
            &input,
            "--url",
            &receiver.url(),
            "--no-sign",
            "--batch-size",
            "100",
            "--input-header",
            "X-Token: t-1",
        ];
        sandbox.kill_once(&args, "batches staged", || {
            sandbox
                .query::<i64>("SELECT count(*) FROM batches")
                .unwrap_or(0)
                >= 3
        });
        files.release();
        assert_eq!(receiver.requests().len(), 0, "nothing sent while staging");
        if changed {
            files.replace(csv.replace("name 7", "nome 7"), Some("\"two\""));
            // A queue's resume reports it and goes on.
            let out = sandbox.pulse().args(["resume"]).assert().success();
            let stderr = stderr_of(&out);
            assert!(
                stderr.contains("changed since it was pushed (its content differs)"),
                "{stderr}"
            );
            assert!(stderr.contains("is abandoned"), "{stderr}");
            assert_eq!(receiver.requests().len(), 0);
        } else {
            let resume = ["resume", "--input-header", "X-Token: t-1"];
            let out = sandbox.pulse().args(resume).assert().success();
            let rows = rows_of(&receiver.requests());
            assert!(
                stderr_of(&out).contains("staging http://127.0.0.1"),
                "{}",
                stderr_of(&out)
            );
            assert_eq!(rows.len(), 3000);
            assert_eq!(rows[2999]["id"], "3000");
            // The push's GET, then resume's HEAD, GET of the prefix, GET to restage: each with
            // the header, which only the flags gave (the run does not keep it).
            let fetched = files.requests();
            assert_eq!(fetched.len(), 4, "{fetched:?}");
            for request in fetched {
                assert_eq!(
                    request.headers.get("x-token").map(String::as_str),
                    Some("t-1")
                );
            }
            assert!(!log_text(&sandbox).contains("t-1"));
        }
    }
}

#[test]
fn a_download_is_read_in_bounded_memory() {
    let sandbox = Sandbox::new();
    let peak_of = |csv: String| {
        let files = FileServer::start(csv, None);
        let input = files.url("/export.csv");
        let (code, peak_kib) = crate::support::peak_rss_kib(&sandbox, &["validate", &input]);
        assert_eq!(code, 0);
        peak_kib
    };
    let small = peak_of(numbered_csv(3000));
    let csv = numbered_csv(2_000_000);
    let size_kib = csv.len() as i64 / 1024;
    let big = peak_of(csv);
    // Measured: 19 MiB for 40 KiB, 22 MiB for this 38 MiB download: the reader holds a few
    // chunks, never the body.
    assert!(
        big < small + size_kib / 4,
        "peak {big} KiB for a {size_kib} KiB download, {small} KiB for a small one"
    );
}
