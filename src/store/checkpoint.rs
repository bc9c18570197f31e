//! Checkpoints of the log's WAL on a thread of their own, for connections that write a lot:
//! staging's outbox writer and delivery's sender.

use std::path::Path;
use std::sync::mpsc::{sync_channel, SyncSender};
use std::thread::JoinHandle;

use anyhow::{Context, Result};

use super::Store;

/// Copies the WAL into the database on a thread and connection of its own while another
/// connection writes. A checkpoint made by the writer's own commit (SQLite's default, past 1,000
/// WAL pages) holds the writer through two fsyncs, ~40 ms here: staging's parsing stops too once
/// the outbox queue is full, and delivery's next request waits.
pub struct Checkpointer {
    /// None for an in-memory log, which has no WAL: nudges then do nothing.
    nudges: Option<SyncSender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    fn none() -> Checkpointer {
        Checkpointer {
            nudges: None,
            thread: None,
        }
    }

    fn start(path: &Path) -> Result<Checkpointer> {
        let store = Store::open(path)?;
        // RESTART waits for readers of older snapshots while it keeps writers out: another
        // process's long read would hold our writer for the whole busy timeout. Give up soon
        // instead; the WAL then starts over at a later checkpoint.
        store.conn.busy_timeout(RESTART_PATIENCE)?;
        let (nudges, nudged) = sync_channel::<()>(1);
        let thread = std::thread::Builder::new()
            .name("pulse-checkpoint".into())
            .spawn(move || {
                for () in nudged {
                    // PASSIVE copies the bulk without holding anyone up. It never catches up
                    // with a writer that commits every few milliseconds, though, and the WAL
                    // only starts over once all of it is copied: RESTART then copies the few
                    // frames written meanwhile, holding the writer for that much only. A
                    // failure only leaves the WAL longer until the next checkpoint.
                    for mode in ["PASSIVE", "RESTART"] {
                        let _ = store.conn.query_row(
                            &format!("PRAGMA wal_checkpoint({mode})"),
                            [],
                            |_| Ok(()),
                        );
                    }
                }
            })
            .context("cannot start the log checkpointer")?;
        Ok(Checkpointer {
            nudges: Some(nudges),
            thread: Some(thread),
        })
    }

    /// Asks for a checkpoint, unless one is already asked for.
    pub fn nudge(&self) {
        if let Some(nudges) = &self.nudges {
            let _ = nudges.try_send(());
        }
    }
}

impl Drop for Checkpointer {
    /// Waits for the checkpoint under way, if any.
    fn drop(&mut self) {
        self.nudges.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Store {
    /// Runs `write` with this connection's checkpoints made by a `Checkpointer` instead of after
    /// its own commits; `write` nudges it as the WAL grows. SQLite's own checkpoints come back
    /// afterwards, whatever `write` returned.
    pub fn with_checkpointer<T>(
        &mut self,
        write: impl FnOnce(&mut Store, &Checkpointer) -> Result<T>,
    ) -> Result<T> {
        let Some(path) = self.path().map(Path::to_path_buf) else {
            return write(self, &Checkpointer::none());
        };
        let checkpointer = Checkpointer::start(&path)?;
        self.conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        let written = write(self, &checkpointer);
        let restored = self
            .conn
            .pragma_update(None, "wal_autocheckpoint", SQLITE_AUTOCHECKPOINT);
        drop(checkpointer);
        let value = written?;
        restored?;
        Ok(value)
    }
}

/// How long a RESTART checkpoint waits for other connections.
const RESTART_PATIENCE: std::time::Duration = std::time::Duration::from_millis(100);

/// SQLite's default auto-checkpoint threshold, in WAL pages.
const SQLITE_AUTOCHECKPOINT: i64 = 1000;

#[cfg(test)]
mod tests {
    use super::*;

    /// A file log with a table to fill, and its path (valid while the directory lives).
    fn log_to_fill() -> (tempfile::TempDir, std::path::PathBuf, Store) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.db");
        let store = Store::open(&path).unwrap();
        store
            .conn
            .execute_batch("CREATE TABLE filler (data BLOB); INSERT INTO filler VALUES (x'00')")
            .unwrap();
        (dir, path, store)
    }

    #[test]
    fn the_checkpointer_copies_the_wal_into_the_database() {
        let (_dir, path, store) = log_to_fill();
        store
            .conn
            .pragma_update(None, "wal_autocheckpoint", 0)
            .unwrap();
        store
            .conn
            .execute("INSERT INTO filler VALUES (zeroblob(2000000))", [])
            .unwrap();
        let in_database = || std::fs::metadata(&path).unwrap().len();
        let before = in_database();
        let checkpointer = Checkpointer::start(&path).unwrap();
        checkpointer.nudge();
        drop(checkpointer);
        assert!(
            in_database() >= before + 2_000_000,
            "{before} -> {} bytes",
            in_database()
        );
        // And the WAL starts over: the next commit is one of its first frames, not appended
        // after the 2 MB already copied.
        store
            .conn
            .execute("INSERT INTO filler VALUES (x'00')", [])
            .unwrap();
        let frames: i64 = store
            .conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get(1))
            .unwrap();
        assert!(frames <= 4, "{frames} frames in the WAL");
    }

    #[test]
    fn a_reader_in_another_process_does_not_hold_up_the_writer() {
        let (_dir, path, mut store) = log_to_fill();
        // Another reader (a `sqlite3` shell, say) keeps a snapshot open.
        let reader = rusqlite::Connection::open(&path).unwrap();
        reader
            .execute_batch("BEGIN; SELECT count(*) FROM filler;")
            .unwrap();
        let started = std::time::Instant::now();
        store
            .with_checkpointer(|store, checkpointer| {
                store
                    .conn
                    .execute("INSERT INTO filler VALUES (zeroblob(100000))", [])?;
                checkpointer.nudge();
                // The writer goes on while the checkpoint waits for the reader.
                store
                    .conn
                    .execute("INSERT INTO filler VALUES (zeroblob(100000))", [])?;
                Ok(())
            })
            .unwrap();
        // Far below the 30 s busy timeout a RESTART would otherwise wait for the reader.
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
        drop(reader);
    }

    #[test]
    fn sqlite_checkpoints_again_after_the_writer_even_when_it_failed() {
        let (_dir, _path, mut store) = log_to_fill();
        let autocheckpoint = |store: &Store| -> i64 {
            store
                .conn
                .pragma_query_value(None, "wal_autocheckpoint", |r| r.get(0))
                .unwrap()
        };
        let failed = store.with_checkpointer(|store, _| -> Result<()> {
            assert_eq!(autocheckpoint(store), 0);
            anyhow::bail!("the writer failed")
        });
        assert!(failed.is_err());
        assert_eq!(autocheckpoint(&store), SQLITE_AUTOCHECKPOINT);
    }
}
