//! Real receivers (issue 21): batches in flight at once, a rate limit, compressed bodies,
//! status lists, skipping failed batches and exporting them, and a deadline.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::support::server::{Recorded, Reply, TestServer};
use crate::support::{numbered_csv, rows_of, stderr_of, wait_for, Sandbox};

/// The `id`s of the rows that arrived, as a set.
fn ids_of(requests: &[Recorded]) -> HashSet<String> {
    rows_of(requests)
        .iter()
        .map(|row| row["id"].as_str().unwrap().to_string())
        .collect()
}

/// Each batch index arrived under one webhook-id only, and every index 1..=batches arrived.
fn assert_each_batch_under_one_id(requests: &[Recorded], batches: u64) {
    let mut id_of_index: HashMap<u64, String> = HashMap::new();
    for r in requests {
        let index = r.json()["index"].as_u64().unwrap();
        let id = r.header("webhook-id").unwrap().to_string();
        assert_eq!(id_of_index.entry(index).or_insert(id.clone()), &id);
    }
    assert_eq!(id_of_index.len() as u64, batches, "every batch arrived");
}

#[test]
fn concurrency_keeps_up_to_n_batches_in_flight() {
    let sandbox = Sandbox::new();
    // Each group of four requests is answered only once all four have arrived: sent one at a
    // time, they would wait 20 s each and the test would see one in flight.
    let server = TestServer::start(|n, _| Reply::status(200).hold_until((n / 4 + 1) * 4));
    let input = sandbox.write("d.csv", numbered_csv(24));
    sandbox
        .push_unsigned(&input, &server.url())
        .args(["--batch-size", "2", "--concurrency", "4"])
        .assert()
        .success();
    let requests = server.requests();
    assert_eq!(requests.len(), 12);
    assert_eq!(server.most_in_flight(), 4, "four at once, never more");
    assert_each_batch_under_one_id(&requests, 12);
    assert_eq!(ids_of(&requests).len(), 24);
    let delivered: i64 = sandbox
        .query("SELECT count(*) FROM batches WHERE status = 'delivered'")
        .unwrap();
    assert_eq!(delivered, 12);
    let attempts: i64 = sandbox.query("SELECT count(*) FROM attempts").unwrap();
    assert_eq!(attempts, 12, "every attempt recorded");
}

#[test]
fn sigkill_with_batches_in_flight_then_resume_delivers_the_rest_under_their_ids() {
    let sandbox = Sandbox::new();
    let (server, slow) = TestServer::slow(Duration::from_millis(100));
    let input = sandbox.write("d.csv", numbered_csv(120));
    let url = server.url();
    let args = ["push", input.to_str().unwrap(), "--url", &url, "--no-sign"];
    let args = [&args[..], &["--batch-size", "3", "--concurrency", "8"]].concat();
    sandbox.kill_once(&args, "a dozen deliveries", || {
        sandbox.delivered_count() >= 12
    });
    let delivered_before: i64 = sandbox
        .query("SELECT count(*) FROM batches WHERE status = 'delivered'")
        .unwrap();
    assert!(delivered_before < 40, "killed mid-run");
    slow.store(false, Ordering::SeqCst);
    sandbox
        .pulse()
        .args(["resume", "--concurrency", "8", "--no-sign"])
        .assert()
        .success();
    let requests = server.requests();
    assert_each_batch_under_one_id(&requests, 40);
    let expected: HashSet<String> = (1..=120).map(|i| i.to_string()).collect();
    assert_eq!(ids_of(&requests), expected, "no row missing");
    let unmatched: i64 = sandbox
        .query(
            "SELECT count(*) FROM batches b WHERE status = 'delivered' AND NOT EXISTS
             (SELECT 1 FROM attempts a WHERE a.batch_id = b.id AND a.http_status = 200)",
        )
        .unwrap();
    assert_eq!(unmatched, 0, "no batch is delivered without its 2xx");
    let status: String = sandbox.query("SELECT status FROM runs").unwrap();
    assert_eq!(status, "delivered");
}

