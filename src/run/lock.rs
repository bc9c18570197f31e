//! One process per run: an advisory lock file per run beside the log, held while a process stages,
//! delivers or resends the run, so that `resume` never sends a run that another live pulse process
//! is sending. The kernel drops the lock when its holder dies, even by SIGKILL.

use std::ffi::OsString;
use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// A held run lock; released when dropped.
pub struct RunLock {
    _file: File,
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

impl RunLock {
    /// Takes the run's lock, or None when another process holds it.
    pub fn try_acquire(db: &Path, run_id: &str) -> Result<Option<RunLock>> {
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
            Ok(()) => Ok(Some(RunLock { _file: file })),
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(e)) => {
                Err(e).with_context(|| format!("cannot lock {}", path.display()))
            }
        }
    }

    /// Takes the run's lock or fails with a one-line error naming the run.
    pub fn acquire(db: &Path, run_id: &str) -> Result<RunLock> {
        RunLock::try_acquire(db, run_id)?.ok_or_else(|| {
            anyhow::anyhow!("{run_id} is being sent by another pulse process right now")
        })
    }

    /// Whether a live process holds the run's lock (without creating anything).
    pub fn is_held(db: &Path, run_id: &str) -> bool {
        let Ok(file) = OpenOptions::new().write(true).open(lock_path(db, run_id)) else {
            return false;
        };
        matches!(file.try_lock_shared(), Err(TryLockError::WouldBlock))
    }

    /// Removes the lock file of a run that no longer exists (prune).
    pub fn remove(db: &Path, run_id: &str) {
        let _ = std::fs::remove_file(lock_path(db, run_id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_is_locked_once() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("pulse.db");
        assert!(!RunLock::is_held(&db, "run_1"));
        let held = RunLock::acquire(&db, "run_1").unwrap();
        assert!(RunLock::is_held(&db, "run_1"));
        assert!(RunLock::try_acquire(&db, "run_1").unwrap().is_none());
        assert!(RunLock::try_acquire(&db, "run_2").unwrap().is_some());
        drop(held);
        assert!(!RunLock::is_held(&db, "run_1"));
        assert!(RunLock::try_acquire(&db, "run_1").unwrap().is_some());
    }
}
