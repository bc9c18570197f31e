//! Checkpoints of the log's WAL on a thread of their own, for connections that write a lot:
//! staging's outbox writer and delivery's sender.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::store::Store;

/// Copies the WAL into the database on a thread and connection of its own while another
/// connection writes. A checkpoint made by the writer's own commit (SQLite's default, past 1,000
/// WAL pages) holds the writer through two fsyncs: staging's parsing stops too once the outbox
/// queue is full, and delivery's next request waits.
pub struct Checkpointer {
    /// None for an in-memory log, which has no WAL: nudges then do nothing.
    nudges: Option<SyncSender<()>>,
    thread: Option<JoinHandle<()>>,
    /// With `WalRestart::ByWriter`: set once the checkpointer has copied the bulk.
    bulk_copied: Option<Arc<AtomicBool>>,
}

/// Who copies the frames written during a checkpoint, so that the WAL can start over.
///
/// The WAL starts over from its beginning only once every frame in it is copied; until then it
/// grows. Starting over keeps it small, so its pages are rewritten while they are still in the
/// CPU's caches and the page cache, rather than fresh pages taken for every frame (and the
/// whole file freed when the log is closed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WalRestart {
    /// The checkpointer, with a RESTART checkpoint after the bulk: it holds the writer only for
    /// the frames written meanwhile, and waits (briefly) for readers. For delivery's sender,
    /// which writes a few pages per request while the body loaders read.
    ByCheckpointer,
    /// The writer itself, between two of its transactions (`Checkpointer::catch_up`), once the
    /// checkpointer has copied the bulk. For staging's outbox writer, whose transactions follow
    /// each other so closely that a RESTART from another connection rarely got in, and the WAL
    /// grew with the input (bench/README.md).
    ByWriter,
}

impl Checkpointer {
    fn none() -> Checkpointer {
        Checkpointer {
            nudges: None,
            thread: None,
            bulk_copied: None,
        }
    }

    fn start(path: &Path, restart: WalRestart) -> Result<Checkpointer> {
        let store = Store::open_file(path)?;
        // RESTART waits for readers of older snapshots while it keeps writers out: briefly.
        super::lock_wait::wait_briefly_for_locks(store.sqlite()?)?;
        let (nudges, nudged) = sync_channel::<()>(1);
        let bulk_copied = (restart == WalRestart::ByWriter).then(Arc::<AtomicBool>::default);
        let copied = bulk_copied.clone();
        let thread = std::thread::Builder::new()
            .name("pulse-checkpoint".into())
            .spawn(move || {
                for () in nudged {
                    // PASSIVE copies the bulk without holding anyone up. It never catches up
                    // with a writer that commits every few milliseconds, though: the frames
                    // written meanwhile are copied by RESTART, holding the writer for that much
                    // only, or by the writer itself. A failure only leaves the WAL longer until
                    // the next checkpoint.
                    store.copy_bulk();
                    match &copied {
                        Some(copied) => copied.store(true, Ordering::Release),
                        None => {
                            let _ = store.checkpoint("RESTART");
                        }
                    }
                }
            })
            .context("cannot start the log checkpointer")?;
        Ok(Checkpointer {
            nudges: Some(nudges),
            thread: Some(thread),
            bulk_copied,
        })
    }

    /// Asks for a checkpoint, unless one is already asked for.
    pub fn nudge(&self) {
        if let Some(nudges) = &self.nudges {
            let _ = nudges.try_send(());
        }
    }

    /// With `WalRestart::ByWriter`, to be called by the writer between its transactions, on
    /// its own connection: once the checkpointer has copied the bulk, copies the frames written
    /// since its last pass (a few, see `copy_bulk`; the writer waits for that copy and its two
    /// fsyncs), so that the writer's next transaction starts the WAL over. PASSIVE, so it never waits: a reader in another process that still
    /// needs old frames only leaves the WAL longer. Returns whether it copied.
    pub fn catch_up(&self, writer: &Store) -> bool {
        let due = self
            .bulk_copied
            .as_ref()
            .is_some_and(|copied| copied.swap(false, Ordering::AcqRel));
        if due {
            let _ = writer.checkpoint("PASSIVE");
        }
        due
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
        restart: WalRestart,
        write: impl FnOnce(&mut Store, &Checkpointer) -> Result<T>,
    ) -> Result<T> {
        let Some(path) = self.path().map(Path::to_path_buf) else {
            return write(self, &Checkpointer::none());
        };
        let checkpointer = Checkpointer::start(&path, restart)?;
        self.sqlite()?
            .pragma_update(None, "wal_autocheckpoint", 0)?;
        let written = write(self, &checkpointer);
        let restored =
            self.sqlite()?
                .pragma_update(None, "wal_autocheckpoint", SQLITE_AUTOCHECKPOINT);
        drop(checkpointer);
        let value = written?;
        restored?;
        Ok(value)
    }

