//! Unattended runs (issue 20): resume clears the backlog per destination, oldest first; final
//! runs (cancelled, refused, failed on their input) never block it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::support::server::{Reply, TestServer};
use crate::support::{numbered_csv, rows_of, stderr_of, Sandbox};

/// A receiver that refuses everything (503) until switched on.
fn switchable() -> (TestServer, Arc<AtomicBool>) {
    let up = Arc::new(AtomicBool::new(false));
    let on = up.clone();
    let server = TestServer::start(move |_, _| {
        Reply::status(if on.load(Ordering::SeqCst) { 200 } else { 503 })
    });
    (server, up)
}

fn push_failing(sandbox: &Sandbox, input: &std::path::Path, url: &str) -> String {
    sandbox
        .push_unsigned(input, url)
        .args(["--retries", "0", "--batch-size", "2"])
        .assert()
        .code(4);
    sandbox.last_run()
}

#[test]
fn resume_delivers_mondays_export_before_tuesdays() {
    let sandbox = Sandbox::new();
    let (server, up) = switchable();
    let monday = sandbox.write("monday.csv", "day,n\nmonday,1\nmonday,2\nmonday,3\n");
    let tuesday = sandbox.write("tuesday.csv", "day,n\ntuesday,1\ntuesday,2\ntuesday,3\n");
    let monday_run = push_failing(&sandbox, &monday, &server.url());
    let tuesday_run = push_failing(&sandbox, &tuesday, &server.url());

    // Tuesday's alone would overtake Monday's.
    let out = sandbox
        .pulse()
        .args(["resume", &tuesday_run])
        .assert()
        .code(4);
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains(&monday_run)
            && stderr.contains("monday.csv")
            && stderr.contains("--out-of-order"),
        "{stderr}"
    );

    up.store(true, Ordering::SeqCst);
    let refused = server.requests().len();
    let out = sandbox.pulse().arg("resume").assert().success();
    let stderr = stderr_of(&out);
    assert!(stderr.matches("delivered 3 rows").count() == 2, "{stderr}");
    let delivered: Vec<String> = rows_of(&server.requests()[refused..])
        .iter()
        .map(|row| row["day"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        delivered,
        ["monday"; 3]
            .into_iter()
            .chain(["tuesday"; 3])
            .collect::<Vec<_>>()
    );
    let out = sandbox.pulse().arg("resume").assert().success();
    assert!(stderr_of(&out).contains("nothing to resume"));
}

#[test]
fn one_failing_destination_does_not_hold_up_another() {
    let sandbox = Sandbox::new();
    let (down, _) = switchable();
    let (recovering, up) = switchable();
    let a = sandbox.write("a.csv", numbered_csv(2));
    let b = sandbox.write("b.csv", numbered_csv(2));
    let stuck = push_failing(&sandbox, &a, &down.url());
    push_failing(&sandbox, &b, &recovering.url());
    up.store(true, Ordering::SeqCst);
    let refused = recovering.requests().len();
    let out = sandbox
        .pulse()
        .args(["resume", "--retries", "0"])
        .assert()
        .code(4);
    let stderr = stderr_of(&out);
    assert!(stderr.contains(&stuck), "{stderr}");
    let cleared = rows_of(&recovering.requests()[refused..]).len();
    assert_eq!(cleared, 2, "the other destination cleared");
}

