//! `pulse push` end to end: staging, batching, payload, signing, the log file, failures.

use std::io::Write;

use crate::support::server::{Reply, TestServer};
use crate::support::{fixture, rows_of, signature_matches, stderr_of, Sandbox};

const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

/// A CSV with `n` rows whose cells hold commas, quotes, newlines and non-ASCII text.
fn ugly_csv(n: usize) -> String {
    let mut csv = String::from("id,name,note\n");
    for i in 1..=n {
        csv.push_str(&format!("{i},Zoë {i},\"a, \"\"quoted\"\"\nnote {i}\"\n"));
    }
    csv
}

#[test]
fn every_row_arrives_complete_and_in_order_across_batches() {
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    let input = sandbox.write("ugly.csv", ugly_csv(25));
    sandbox
        .pulse()
        .args(["push", input.to_str().unwrap(), "--url", &server.url()])
        .args(["--batch-size", "10", "--secret", SECRET])
        .assert()
        .success();
    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    let event_id = requests[0].json()["id"].as_str().unwrap().to_string();
    for (i, request) in requests.iter().enumerate() {
        let body = request.json();
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, "/hook");
        assert_eq!(body["id"], event_id.as_str());
        assert_eq!(body["index"], i as u64 + 1);
        assert_eq!(body["count"], 3);
        assert_eq!(body["totalRows"], 25);
        assert_eq!(body["event_name"], "all");
        assert_eq!(body["templateId"], "ugly");
        assert_eq!(body["metadata"], serde_json::json!({}));
    }
    let rows = rows_of(&requests);
    assert_eq!(rows.len(), 25);
    for (i, row) in rows.iter().enumerate() {
        let n = i + 1;
        assert_eq!(row["id"], n.to_string());
        assert_eq!(row["name"], format!("Zoë {n}"));
        assert_eq!(row["note"], format!("a, \"quoted\"\nnote {n}"));
        assert_eq!(row["__index"], n);
        // Each record spans two lines after the header on line 1.
        assert_eq!(row["__row"], 2 * n);
        assert_eq!(row["__valid"], true);
    }
}

#[test]
fn bom_crlf_quotes_and_blank_lines_are_read_exactly() {
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    let out = sandbox
        .pulse()
        .args([
            "push",
            fixture("tricky.csv").to_str().unwrap(),
            "--url",
            &server.url(),
        ])
        .args(["--no-sign", "--json"])
        .assert()
        .success();
    let summary: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(
        summary["rows"]["blank"], 1,
        "the empty line is skipped and counted"
    );
    let rows = rows_of(&server.requests());
    let expect = [
        ("1", "Zoë Ångström", "says \"hej\", twice", 2),
        ("2", "José Núñez", "line one\r\nline two", 3),
        ("3", "Smith, Jane", "plain", 6),
        ("4", "李雷", "comma, \"quote\" and\nnewline", 7),
        ("5", "Ørjan", "", 9),
    ];
    assert_eq!(rows.len(), expect.len());
    for (row, (id, name, note, line)) in rows.iter().zip(expect) {
        // The BOM is dropped: the first key is a clean "id".
        assert_eq!(row["id"], id);
        assert_eq!(row["name"], name);
        assert_eq!(row["note"], note);
        assert_eq!(row["__row"], line);
    }
}

#[test]
fn other_delimiters_split_cells_and_nothing_else() {
    let sandbox = Sandbox::new();
    for (delimiter, name) in [(";", "semicolon"), ("\t", "tab")] {
        let server = TestServer::ok();
        let d = if delimiter == "\t" { "\t" } else { delimiter };
        // Plain lines, a quoted cell holding the delimiter, commas and a tab, and a cell with a
        // quote and a backslash to escape.
        let csv = format!(
            "id{d}name{d}note\n1{d}Zoë{d}a, b\n2{d}\"x{d}y\ttab\"{d}\n3{d}q\"uote{d}back\\slash\n"
        );
        let input = sandbox.write(&format!("{name}.csv"), csv);
        sandbox
            .push_unsigned(&input, &server.url())
            .args(["--delimiter", delimiter])
            .assert()
            .success();
        let rows = rows_of(&server.requests());
        let cells: Vec<[&str; 3]> = rows
            .iter()
            .map(|r| {
                [
                    r["id"].as_str().unwrap(),
                    r["name"].as_str().unwrap(),
                    r["note"].as_str().unwrap(),
                ]
            })
            .collect();
        let tab_cell = format!("x{d}y\ttab");
        assert_eq!(
            cells,
            [
                ["1", "Zoë", "a, b"],
                ["2", tab_cell.as_str(), ""],
                ["3", "q\"uote", "back\\slash"]
            ],
            "{name}"
        );
    }
}

