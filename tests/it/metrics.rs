//! A run's metrics for Prometheus (issue 38): `--metrics-file`, written whole during the run
//! and at the end, and checked against what the receiver saw.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::support::server::{Reply, TestServer};
use crate::support::{numbered_csv, Sandbox};

/// The samples of a text-format exposition, `name{labels}` -> value; panics on a line that is
/// not a comment, a blank or a sample (a partial file would have one).
fn samples(text: &str) -> BTreeMap<String, f64> {
    let mut found = BTreeMap::new();
    let mut typed = std::collections::HashSet::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("# TYPE name kind");
            assert!(["counter", "gauge", "histogram"].contains(&kind), "{line}");
            typed.insert(name.to_string());
            continue;
        }
        if line.starts_with("# HELP ") {
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("bad line {line:?}"));
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("bad value in {line:?}"));
        let name = series.split('{').next().unwrap();
        assert!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && name.starts_with("pulse_"),
            "{line}"
        );
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| name.strip_suffix(suffix).filter(|f| typed.contains(*f)))
            .unwrap_or(name);
        assert!(typed.contains(family), "a sample before its # TYPE: {line}");
        found.insert(series.to_string(), value);
    }
    assert!(text.ends_with('\n'), "the file ends with its last line");
    found
}

#[test]
fn the_metrics_file_counts_what_the_receiver_saw_and_is_never_read_half_written() {
    let sandbox = Sandbox::new();
    // Every third request is answered 503 once (with Retry-After: 0), then 200; each answer
    // takes a moment, so the file is written during the run too.
    let server = TestServer::start(|n, _| {
        let reply = if n % 3 == 1 {
            let mut reply = Reply::status(503);
            reply.headers.push(("retry-after".into(), "0".into()));
            reply
        } else {
            Reply::status(200)
        };
        reply.delay(Duration::from_millis(150))
    });
    let input = sandbox.write("d.csv", numbered_csv(60));
    let file = sandbox.path("pulse.prom");
    let mut child = sandbox.spawn(&[
        "push",
        input.to_str().unwrap(),
        "--url",
        &server.url(),
        "--no-sign",
        "--batch-size",
        "2",
        "--metrics-file",
        file.to_str().unwrap(),
    ]);
    // A reader polling the file meanwhile sees whole files only, more than one of them.
    let mut seen = std::collections::HashSet::new();
    let status = loop {
        if let Ok(text) = std::fs::read_to_string(&file) {
            samples(&text);
            seen.insert(text);
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success());
    assert!(
        seen.len() >= 2,
        "written during the run and at its end: {}",
        seen.len()
    );
    let text = std::fs::read_to_string(&file).unwrap();
    let found = samples(&text);
    let requests = server.requests();
    let refused = requests.len() - 30;
    assert!(refused >= 9, "{refused} 503s");
    assert_eq!(
        found["pulse_rows_total{event=\"all\",outcome=\"delivered\"}"],
        60.0
    );
    assert_eq!(found["pulse_batches_total{outcome=\"delivered\"}"], 30.0);
    assert_eq!(found["pulse_requests_total{code=\"200\"}"], 30.0);
    assert_eq!(found["pulse_requests_total{code=\"503\"}"], refused as f64);
    assert_eq!(found["pulse_retries_total"], refused as f64);
    assert_eq!(
        found["pulse_request_duration_seconds_count"],
        requests.len() as f64
    );
    assert_eq!(
        found["pulse_request_duration_seconds_bucket{le=\"+Inf\"}"],
        requests.len() as f64
    );
    assert!(found["pulse_request_duration_seconds_bucket{le=\"0.1\"}"] < requests.len() as f64);
    assert!(found["pulse_request_duration_seconds_sum"] >= 0.15 * requests.len() as f64);
    assert!(found["pulse_run_duration_seconds"] > 0.0);
    let destination = format!(
        "pulse_last_success_timestamp_seconds{{destination=\"{}\"}}",
        server.url()
    );
    assert!(found[&destination] > 1.7e9, "{text}");
    python_parses_families(&text, 7);
}

#[test]
fn a_failed_run_still_writes_its_metrics_and_a_missing_directory_is_a_usage_error() {
    let sandbox = Sandbox::new();
    let server = TestServer::start(|_, _| Reply::status(400));
    let input = sandbox.write("d.csv", numbered_csv(3));
    let file = sandbox.path("failed.prom");
    let gateway = TestServer::ok();
    sandbox
        .push_unsigned(&input, &server.url())
        .args(["--metrics-file", file.to_str().unwrap()])
        .args([
            "--push-gateway",
            &format!("http://127.0.0.1:{}/", gateway.port),
        ])
        .assert()
        .code(4);
    let found = samples(&std::fs::read_to_string(&file).unwrap());
    // The Pushgateway got the same metrics at the end.
    let pushed = gateway.requests();
    assert_eq!(pushed.len(), 1);
    assert_eq!(
        (pushed[0].method.as_str(), pushed[0].path.as_str()),
        ("PUT", "/metrics/job/pulse")
    );
    let pushed = samples(&String::from_utf8(pushed[0].body.clone()).unwrap());
    assert_eq!(pushed["pulse_batches_total{outcome=\"failed\"}"], 1.0);
    assert_eq!(found["pulse_batches_total{outcome=\"failed\"}"], 1.0);
    assert_eq!(
        found["pulse_rows_total{event=\"all\",outcome=\"failed\"}"],
        3.0
    );
    assert_eq!(found["pulse_requests_total{code=\"400\"}"], 1.0);
    let out = sandbox
        .push_unsigned(&input, &server.url())
        .args(["--metrics-file", "/nonexistent/dir/x.prom"])
        .assert()
        .code(2);
    let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(
        stderr.contains("--metrics-file /nonexistent/dir/x.prom"),
        "{stderr}"
    );
}

/// The Python client's parser reads the file too (skipped when it is not installed, unless CI
/// asks for it with PULSE_REQUIRE_EXAMPLES).
fn python_parses_families(text: &str, families: usize) {
    let script = "import sys\nfrom prometheus_client.parser import text_string_to_metric_families as parse\n\
                  families = list(parse(sys.stdin.read()))\nprint(len(families))\n";
    let run = std::process::Command::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    let Ok(mut child) = run else { return };
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("No module named 'prometheus_client'") {
        assert!(
            std::env::var_os("PULSE_REQUIRE_EXAMPLES").is_none(),
            "prometheus_client is required here"
        );
        return;
    }
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        families.to_string()
    );
}

