//! Shared test helpers: the pinned `pulse` command, the loopback server, signature checking.

pub mod backend;
pub mod browser;
pub mod files;
pub mod ods;
pub mod server;
pub mod xls;
/// Loaded once, with the fuzz harness that packs its inputs with it too.
pub use crate::fuzz_regressions::harness::xlsx;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use base64::Engine;
use hmac::Mac;

pub use backend::on_postgres;

/// A temp dir holding the log database and a fake HOME, so tests never touch the user's files;
/// with the PostgreSQL backend, a database of the test's own instead of the file.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
    postgres: Option<backend::TestDatabase>,
    /// Set for a sandbox sharing another's log (`beside`).
    shared_log: Option<std::ffi::OsString>,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        Sandbox {
            dir: tempfile::tempdir().unwrap(),
            postgres: backend::server()
                .filter(|_| on_postgres())
                .map(backend::TestDatabase::create),
            shared_log: None,
        }
    }

    /// Another machine sharing this sandbox's log: a HOME and files of its own, the same
    /// `PULSE_DB` (the PostgreSQL database, or the SQLite file as on a shared disk).
    pub fn beside(&self) -> Sandbox {
        Sandbox {
            dir: tempfile::tempdir().unwrap(),
            postgres: None,
            shared_log: Some(self.log()),
        }
    }

    /// The URL of the test's PostgreSQL database, if the log is one.
    pub fn postgres_url(&self) -> Option<&str> {
        self.postgres.as_ref().map(|database| database.url.as_str())
    }

    /// The SQLite log file (with the PostgreSQL backend, a file nothing writes).
    pub fn db(&self) -> PathBuf {
        self.dir.path().join("pulse.db")
    }

    /// The log as `--db` names it: the file, or the test database's URL.
    pub fn log(&self) -> std::ffi::OsString {
        if let Some(shared) = &self.shared_log {
            return shared.clone();
        }
        match &self.postgres {
            Some(database) => database.url.clone().into(),
            None => self.db().into(),
        }
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

    /// Runs pulse with `args` and SIGKILLs it once `done` holds (polled as `wait_for` does).
    pub fn kill_once(&self, args: &[&str], what: &str, done: impl FnMut() -> bool) {
        let mut child = self.spawn(args);
        wait_for(what, done);
        child.kill().unwrap();
        child.wait().unwrap();
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
            .env("PULSE_DB", self.log())
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
    pub fn query<T>(&self, sql: &str) -> Option<T>
    where
        T: rusqlite::types::FromSql + for<'a> postgres::types::FromSql<'a>,
    {
        if let Some(database) = &self.postgres {
            let row = database.client().query_opt(sql, &[]).ok()??;
            return row.try_get(0).ok();
        }
        if !self.db().exists() {
            return None;
        }
        self.conn().query_row(sql, [], |r| r.get(0)).ok()
    }

    /// Every row of a query, each column as JSON (integers, text, null; blobs as arrays of
    /// bytes), whichever database the log is.
    pub fn rows(&self, sql: &str) -> Vec<Vec<serde_json::Value>> {
        use serde_json::Value;
        if let Some(database) = &self.postgres {
            use postgres::types::Type;
            return database
                .client()
                .query(sql, &[])
                .unwrap()
                .iter()
                .map(|row| {
                    (0..row.len())
                        .map(|i| match *row.columns()[i].type_() {
                            Type::INT8 => row.get::<_, Option<i64>>(i).into(),
                            Type::INT4 => row.get::<_, Option<i32>>(i).into(),
                            Type::BOOL => row.get::<_, Option<bool>>(i).into(),
                            Type::BYTEA => row.get::<_, Option<Vec<u8>>>(i).into(),
                            _ => row.get::<_, Option<String>>(i).into(),
                        })
                        .collect()
                })
                .collect();
        }
        let conn = self.conn();
        let mut stmt = conn.prepare(sql).unwrap();
        let columns = stmt.column_count();
        stmt.query_map([], |r| {
            Ok((0..columns)
                .map(|i| match r.get_ref(i).unwrap() {
                    rusqlite::types::ValueRef::Null => Value::Null,
                    rusqlite::types::ValueRef::Integer(n) => n.into(),
                    rusqlite::types::ValueRef::Real(x) => x.into(),
                    rusqlite::types::ValueRef::Text(t) => {
                        String::from_utf8_lossy(t).into_owned().into()
                    }
                    rusqlite::types::ValueRef::Blob(b) => b.to_vec().into(),
                })
                .collect())
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
    }

    /// The first column of every row of a query, as text.
    pub fn texts(&self, sql: &str) -> Vec<String> {
        self.rows(sql)
            .into_iter()
            .map(|row| match &row[0] {
                serde_json::Value::String(text) => text.clone(),
                other => other.to_string(),
            })
            .collect()
    }

    /// Everything a PostgreSQL log holds, as text (payloads aside: compressed rows); empty for
    /// a SQLite log, whose files the tests read themselves.
    pub fn postgres_text(&self) -> String {
        let Some(database) = &self.postgres else {
            return String::new();
        };
        let mut client = database.client();
        let mut text = String::new();
        for table in [
            "runs",
            "events",
            "batches",
            "attempts",
            "secrets",
            "sync_state",
            "sync_pending",
        ] {
            for row in client
                .query(&format!("SELECT t::text FROM {table} t"), &[])
                .unwrap()
            {
                text.push_str(row.get::<_, &str>(0));
                text.push('\n');
            }
        }
        text
    }

    /// Batches the log has marked delivered.
    pub fn delivered_count(&self) -> i64 {
        self.query("SELECT count(*) FROM batches WHERE status = 'delivered'")
            .unwrap_or(0)
    }

    /// Checks that no batch is marked delivered without an attempt that got a 2xx.
    pub fn assert_every_delivered_batch_has_its_2xx(&self) {
        let unmatched: i64 = self
            .query(
                "SELECT count(*) FROM batches b WHERE status = 'delivered' AND NOT EXISTS
                 (SELECT 1 FROM attempts a WHERE a.batch_id = b.id
                  AND a.http_status BETWEEN 200 AND 299)",
            )
            .unwrap();
        assert_eq!(unmatched, 0, "no batch is delivered without a 2xx");
    }

    /// Turns the only run back into what SIGKILL while staging leaves: status `staging`, no
    /// input hash, only its first batch.
    pub fn as_if_killed_while_staging(&self) {
        self.execute(
            "DELETE FROM batches WHERE idx > 1;
             UPDATE events SET total_rows = 0, batch_count = 0;
             UPDATE runs SET status = 'staging', source_hash = NULL, finished_at = NULL;",
        );
    }

    /// Runs a statement on the log, whichever database it is (a test's own tampering).
    pub fn execute(&self, sql: &str) {
        match &self.postgres {
            Some(database) => {
                database.client().batch_execute(sql).unwrap();
            }
            None => self.conn().execute_batch(sql).unwrap(),
        }
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

/// Runs pulse to completion; returns its exit code and peak resident memory in KiB: the
/// process's own high-water mark (`VmHWM`), read while it runs. Not `wait4`'s `ru_maxrss`: a
/// child spawned with vfork counts the parent's peak (this test process, with every other test
/// running in it) as its own.
pub fn peak_rss_kib(sandbox: &Sandbox, args: &[&str]) -> (i32, i64) {
    let mut child = sandbox.spawn(args);
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    let status = loop {
        if let Some(kib) = std::fs::read_to_string(&status_file).ok().and_then(|text| {
            let line = text.lines().find(|l| l.starts_with("VmHWM:"))?;
            line.split_whitespace().nth(1)?.parse::<i64>().ok()
        }) {
            peak = peak.max(kib);
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    };
    (status.code().unwrap_or(-1), peak)
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

/// Asserts an inferred schema's fields (`pulse schema infer`'s JSON): their names and types.
pub fn assert_field_types(schema: &str, expected: &[(&str, &str)]) {
    let schema: serde_json::Value = serde_json::from_str(schema).unwrap();
    let types: Vec<(&str, &str)> = schema["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["name"].as_str().unwrap(), f["type"].as_str().unwrap()))
        .collect();
    assert_eq!(types, expected);
}

/// Rows without pulse's bookkeeping fields (`__index`, `__row`, `__valid`, ...), `__op` kept.
pub fn without_bookkeeping(rows: &[serde_json::Value]) -> Vec<serde_json::Value> {
    rows.iter()
        .map(|row| {
            let mut row = row.clone();
            if let Some(fields) = row.as_object_mut() {
                fields.retain(|key, _| !key.starts_with("__") || key == "__op");
            }
            row
        })
        .collect()
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
