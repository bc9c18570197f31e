//! Whatever a user or a file throws at pulse: one clear line naming the culprit, a documented
//! exit code, no panic, and nothing half-written.

use crate::support::server::TestServer;
use crate::support::{stderr_of, Sandbox};

/// One case: what to run, the exit code, and words the one-line error must contain.
struct Case {
    name: &'static str,
    args: Vec<String>,
    stdin: Option<Vec<u8>>,
    code: i32,
    words: Vec<&'static str>,
}

fn case(name: &'static str, args: &[&str], code: i32, words: &[&'static str]) -> Case {
    case_with(
        name,
        args.iter().map(|s| s.to_string()).collect(),
        code,
        words,
    )
}

/// A case whose arguments are built, not literal.
fn case_with(name: &'static str, args: Vec<String>, code: i32, words: &[&'static str]) -> Case {
    Case {
        name,
        args,
        stdin: None,
        code,
        words: words.to_vec(),
    }
}

#[test]
fn bad_inputs_fail_clearly() {
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    let url = server.url();
    let dir = sandbox.dir.path();
    let p = |name: &str| dir.join(name).to_str().unwrap().to_string();
    sandbox.write("ok.csv", "a,b\n1,2\n");
    sandbox.write("empty.csv", "");
    sandbox.write("header.csv", "a,b\n");
    sandbox.write("dup.csv", "a,a\n1,2\n");
    sandbox.write("blank_header.csv", "a,\n1,2\n");
    sandbox.write("utf8.csv", b"a\nok\n\xff\xfe\n");
    sandbox.write("cut_short.csv", "id,name\n1,Ada\n2,\"Bob\n");
    sandbox.write(
        "rows.jsonl",
        "{\"id\":1,\"name\":\"Ada\"}\n{\"id\":2,\"name\":}\n",
    );
    sandbox.write("rows.json", "[\n  {\"id\": 1},\n  [1]\n]\n");
    sandbox.write("strings.csv", "[\"id\", \"name\"]\n[1, \"Ada\"]\n");
    sandbox.write("not_json.json", "{\"fields\": [}");
    sandbox.write("not_object.json", "[]");
    sandbox.write(
        "bad_type.json",
        r#"{"fields": [{"name": "a", "type": "money"}]}"#,
    );
    sandbox.write(
        "bad_constraint.json",
        r#"{"fields": [{"name": "a", "constraints": {"between": 1}}]}"#,
    );
    std::fs::create_dir(dir.join("a_dir")).unwrap();
    let ok = p("ok.csv");
    let push = |extra: &[&str]| -> Vec<String> {
        let mut args = vec![
            "push".to_string(),
            ok.clone(),
            "--url".into(),
            url.clone(),
            "--no-sign".into(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    };
    let cases = vec![
        case(
            "missing file",
            &["push", &p("nope.csv"), "--url", &url],
            1,
            &["nope.csv", "cannot open"],
        ),
        case(
            "directory",
            &["push", &p("a_dir"), "--url", &url],
            1,
            &["a_dir", "directory"],
        ),
        case(
            "empty file",
            &["push", &p("empty.csv"), "--url", &url],
            1,
            &["empty.csv", "empty input"],
        ),
        case(
            "duplicate header",
            &["validate", &p("dup.csv")],
            1,
            &["dup.csv", "line 1", "duplicate header"],
        ),
        case(
            "blank header",
            &["validate", &p("blank_header.csv")],
            1,
            &["blank_header.csv", "column 2"],
        ),
        case(
            "invalid utf-8",
            &["validate", &p("utf8.csv")],
            1,
            &["utf8.csv", "line 3", "invalid UTF-8"],
        ),
        case(
            "quoted field never closed",
            &["push", &p("cut_short.csv"), "--url", &url, "--no-sign"],
            1,
            &["cut_short.csv", "line 3", "never closed"],
        ),
        case(
            "invalid JSON lines",
            &["push", &p("rows.jsonl"), "--url", &url, "--no-sign"],
            1,
            &["rows.jsonl", "line 2, byte 38", "expected value"],
        ),
        case(
            "a JSON array with an item that is not an object, validate",
            &["validate", &p("rows.json")],
            1,
            &[
                "rows.json",
                "line 3, byte 18",
                "item 2 of the array is an array",
            ],
        ),
        case(
            "JSON arrays of strings given as CSV",
            &["validate", &p("strings.csv")],
            1,
            &["strings.csv", "line 1", "looks like JSON, not CSV"],
        ),
        case(
            "--flatten on CSV",
            &["validate", &ok, "--flatten"],
            2,
            &["--flatten applies to JSON input"],
        ),
        case(
            "quoted field never closed, validate",
            &["validate", &p("cut_short.csv")],
            1,
            &["cut_short.csv", "line 3", "never closed"],
        ),
        case(
            "schema not json",
            &["validate", &ok, "--schema", &p("not_json.json")],
            2,
            &["not_json.json", "line 1"],
        ),
        case(
            "schema not object",
            &["validate", &ok, "--schema", &p("not_object.json")],
            2,
            &["not_object.json"],
        ),
        case(
            "unsupported type",
            &["validate", &ok, "--schema", &p("bad_type.json")],
            2,
            &["bad_type.json", "money"],
        ),
        case(
            "unsupported constraint",
            &["validate", &ok, "--schema", &p("bad_constraint.json")],
            2,
            &["bad_constraint.json", "between"],
        ),
        case(
            "not a url",
            &["push", &ok, "--url", "example dot com"],
            2,
            &["--url"],
        ),
        case(
            "not http",
            &["push", &ok, "--url", "file:///etc/passwd"],
            2,
            &["--url", "http"],
        ),
        case_with(
            "batch size 0",
            push(&["--batch-size", "0"]),
            2,
            &["--batch-size"],
        ),
        case_with("negative retries", push(&["--retries", "-1"]), 2, &["-1"]),
        case_with(
            "bad timeout",
            push(&["--timeout", "soon"]),
            2,
            &["--timeout"],
        ),
        case_with(
            "zero timeout",
            push(&["--timeout", "0s"]),
            2,
            &["--timeout"],
        ),
        case_with(
            "bad schedule",
            push(&["--retry-schedule", "1s,x"]),
            2,
            &["--retry-schedule"],
        ),
        case_with(
            "metadata not object",
            push(&["--metadata", "42"]),
            2,
            &["--metadata"],
        ),
        case_with(
            "bad delimiter",
            push(&["--delimiter", "ab"]),
            2,
            &["--delimiter"],
        ),
        case_with(
            "a line break as delimiter",
            push(&["--delimiter", "\r"]),
            2,
            &["--delimiter", "line break"],
        ),
        case_with(
            "a 2xx to retry",
            push(&["--retry-on", "200,503"]),
            2,
            &["--retry-on", "200", "delivered"],
        ),
        case_with(
            "a 2xx range to retry",
            push(&["--retry-on", "100-204"]),
            2,
            &["--retry-on", "200"],
        ),
        case_with(
            "a zero deadline",
            push(&["--deadline", "0s"]),
            2,
            &["--deadline", "more than 0"],
        ),
        case_with(
            "bad header flag",
            push(&["--header", "NoColon"]),
            2,
            &["--header"],
        ),
        case_with(
            "reserved header: webhook-id",
            push(&["--header", "Webhook-Id: nightly-import"]),
            2,
            &["--header", "webhook-id", "pulse sets this header"],
        ),
        case_with(
            "reserved header: content-length",
            push(&["--header", "Content-Length: 5"]),
            2,
            &["--header", "content-length"],
        ),
        case_with(
            "reserved header: webhook-signature",
            push(&["--header", "webhook-signature: v1,AAAA"]),
            2,
            &["--header", "webhook-signature"],
        ),
        case_with(
            "reserved header as the auth header",
            push(&["--auth-header-name", "Host", "--auth-header-value", "x"]),
            2,
            &["--auth-header-name", "host"],
        ),
        case_with(
            "a retry delay beyond any duration",
            push(&["--retry-schedule", "18446744073709551615s"]),
            2,
            &["--retry-schedule", "7d"],
        ),
        case_with(
            "a retry delay of millennia",
            push(&["--retry-schedule", "1s,99999999999999d"]),
            2,
            &["--retry-schedule", "99999999999999d"],
        ),
        case_with(
            "bad events",
            push(&["--events", "all,some"]),
            2,
            &["--events", "some"],
        ),
        case_with(
            "mirror without key",
            push(&["--mode", "mirror"]),
            2,
            &["--key"],
        ),
        case_with(
            "unknown key",
            push(&["--mode", "mirror", "--key", "zz"]),
            2,
            &["zz"],
        ),
        Case {
            name: "bad secret",
            args: vec![
                "push".into(),
                ok.clone(),
                "--url".into(),
                url.clone(),
                "--secret".into(),
                "whsec_***".into(),
            ],
            stdin: None,
            code: 2,
            words: vec!["--secret"],
        },
        Case {
            name: "empty stdin",
            args: vec!["push".into(), "-".into(), "--url".into(), url.clone()],
            stdin: Some(Vec::new()),
            code: 1,
            words: vec!["<stdin>", "empty input"],
        },
        case(
            "dns name that does not resolve",
            &[
                "push",
                &ok,
                "--url",
                "http://pulse-test.invalid/",
                "--no-sign",
                "--retries",
                "0",
            ],
            4,
            // `.invalid` fails in pulse's resolver (RFC 6761): no query leaves the machine.
            &[
                "cannot connect",
                "batch 1/1",
                "pulse-test.invalid",
                "no such host",
            ],
        ),
    ];
    for case in cases {
        let mut cmd = sandbox.pulse();
        cmd.args(&case.args);
        if let Some(stdin) = case.stdin {
            cmd.write_stdin(stdin);
        }
        let out = cmd.assert().code(case.code);
        let stderr = stderr_of(&out);
        let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(
            errors.len(),
            1,
            "{}: one error line expected:\n{stderr}",
            case.name
        );
        for word in &case.words {
            assert!(
                errors[0].contains(word),
                "{}: {word:?} not in {:?}",
                case.name,
                errors[0]
            );
        }
        assert!(!stderr.contains("panicked"), "{}: {stderr}", case.name);
    }
    // Header only: nothing to send is success, and nothing was sent.
    sandbox
        .pulse()
        .args(["push", &p("header.csv"), "--url", &url, "--no-sign"])
        .assert()
        .success();
    assert!(server.requests().is_empty());
}

#[test]
fn a_corrupt_log_database_is_a_clear_error() {
    if crate::support::on_postgres() {
        return; // A SQLite file's trouble; the PostgreSQL log's are in tests/it/postgres.rs.
    }
    let sandbox = Sandbox::new();
    std::fs::write(
        sandbox.db(),
        b"this is not a database, just text that is long enough",
    )
    .unwrap();
    let input = sandbox.write("d.csv", "a\n1\n");
    let out = sandbox
        .pulse()
        .args([
            "push",
            input.to_str().unwrap(),
            "--url",
            "http://127.0.0.1:9/",
            "--no-sign",
        ])
        .assert()
        .code(1);
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains("pulse.db") && stderr.contains("not a database"),
        "{stderr}"
    );
}

#[test]
fn a_huge_cell_streams_through() {
    // 20 MB in one cell: read, sent and received whole.
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    let big = "x".repeat(20 * 1024 * 1024);
    let input = sandbox.write("big.csv", format!("id,blob\n1,{big}\n2,small\n"));
    sandbox
        .push_unsigned(&input, &server.url())
        .assert()
        .success();
    let rows = crate::support::rows_of(&server.requests());
    assert_eq!(rows[0]["blob"].as_str().unwrap().len(), big.len());
    assert_eq!(rows[1]["blob"], "small");
}

#[test]
fn record_and_body_limits_have_flags_and_clear_errors() {
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    let big = "y".repeat(2 * 1024 * 1024);
    let input = sandbox.write("big.csv", format!("id,blob\n1,small\n2,\"{big}\"\n"));
    let out = sandbox
        .push_unsigned(&input, &server.url())
        .args(["--max-record-size", "1MiB"])
        .assert()
        .code(1);
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains("big.csv: line 3") && stderr.contains("--max-record-size"),
        "{stderr}"
    );
    assert!(
        server.requests().is_empty(),
        "nothing sent when staging fails"
    );

    // Batches are cut early to stay under --max-body-size; every row still arrives, in order.
    let mut csv = String::from("id,text\n");
    for i in 1..=40 {
        csv.push_str(&format!("{i},{}\n", "z".repeat(200)));
    }
    let input = sandbox.write("many.csv", csv);
    sandbox
        .push_unsigned(&input, &server.url())
        .args(["--max-body-size", "4KiB", "--batch-size", "1000"])
        .assert()
        .success();
    let requests = server.requests();
    assert!(requests.len() > 3, "split into {} batches", requests.len());
    assert!(requests.iter().all(|r| r.body.len() <= 4096));
    let rows = crate::support::rows_of(&requests);
    assert_eq!(rows.len(), 40);
    assert!(rows
        .iter()
        .enumerate()
        .all(|(i, r)| r["__index"] == i as u64 + 1));
    assert_eq!(requests[0].json()["count"], requests.len());

    // A single row larger than the body limit is refused, naming its line.
    let input = sandbox.write("wide.csv", format!("id,text\n1,{}\n", "w".repeat(8000)));
    let out = sandbox
        .push_unsigned(&input, &server.url())
        .args(["--max-body-size", "4KiB"])
        .assert()
        .code(1);
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains("wide.csv: line 2") && stderr.contains("--max-body-size"),
        "{stderr}"
    );
}