#[test]
fn rate_spaces_requests_retries_included() {
    let sandbox = Sandbox::new();
    // The second request is refused once: its retry waits for a turn too.
    let server = TestServer::start(|n, _| Reply::status(if n == 1 { 503 } else { 200 }));
    let input = sandbox.write("d.csv", numbered_csv(5));
    sandbox
        .push_unsigned(&input, &server.url())
        .args(["--batch-size", "1", "--rate", "20/s"])
        .args(["--retry-schedule", "1ms", "--retries", "1"])
        .assert()
        .success();
    let requests = server.requests();
    assert_eq!(requests.len(), 6);
    // 50 ms apart at 20/s. Read from the log, where each attempt's start is taken right after
    // its turn: a busy machine can only delay a start, which lengthens the span. A request
    // delayed on its way could shorten a gap, so gaps are checked loosely.
    let starts: Vec<i64> = sandbox
        .rows("SELECT started_at FROM attempts ORDER BY id")
        .iter()
        .map(|row| row[0].as_i64().unwrap())
        .collect();
    assert_eq!(starts.len(), 6);
    for pair in starts.windows(2) {
        assert!(pair[1] - pair[0] >= 25, "{starts:?}");
    }
    assert!(
        starts[5] - starts[0] >= 240,
        "five gaps of 50 ms: {starts:?}"
    );
}

#[test]
fn bad_rates_and_status_lists_are_usage_errors() {
    let sandbox = Sandbox::new();
    let input = sandbox.write("d.csv", numbered_csv(1));
    for (flag, value, says) in [
        ("--rate", "fast", "--rate"),
        ("--rate", "0/s", "--rate"),
        ("--success-on", "2xx", "--success-on"),
        ("--retry-on", "600", "--retry-on"),
        ("--concurrency", "0", "--concurrency"),
        ("--deadline", "soon", "--deadline"),
    ] {
        let out = sandbox
            .push_unsigned(&input, "http://127.0.0.1:9/")
            .args([flag, value])
            .assert()
            .code(2);
        let stderr = stderr_of(&out);
        assert!(stderr.contains(says), "{flag} {value}: {stderr}");
    }
    let out = sandbox
        .push_unsigned(&input, "http://127.0.0.1:9/")
        .args(["--success-on", "409", "--retry-on", "400-499"])
        .assert()
        .code(2);
    assert!(stderr_of(&out).contains("409"), "{}", stderr_of(&out));
    let out = sandbox
        .push_unsigned(&input, "http://127.0.0.1:9/")
        .args(["--method", "get", "--compress", "gzip"])
        .assert()
        .code(2);
    assert!(stderr_of(&out).contains("--compress"));
}

#[test]
fn success_on_and_retry_on_change_the_verdicts() {
    let sandbox = Sandbox::new();
    let server = TestServer::start(|_, _| Reply::status(409).body("already have it"));
    let input = sandbox.write("d.csv", numbered_csv(2));
    sandbox
        .push_unsigned(&input, &server.url())
        .args(["--retries", "0"])
        .assert()
        .code(4);
    sandbox
        .push_unsigned(&input, &server.url())
        .args(["--retries", "0", "--success-on", "409", "--force"])
        .assert()
        .success();
    assert_eq!(
        sandbox
            .query::<String>("SELECT status FROM runs ORDER BY started_at DESC LIMIT 1")
            .unwrap(),
        "delivered"
    );

    let sandbox = Sandbox::new();
    let server = TestServer::start(|n, _| Reply::status(if n == 0 { 425 } else { 200 }));
    sandbox
        .push_unsigned(&input, &server.url())
        .args(["--retry-on", "420-425", "--retry-schedule", "1ms"])
        .assert()
        .success();
    assert_eq!(server.requests().len(), 2, "425 retried once");
}

/// A file of ten rows, the third a bad number, in five batches of two.
const SCORES: &str = "id,name,score\n1,a,10\n2,b,20\n3,c,not a number\n4,d,40\n5,e,50\n\
6,f,60\n7,g,70\n8,\"h, with comma\",80\n9,i,90\n10,j,100\n";
const SCORES_SCHEMA: &str = r#"{"fields":[{"name":"id","type":"integer"},{"name":"name","type":"string"},{"name":"score","type":"integer"}]}"#;