#[test]
fn cancelled_runs_and_runs_that_failed_on_their_input_block_nothing() {
    let sandbox = Sandbox::new();
    let (server, up) = switchable();
    // Staging fails on line 3 (invalid UTF-8): a final run.
    let bad = sandbox.write("bad.csv", b"a\nok\n\xff\n");
    sandbox.push_unsigned(&bad, &server.url()).assert().code(1);
    let bad_run = sandbox.last_run();
    let status: String = sandbox.query("SELECT status FROM runs").unwrap();
    assert_eq!(status, "input-error");
    let cancelled = push_failing(
        &sandbox,
        &sandbox.write("c.csv", numbered_csv(2)),
        &server.url(),
    );
    let good = push_failing(
        &sandbox,
        &sandbox.write("g.csv", numbered_csv(4)),
        &server.url(),
    );

    let out = sandbox
        .pulse()
        .args(["cancel", &cancelled])
        .assert()
        .success();
    assert!(stderr_of(&out).contains("will not be resumed"));
    let out = sandbox
        .pulse()
        .args(["resume", &cancelled])
        .assert()
        .code(1);
    assert!(stderr_of(&out).contains("cancelled"));
    let out = sandbox.pulse().args(["resume", &bad_run]).assert().code(1);
    assert!(stderr_of(&out).contains("fix the input"));

    up.store(true, Ordering::SeqCst);
    let refused = server.requests().len();
    let out = sandbox.pulse().arg("resume").assert().success();
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains(&good) && !stderr.contains(&cancelled),
        "{stderr}"
    );
    let sent = rows_of(&server.requests()[refused..]).len();
    assert_eq!(sent, 4, "only the good run was sent");
    let log = sandbox.stdout_of(&["log"]);
    assert!(
        log.contains("cancelled") && log.contains("input-error"),
        "{log}"
    );
    // A delivered run cannot be cancelled.
    sandbox.pulse().args(["cancel", &good]).assert().code(1);
}

#[test]
fn a_push_delivers_the_unfinished_runs_before_it_first() {
    let sandbox = Sandbox::new();
    let (server, up) = switchable();
    let monday = sandbox.write("monday.csv", "day,n\nmonday,1\nmonday,2\n");
    let tuesday = sandbox.write("tuesday.csv", "day,n\ntuesday,1\ntuesday,2\n");
    let wednesday = sandbox.write("wednesday.csv", "day,n\nwednesday,1\n");
    let monday_run = push_failing(&sandbox, &monday, &server.url());

    // Still down on Tuesday: Monday's run fails again, and Tuesday's waits, staged, behind it.
    let out = sandbox
        .push_unsigned(&tuesday, &server.url())
        .args(["--retries", "0"])
        .assert()
        .code(4);
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains("delivering them first")
            && stderr.contains(&format!("waits behind {monday_run}"))
            && stderr.contains("pulse cancel"),
        "{stderr}"
    );
    let tuesday_run = sandbox.last_run();
    let status: String = sandbox
        .query(&format!(
            "SELECT status FROM runs WHERE id = '{tuesday_run}'"
        ))
        .unwrap();
    assert_eq!(status, "staged");
    let listed = sandbox.stdout_of(&["log"]);
    let line = listed
        .lines()
        .find(|l| l.starts_with(&tuesday_run))
        .unwrap();
    assert!(line.contains("staged (waiting)"), "{listed}");

    // Up on Wednesday: Monday's, Tuesday's, then Wednesday's rows, in that order.
    up.store(true, Ordering::SeqCst);
    let refused = server.requests().len();
    sandbox
        .push_unsigned(&wednesday, &server.url())
        .assert()
        .success();
    let days: Vec<String> = rows_of(&server.requests()[refused..])
        .iter()
        .map(|row| row["day"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        days,
        ["monday", "monday", "tuesday", "tuesday", "wednesday"]
    );
    let out = sandbox.pulse().arg("resume").assert().success();
    assert!(stderr_of(&out).contains("nothing to resume"));
}

#[test]
fn pushing_the_same_file_twice_sends_it_once_unless_forced() {
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    let input = sandbox.write("d.csv", numbered_csv(3));
    sandbox
        .push_unsigned(&input, &server.url())
        .assert()
        .success();
    let first = sandbox.last_run();
    let out = sandbox
        .push_unsigned(&input, &server.url())
        .arg("--json")
        .assert()
        .success();
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains(&format!("unchanged since {first}")),
        "{stderr}"
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(summary["status"], "unchanged");
    assert_eq!(server.requests().len(), 1, "nothing sent the second time");
    let runs: i64 = sandbox.query("SELECT count(*) FROM runs").unwrap();
    assert_eq!(runs, 1);

    // Other options shaping the payload, or other content, make another push.
    sandbox
        .push_unsigned(&input, &server.url())
        .args(["--template-id", "other"])
        .assert()
        .success();
    std::fs::write(&input, numbered_csv(4)).unwrap();
    sandbox
        .push_unsigned(&input, &server.url())
        .assert()
        .success();
    sandbox
        .push_unsigned(&input, &server.url())
        .arg("--force")
        .assert()
        .success();
    assert_eq!(server.requests().len(), 4);

    // Stdin too, decided once read.
    for expected in [5, 5] {
        sandbox
            .pulse()
            .args(["push", "-", "--url", &server.url(), "--no-sign"])
            .write_stdin(numbered_csv(7))
            .assert()
            .success();
        assert_eq!(server.requests().len(), expected);
    }
}