#[test]
fn a_log_database_locked_past_the_busy_timeout_is_a_clear_error() {
    if crate::support::on_postgres() {
        return; // A SQLite file's trouble; the PostgreSQL log's are in tests/it/postgres.rs.
    }
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    let input = sandbox.write("d.csv", "a\n1\n");
    let push = |sandbox: &Sandbox| {
        let mut cmd = sandbox.pulse();
        // --force: the same file each time, pushed anew.
        cmd.args(["push", input.to_str().unwrap(), "--url", &server.url()])
            .args(["--no-sign", "--force"])
            .env("PULSE_BUSY_TIMEOUT", "200ms");
        cmd
    };
    push(&sandbox).assert().success();

    // Another process (here: the test) holds the write lock longer than pulse waits.
    let holder = sandbox.conn();
    holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let out = push(&sandbox).assert().code(1);
    let stderr = stderr_of(&out);
    let db = sandbox.db();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    // It names the operation, the file, and how long it really waited (200ms and a little).
    assert!(
        stderr.starts_with("error: recording the new run: the log database")
            && stderr.contains(db.to_str().unwrap())
            && stderr.contains("stayed locked by another process for ")
            && stderr.contains("PULSE_BUSY_TIMEOUT"),
        "{stderr}"
    );
    let waited = stderr
        .split("for ")
        .nth(1)
        .and_then(|rest| rest.split("ms").next())
        .and_then(|ms| ms.parse::<u64>().ok())
        .unwrap_or_else(|| panic!("no wait in milliseconds: {stderr}"));
    assert!((200..30_000).contains(&waited), "{stderr}");
    holder.execute_batch("COMMIT").unwrap();
    assert_eq!(server.requests().len(), 1, "the locked push sent nothing");

    // Nothing was half-written: the next push works and the log holds both good runs only.
    push(&sandbox).assert().success();
    assert_eq!(server.requests().len(), 2);
    assert_eq!(
        sandbox.query::<i64>("SELECT count(*) FROM runs WHERE status = 'delivered'"),
        sandbox.query::<i64>("SELECT count(*) FROM runs")
    );

    // A duration that does not parse is a usage error naming the variable.
    let out = sandbox
        .pulse()
        .arg("log")
        .env("PULSE_BUSY_TIMEOUT", "soon")
        .assert()
        .code(2);
    let stderr = stderr_of(&out);
    assert!(stderr.contains("PULSE_BUSY_TIMEOUT"), "{stderr}");
}