#[test]
fn skip_goes_on_and_export_writes_a_dead_letter_file_that_pushes_the_same_rows() {
    let sandbox = Sandbox::new();
    let refusing = Arc::new(AtomicBool::new(true));
    let flag = refusing.clone();
    // Batches 2 and 4 are refused while `refusing` is set.
    let server = TestServer::start(move |_, request| {
        let index = request.json()["index"].as_u64().unwrap();
        if flag.load(Ordering::SeqCst) && (index == 2 || index == 4) {
            Reply::status(422).body("rejected")
        } else {
            Reply::status(200)
        }
    });
    let input = sandbox.write("scores.csv", SCORES);
    let schema = sandbox.write("scores.schema.json", SCORES_SCHEMA);
    let out = sandbox
        .push_unsigned(&input, &server.url())
        .args(["--schema", schema.to_str().unwrap(), "--batch-size", "2"])
        .args([
            "--on-failure",
            "skip",
            "--retries",
            "0",
            "--concurrency",
            "2",
        ])
        .assert()
        .code(4);
    let stderr = stderr_of(&out);
    let error = stderr
        .lines()
        .find(|l| l.starts_with("error:"))
        .unwrap_or_default();
    assert!(
        error.contains("2 batches failed and were skipped"),
        "{stderr}"
    );
    // In the run's order, whichever failed first.
    let (second, fourth) = (error.find("batch 2/5"), error.find("batch 4/5"));
    assert!(second.is_some() && second < fourth, "{error}");
    assert!(stderr.contains("3/5 batches delivered"), "{stderr}");
    assert_eq!(server.requests().len(), 5, "every batch was tried");
    let run = sandbox.last_run();

    // The dead letters: the rows of batches 2 and 4, as the file had them.
    let failed = sandbox.path("failed.csv");
    sandbox
        .pulse()
        .args([
            "export",
            &run,
            "--failed",
            "--output",
            failed.to_str().unwrap(),
        ])
        .assert()
        .success();
    let exported = std::fs::read_to_string(&failed).unwrap();
    assert_eq!(
        exported,
        "id,name,score\n3,c,not a number\n4,d,40\n7,g,70\n8,\"h, with comma\",80\n"
    );
    // All rows of the run, as JSON lines.
    let lines = sandbox.stdout_of(&["export", &run, "--format", "jsonl"]);
    assert_eq!(lines.lines().count(), 10);
    let third: serde_json::Value = serde_json::from_str(lines.lines().nth(2).unwrap()).unwrap();
    assert_eq!(third["score"], "not a number");
    assert_eq!(third["__valid"], false);

    // Pushed again, the exported file delivers the same rows the failed batches held.
    let fixed = TestServer::ok();
    sandbox
        .push_unsigned(&failed, &fixed.url())
        .args(["--schema", schema.to_str().unwrap()])
        .assert()
        .success();
    let strip = |rows: Vec<serde_json::Value>| -> Vec<serde_json::Value> {
        rows.into_iter()
            .map(|mut row| {
                let row = row.as_object_mut().unwrap();
                row.retain(|k, _| !k.starts_with("__") || k == "__valid");
                serde_json::Value::Object(row.clone())
            })
            .collect()
    };
    let mut refused: Vec<Recorded> = server
        .requests()
        .into_iter()
        .filter(|r| matches!(r.json()["index"].as_u64(), Some(2 | 4)))
        .collect();
    refused.sort_by_key(|r| r.json()["index"].as_u64());
    assert_eq!(strip(rows_of(&fixed.requests())), strip(rows_of(&refused)));

    // Resume sends only the failed batches, under their first ids.
    refusing.store(false, Ordering::SeqCst);
    let ids_before: Vec<String> = refused
        .iter()
        .map(|r| r.header("webhook-id").unwrap().to_string())
        .collect();
    sandbox
        .pulse()
        .args(["resume", &run, "--no-sign"])
        .assert()
        .success();
    let again: Vec<String> = server.requests()[5..]
        .iter()
        .map(|r| r.header("webhook-id").unwrap().to_string())
        .collect();
    assert_eq!(again, ids_before);
}