    /// Backpressure for a writer whose checkpointer fell behind (a busy machine, where the
    /// checkpointer thread waited for a core while the writer went on): once the WAL file is
    /// past three quarters of its limit, this connection copies it and truncates it itself,
    /// waiting for readers. To be called between the writer's transactions, as often as it
    /// nudges the checkpointer (what it writes in between stays under the last quarter); mostly
    /// a `stat`.
    pub fn rein_in_wal(&self) {
        let Some(path) = self.path() else {
            return;
        };
        let mut wal = path.as_os_str().to_owned();
        wal.push("-wal");
        let size = std::fs::metadata(&wal).map_or(0, |m| m.len());
        if size <= (super::super::WAL_SIZE_LIMIT / 4 * 3) as u64 {
            return;
        }
        // The checkpointer may hold the checkpoint lock, starved of a core mid-copy: then a
        // checkpoint here is refused at once, and the writer waits and tries again. A reader
        // in another process holding old frames for longer only leaves the WAL longer.
        let Some(conn) = self.db.sqlite() else {
            return;
        };
        let give_up = Instant::now() + REIN_IN_WAIT;
        loop {
            let busy: i64 = conn
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))
                .unwrap_or(1);
            if busy == 0 || Instant::now() >= give_up {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// `PRAGMA wal_checkpoint(mode)`; the frames in the WAL.
    fn checkpoint(&self, mode: &str) -> rusqlite::Result<i64> {
        let Some(conn) = self.db.sqlite() else {
            return Ok(0);
        };
        conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| r.get(1))
    }

    /// PASSIVE checkpoints until one finds only a few frames written during the one before:
    /// what is left for whoever finishes (a RESTART, or the writer between two transactions,
    /// which waits for it) is what a short copy let through, not what a long one did.
    fn copy_bulk(&self) {
        let mut copied_to = 0;
        for _ in 0..BULK_PASSES {
            let Ok(frames) = self.checkpoint("PASSIVE") else {
                return;
            };
            let found = frames - copied_to;
            copied_to = frames;
            if found <= SMALL_TAIL_FRAMES {
                return;
            }
        }
    }
}

impl Store {
    /// The SQLite connection of a log whose WAL is looked after.
    fn sqlite(&self) -> Result<&rusqlite::Connection> {
        self.db.sqlite().context("not a SQLite log")
    }
}

/// Longest a writer waits to rein in its WAL (`Store::rein_in_wal`) before it goes on.
const REIN_IN_WAIT: Duration = Duration::from_secs(10);

/// Most PASSIVE passes per checkpoint, and the frames (64 KiB) a pass may find written during
/// the one before for it to be the last.
const BULK_PASSES: usize = 4;
const SMALL_TAIL_FRAMES: i64 = 16;

/// SQLite's default auto-checkpoint threshold, in WAL pages.
const SQLITE_AUTOCHECKPOINT: i64 = 1000;

#[cfg(test)]
mod tests {
    use super::*;