#[test]
fn a_read_only_log_database_is_a_clear_error_and_still_readable() {
    if crate::support::on_postgres() {
        return; // A SQLite file's trouble; the PostgreSQL log's are in tests/it/postgres.rs.
    }
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    let input = sandbox.write("d.csv", "a\n1\n");
    sandbox
        .pulse()
        .args(["push", input.to_str().unwrap(), "--url", &server.url()])
        .arg("--no-sign")
        .assert()
        .success();
    let db = sandbox.db();
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o444)).unwrap();
    // The folder stays writable, as usual for a log someone made read-only with chmod.
    std::fs::set_permissions(sandbox.dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    std::fs::set_permissions(&input, std::fs::Permissions::from_mode(0o644)).unwrap();
    // Root writes to any file: run pulse as an unprivileged user then, so permissions count.
    // A copy of the binary in the sandbox, so the other user can run it wherever target/ is.
    let binary = sandbox.path("pulse");
    std::fs::copy(assert_cmd::cargo::cargo_bin("pulse"), &binary).unwrap();
    std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755)).unwrap();
    let as_reader = |args: &[&str]| {
        let mut cmd = sandbox.command(&binary);
        cmd.args(args);
        // SAFETY: geteuid has no preconditions and cannot fail.
        if unsafe { libc::geteuid() } == 0 {
            cmd.uid(65534).gid(65534);
        }
        cmd.output().unwrap()
    };
    let url = server.url();
    let out = as_reader(&["push", input.to_str().unwrap(), "--url", &url, "--no-sign"]);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(db.to_str().unwrap()) && stderr.contains("read-only"),
        "{stderr}"
    );
    assert_eq!(server.requests().len(), 1, "nothing sent");

    // Reading the log needs no write access.
    let out = as_reader(&["log"]);
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stdout.contains("delivered"), "{stdout}");
}

#[test]
fn an_unchanged_invalid_row_in_a_mirror_push_refuses_the_run_without_a_panic() {
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    // Row 2 is ragged: invalid, but sent (in `all`) by a push without --fail-on-invalid.
    let input = sandbox.write("ragged.csv", "id,name\n1,Ada\n2,Bob,extra\n");
    let mirror = ["--mode", "mirror", "--key", "id"];
    sandbox
        .push_unsigned(&input, &server.url())
        .args(mirror)
        .assert()
        .success();
    // Unchanged since, so mirror mode skips it; --fail-on-invalid still refuses the run.
    let out = sandbox
        .push_unsigned(&input, &server.url())
        .args(mirror)
        .arg("--fail-on-invalid")
        .assert()
        .code(3);
    let stderr = stderr_of(&out);
    assert!(
        !stderr.contains("panicked") && stderr.contains("line 3"),
        "{stderr}"
    );
    assert_eq!(server.requests().len(), 1, "the refused run sent nothing");
}
