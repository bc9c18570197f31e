//! `--log-format json` (issue 38): every line pulse writes on stderr is one JSON object, errors
//! and warnings included, with the run, batch and status it names as fields.

use std::time::Duration;

use crate::support::server::{Reply, TestServer};
use crate::support::{numbered_csv, Sandbox};

/// Every stderr line as JSON; panics on a line that is not an object with time, level and
/// message.
fn json_lines(stderr: &[u8]) -> Vec<serde_json::Value> {
    let text = String::from_utf8(stderr.to_vec()).unwrap();
    text.lines()
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|err| panic!("not JSON ({err}): {line:?}"));
            for key in ["time", "level", "message"] {
                assert!(value[key].is_string(), "{key} in {line}");
            }
            assert!(["info", "warn", "error"].contains(&value["level"].as_str().unwrap()));
            value
        })
        .collect()
}

#[test]
fn every_stderr_line_is_a_json_object_errors_and_warnings_included() {
    let sandbox = Sandbox::new();
    // A 503 (retried), then 200s; then a push that fails for good.
    let server = TestServer::start(|n, _| match n {
        0 => {
            let mut reply = Reply::status(503);
            reply.headers.push(("retry-after".into(), "0".into()));
            reply
        }
        _ => Reply::status(200).delay(Duration::from_millis(1)),
    });
    let input = sandbox.write("d.csv", numbered_csv(4));
    let out = sandbox
        .pulse()
        .args([
            "push",
            input.to_str().unwrap(),
            "--url",
            &server.url(),
            "--batch-size",
            "2",
        ])
        .args([
            "--secret",
            "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
            "--log-format",
            "json",
        ])
        .assert()
        .success();
    let lines = json_lines(&out.get_output().stderr);
    let warning = lines
        .iter()
        .find(|l| l["level"] == "warn")
        .expect("the --secret warning");
    assert!(warning["message"]
        .as_str()
        .unwrap()
        .starts_with("--secret on the command line"));
    let retry = lines
        .iter()
        .find(|l| l["http_status"] == 503)
        .unwrap_or_else(|| panic!("the retry line: {lines:?}"));
    assert_eq!(
        (retry["batch"].as_u64(), retry["batches"].as_u64()),
        (Some(1), Some(2))
    );
    assert_eq!(retry["retry"], 1);
    let summary = lines.last().unwrap();
    assert_eq!(summary["level"], "info");
    assert!(summary["message"]
        .as_str()
        .unwrap()
        .starts_with("delivered 4 rows"));
    assert!(summary["run_id"].as_str().unwrap().starts_with("run_"));

    let refusing = TestServer::start(|_, _| Reply::status(400));
    let out = sandbox
        .push_unsigned(&input, &refusing.url())
        .args(["--log-format", "json"])
        .assert()
        .code(4);
    let lines = json_lines(&out.get_output().stderr);
    let error = lines
        .iter()
        .find(|l| l["level"] == "error")
        .expect("the error line");
    assert_eq!(error["http_status"], 400);
    assert!(error["run_id"].as_str().unwrap().starts_with("run_"));
    // A usage error, before anything runs, and the variable's way of asking.
    let out = sandbox
        .pulse()
        .args(["push", input.to_str().unwrap(), "--bogus"])
        .env("PULSE_LOG_FORMAT", "json")
        .assert()
        .code(2);
    let lines = json_lines(&out.get_output().stderr);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0]["message"].as_str().unwrap().contains("--bogus"));
}
