//! The JSON summary has one shape for every outcome, the one README documents (issue 20).

use std::collections::BTreeSet;

use crate::support::server::{Reply, TestServer};
use crate::support::{numbered_csv, Sandbox};

/// The fields README's table of the JSON summary lists.
fn documented_fields() -> BTreeSet<String> {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let table = readme
        .split("<!-- json-summary-fields -->")
        .nth(1)
        .expect("README documents the JSON summary's fields");
    table
        .lines()
        .skip(3)
        .take_while(|line| line.starts_with('|'))
        .flat_map(|line| {
            let first = line.split('|').nth(1).unwrap_or_default().to_string();
            first
                .split(',')
                .map(|name| name.trim().trim_matches('`').to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}

fn summary_of(out: &assert_cmd::assert::Assert) -> serde_json::Value {
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    let line = stdout
        .lines()
        .last()
        .unwrap_or_else(|| panic!("no JSON on stdout"));
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"))
}

fn keys(summary: &serde_json::Value) -> BTreeSet<String> {
    summary.as_object().unwrap().keys().cloned().collect()
}

#[test]
fn every_outcome_prints_the_documented_summary() {
    let documented = documented_fields();
    assert!(documented.len() >= 12, "{documented:?}");
    let with = |extra: &str| {
        let mut fields = documented.clone();
        fields.insert(extra.to_string());
        fields
    };
    let sandbox = Sandbox::new();
    let ok = TestServer::ok();
    let refusing = TestServer::start(|_, _| Reply::status(503).body("upstream busy"));
    let input = sandbox.write("d.csv", numbered_csv(3));

    let delivered = summary_of(
        &sandbox
            .push_unsigned(&input, &ok.url())
            .arg("--json")
            .assert()
            .success(),
    );
    assert_eq!(delivered["status"], "delivered");
    assert_eq!(keys(&delivered), documented);
    assert_eq!(delivered["attempts"], 1);

    let unchanged = summary_of(
        &sandbox
            .push_unsigned(&input, &ok.url())
            .arg("--json")
            .assert()
            .success(),
    );
    assert_eq!(unchanged["status"], "unchanged");
    assert_eq!(keys(&unchanged), with("unchanged_since"));

    let args = [
        "--json",
        "--retries",
        "1",
        "--retry-schedule",
        "10ms",
        "--batch-size",
        "2",
    ];
    let failed = summary_of(
        &sandbox
            .push_unsigned(&input, &refusing.url())
            .args(args)
            .assert()
            .code(4),
    );
    assert_eq!(failed["status"], "failed");
    assert_eq!(keys(&failed), documented);
    assert_eq!(
        failed["attempts"], 2,
        "the real count: the try and its retry"
    );
    let error = &failed["error"];
    assert_eq!(error["http_status"], 503);
    assert_eq!(error["index"], 1);
    assert_eq!(error["response"], "upstream busy");
    let error_keys = [
        "batch_id",
        "error",
        "event",
        "http_status",
        "index",
        "response",
    ];
    assert_eq!(
        keys(error),
        error_keys.iter().map(|k| k.to_string()).collect()
    );
    let run = failed["run_id"].as_str().unwrap().to_string();

    let cancelled = summary_of(
        &sandbox
            .pulse()
            .args(["cancel", &run, "--json"])
            .assert()
            .success(),
    );
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(keys(&cancelled), documented);

    let ragged = sandbox.write("ragged.csv", "a,b\n1,2\n3\n");
    let invalid = summary_of(
        &sandbox
            .push_unsigned(&ragged, &ok.url())
            .args(["--json", "--fail-on-invalid"])
            .assert()
            .code(3),
    );
    assert_eq!(invalid["status"], "invalid");
    assert_eq!(keys(&invalid), with("first_invalid"));
    assert_eq!(invalid["first_invalid"]["line"], 3);
}

#[test]
fn errors_print_the_documented_error_line_with_json() {
    // README: exit 1 and 2 print {"status":"error","error":{"message","exit_code"}}.
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    assert!(
        readme.contains(r#"{"status":"error","error":{"message":"#),
        "README documents it"
    );
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    let bad = sandbox.write("bad.csv", b"a,b\n1,2\n3,\xff\n");
    let missing = sandbox.path("missing.csv");
    let cases: Vec<(Vec<String>, i32, &str)> = vec![
        (vec![missing.to_str().unwrap().into()], 1, "cannot open"),
        (vec![bad.to_str().unwrap().into()], 1, "invalid UTF-8"),
        (
            vec![
                bad.to_str().unwrap().into(),
                "--batch-size".into(),
                "0".into(),
            ],
            2,
            "--batch-size",
        ),
        (
            vec![bad.to_str().unwrap().into(), "--bogus".into()],
            2,
            "--bogus",
        ),
    ];
    for (args, code, words) in cases {
        let out = sandbox
            .pulse()
            .arg("push")
            .args(&args)
            .args(["--url", &server.url(), "--no-sign", "--json"])
            .assert()
            .code(code);
        let line = summary_of(&out);
        assert_eq!(line["status"], "error", "{args:?}");
        assert_eq!(line["error"]["exit_code"], code, "{args:?}");
        assert!(
            line["error"]["message"].as_str().unwrap().contains(words),
            "{args:?}: {line}"
        );
        assert_eq!(keys(&line), ["error", "status"].map(String::from).into());
    }
    // resume of a run that is not there: exit 1, a line too.
    let out = sandbox
        .pulse()
        .args(["resume", "run_nope", "--json"])
        .assert()
        .code(1);
    assert_eq!(summary_of(&out)["status"], "error");
}

/// Issue 32, item 4: a push blocked behind an older, failing run to its URL prints the older
/// run's line (marked `backlog_of`) and then its own, `waiting` with `blocked_by`: never only a
/// line about another file. Its stderr names the blocking run's file and how to drop it.
#[test]
fn a_push_blocked_behind_an_older_run_prints_its_own_line_last() {
    let sandbox = Sandbox::new();
    let down = TestServer::start(|_, _| Reply::status(503));
    let thursday = sandbox.write("orders-thu.csv", numbered_csv(2));
    let friday = sandbox.write("orders-fri.csv", numbered_csv(3));
    let args = ["--json", "--retries", "0"];
    let first = summary_of(
        &sandbox
            .push_unsigned(&thursday, &down.url())
            .args(args)
            .assert()
            .code(4),
    );
    let blocking = first["run_id"].as_str().unwrap().to_string();
    let out = sandbox
        .push_unsigned(&friday, &down.url())
        .args(args)
        .assert()
        .code(4);
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    let (backlog, own) = (&lines[0], &lines[1]);
    assert_eq!(backlog["run_id"], blocking.as_str());
    assert_eq!(backlog["status"], "failed");
    assert_eq!(backlog["backlog_of"], own["run_id"]);
    assert_eq!(own["status"], "waiting");
    assert!(own["source"].as_str().unwrap().ends_with("orders-fri.csv"));
    assert_eq!(own["rows"]["total"], 3);
    assert_eq!(own["blocked_by"]["run_id"], blocking.as_str());
    assert_eq!(own["blocked_by"]["status"], "failed");
    assert!(own["blocked_by"]["source"]
        .as_str()
        .unwrap()
        .ends_with("orders-thu.csv"));
    let mut fields = documented_fields();
    fields.insert("blocked_by".into());
    assert_eq!(keys(own), fields);
    let stderr = crate::support::stderr_of(&out);
    assert!(
        stderr.contains("orders-thu.csv") && stderr.contains(&format!("pulse cancel {blocking}")),
        "{stderr}"
    );
}
