//! Which log the tests run against. The `it` binary uses a SQLite file per test; the
//! `it_postgres` binary (the same sources, see Cargo.toml) a fresh PostgreSQL database per test
//! on the server `PULSE_TEST_POSTGRES` names (an admin URL; `.ci/run` starts a throwaway one),
//! or on a throwaway cluster of its own when that is unset and PostgreSQL is installed.

use std::sync::OnceLock;

/// Whether this test binary runs the log on PostgreSQL.
pub fn on_postgres() -> bool {
    env!("CARGO_CRATE_NAME") == "it_postgres" && server().is_some()
}

/// The admin URL of the PostgreSQL server, if this binary has one.
pub fn server() -> Option<&'static str> {
    static SERVER: OnceLock<Option<String>> = OnceLock::new();
    SERVER
        .get_or_init(|| {
            if env!("CARGO_CRATE_NAME") != "it_postgres" {
                return None;
            }
            if let Ok(url) = std::env::var("PULSE_TEST_POSTGRES") {
                return Some(url);
            }
            match start_own_cluster() {
                Some(url) => Some(url),
                None if std::env::var_os("PULSE_REQUIRE_POSTGRES").is_some() => {
                    panic!(
                        "PULSE_REQUIRE_POSTGRES is set, but no PostgreSQL server could be started"
                    )
                }
                None => {
                    eprintln!(
                        "it_postgres: no PostgreSQL (set PULSE_TEST_POSTGRES, or install it): \
                         these tests run on SQLite"
                    );
                    None
                }
            }
        })
        .as_deref()
}

/// Starts `tests/postgres/cluster.sh` (without installing anything) and stops it when the
/// test process exits.
fn start_own_cluster() -> Option<String> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/postgres/cluster.sh");
    let out = std::process::Command::new("bash")
        .args([script, "start"])
        .env("PULSE_PG_NO_INSTALL", "1")
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    let value = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(&format!("export {name}='")))
            .map(|v| v.trim_end_matches('\'').to_string())
    };
    let dir = value("PULSE_TEST_PG_DIR")?;
    CLUSTER_DIR.set(dir).ok()?;
    extern "C" fn stop_cluster() {
        if let Some(dir) = CLUSTER_DIR.get() {
            let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/postgres/cluster.sh");
            let _ = std::process::Command::new("bash")
                .args([script, "stop", dir])
                .status();
        }
    }
    // SAFETY: registers a plain function to run at process exit.
    unsafe { libc::atexit(stop_cluster) };
    value("PULSE_TEST_POSTGRES")
}

static CLUSTER_DIR: OnceLock<String> = OnceLock::new();

/// A database of its own for one test, dropped with it.
pub struct TestDatabase {
    pub url: String,
    name: String,
}

impl TestDatabase {
    pub fn create(server: &str) -> TestDatabase {
        let name = format!(
            "pulse_test_{}",
            ulid::Ulid::new().to_string().to_lowercase()
        );
        let mut admin = postgres::Client::connect(server, postgres::NoTls)
            .unwrap_or_else(|err| panic!("cannot connect to PULSE_TEST_POSTGRES: {err}"));
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        let base = server
            .rsplit_once('/')
            .map(|(base, _)| base)
            .expect("an admin URL ending in /DATABASE");
        TestDatabase {
            url: format!("{base}/{name}"),
            name,
        }
    }

    pub fn client(&self) -> postgres::Client {
        postgres::Client::connect(&self.url, postgres::NoTls).unwrap()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some(server) = server()
            && let Ok(mut admin) = postgres::Client::connect(server, postgres::NoTls)
        {
            let _ = admin.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}
