//! One process per run: a run is locked by the process staging, delivering or resending it, so
//! that `resume` never sends a run that another live pulse process is sending, on this machine
//! or, with a PostgreSQL log, any other. The lock goes with its holder, even on SIGKILL.
//!
//! With a SQLite log it is an advisory lock file per run beside the log, which the kernel drops
//! when its holder dies. With a PostgreSQL log it is a session advisory lock on the store's
//! connection, which the server drops when the connection goes; a connection made again after
//! a loss takes its locks back, or stops (see `store::db::postgres`).

use std::ffi::OsString;
use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::store::{PgConn, Store};

/// A held run lock; released when dropped.
pub struct RunLock {
    _held: Held,
}

enum Held {
    /// Held, never read: the lock lasts as long as the open file.
    #[allow(dead_code)]
    File(File),
    Postgres(PgConn, i64),
    /// An in-memory log (tests, scratch logs) no other process can see.
    Nothing,
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Held::Postgres(conn, key) = self {
            conn.unlock(*key);
        }
    }
}

/// `pulse.db` -> `pulse.db.locks/`.
fn lock_dir(db: &Path) -> PathBuf {
    let mut name = OsString::from(db.as_os_str());
    name.push(".locks");
    PathBuf::from(name)
}

fn lock_path(db: &Path, run_id: &str) -> PathBuf {
    // Ids come from the log (run_ + ULID), never from a path a user typed.
    lock_dir(db).join(format!("{run_id}.lock"))
}

/// The advisory lock key of a run: a hash of its id, tagged so that it cannot be mistaken for
/// another application's locks by name.
fn advisory_key(run_id: &str) -> i64 {
    xxhash_rust::xxh3::xxh3_64(format!("pulse-run:{run_id}").as_bytes()) as i64
}

impl RunLock {
    /// Takes the run's lock, or None when another process holds it.
    pub fn try_acquire(store: &Store, run_id: &str) -> Result<Option<RunLock>> {
        if let Some(conn) = store.postgres() {
            let key = advisory_key(run_id);
            let taken = conn
                .try_lock(key)
                .with_context(|| format!("cannot lock {run_id}"))?;
            return Ok(taken.then(|| RunLock {
                _held: Held::Postgres(conn.clone(), key),
            }));
        }
        let Some(db) = store.path() else {
            return Ok(Some(RunLock {
                _held: Held::Nothing,
            }));
        };
        crate::store::create_private_dir(&lock_dir(db))?;
        let path = lock_path(db, run_id);
        // Lock files are never removed while their run exists: removing one that another
        // process has just opened would let two processes lock two different files.
        let mut options = OpenOptions::new();
        options.create(true).truncate(false).write(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options
            .open(&path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => Ok(Some(RunLock {
                _held: Held::File(file),
            })),
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(e)) => {
                Err(e).with_context(|| format!("cannot lock {}", path.display()))
            }
        }
    }

    /// Takes the run's lock or fails with a one-line error naming the run.
    pub fn acquire(store: &Store, run_id: &str) -> Result<RunLock> {
        RunLock::try_acquire(store, run_id)?.ok_or_else(|| {
            anyhow::anyhow!("{run_id} is being sent by another pulse process right now")
        })
    }

    /// Whether a live process holds the run's lock (without creating anything).
    pub fn is_held(store: &Store, run_id: &str) -> bool {
        if let Some(conn) = store.postgres() {
            return conn
                .is_locked_elsewhere(advisory_key(run_id))
                .unwrap_or(false);
        }
        let Some(db) = store.path() else {
            return false;
        };
        let Ok(file) = OpenOptions::new().write(true).open(lock_path(db, run_id)) else {
            return false;
        };
        matches!(file.try_lock_shared(), Err(TryLockError::WouldBlock))
    }

    /// Removes the lock file of a run that no longer exists (prune).
    pub fn remove(store: &Store, run_id: &str) {
        if let Some(db) = store.path() {
            let _ = std::fs::remove_file(lock_path(db, run_id));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_is_locked_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_file(&dir.path().join("pulse.db")).unwrap();
        assert!(!RunLock::is_held(&store, "run_1"));
        let held = RunLock::acquire(&store, "run_1").unwrap();
        assert!(RunLock::is_held(&store, "run_1"));
        assert!(RunLock::try_acquire(&store, "run_1").unwrap().is_none());
        assert!(RunLock::try_acquire(&store, "run_2").unwrap().is_some());
        drop(held);
        assert!(!RunLock::is_held(&store, "run_1"));
        assert!(RunLock::try_acquire(&store, "run_1").unwrap().is_some());
    }
}