#[test]
fn pushing_again_after_a_failure_continues_the_first_run_under_its_webhook_ids() {
    let sandbox = Sandbox::new();
    let (server, up) = switchable();
    let input = sandbox.write("d.csv", numbered_csv(6));
    let first = push_failing(&sandbox, &input, &server.url());
    let refused: Vec<String> = server
        .requests()
        .iter()
        .map(|r| r.header("webhook-id").unwrap().to_string())
        .collect();
    up.store(true, Ordering::SeqCst);
    let out = sandbox
        .push_unsigned(&input, &server.url())
        .args(["--batch-size", "2"])
        .assert()
        .success();
    assert!(stderr_of(&out).contains(&format!("pushed already as {first}")));
    let runs: i64 = sandbox.query("SELECT count(*) FROM runs").unwrap();
    assert_eq!(runs, 1, "not staged a second time");
    let requests = server.requests();
    let delivered: Vec<&str> = requests[refused.len()..]
        .iter()
        .map(|r| r.header("webhook-id").unwrap())
        .collect();
    assert_eq!(delivered.len(), 3);
    assert_eq!(
        delivered[0], refused[0],
        "the refused batch again, under its own id"
    );
    assert_eq!(rows_of(&requests[refused.len()..]).len(), 6);
}

#[test]
fn a_password_written_in_the_url_serves_the_earlier_runs_a_push_delivers_first() {
    let sandbox = Sandbox::new();
    let (server, up) = switchable();
    let url = server.url().replace("http://", "http://u:pw-in-url@");
    let monday = sandbox.write("monday.csv", numbered_csv(2));
    let tuesday = sandbox.write("tuesday.csv", numbered_csv(3));
    push_failing(&sandbox, &monday, &url);
    up.store(true, Ordering::SeqCst);
    let out = sandbox.push_unsigned(&tuesday, &url).assert().success();
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains("delivering them first") && !stderr.contains("pw-in-url"),
        "{stderr}"
    );
    let delivered: i64 = sandbox
        .query("SELECT count(*) FROM runs WHERE status = 'delivered'")
        .unwrap();
    assert_eq!(delivered, 2);
}

