//! `pulse receive` as the receiving end: signature checks, output lines, rows written with --out.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use crate::support::{fixture, stderr_of, Sandbox};

const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

/// A running `pulse receive` on a free port; killed when dropped.
pub struct Receiver {
    child: Child,
    pub port: u16,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Receiver {
    pub fn start(args: &[&str]) -> Receiver {
        Receiver::start_with_stderr(args, Stdio::null())
    }

    /// As `start`, its stderr going to `stderr`.
    pub fn start_with_stderr(args: &[&str], stderr: Stdio) -> Receiver {
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("pulse"))
            .args(["receive", "--port", "0"])
            .args(args)
            .env_remove("PULSE_SECRET")
            .env_remove("PULSE_PUBLIC_KEY")
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        stdout.read_line(&mut first).unwrap();
        let port = first
            .trim()
            .trim_end_matches('/')
            .rsplit(':')
            .next()
            .unwrap()
            .parse()
            .unwrap_or_else(|_| panic!("no port in {first:?}"));
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Receiver { child, port, lines }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// Lines printed so far.
    pub fn lines(&self) -> Vec<String> {
        std::thread::sleep(std::time::Duration::from_millis(100));
        self.lines.try_iter().collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn receiver_verifies_prints_and_writes_rows() {
    let sandbox = Sandbox::new();
    let out = sandbox.path("rows.jsonl");
    let receiver = Receiver::start(&["--secret", SECRET, "--out", out.to_str().unwrap()]);
    sandbox
        .pulse()
        .args([
            "push",
            fixture("customers.csv").to_str().unwrap(),
            "--url",
            &receiver.url(),
        ])
        .args(["--secret", SECRET, "--batch-size", "50"])
        .assert()
        .success();
    let lines = receiver.lines();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(
        lines[0].starts_with("all 1/3 50 rows verified msg_"),
        "{lines:?}"
    );
    assert!(
        lines[2].starts_with("all 3/3 20 rows verified"),
        "{lines:?}"
    );
    let rows: Vec<serde_json::Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 120);
    assert_eq!(rows[119]["id"], "120");
}

#[test]
fn a_receiver_without_a_secret_says_it_verifies_nothing() {
    let sandbox = Sandbox::new();
    let stderr_path = sandbox.path("receive.err");
    let stderr = std::fs::File::create(&stderr_path).unwrap();
    let receiver = Receiver::start_with_stderr(&[], Stdio::from(stderr));
    let input = sandbox.write("one.csv", "id\n1\n");
    for signing in ["--secret", "--no-sign"] {
        let mut push = sandbox.pulse();
        push.args(["push", input.to_str().unwrap(), "--url", &receiver.url()]);
        match signing {
            "--secret" => push.args(["--secret", SECRET]),
            _ => push.arg("--no-sign"),
        };
        push.arg("--force").assert().success();
    }
    let lines = receiver.lines();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[0].starts_with("all 1/1 1 row not verified (no --secret) msg_"),
        "a signed request: {lines:?}"
    );
    assert!(
        lines[1].starts_with("all 1/1 1 row unsigned msg_"),
        "{lines:?}"
    );
    drop(receiver);
    let warnings = std::fs::read_to_string(&stderr_path).unwrap();
    assert_eq!(
        warnings.matches("signatures are not verified").count(),
        1,
        "warned once, at start-up: {warnings:?}"
    );
}

#[test]
fn receiver_refuses_bad_signatures_with_401() {
    let sandbox = Sandbox::new();
    let receiver = Receiver::start(&["--secret", SECRET]);
    let out = sandbox
        .pulse()
        .args([
            "push",
            fixture("tricky.csv").to_str().unwrap(),
            "--url",
            &receiver.url(),
        ])
        .args(["--secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"])
        .assert()
        .code(4);
    let stderr = stderr_of(&out);
    assert!(stderr.contains("HTTP 401"), "{stderr}");
    assert!(receiver.lines()[0].starts_with("401"));
    // Unsigned requests are refused too when the receiver has a secret.
    sandbox
        .pulse()
        .args([
            "push",
            fixture("tricky.csv").to_str().unwrap(),
            "--url",
            &receiver.url(),
            "--no-sign",
        ])
        .assert()
        .code(4);
}