#[test]
fn a_gone_endpoint_stops_even_when_skipping() {
    let sandbox = Sandbox::new();
    let server = TestServer::start(|_, _| Reply::status(410));
    let input = sandbox.write("d.csv", numbered_csv(6));
    sandbox
        .push_unsigned(&input, &server.url())
        .args([
            "--batch-size",
            "2",
            "--on-failure",
            "skip",
            "--retries",
            "0",
        ])
        .assert()
        .code(4);
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn deadline_stops_as_sigterm_would_and_the_run_resumes() {
    let sandbox = Sandbox::new();
    let (server, slow) = TestServer::slow(Duration::from_millis(300));
    let input = sandbox.write("d.csv", numbered_csv(30));
    let out = sandbox
        .push_unsigned(&input, &server.url())
        .args(["--batch-size", "1", "--deadline", "1s"])
        .assert()
        .code(124);
    let stderr = stderr_of(&out);
    assert!(stderr.contains("stopped at --deadline"), "{stderr}");
    assert!(stderr.contains("pulse resume"), "{stderr}");
    let status: String = sandbox.query("SELECT status FROM runs").unwrap();
    assert_eq!(status, "interrupted");
    let sent = server.requests().len();
    assert!(sent < 30, "stopped early: {sent} requests");
    let attempts: i64 = sandbox.query("SELECT count(*) FROM attempts").unwrap();
    assert_eq!(
        attempts as usize, sent,
        "the request in flight was recorded"
    );
    slow.store(false, Ordering::SeqCst);
    sandbox
        .pulse()
        .args(["resume", "--no-sign", "--deadline", "1m"])
        .assert()
        .success();
    assert_eq!(ids_of(&server.requests()).len(), 30);
}

const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

/// An example receiver from `examples/receivers/` on a free loopback port, killed when dropped.
pub struct ExampleReceiver {
    child: std::process::Child,
    pub port: u16,
}

impl Drop for ExampleReceiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `program script PORT ROWS` with `env` (its keys: `PULSE_SECRET`,
/// `PULSE_PUBLIC_KEY`); None when `program` is not installed. CI sets PULSE_REQUIRE_EXAMPLES, so
/// that there a missing Python fails instead of skipping (Node may be missing from a fresh
/// machine).
pub fn example_receiver(
    program: &str,
    script: &str,
    rows: &std::path::Path,
    env: &[(&str, &str)],
) -> Option<ExampleReceiver> {
    let found = std::process::Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success());
    if !found {
        assert!(
            program != "python3" || std::env::var_os("PULSE_REQUIRE_EXAMPLES").is_none(),
            "{program} is needed for the example receivers"
        );
        eprintln!("{program} not installed: example receiver {script} not run");
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/receivers")
        .join(script);
    let child = std::process::Command::new(program)
        .arg(script)
        .arg(port.to_string())
        .arg(rows)
        .env_remove("PULSE_SECRET")
        .env_remove("PULSE_PUBLIC_KEY")
        .envs(env.iter().copied())
        .spawn()
        .unwrap();
    let receiver = ExampleReceiver { child, port };
    wait_for("the example receiver to listen", || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    Some(receiver)
}

/// The rows a receiver wrote, one JSON object a line.
pub fn rows_written(path: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// Whether Python's `zstandard` package is there (CI installs it).
fn python_has_zstandard() -> bool {
    std::process::Command::new("python3")
        .args(["-c", "import zstandard"])
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn compressed_bodies_are_verified_by_independent_receivers() {
    let customers = crate::support::fixture("customers.csv");
    let push = |sandbox: &Sandbox, port: u16, codec: &str| {
        sandbox
            .pulse()
            .env("PULSE_SECRET", SECRET)
            .args(["push", customers.to_str().unwrap(), "--force"])
            .args(["--url", &format!("http://127.0.0.1:{port}/hook")])
            .args(["--batch-size", "50", "--compress", codec, "--retries", "0"])
            .assert()
    };
    let node_has_zstd = std::process::Command::new("node")
        .args([
            "-e",
            "process.exit(require('zlib').zstdDecompressSync ? 0 : 1)",
        ])
        .status()
        .is_ok_and(|s| s.success());
    for (program, script) in [("python3", "receiver.py"), ("node", "receiver.mjs")] {
        for codec in ["gzip", "zstd"] {
            let sandbox = Sandbox::new();
            let rows = sandbox.path("rows.jsonl");
            let env = [("PULSE_SECRET", SECRET)];
            let Some(receiver) = example_receiver(program, script, &rows, &env) else {
                continue;
            };
            let decodes = match (program, codec) {
                ("python3", "zstd") => {
                    let has = python_has_zstandard();
                    assert!(
                        has || std::env::var_os("PULSE_REQUIRE_EXAMPLES").is_none(),
                        "pip install zstandard"
                    );
                    has
                }
                ("node", "zstd") => node_has_zstd,
                _ => true,
            };
            if !decodes {
                // Before Node 22.15, node:zlib has no zstd: the receiver answers 415.
                let out = push(&sandbox, receiver.port, codec).code(4);
                assert!(stderr_of(&out).contains("HTTP 415"), "{}", stderr_of(&out));
                continue;
            }
            push(&sandbox, receiver.port, codec).success();
            let written = rows_written(&rows);
            assert_eq!(written.len(), 120, "{program} {codec}");
            assert_eq!(written[0]["first_name"], "Ørjan", "{program} {codec}");
            assert_eq!(written[119]["id"], "120");
        }
    }
}

#[test]
fn pulse_receive_decodes_both_encodings_and_the_wire_is_smaller() {
    for codec in ["gzip", "zstd"] {
        let sandbox = Sandbox::new();
        let out = sandbox.path("rows.jsonl");
        let receiver =
            crate::receive::Receiver::start(&["--secret", SECRET, "--out", out.to_str().unwrap()]);
        sandbox
            .pulse()
            .env("PULSE_SECRET", SECRET)
            .args([
                "push",
                crate::support::fixture("customers.csv").to_str().unwrap(),
            ])
            .args(["--url", &receiver.url(), "--compress", codec])
            .assert()
            .success();
        let lines = receiver.lines();
        assert!(
            lines[0].contains("120 rows verified") && lines[0].ends_with(&format!("({codec})")),
            "{lines:?}"
        );
        assert_eq!(rows_written(&out).len(), 120);
    }
    // The bytes on the wire, seen by a server that does not decode them.
    let sandbox = Sandbox::new();
    let server = TestServer::start(|_, _| Reply::status(200));
    let input = sandbox.write("d.csv", numbered_csv(2000));
    for codec in ["none", "gzip", "zstd"] {
        let mut push = sandbox.push_unsigned(&input, &server.url());
        push.arg("--force");
        if codec != "none" {
            push.args(["--compress", codec]);
        }
        push.assert().success();
    }
    let requests = server.requests();
    let plain = requests[0].body.len();
    assert_eq!(requests[0].header("content-encoding"), None);
    for (request, codec) in requests[1..].iter().zip(["gzip", "zstd"]) {
        assert_eq!(request.header("content-encoding"), Some(codec));
        let decoded = pulse_decode(codec, &request.body);
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&decoded).unwrap()["data"],
            requests[0].json()["data"]
        );
        assert!(
            request.body.len() * 4 < plain,
            "{codec}: {} of {plain}",
            request.body.len()
        );
    }
}

/// Decodes a body as an independent receiver would (flate2 and zstd, not pulse's code).
fn pulse_decode(codec: &str, body: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    match codec {
        "gzip" => {
            flate2::read::GzDecoder::new(body)
                .read_to_end(&mut out)
                .unwrap();
        }
        _ => out = zstd::stream::decode_all(body).unwrap(),
    }
    out
}

#[test]
fn export_leaves_mirror_deletes_out_of_csv_and_keeps_them_in_json_lines() {
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    let push = |name: &str, text: &str| {
        let input = sandbox.write(name, text);
        sandbox
            .push_unsigned(&input, &server.url())
            .args(["--mode", "mirror", "--key", "id", "--sync", "people"])
            .assert()
            .success();
    };
    push("a.csv", "id,name\n1,ann\n2,bob\n3,cy\n");
    push("b.csv", "id,name\n1,ann b\n2,bob\n");
    let run = sandbox.last_run();
    let out = sandbox.pulse().args(["export", &run]).assert().success();
    assert_eq!(
        String::from_utf8_lossy(&out.get_output().stdout),
        "id,name\n1,ann b\n"
    );
    assert!(
        stderr_of(&out).contains("1 delete left out"),
        "{}",
        stderr_of(&out)
    );
    let lines = sandbox.stdout_of(&["export", &run, "--format", "jsonl"]);
    assert_eq!(lines.lines().count(), 2);
    assert!(lines.contains(r#""__op":"delete""#), "{lines}");
}
