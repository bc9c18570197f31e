//! One process per run: a run is locked by the process staging, delivering or resending it, so
//! that `resume` never sends a run that another live pulse process is sending, on this machine
//! or, with a PostgreSQL log, any other. The lock goes with its holder, even on SIGKILL.
//!
//! With a SQLite log it is an advisory lock file per run beside the log, which the kernel drops
//! when its holder dies. With a PostgreSQL log it is a session advisory lock on the store's
//! connection, which the server drops when the connection goes; a connection made again after
//! a loss takes its locks back, or stops (see `store::db::postgres`).

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::store::{lock_dir, PgConn, Store};

/// A held run lock; released when dropped.
pub struct RunLock {
    _held: Held,
}

enum Held {
    /// The lock lasts as long as the open file, removed when it is released.
    File {
        _file: File,
        path: PathBuf,
    },
    Postgres(PgConn, i64),
    /// An in-memory log (tests, scratch logs) no other process can see.
    Nothing,
}

impl Drop for Held {
    fn drop(&mut self) {
        match self {
            Held::Postgres(conn, key) => conn.unlock(*key),
            // Removed while still locked: a process that opened it meanwhile finds, once it
            // has the lock, that the path is no longer its file, and opens the path again.
            // (Where that cannot be told, the file stays.)
            Held::File { path, .. } => {
                if cfg!(unix) {
                    let _ = std::fs::remove_file(path);
                }
            }
            Held::Nothing => {}
        }
    }
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
        // A lock file lasts as long as its lock: its holder removes it when it lets go. So a
        // lock taken on a file the path no longer names (removed meanwhile) is let go, and the
        // path opened again.
        loop {
            let file = open_lock_file(&path)?;
            match file.try_lock() {
                Ok(()) if still_named_by(&file, &path) => {
                    return Ok(Some(RunLock {
                        _held: Held::File { _file: file, path },
                    }))
                }
                Ok(()) => continue,
                Err(TryLockError::WouldBlock) => return Ok(None),
                Err(TryLockError::Error(e)) => {
                    return Err(e).with_context(|| format!("cannot lock {}", path.display()))
                }
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
}

/// Opens (creating it, private) the lock file at `path`.
fn open_lock_file(path: &Path) -> Result<File> {
    let mut options = OpenOptions::new();
    options.create(true).truncate(false).write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
        .open(path)
        .with_context(|| format!("cannot open {}", path.display()))
}

/// Whether `path` still names the open `file` (it was not removed and made again meanwhile).
fn still_named_by(file: &File, path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (file.metadata(), std::fs::metadata(path)) {
            (Ok(open), Ok(named)) => open.dev() == named.dev() && open.ino() == named.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (file, path);
        true
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
        assert!(
            !lock_path(store.path().unwrap(), "run_1").exists(),
            "a lock file goes with its lock"
        );
        assert!(RunLock::try_acquire(&store, "run_1").unwrap().is_some());
    }

    #[test]
    fn a_lock_taken_on_a_removed_file_is_taken_again_on_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_file(&dir.path().join("pulse.db")).unwrap();
        let path = lock_path(store.path().unwrap(), "run_1");
        crate::store::create_private_dir(path.parent().unwrap()).unwrap();
        // Another process opened the file just before its holder removed it.
        let stale = open_lock_file(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert!(!still_named_by(&stale, &path));
        let held = RunLock::acquire(&store, "run_1").unwrap();
        assert!(RunLock::is_held(&store, "run_1"));
        drop((held, stale));
    }
}