#[test]
fn signatures_verify_independently_and_rotate() {
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    let second = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let input = sandbox.write("d.csv", ugly_csv(3));
    sandbox
        .pulse()
        .args([
            "push",
            input.to_str().unwrap(),
            "--url",
            &server.url(),
            "--batch-size",
            "2",
        ])
        .args(["--secret", SECRET, "--secret", second])
        .assert()
        .success();
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    let mut ids = Vec::new();
    for request in &requests {
        let id = request.header("webhook-id").unwrap();
        let ts = request.header("webhook-timestamp").unwrap();
        let sig = request.header("webhook-signature").unwrap();
        assert!(!id.contains('.'), "webhook-id {id} must not contain '.'");
        assert_eq!(sig.split(' ').count(), 2, "one signature per secret");
        assert!(signature_matches(SECRET, id, ts, &request.body, sig));
        assert!(signature_matches(second, id, ts, &request.body, sig));
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        assert!((now - ts.parse::<i64>().unwrap()).abs() < 60);
        ids.push(id.to_string());
    }
    assert_ne!(ids[0], ids[1], "each batch has its own webhook-id");
}

/// Bodies are signed ahead, while the previous request is in flight; a slow answer must not
/// let an early signature go out stale: each request carries a timestamp of when it was sent.
#[test]
fn signatures_made_ahead_are_renewed_after_a_slow_answer() {
    let sandbox = Sandbox::new();
    let arrivals = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = arrivals.clone();
    let server = TestServer::start(move |n, _| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        seen.lock().unwrap().push(now);
        // Long enough for the next bodies, built and signed meanwhile, to grow old.
        Reply::status(200).delay(std::time::Duration::from_millis(if n == 0 {
            2500
        } else {
            0
        }))
    });
    let input = sandbox.write("d.csv", ugly_csv(4));
    sandbox
        .pulse()
        .args(["push", input.to_str().unwrap(), "--url", &server.url()])
        .args(["--batch-size", "1", "--secret", SECRET])
        .assert()
        .success();
    let requests = server.requests();
    let arrivals = arrivals.lock().unwrap().clone();
    assert_eq!(requests.len(), 4);
    for (request, arrived) in requests.iter().zip(&arrivals) {
        let id = request.header("webhook-id").unwrap();
        let ts = request.header("webhook-timestamp").unwrap();
        let sig = request.header("webhook-signature").unwrap();
        assert!(signature_matches(SECRET, id, ts, &request.body, sig));
        let age = arrived - ts.parse::<i64>().unwrap();
        assert!(
            (0..=1).contains(&age),
            "{id} arrived {age} s after its timestamp"
        );
    }
}

#[test]
fn secret_from_environment() {
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    let input = sandbox.write("d.csv", ugly_csv(1));
    sandbox
        .pulse()
        .env("PULSE_SECRET", SECRET)
        .args(["push", input.to_str().unwrap(), "--url", &server.url()])
        .assert()
        .success();
    let r = &server.requests()[0];
    assert!(signature_matches(
        SECRET,
        r.header("webhook-id").unwrap(),
        r.header("webhook-timestamp").unwrap(),
        &r.body,
        r.header("webhook-signature").unwrap()
    ));
}

#[test]
fn no_sign_sends_no_signature_headers() {
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    let input = sandbox.write("d.csv", ugly_csv(1));
    sandbox
        .push_unsigned(&input, &server.url())
        .assert()
        .success();
    let r = &server.requests()[0];
    assert!(r.header("webhook-id").is_some());
    assert!(r.header("webhook-signature").is_none());
    assert!(r.header("webhook-timestamp").is_none());
}

#[test]
fn generated_secret_is_printed_once_and_reused() {
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    let input = sandbox.write("d.csv", ugly_csv(2));
    let first = sandbox
        .pulse()
        .args(["push", input.to_str().unwrap(), "--url", &server.url()])
        .assert()
        .success();
    let stderr = stderr_of(&first);
    let secret = stderr
        .split_whitespace()
        .find(|w| w.starts_with("whsec_"))
        .expect("secret printed on stderr")
        .trim_end_matches(['`', '.'])
        .to_string();
    let second = sandbox
        .pulse()
        .args([
            "push",
            input.to_str().unwrap(),
            "--url",
            &server.url(),
            "--force",
        ])
        .assert()
        .success();
    let stderr2 = stderr_of(&second);
    assert!(!stderr2.contains("whsec_"), "printed only once: {stderr2}");
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    for r in &requests {
        assert!(signature_matches(
            &secret,
            r.header("webhook-id").unwrap(),
            r.header("webhook-timestamp").unwrap(),
            &r.body,
            r.header("webhook-signature").unwrap()
        ));
    }
}

