//! Shared test helpers: the pinned `pulse` command, the loopback server, signature checking.

pub mod server;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use base64::Engine;
use hmac::Mac;

/// A temp dir holding the log database and a fake HOME, so tests never touch the user's files.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        Sandbox {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn db(&self) -> PathBuf {
        self.dir.path().join("pulse.db")
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    /// `pulse push INPUT --url URL --no-sign`, to add flags to.
    pub fn push_unsigned(&self, input: &Path, url: &str) -> Command {
        let mut cmd = self.pulse();
        cmd.args(["push", input.to_str().unwrap(), "--url", url, "--no-sign"]);
        cmd
    }

    /// `pulse` with a pinned environment: temp HOME and database, no inherited secrets.
    pub fn pulse(&self) -> Command {
        Command::from_std(self.command(&assert_cmd::cargo::cargo_bin("pulse")))
    }
}

impl Sandbox {
    /// The same pinned `pulse` as a plain process, for tests that signal or race it.
    pub fn spawn(&self, args: &[&str]) -> std::process::Child {
        self.spawn_with(args, &[], std::process::Stdio::null())
    }

    pub fn spawn_with(
        &self,
        args: &[&str],
        env: &[(&str, &str)],
        stdin: std::process::Stdio,
    ) -> std::process::Child {
        let mut cmd = self.command(&assert_cmd::cargo::cargo_bin("pulse"));
        cmd.envs(env.iter().copied())
            .args(args)
            .stdin(stdin)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        cmd.spawn().unwrap()
    }

    /// `program` (a pulse binary) as a plain process with the pinned environment.
    pub fn command(&self, program: &Path) -> std::process::Command {
        let mut cmd = std::process::Command::new(program);
        cmd.env_clear()
            .env("HOME", self.dir.path())
            .env("PULSE_DB", self.db())
            .env("PULSE_TEST_MODE", "1")
            .env("PATH", std::env::var_os("PATH").unwrap_or_default());
        cmd
    }

    /// The log database, opened beside pulse (WAL lets both read and write).
    pub fn conn(&self) -> rusqlite::Connection {
        let conn = rusqlite::Connection::open(self.db()).unwrap();
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .unwrap();
        conn
    }

    /// One value from the log, or None when the query finds no row (or no table yet).
    pub fn query<T: rusqlite::types::FromSql>(&self, sql: &str) -> Option<T> {
        if !self.db().exists() {
            return None;
        }
        self.conn().query_row(sql, [], |r| r.get(0)).ok()
    }

    /// The id of the only (or newest) run.
    pub fn last_run(&self) -> String {
        self.query("SELECT id FROM runs ORDER BY started_at DESC, id DESC LIMIT 1")
            .expect("a run in the log")
    }

    /// stdout of a successful pulse command.
    pub fn stdout_of(&self, args: &[&str]) -> String {
        let out = self.pulse().args(args).assert().success();
        String::from_utf8(out.get_output().stdout.clone()).unwrap()
    }
}

/// Waits for `done`, polling; a generous deadline only catches hangs, it times nothing.
pub fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "gave up waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Sends a signal by name (INT, TERM) to a child process.
pub fn signal(child: &std::process::Child, name: &str) {
    let status = std::process::Command::new("kill")
        .args([format!("-{name}"), child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Reads a finished child's exit code, stdout and stderr.
pub fn finish(child: std::process::Child) -> (Option<i32>, String, String) {
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A CSV of `n` rows `id,name`.
pub fn numbered_csv(n: usize) -> String {
    let mut csv = String::from("id,name\n");
    for i in 1..=n {
        csv.push_str(&format!("{i},name {i}\n"));
    }
    csv
}

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// Checks a Standard Webhooks signature independently of pulse's signer: HMAC-SHA256 over
/// `id.timestamp.body` with the base64-decoded secret, compared with each `v1,` entry.
pub fn signature_matches(
    secret: &str,
    id: &str,
    timestamp: &str,
    body: &[u8],
    header: &str,
) -> bool {
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    let expected = format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    );
    header.split(' ').any(|sig| sig == expected)
}

/// All rows of all recorded bodies, in arrival order.
pub fn rows_of(requests: &[server::Recorded]) -> Vec<serde_json::Value> {
    requests
        .iter()
        .flat_map(|r| r.json()["data"].as_array().unwrap().clone())
        .collect()
}

/// What a finished command wrote on stderr.
pub fn stderr_of(out: &assert_cmd::assert::Assert) -> String {
    String::from_utf8(out.get_output().stderr.clone()).unwrap()
}