#[test]
fn a_run_killed_while_staging_whose_file_was_overwritten_is_abandoned_not_a_jam() {
    // The README's cron pattern: one path overwritten daily. Monday's push is killed while
    // staging; Tuesday's export replaces daily.csv; Tuesday's push must go through.
    let sandbox = Sandbox::new();
    let (server, up) = switchable();
    let daily = sandbox.write("daily.csv", "day,n\nmonday,1\nmonday,2\nmonday,3\n");
    let monday_run = push_failing(&sandbox, &daily, &server.url());
    sandbox.as_if_killed_while_staging();
    sandbox.write("daily.csv", "day,n\ntuesday,1\ntuesday,2\n");
    up.store(true, Ordering::SeqCst);
    let before = server.requests().len();

    let out = sandbox
        .push_unsigned(&daily, &server.url())
        .args(["--json"])
        .assert()
        .success();
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains(&format!("{monday_run} ({}) is abandoned", daily.display()))
            && stderr.contains("changed since it was pushed")
            && stderr.contains("nothing of it was sent"),
        "{stderr}"
    );
    let days: Vec<String> = rows_of(&server.requests()[before..])
        .iter()
        .map(|row| row["day"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(days, ["tuesday", "tuesday"]);
    let status: String = sandbox
        .query(&format!(
            "SELECT status FROM runs WHERE id = '{monday_run}'"
        ))
        .unwrap();
    assert_eq!(status, "abandoned");
    // --json: a line for the abandoned run (with its reason), then the push's own.
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert_eq!(lines[0]["run_id"], monday_run.as_str());
    assert_eq!(lines[0]["status"], "abandoned");
    assert!(lines[0]["reason"].as_str().unwrap().contains("changed"));
    assert_eq!(lines[1]["status"], "delivered");
    // Reported once: a resume later says nothing of it, and the log lists no failure for it.
    let out = sandbox.pulse().arg("resume").assert().success();
    assert!(
        !stderr_of(&out).contains("abandoned"),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(sandbox.stdout_of(&["log", "--failed"]), "");
}

/// Issue 32, item 3: the README's dead-letter loop (`--on-failure skip`, `export --failed`,
/// fix, push) works as written with `--replaces`: the failed original is cancelled with its
/// reason, not sent again, and the fix goes at once. Without it the fix waits (exit 4).
#[test]
fn a_pushed_fix_replaces_the_run_whose_failed_rows_it_carries() {
    let sandbox = Sandbox::new();
    // Refuses any request that carries the value "bad".
    let server = TestServer::start(|_, req| {
        let body = String::from_utf8_lossy(&req.body);
        Reply::status(if body.contains("\"bad\"") { 422 } else { 200 })
    });
    let input = sandbox.write("orders.csv", "id,name\n1,a\n2,bad\n3,c\n");
    sandbox
        .push_unsigned(&input, &server.url())
        .args([
            "--batch-size",
            "1",
            "--on-failure",
            "skip",
            "--retries",
            "0",
        ])
        .assert()
        .code(4);
    let original = sandbox.last_run();
    let rejected = sandbox.path("rejected.csv");
    let out = sandbox
        .pulse()
        .args(["export", &original, "--failed", "--output"])
        .arg(&rejected)
        .assert()
        .success();
    assert!(stderr_of(&out).contains(&format!("--replaces {original}")));
    let exported = std::fs::read_to_string(&rejected).unwrap();
    assert_eq!(exported, "id,name\n2,bad\n");
    let fixed = sandbox.write("fixed.csv", exported.replace("bad", "good"));
    let before = server.requests().len();

    // Without --replaces the fix waits behind the original, which fails again.
    sandbox
        .push_unsigned(&fixed, &server.url())
        .args(["--retries", "0"])
        .assert()
        .code(4);
    let waiting = sandbox.last_run();
    assert_eq!(server.requests().len(), before + 1, "the original again");

    // With it, the original is cancelled (with why) and the fix goes: nothing else is sent.
    let other = sandbox.write("other.csv", "id,name\n9,z\n");
    let out = sandbox
        .push_unsigned(&other, &server.url())
        .args(["--replaces", &original, "--retries", "0"])
        .assert()
        .success();
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains(&format!("{original} (")) && stderr.contains("replaced by"),
        "{stderr}"
    );
    let sent: Vec<String> = server.requests()[before + 1..]
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect();
    assert_eq!(sent.len(), 2, "the waiting fix, then this push: {sent:?}");
    assert!(
        sent[0].contains("\"good\"") && sent[1].contains("\"z\""),
        "{sent:?}"
    );
    let log = sandbox.stdout_of(&["log", &original]);
    assert!(
        log.contains("cancelled") && log.contains("replaced by"),
        "{log}"
    );
    let log = sandbox.stdout_of(&["log", &waiting]);
    assert!(log.contains("delivered"), "{log}");

    // Refused before anything is read: an unknown run, a delivered one, one to another URL.
    let elsewhere = TestServer::ok();
    for (replaces, url) in [
        ("run_nosuch", server.url()),
        (waiting.as_str(), server.url()),
        (original.as_str(), elsewhere.url()),
    ] {
        let out = sandbox
            .push_unsigned(&fixed, &url)
            .args(["--replaces", replaces, "--force"])
            .assert()
            .code(2);
        assert!(stderr_of(&out).contains(&format!("--replaces {replaces}")));
    }
}

/// Issue 32, item 5: during an outage a `*/15` resume costs one request, not the whole retry
/// schedule; under `--quiet` the outage is said when it starts and when it ends, not between;
/// `pulse log` shows it meanwhile. Counted in requests, not seconds (no timing assertions).
#[test]
fn an_outage_is_remembered_probed_with_one_request_and_said_when_it_starts_and_ends() {
    let sandbox = Sandbox::new();
    let (server, up) = switchable();
    let input = sandbox.write("d.csv", numbered_csv(4));
    let schedule = ["--retries", "2", "--retry-schedule", "10ms", "--quiet"];
    let out = sandbox
        .push_unsigned(&input, &server.url())
        .args(schedule)
        .args(["--batch-size", "2"])
        .assert()
        .code(4);
    assert_eq!(server.requests().len(), 3, "the whole schedule, once");
    let stderr = stderr_of(&out);
    assert!(stderr.contains("is down"), "said when it starts: {stderr}");
    let log = sandbox.stdout_of(&["log"]);
    assert!(
        stderr_of(&sandbox.pulse().arg("log").assert().success())
            .contains(&format!("down: {}", server.url())),
        "{log}"
    );

    // Two quiet resumes: one request each, nothing said, exit 4 still.
    for n in 1..=2 {
        let out = sandbox
            .pulse()
            .args(["resume"])
            .args(schedule)
            .assert()
            .code(4);
        assert_eq!(server.requests().len(), 3 + n, "one probe per resume");
        assert_eq!(stderr_of(&out), "", "quiet during the outage");
    }
    // Without --quiet it says what it knows.
    let out = sandbox
        .pulse()
        .args(["resume", "--retries", "2", "--retry-schedule", "10ms"])
        .assert()
        .code(4);
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains("is down since") && stderr.contains("still down"),
        "{stderr}"
    );
    assert_eq!(server.requests().len(), 6);

    // It answers: the quiet resume delivers everything and says the outage is over.
    up.store(true, Ordering::SeqCst);
    let out = sandbox
        .pulse()
        .args(["resume"])
        .args(schedule)
        .assert()
        .success();
    let stderr = stderr_of(&out);
    assert!(stderr.contains("answers again"), "{stderr}");
    assert_eq!(server.requests().len(), 8, "both batches");
    let log = stderr_of(&sandbox.pulse().arg("log").assert().success());
    assert!(!log.contains("down:"), "{log}");

    // --outage-cooldown 0: the whole schedule every time, as before.
    up.store(false, Ordering::SeqCst);
    let second = sandbox.write("e.csv", numbered_csv(1));
    for _ in 0..2 {
        sandbox
            .push_unsigned(&second, &server.url())
            .args(schedule)
            .args(["--outage-cooldown", "0s"])
            .assert()
            .code(4);
    }
    assert_eq!(server.requests().len(), 8 + 3 + 3);
}

/// Issue 32, item 7: a resume is suggested only where it can help: after a 422 the hint is to
/// fix and replace, or cancel; after a 503, to resume.
#[test]
fn resume_is_suggested_only_where_it_can_help() {
    let sandbox = Sandbox::new();
    let refusing = TestServer::start(|_, _| Reply::status(422));
    let input = sandbox.write("d.csv", numbered_csv(2));
    let out = sandbox
        .push_unsigned(&input, &refusing.url())
        .args(["--retries", "0"])
        .assert()
        .code(4);
    let run = sandbox.last_run();
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains("refused it")
            && stderr.contains(&format!("--replaces {run}"))
            && stderr.contains(&format!("pulse cancel {run}"))
            && !stderr.contains("continue with"),
        "{stderr}"
    );
    let busy = TestServer::start(|_, _| Reply::status(503));
    let out = sandbox
        .push_unsigned(&input, &busy.url())
        .args(["--retries", "0"])
        .assert()
        .code(4);
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains(&format!(
            "continue with `pulse resume {}`",
            sandbox.last_run()
        )),
        "{stderr}"
    );
}
