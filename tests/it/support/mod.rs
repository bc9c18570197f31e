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

    /// `pulse` with a pinned environment: temp HOME and database, no inherited secrets.
    pub fn pulse(&self) -> Command {
        let mut cmd = Command::cargo_bin("pulse").unwrap();
        cmd.env_clear()
            .env("HOME", self.dir.path())
            .env("PULSE_DB", self.db())
            .env("PULSE_TEST_MODE", "1")
            .env("PATH", std::env::var_os("PATH").unwrap_or_default());
        cmd
    }
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
