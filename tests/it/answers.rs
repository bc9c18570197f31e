//! `--success-if` and `--rejected-rows` (issue 33): answers a receiver gives with a 2xx, read
//! by jq expressions, against a real loopback server and the real binary.

use crate::support::server::{Reply, TestServer};
use crate::support::{stderr_of, Sandbox};

fn csv(rows: usize) -> String {
    let mut text = String::from("id,email\n");
    for i in 1..=rows {
        text.push_str(&format!("{i},user{i}@example.com\n"));
    }
    text
}

#[test]
fn success_if_false_stops_with_exit_4_and_is_not_retried() {
    let sandbox = Sandbox::new();
    let server =
        TestServer::start(|_, _| Reply::status(200).body(r#"{"ok":false,"error":"invalid_auth"}"#));
    let input = sandbox.write("d.csv", csv(3));
    let out = sandbox
        .push_unsigned(&input, &server.url())
        .args(["--success-if", ".ok", "--retry-schedule", "10ms"])
        .assert()
        .code(4);
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains(
            "HTTP 200 (--success-if '.ok' is false): {\"ok\":false,\"error\":\"invalid_auth\"}"
        ),
        "{stderr}"
    );
    assert_eq!(server.requests().len(), 1, "not retried");
    let errors = sandbox.texts("SELECT error FROM attempts");
    assert_eq!(errors, ["--success-if '.ok' is false"]);
    let status: String = sandbox.query("SELECT status FROM batches").unwrap();
    assert_eq!(status, "failed");
}

#[test]
fn success_if_true_delivers_and_resume_repeats_the_runs_expression() {
    let sandbox = Sandbox::new();
    // The first answer is a 503 (the run stops, no retries); then `ok:false`, then `ok:true`.
    let server = TestServer::start(|n, _| match n {
        0 => Reply::status(503),
        1 => Reply::status(200).body(r#"{"ok":false}"#),
        _ => Reply::status(200).body(r#"{"ok":true}"#),
    });
    let input = sandbox.write("d.csv", csv(2));
    sandbox
        .push_unsigned(&input, &server.url())
        .args(["--success-if", ".ok", "--retries", "0"])
        .assert()
        .code(4);
    // resume takes no --success-if: the run's own is read from its plan.
    let out = sandbox
        .pulse()
        .args(["resume", "--no-sign", "--outage-cooldown", "0"])
        .assert()
        .code(4);
    assert!(stderr_of(&out).contains("--success-if '.ok' is false"));
    sandbox
        .pulse()
        .args(["resume", "--no-sign", "--outage-cooldown", "0"])
        .assert()
        .success();
    assert_eq!(server.requests().len(), 3);
    assert_eq!(sandbox.delivered_count(), 1);
}

/// A receiver that refuses rows 2 of the first batch (by position) and rows 1 and 3 of the
/// second (by object, with messages); a third batch is taken whole.
fn refusing_server() -> TestServer {
    TestServer::start(|n, _| {
        let body = match n {
            0 => r#"{"failed":[2]}"#,
            1 => {
                r#"{"failed":[{"position":1,"error":"bad email"},{"position":3,"error":"taken"},
                {"position":3,"error":"too long"}]}"#
            }
            _ => r#"{"failed":[]}"#,
        };
        Reply::status(200).body(body)
    })
}

#[test]
fn rejected_rows_are_recorded_shown_summed_and_exported() {
    let sandbox = Sandbox::new();
    let server = refusing_server();
    let input = sandbox.write("d.csv", csv(7));
    let out = sandbox
        .push_unsigned(&input, &server.url())
        .args([
            "--rejected-rows",
            ".failed[]",
            "--batch-size",
            "3",
            "--json",
        ])
        .assert()
        .success();
    let stderr = stderr_of(&out);
    let run = sandbox.last_run();
    assert!(
        stderr.contains(&format!(
            "pulse: warning: the receiver refused 3 of 7 rows of {run}"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("pulse export {run} --rejected")),
        "{stderr}"
    );
    assert_eq!(server.requests().len(), 3, "delivered: nothing sent again");
    assert_eq!(sandbox.delivered_count(), 3);
    let summary: serde_json::Value =
        serde_json::from_slice(&out.get_output().stdout).expect("a JSON summary");
    assert_eq!(summary["status"], "delivered");
    assert_eq!(summary["rejected"], 3);

    let log = sandbox.stdout_of(&["log", &run]);
    assert!(log.contains("delivered, 3 of 7 rows rejected"), "{log}");
    assert!(log.contains("delivered, 2 of 3 rows rejected"), "{log}");

    let csv_out = sandbox.stdout_of(&["export", &run, "--rejected"]);
    assert_eq!(
        csv_out,
        "id,email\n2,user2@example.com\n4,user4@example.com\n6,user6@example.com\n"
    );
    let with_errors = sandbox.stdout_of(&["export", &run, "--rejected", "--with-errors"]);
    assert_eq!(
        with_errors,
        "id,email,__receiver_error\n2,user2@example.com,\n4,user4@example.com,bad email\n\
         6,user6@example.com,taken; too long\n"
    );
    let jsonl = sandbox.stdout_of(&[
        "export",
        &run,
        "--rejected",
        "--with-errors",
        "--format",
        "jsonl",
    ]);
    let rows: Vec<serde_json::Value> = jsonl
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[1]["id"], "4");
    assert_eq!(rows[1]["__receiver_error"], "bad email");
}

#[test]
fn fail_on_rejected_makes_rejected_rows_exit_5() {
    let sandbox = Sandbox::new();
    let server = refusing_server();
    let input = sandbox.write("d.csv", csv(3));
    let out = sandbox
        .push_unsigned(&input, &server.url())
        .args(["--rejected-rows", ".failed[]", "--fail-on-rejected"])
        .assert()
        .code(5);
    let stderr = stderr_of(&out);
    assert!(stderr.contains("refused 1 of 3 rows"), "{stderr}");
    assert!(stderr.contains("(--fail-on-rejected)"), "{stderr}");
    assert_eq!(
        sandbox.delivered_count(),
        1,
        "the batch is delivered all the same"
    );
}

#[test]
fn a_bad_expression_is_a_usage_error_before_anything_is_staged_or_sent() {
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    let input = sandbox.write("d.csv", csv(3));
    for (flag, expr, said) in [
        (
            "--success-if",
            ".ok |",
            "--success-if \".ok |\": expected term at column 6",
        ),
        (
            "--rejected-rows",
            ".errors[] | nosuch",
            "undefined filter nosuch",
        ),
    ] {
        let out = sandbox
            .push_unsigned(&input, &server.url())
            .args([flag, expr])
            .assert()
            .code(2);
        let stderr = stderr_of(&out);
        assert!(stderr.contains(said), "{stderr}");
    }
    assert!(server.requests().is_empty());
    assert_eq!(
        sandbox
            .query::<i64>("SELECT count(*) FROM runs")
            .unwrap_or(0),
        0,
        "nothing staged"
    );
}

#[test]
fn an_answer_that_is_not_json_is_a_failure_naming_it() {
    let sandbox = Sandbox::new();
    let server = TestServer::start(|_, _| Reply::status(200).body("<html>thanks</html>"));
    let input = sandbox.write("d.csv", csv(3));
    let out = sandbox
        .push_unsigned(&input, &server.url())
        .args(["--rejected-rows", ".failed[]"])
        .assert()
        .code(4);
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains("(the answer is not JSON (byte offset 0: "),
        "{stderr}"
    );
    assert!(
        stderr.contains("which --rejected-rows reads): <html>thanks</html>"),
        "{stderr}"
    );
    assert_eq!(server.requests().len(), 1, "not retried");
}

