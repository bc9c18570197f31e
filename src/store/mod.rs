//! The SQLite delivery log: opening it safely, and the queries grouped by what they own.

mod batches;
mod history;
mod migrations;
mod runs;
mod secrets;
mod sync;
mod upkeep;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use rusqlite::Connection;

pub use batches::{AttemptRecord, BatchRef, Stager, RESPONSE_SNIPPET_BYTES};
pub use history::{AttemptRow, BatchRow, IdRef, RunRow, UndeliveredBatch};
pub use runs::{EventRecord, NewRun, RowCounts, RunStatus};
pub use sync::PendingKey;

/// How long a writer waits for another pulse process holding the database lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// An open log database.
pub struct Store {
    conn: Connection,
    /// The database file; None for an in-memory log.
    path: Option<PathBuf>,
}

impl Store {
    /// Opens (creating with mode 0600 and its parent directory if needed) and migrates the log.
    pub fn open(path: &Path) -> Result<Store> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        create_private(path)?;
        let conn = Connection::open(path)
            .with_context(|| format!("cannot open the log database {}", path.display()))?;
        let mut store =
            Store::configure(conn).with_context(|| format!("log database {}", path.display()))?;
        store.path = Some(path.to_path_buf());
        Ok(store)
    }

    /// The database file, so that another thread can open its own connection to it.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// A throwaway in-memory log, for unit tests.
    pub fn open_in_memory() -> Result<Store> {
        Store::configure(Connection::open_in_memory()?)
    }

    fn configure(conn: Connection) -> Result<Store> {
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // Large pages keep multi-megabyte payload blobs in few overflow pages; only effective on
        // a new file, before the first table exists.
        conn.pragma_update(None, "page_size", 65536)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // WAL + NORMAL is durable across process crashes (SIGKILL); only an OS crash may lose the
        // last commits, never corrupt the file.
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", true)?;
        let mut store = Store { conn, path: None };
        migrations::migrate(&mut store.conn)?;
        Ok(store)
    }
}

/// Creates the database file readable by its owner only, before SQLite opens it.
fn create_private(path: &Path) -> Result<()> {
    if path.exists() {
        return Ok(());
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        // Another pulse process created it first: fine.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot create {}", path.display())),
    }
}

/// Milliseconds since the Unix epoch, the time unit of every column in the log.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_is_private_and_in_wal_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/dir/pulse.db");
        let store = Store::open(&path).unwrap();
        let mode: String = store
            .conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let perms = std::fs::metadata(&path).unwrap().permissions();
            assert_eq!(perms.mode() & 0o777, 0o600);
        }
    }
}