#[test]
fn pulse_metrics_tells_the_logs_backlog_per_destination() {
    let sandbox = Sandbox::new();
    let input = sandbox.write("d.csv", numbered_csv(6));
    let ok = TestServer::ok();
    sandbox
        .push_unsigned(&input, &ok.url())
        .args(["--batch-size", "2"])
        .assert()
        .success();
    let refusing = TestServer::start(|_, _| Reply::status(400));
    sandbox
        .push_unsigned(&input, &refusing.url())
        .args(["--batch-size", "2"])
        .assert()
        .code(4);
    let text = sandbox.stdout_of(&["metrics"]);
    let found = samples(&text);
    let of = |name: &str, url: &str| found[&format!("{name}{{destination=\"{url}\"}}")];
    assert_eq!(found["pulse_runs{status=\"delivered\"}"], 1.0);
    assert_eq!(found["pulse_runs{status=\"failed\"}"], 1.0);
    assert_eq!(of("pulse_backlog_batches", &refusing.url()), 3.0);
    assert_eq!(of("pulse_failed_batches", &refusing.url()), 1.0);
    assert_eq!(of("pulse_backlog_batches", &ok.url()), 0.0);
    assert!(
        of(
            "pulse_oldest_unfinished_run_timestamp_seconds",
            &refusing.url()
        ) > 1.7e9
    );
    assert!(of("pulse_last_delivery_timestamp_seconds", &ok.url()) > 1.7e9);
    assert!(!found.contains_key(&format!(
        "pulse_last_delivery_timestamp_seconds{{destination=\"{}\"}}",
        refusing.url()
    )));
    // --output writes the same, whole.
    let file = sandbox.path("log.prom");
    sandbox
        .pulse()
        .args(["metrics", "--output", file.to_str().unwrap()])
        .assert()
        .success();
    assert_eq!(samples(&std::fs::read_to_string(&file).unwrap()), found);
    python_parses_families(&std::fs::read_to_string(&file).unwrap(), 5);
}