#[test]
fn stdin_works_like_a_file() {
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    sandbox
        .pulse()
        .args([
            "push",
            "-",
            "--url",
            &server.url(),
            "--no-sign",
            "--template-id",
            "people",
        ])
        .write_stdin(ugly_csv(4))
        .assert()
        .success();
    let requests = server.requests();
    assert_eq!(requests[0].json()["templateId"], "people");
    assert_eq!(rows_of(&requests).len(), 4);
}

#[test]
fn log_database_is_private_in_the_default_place() {
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    let input = sandbox.write("d.csv", ugly_csv(1));
    let data_home = sandbox.path("xdg");
    sandbox
        .pulse()
        .env_remove("PULSE_DB")
        .env("XDG_DATA_HOME", &data_home)
        .args([
            "push",
            input.to_str().unwrap(),
            "--url",
            &server.url(),
            "--no-sign",
        ])
        .assert()
        .success();
    let db = data_home.join("pulse/pulse.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert!(version >= 1);
    let delivered: i64 = conn
        .query_row(
            "SELECT count(*) FROM batches WHERE status = 'delivered'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(delivered, 1);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&db).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

#[test]
fn server_error_stops_with_exit_4_and_names_the_batch() {
    let sandbox = Sandbox::new();
    let server = TestServer::start(|n, _| {
        if n == 0 {
            Reply::status(200)
        } else {
            Reply::status(500).body("database on fire")
        }
    });
    let input = sandbox.write("d.csv", ugly_csv(5));
    let out = sandbox
        .push_unsigned(&input, &server.url())
        .args(["--batch-size", "2", "--retries", "0"])
        .assert()
        .code(4);
    let stderr = stderr_of(&out);
    let line = stderr.lines().find(|l| l.starts_with("error:")).unwrap();
    assert!(line.contains("batch 2/3"), "{line}");
    assert!(line.contains("HTTP 500"), "{line}");
    assert!(line.contains("database on fire"), "{line}");
    assert!(line.contains("pulse resume run_"), "{line}");
    // The third batch was never tried; one attempt recorded per request seen.
    assert_eq!(server.requests().len(), 2);
    let attempts: i64 = sandbox.query("SELECT count(*) FROM attempts").unwrap();
    let delivered: i64 = sandbox
        .query("SELECT count(*) FROM batches WHERE status='delivered'")
        .unwrap();
    assert_eq!((attempts, delivered), (2, 1));
    let status: String = sandbox.query("SELECT status FROM runs").unwrap();
    assert_eq!(status, "failed");
}

#[test]
fn json_summary_on_stdout() {
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    let input = sandbox.write("d.csv", ugly_csv(7));
    let out = sandbox
        .push_unsigned(&input, &server.url())
        .args(["--batch-size", "3", "--json", "--quiet"])
        .assert()
        .success();
    assert!(
        out.get_output().stderr.is_empty(),
        "--quiet prints nothing on success"
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(summary["status"], "delivered");
    assert_eq!(summary["rows"]["total"], 7);
    assert_eq!(summary["batches"], 3);
    assert_eq!(summary["delivered"], 3);
    assert_eq!(summary["events"][0]["name"], "all");
    assert!(summary["run_id"].as_str().unwrap().starts_with("run_"));
}

#[test]
fn header_only_sends_nothing_and_empty_input_is_an_error() {
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    let header_only = sandbox.write("h.csv", "a,b\n");
    sandbox
        .pulse()
        .args([
            "push",
            header_only.to_str().unwrap(),
            "--url",
            &server.url(),
            "--no-sign",
        ])
        .assert()
        .success();
    assert!(server.requests().is_empty());
    let empty = sandbox.write("e.csv", "");
    let out = sandbox
        .pulse()
        .args([
            "push",
            empty.to_str().unwrap(),
            "--url",
            &server.url(),
            "--no-sign",
        ])
        .assert()
        .code(1);
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains("e.csv") && stderr.contains("empty input"),
        "{stderr}"
    );
}

#[test]
fn usage_errors_exit_2() {
    let sandbox = Sandbox::new();
    let input = sandbox.write("d.csv", ugly_csv(1));
    let path = input.to_str().unwrap();
    // The bad secret comes from the environment: on the command line it adds a warning line.
    for (args, secret) in [
        (
            vec!["--url", "http://127.0.0.1:9/", "--batch-size", "0"],
            "",
        ),
        (vec!["--url", "ftp://127.0.0.1/"], ""),
        (vec!["--url", "not a url"], ""),
        (
            vec!["--url", "http://127.0.0.1:9/", "--metadata", "[1,2]"],
            "",
        ),
        (vec!["--url", "http://127.0.0.1:9/"], "whsec_!!"),
    ] {
        let out = sandbox
            .pulse()
            .env("PULSE_SECRET", secret)
            .arg("push")
            .arg(path)
            .args(&args)
            .assert()
            .code(2);
        let stderr = stderr_of(&out);
        assert!(stderr.starts_with("error:"), "{args:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
    }
}

#[test]
fn metadata_and_user_travel_in_every_batch() {
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    let input = sandbox.write("d.csv", ugly_csv(3));
    sandbox
        .push_unsigned(&input, &server.url())
        .args([
            "--batch-size",
            "2",
            "--user-id",
            "u_42",
            "--metadata",
            r#"{"source":"crm"}"#,
        ])
        .assert()
        .success();
    for r in server.requests() {
        assert_eq!(r.json()["user"], serde_json::json!({"id": "u_42"}));
        assert_eq!(r.json()["metadata"], serde_json::json!({"source": "crm"}));
    }
}

#[test]
fn bodies_are_staged_before_the_first_request() {
    // The receiver sees exact totals in the very first batch, which is only possible when the
    // whole input was staged before delivery started; stdin proves it is not a second read.
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    let mut cmd = sandbox.pulse();
    cmd.args([
        "push",
        "-",
        "--url",
        &server.url(),
        "--no-sign",
        "--batch-size",
        "4",
    ]);
    let mut csv = Vec::new();
    write!(csv, "{}", ugly_csv(10)).unwrap();
    cmd.write_stdin(csv).assert().success();
    let first = server.requests()[0].json();
    assert_eq!(first["count"], 3);
    assert_eq!(first["totalRows"], 10);
}

#[test]
fn auth_header_is_sent_but_never_stored() {
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    let input = sandbox.write("d.csv", ugly_csv(2));
    sandbox
        .pulse()
        .env("PULSE_AUTH_HEADER_VALUE", "Bearer sekrit-token-123")
        .args([
            "push",
            input.to_str().unwrap(),
            "--url",
            &server.url(),
            "--no-sign",
        ])
        .args([
            "--auth-header-name",
            "Authorization",
            "--header",
            "X-Time: 12:30:00",
        ])
        .assert()
        .success();
    let r = &server.requests()[0];
    assert_eq!(r.header("authorization"), Some("Bearer sekrit-token-123"));
    assert_eq!(r.header("x-time"), Some("12:30:00"));
    for file in ["pulse.db", "pulse.db-wal"] {
        if let Ok(bytes) = std::fs::read(sandbox.path(file)) {
            let found = bytes.windows(6).any(|w| w == b"sekrit");
            assert!(!found, "auth value leaked into {file}");
        }
    }
}

/// The nice level of `pid`'s thread named `name`, from `/proc`.
#[cfg(target_os = "linux")]
fn nice_of_thread(pid: u32, name: &str) -> Option<i64> {
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).ok()? {
        let task = task.ok()?.path();
        let comm = std::fs::read_to_string(task.join("comm")).unwrap_or_default();
        if comm.trim() != name {
            continue;
        }
        let stat = std::fs::read_to_string(task.join("stat")).ok()?;
        // After "tid (comm) ", the fields from the 3rd on; the 19th is the nice level.
        let fields: Vec<&str> = stat.rsplit_once(") ")?.1.split_whitespace().collect();
        return fields.get(16)?.parse().ok();
    }
    None
}

#[cfg(target_os = "linux")]
#[test]
fn body_loaders_run_behind_the_sender() {
    use crate::support::{finish, numbered_csv, wait_for};
    let sandbox = Sandbox::new();
    // The first answer takes its time: meanwhile the loaders have built bodies ahead and wait.
    let server = TestServer::start(|n, _| {
        let reply = Reply::status(200);
        if n == 0 {
            reply.delay(std::time::Duration::from_secs(3))
        } else {
            reply
        }
    });
    let input = sandbox.write("d.csv", numbered_csv(20));
    let child = sandbox.spawn(&[
        "push",
        input.to_str().unwrap(),
        "--url",
        &server.url(),
        "--batch-size",
        "2",
        "--no-sign",
    ]);
    wait_for("the first request", || !server.requests().is_empty());
    let sender = nice_of_thread(child.id(), "pulse").expect("the main thread");
    let loader = nice_of_thread(child.id(), "pulse-bodies-0").expect("a body loader");
    assert_eq!(loader, (sender + 3).min(19), "sender at {sender}");
    let (code, _, stderr) = finish(child);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(server.requests().len(), 10);
}

#[test]
fn the_summary_line_counts_invalid_rows_sent_or_left_behind() {
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    let input = sandbox.write("ragged.csv", "id,name\n1,Ada\n2,Bob,extra\n3\n4,Dee\n");
    for (events, expected) in [
        ("all", "delivered 4 rows (2 invalid) in"),
        ("valid", "delivered 2 rows (2 invalid not sent) in"),
    ] {
        let out = sandbox
            .push_unsigned(&input, &server.url())
            .args(["--events", events])
            .assert()
            .success();
        let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
        assert!(stderr.contains(expected), "--events {events}: {stderr}");
    }
}