#[test]
fn a_position_outside_the_batch_fails_it_naming_the_value() {
    let sandbox = Sandbox::new();
    let server = TestServer::start(|_, _| Reply::status(200).body(r#"{"failed":[9]}"#));
    let input = sandbox.write("d.csv", csv(3));
    let out = sandbox
        .push_unsigned(&input, &server.url())
        .args(["--rejected-rows", ".failed[]"])
        .assert()
        .code(4);
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains("--rejected-rows '.failed[]' yields 9, not a row of the batch"),
        "{stderr}"
    );
    assert_eq!(sandbox.delivered_count(), 0);
}

#[test]
fn concurrent_batches_and_skipped_failures_keep_their_own_answers() {
    let sandbox = Sandbox::new();
    // Answers by the batch's first id: the batch of rows 4-6 is refused (ok:false), the others
    // are taken with their second row refused.
    let server = TestServer::start(|_, request| {
        let body = request.json();
        let first = body["data"][0]["id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if first == "4" {
            Reply::status(200).body(r#"{"ok":false}"#)
        } else {
            Reply::status(200).body(r#"{"ok":true,"failed":[2]}"#)
        }
    });
    let input = sandbox.write("d.csv", csv(12));
    let out = sandbox
        .push_unsigned(&input, &server.url())
        .args([
            "--success-if",
            ".ok",
            "--rejected-rows",
            ".failed[]",
            "--batch-size",
            "3",
            "--concurrency",
            "3",
            "--on-failure",
            "skip",
        ])
        .assert()
        .code(4);
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains("1 batch failed and was skipped"),
        "{stderr}"
    );
    assert_eq!(server.requests().len(), 4, "nothing retried");
    assert_eq!(sandbox.delivered_count(), 3);
    let run = sandbox.last_run();
    let rejected = sandbox.stdout_of(&["export", &run, "--rejected"]);
    assert_eq!(
        rejected,
        "id,email\n2,user2@example.com\n8,user8@example.com\n11,user11@example.com\n"
    );
}