    /// A file log with a table to fill, and its path (valid while the directory lives).
    fn log_to_fill() -> (tempfile::TempDir, std::path::PathBuf, Store) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.db");
        let store = Store::open_file(&path).unwrap();
        store
            .conn()
            .execute_batch("CREATE TABLE filler (data BLOB); INSERT INTO filler VALUES (x'00')")
            .unwrap();
        (dir, path, store)
    }

    #[test]
    fn the_checkpointer_copies_the_wal_into_the_database() {
        let (_dir, path, store) = log_to_fill();
        store
            .conn()
            .pragma_update(None, "wal_autocheckpoint", 0)
            .unwrap();
        store
            .conn()
            .execute("INSERT INTO filler VALUES (zeroblob(2000000))", [])
            .unwrap();
        let in_database = || std::fs::metadata(&path).unwrap().len();
        let before = in_database();
        let checkpointer = Checkpointer::start(&path, WalRestart::ByCheckpointer).unwrap();
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
            .conn()
            .execute("INSERT INTO filler VALUES (x'00')", [])
            .unwrap();
        let frames: i64 = store
            .conn()
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get(1))
            .unwrap();
        assert!(frames <= 4, "{frames} frames in the WAL");
    }

    /// Frames in the WAL after one more small commit: few when the WAL started over.
    fn frames_after_next_commit(store: &Store) -> i64 {
        store
            .conn()
            .execute("INSERT INTO filler VALUES (x'00')", [])
            .unwrap();
        store
            .conn()
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get(1))
            .unwrap()
    }

    /// A log whose writer left 2 MB in the WAL and nudged a `ByWriter` checkpointer.
    fn bulk_in_the_wal() -> (tempfile::TempDir, Store, Checkpointer) {
        let (dir, path, store) = log_to_fill();
        store
            .conn()
            .pragma_update(None, "wal_autocheckpoint", 0)
            .unwrap();
        let checkpointer = Checkpointer::start(&path, WalRestart::ByWriter).unwrap();
        assert!(!checkpointer.catch_up(&store), "nothing copied yet");
        store
            .conn()
            .execute("INSERT INTO filler VALUES (zeroblob(2000000))", [])
            .unwrap();
        checkpointer.nudge();
        (dir, store, checkpointer)
    }

    /// Waits (a minute at most) until a `ByWriter` checkpointer has copied the bulk.
    fn wait_for_the_bulk(checkpointer: &Checkpointer) {
        let copied = checkpointer
            .bulk_copied
            .as_ref()
            .expect("a ByWriter checkpointer");
        let asked = std::time::Instant::now();
        while !copied.load(Ordering::Acquire) {
            assert!(asked.elapsed().as_secs() < 60, "the bulk was never copied");
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }

    #[test]
    fn a_writer_that_catches_up_starts_the_wal_over() {
        let (_dir, store, checkpointer) = bulk_in_the_wal();
        wait_for_the_bulk(&checkpointer);
        // Written after the checkpointer's copy, as a busy writer does: only the writer's own
        // catching up copies these, and without it they stay and the WAL keeps growing.
        store
            .conn()
            .execute("INSERT INTO filler VALUES (zeroblob(1000000))", [])
            .unwrap();
        assert!(checkpointer.catch_up(&store));
        assert!(!checkpointer.catch_up(&store), "once per checkpoint");
        let frames = frames_after_next_commit(&store);
        assert!(frames <= 4, "{frames} frames in the WAL");
    }

    #[test]
    fn without_catching_up_the_frames_written_meanwhile_stay() {
        // The counterpart of the test above: the same writes, no catching up.
        let (_dir, store, checkpointer) = bulk_in_the_wal();
        drop(checkpointer);
        store
            .conn()
            .execute("INSERT INTO filler VALUES (zeroblob(1000000))", [])
            .unwrap();
        let frames = frames_after_next_commit(&store);
        assert!(frames > 4, "{frames} frames in the WAL");
    }

    #[test]
    fn a_reader_in_another_process_does_not_hold_up_the_writer() {
        for restart in [WalRestart::ByCheckpointer, WalRestart::ByWriter] {
            let (_dir, path, mut store) = log_to_fill();
            // Another reader (a `sqlite3` shell, say) keeps a snapshot open.
            let reader = rusqlite::Connection::open(&path).unwrap();
            reader
                .execute_batch("BEGIN; SELECT count(*) FROM filler;")
                .unwrap();
            let started = std::time::Instant::now();
            store
                .with_checkpointer(restart, |store, checkpointer| {
                    store
                        .conn()
                        .execute("INSERT INTO filler VALUES (zeroblob(100000))", [])?;
                    checkpointer.nudge();
                    // The writer goes on while the checkpoint waits for the reader, and its
                    // own catching up gives up on what the reader still needs.
                    store
                        .conn()
                        .execute("INSERT INTO filler VALUES (zeroblob(100000))", [])?;
                    if restart == WalRestart::ByWriter {
                        wait_for_the_bulk(checkpointer);
                        assert!(checkpointer.catch_up(store));
                    }
                    store
                        .conn()
                        .execute("INSERT INTO filler VALUES (zeroblob(100000))", [])?;
                    Ok(())
                })
                .unwrap();
            // Far below the 30 s busy timeout a RESTART would otherwise wait for the reader.
            assert!(
                started.elapsed() < std::time::Duration::from_secs(10),
                "{restart:?}"
            );
            drop(reader);
        }
    }

    #[test]
    fn sqlite_checkpoints_again_after_the_writer_even_when_it_failed() {
        let (_dir, _path, mut store) = log_to_fill();
        let autocheckpoint = |store: &Store| -> i64 {
            store
                .conn()
                .pragma_query_value(None, "wal_autocheckpoint", |r| r.get(0))
                .unwrap()
        };
        let failed = store.with_checkpointer(WalRestart::ByWriter, |store, _| -> Result<()> {
            assert_eq!(autocheckpoint(store), 0);
            anyhow::bail!("the writer failed")
        });
        assert!(failed.is_err());
        assert_eq!(autocheckpoint(&store), SQLITE_AUTOCHECKPOINT);
    }
}
