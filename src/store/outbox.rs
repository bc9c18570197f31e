//! The outbox writer: staged batches compressed and stored, each with its payload in one
//! transaction, on a thread of its own when the log is a file.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::thread::JoinHandle;

use anyhow::{Context, Result};

use super::batches::new_batch_id;
use super::db::{Db, SqlDialect};
use super::{Store, WalRestart};
use crate::payload::Packer;

/// Writes batches into the outbox, each batch and its payload in one transaction. With a file
/// database, compression and writing run on a second thread fed through a short bounded queue,
/// so parsing and compressing overlap on two cores; `finish` waits until every batch is stored.
pub struct OutboxWriter {
    mode: Mode,
    /// Input bytes read so far and their hash, saved with each batch (see `runs.staged_hash`).
    pub source_mark: Option<(u64, String)>,
}

enum Mode {
    Inline(BatchWriter),
    Threaded {
        jobs: Option<SyncSender<Job>>,
        /// Compresses on the sending thread when the writer is behind, so both cores share
        /// the compression work (the most expensive part of staging).
        local: BatchWriter,
        /// Emptied buffers coming back, so batches reuse their allocations.
        recycled: Receiver<Vec<u8>>,
        worker: Option<JoinHandle<Result<()>>>,
    },
}

/// Batches queued for the writer thread. Besides the ones being filled, memory holds at most
/// `QUEUE + 1` batches in flight (queued, being written) and `QUEUE + 1` emptied buffers
/// waiting for reuse. When the queue is full the parsing thread compresses the next batch
/// itself, but it is the busier one: with room for two, the writer's hiccups (a commit, a page
/// fault) no longer push compression onto it, and the writer can store two queued batches in
/// one transaction, for one more batch buffer in memory.
const QUEUE: usize = 2;

/// One batch on its way to the outbox.
struct Job {
    id: String,
    event_id: String,
    idx: u64,
    rows: u64,
    first_row: u64,
    /// The rows, tokenized (see `payload::stored`); empty when `compressed` was already made
    /// by the sender.
    data: Vec<u8>,
    /// Their JSON size.
    raw_len: usize,
    compressed: Option<Vec<u8>>,
    source_mark: Option<(u64, String)>,
}

/// JSON bytes staged between two checkpoints (what is written is its compressed part).
const CHECKPOINT_EVERY: usize = 64 << 20;

/// Transactions between two checkpoints, whatever they stored: each rewrites a few 64 KiB
/// pages besides its payloads, so with small batches the WAL grows far faster than the JSON
/// (`--batch-size 10` wrote a WAL ten times the final log before this bound). 64 of them add
/// at most a few tens of megabytes.
const CHECKPOINT_TRANSACTIONS: usize = 64;

/// Transactions between two looks at the WAL's size (`Store::rein_in_wal`): a `stat` each.
const REIN_IN_TRANSACTIONS: usize = 16;

/// Compresses and inserts batches through one connection.
struct BatchWriter {
    packer: Packer,
    compressed: Vec<u8>,
}

impl BatchWriter {
    fn new(packer: Packer) -> BatchWriter {
        BatchWriter {
            packer,
            compressed: Vec::new(),
        }
    }

    fn compress(&mut self, data: &[u8], json_len: usize) -> Result<()> {
        self.packer.pack(data, json_len, &mut self.compressed)
    }

    /// Stores one batch in a transaction of its own.
    fn write(&mut self, store: &mut Store, job: &Job) -> Result<()> {
        store
            .db
            .transaction("storing a batch in the outbox", |tx| self.insert(tx, job))
    }

    /// Inserts one batch and its payload (compressing it unless the parsing thread already did)
    /// inside the caller's transaction.
    fn insert(&mut self, tx: &Db, job: &Job) -> Result<()> {
        let compressed = match &job.compressed {
            Some(done) => done,
            None => {
                self.compress(&job.data, job.raw_len)?;
                &self.compressed
            }
        };
        insert_batch(tx, job)?;
        tx.execute(
            INSERT_PAYLOAD,
            &[&job.id, &(job.raw_len as i64), &&compressed[..]],
        )?;
        mark_staged(tx, job)
    }

    /// As `insert`, for a large batch whose rows were let go of (`release_large_rows`): its
    /// payload is handed over to SQLite, let go of once SQLite has its own copy, before it makes
    /// the record it stores (another copy). Only where a transaction never runs again (SQLite).
    fn insert_handing_over(&mut self, tx: &Db, job: &mut Job) -> Result<()> {
        let Some(conn) = tx.sqlite() else {
            return self.insert(tx, job);
        };
        let Some(blob) = job.compressed.take() else {
            return self.insert(tx, job);
        };
        insert_batch(tx, job)?;
        let mut statement = conn.prepare_cached(INSERT_PAYLOAD)?;
        statement.raw_bind_parameter(1, &job.id)?;
        statement.raw_bind_parameter(2, job.raw_len as i64)?;
        statement.raw_bind_parameter(3, &blob[..])?;
        drop(blob);
        statement.raw_execute()?;
        drop(statement);
        mark_staged(tx, job)
    }

    /// Compresses a large batch (one huge row, most likely) ahead of its insert and lets go of
    /// its rows, so that they are not held while SQLite copies the payload to store it (twice:
    /// the bound value, then the record). Only where a transaction never runs again (SQLite):
    /// the rows are gone. Whether it did.
    fn release_large_rows(&mut self, job: &mut Job) -> Result<bool> {
        if job.compressed.is_some() || job.data.len() < LARGE_BATCH_BYTES {
            return Ok(false);
        }
        self.compress(&job.data, job.raw_len)?;
        job.compressed = Some(std::mem::take(&mut self.compressed));
        job.data = Vec::new();
        Ok(true)
    }

    /// Stores `first` and the batches queued behind it in one transaction, up to
    /// `GROUP_BYTES` of JSON; returns the JSON bytes stored. Every transaction rewrites the
    /// pages it touches besides the payload (the tables' and indexes' leaves, the run's row,
    /// the header), so grouping cuts what goes through the WAL. It never waits for a batch
    /// while holding the write lock: the parsing thread (or another process) may need the lock
    /// before it can hand over the next one.
    fn write_queued(
        &mut self,
        store: &mut Store,
        first: Job,
        queue: &Receiver<Job>,
        done: &mut impl FnMut(Job),
    ) -> Result<usize> {
        const WHAT: &str = "storing a batch in the outbox";
        if store.db.dialect() == SqlDialect::Sqlite {
            // A SQLite transaction never runs twice: each batch's buffers go back for reuse
            // as soon as it is stored, as the parsing thread is waiting for them.
            let mut first = Some(first);
            return store.db.transaction(WHAT, |tx| {
                let mut stored = 0;
                let mut next = first.take();
                while let Some(mut job) = next {
                    if self.release_large_rows(&mut job)? {
                        self.insert_handing_over(tx, &mut job)?;
                    } else {
                        self.insert(tx, &job)?;
                    }
                    stored += job.raw_len;
                    done(job);
                    if stored >= GROUP_BYTES {
                        break;
                    }
                    next = queue.try_recv().ok();
                }
                Ok(stored)
            });
        }
        // The batches of a PostgreSQL transaction stay here until it commits: one cut off by
        // a lost connection runs again from its first batch.
        let mut group = vec![first];
        store
            .db
            .transaction(WHAT, |tx| {
                let mut stored = 0;
                let mut at = 0;
                loop {
                    if at == group.len() {
                        if stored >= GROUP_BYTES {
                            break;
                        }
                        match queue.try_recv() {
                            Ok(next) => group.push(next),
                            Err(_) => break,
                        }
                    }
                    let job = &group[at];
                    self.insert(tx, job)?;
                    stored += job.raw_len;
                    at += 1;
                }
                Ok(stored)
            })
            .inspect(|_| group.into_iter().for_each(&mut *done))
    }
}

const INSERT_PAYLOAD: &str = "INSERT INTO payloads (batch_id, raw_len, data) VALUES (?1, ?2, ?3)
     ON CONFLICT DO NOTHING";

/// Inserts a batch's row. A PostgreSQL transaction whose commit went through but whose answer
/// was lost runs again on a new connection: its rows are there already, and stay as they are.
fn insert_batch(tx: &Db, job: &Job) -> Result<()> {
    tx.execute(
        "INSERT INTO batches (id, event_id, idx, rows, first_row, status)
         VALUES (?1, ?2, ?3, ?4, ?5, 'pending') ON CONFLICT DO NOTHING",
        &[
            &job.id,
            &job.event_id,
            &(job.idx as i64),
            &(job.rows as i64),
            &(job.first_row as i64),
        ],
    )?;
    Ok(())
}

/// Records how far the input was staged with the batch, if it says.
fn mark_staged(tx: &Db, job: &Job) -> Result<()> {
    if let Some((bytes, hash)) = &job.source_mark {
        tx.execute(
            "UPDATE runs SET staged_bytes = ?2, staged_hash = ?3
             WHERE id = (SELECT run_id FROM events WHERE id = ?1)",
            &[&job.event_id, &(*bytes as i64), hash],
        )?;
    }
    Ok(())
}

/// A batch's rows from which they are let go of before their payload is stored, rather than
/// recycled for the next batch (`BatchWriter::release_large_rows`): far above the benchmark's
/// batches of under a megabyte; above it, a fresh buffer for the next batch costs little beside
/// compressing and storing this one.
const LARGE_BATCH_BYTES: usize = 16 << 20;

/// Most JSON bytes staged in one outbox transaction (about five default batches of the
/// benchmark's rows): another pulse process waiting to write waits for at most that much.
const GROUP_BYTES: usize = 8 << 20;

impl OutboxWriter {
    /// An outbox writer working through `store` itself, on the calling thread, packing with
    /// `packer`.
    pub fn new(packer: Packer) -> Result<OutboxWriter> {
        Ok(OutboxWriter {
            mode: Mode::Inline(BatchWriter::new(packer)),
            source_mark: None,
        })
    }

    /// An outbox writer for `store`: threaded when another connection can open the log (a file,
    /// or PostgreSQL).
    pub fn for_store(store: &Store, packer: Packer) -> Result<OutboxWriter> {
        let Some(location) = store.location().cloned() else {
            return OutboxWriter::new(packer);
        };
        let local = BatchWriter::new(packer.clone());
        let (jobs, queue) = sync_channel::<Job>(QUEUE);
        let (give_back, recycled) = sync_channel::<Vec<u8>>(QUEUE + 1);
        let worker = std::thread::Builder::new()
            .name("pulse-outbox".into())
            .spawn(move || -> Result<()> {
                let mut store = Store::open(&location)?;
                store.with_checkpointer(WalRestart::ByWriter, |store, checkpointer| {
                    let mut writer = BatchWriter::new(packer);
                    let (mut since_checkpoint, mut transactions, mut written) = (0, 0, 0);
                    let mut recycle = |mut job: Job| {
                        job.data.clear();
                        let _ = give_back.try_send(job.data);
                    };
                    while let Ok(first) = queue.recv() {
                        since_checkpoint +=
                            writer.write_queued(store, first, &queue, &mut recycle)?;
                        transactions += 1;
                        written += 1;
                        checkpointer.catch_up(store);
                        if written % REIN_IN_TRANSACTIONS == 0 {
                            store.rein_in_wal();
                        }
                        if since_checkpoint >= CHECKPOINT_EVERY
                            || transactions >= CHECKPOINT_TRANSACTIONS
                        {
                            checkpointer.nudge();
                            (since_checkpoint, transactions) = (0, 0);
                        }
                    }
                    Ok(())
                })
            })
            .context("cannot start the outbox writer")?;
        Ok(OutboxWriter {
            mode: Mode::Threaded {
                jobs: Some(jobs),
                local,
                recycled,
                worker: Some(worker),
            },
            source_mark: None,
        })
    }

    /// Stores one batch of an event and returns its id; `data` holds the JSON array of its rows
    /// with keys as tokens, `json_len` bytes once expanded, and is left empty (possibly a
    /// different, recycled buffer) for the next batch.
    #[allow(clippy::too_many_arguments)]
    pub fn write_batch(
        &mut self,
        store: &mut Store,
        event_id: &str,
        idx: u64,
        rows: u64,
        first_row: u64,
        data: &mut Vec<u8>,
        json_len: usize,
    ) -> Result<String> {
        let id = new_batch_id();
        let next = match &mut self.mode {
            Mode::Threaded { recycled, .. } => recycled.try_recv().unwrap_or_default(),
            Mode::Inline(_) => Vec::new(),
        };
        let job = Job {
            id: id.clone(),
            event_id: event_id.to_string(),
            idx,
            rows,
            first_row,
            raw_len: json_len,
            data: std::mem::replace(data, next),
            compressed: None,
            source_mark: self.source_mark.clone(),
        };
        match &mut self.mode {
            Mode::Inline(writer) => {
                writer.write(store, &job)?;
                *data = job.data;
                data.clear();
                Ok(id)
            }
            Mode::Threaded { jobs, local, .. } => {
                let Some(queue) = jobs.as_ref() else {
                    return Err(anyhow::anyhow!("the outbox writer is finished"));
                };
                let sent = match queue.try_send(job) {
                    Ok(()) => true,
                    Err(TrySendError::Full(mut job)) => {
                        // The writer is busy: compress here, then wait for room. The JSON's
                        // buffer stays here for the next batch and the empty one handed out
                        // travels with the job back to the pool; the compressed bytes are
                        // copied out so that the compressor keeps its big buffer. Batch-sized
                        // buffers are mapped on their own (see `memory`): a dropped one costs
                        // the next batch a fresh mapping and a page fault every 4 KiB.
                        local.compress(&job.data, job.raw_len)?;
                        job.compressed = Some(local.compressed.clone());
                        std::mem::swap(data, &mut job.data);
                        data.clear();
                        queue.send(job).is_ok()
                    }
                    Err(TrySendError::Disconnected(_)) => false,
                };
                if sent {
                    return Ok(id);
                }
                // The writer stopped: its own error says why.
                Err(self
                    .finish()
                    .err()
                    .unwrap_or_else(|| anyhow::anyhow!("the outbox writer stopped unexpectedly")))
            }
        }
    }

    /// Waits until every batch handed over is stored; the writer's error, if it failed.
    pub fn finish(&mut self) -> Result<()> {
        if let Mode::Threaded { jobs, worker, .. } = &mut self.mode {
            jobs.take();
            if let Some(worker) = worker.take() {
                return worker
                    .join()
                    .map_err(|_| anyhow::anyhow!("the outbox writer panicked"))?;
            }
        }
        Ok(())
    }
}

impl Drop for OutboxWriter {
    /// Even on an error or Ctrl-C, the batches already handed over are stored before the run's
    /// status changes, so the outbox never has a batch its run does not know about.
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::TokenTable;
    use crate::store::test_support::{batch_count, file_store_with_event, load};

    fn job(idx: u64, raw_len: usize) -> Job {
        Job {
            id: new_batch_id(),
            event_id: "evt_1".to_string(),
            idx,
            rows: 1,
            first_row: idx,
            data: br#"[{"a":"1"}]"#.to_vec(),
            raw_len,
            compressed: None,
            source_mark: None,
        }
    }

    #[test]
    fn queued_batches_are_stored_together_up_to_the_group_size() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = file_store_with_event(&dir);
        let mut writer = BatchWriter::new(Packer::new(&TokenTable::default()));
        let (jobs, queue) = sync_channel(8);
        for idx in 2..=4 {
            jobs.send(job(idx, 10)).unwrap();
        }
        let mut done = Vec::new();
        let stored = writer
            .write_queued(&mut store, job(1, 10), &queue, &mut |job: Job| {
                done.push(job.idx)
            })
            .unwrap();
        assert_eq!(
            (stored, done),
            (40, vec![1, 2, 3, 4]),
            "all that was queued"
        );
        assert_eq!(batch_count(&store), 4);

        // A group ends once it holds GROUP_BYTES of JSON; the rest waits for the next one.
        for idx in 6..=7 {
            jobs.send(job(idx, GROUP_BYTES / 2)).unwrap();
        }
        let stored = writer
            .write_queued(&mut store, job(5, GROUP_BYTES / 2), &queue, &mut drop)
            .unwrap();
        assert_eq!(stored, GROUP_BYTES);
        assert_eq!(batch_count(&store), 6);
        assert_eq!(queue.try_recv().unwrap().idx, 7);
    }

    #[test]
    fn the_outbox_writer_does_not_hold_the_write_lock_while_it_waits() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = file_store_with_event(&dir);
        let mut outbox =
            OutboxWriter::for_store(&store, Packer::new(&TokenTable::default())).unwrap();
        for idx in 1..=2 {
            let mut data = br#"[{"a":"1"}]"#.to_vec();
            outbox
                .write_batch(&mut store, "evt_1", idx, 1, idx, &mut data, 11)
                .unwrap();
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while batch_count(&store) < 2 {
            assert!(std::time::Instant::now() < deadline, "batches never stored");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        // The writer is idle, waiting for a third batch: another writer gets the lock at once.
        let other = rusqlite::Connection::open(dir.path().join("log.db")).unwrap();
        other.busy_timeout(std::time::Duration::ZERO).unwrap();
        other.execute_batch("BEGIN IMMEDIATE; COMMIT;").unwrap();
        outbox.finish().unwrap();
    }

    #[test]
    fn every_batch_staged_on_two_threads_reads_back_as_written() {
        // Batches come faster than the writer stores them, so some are compressed by the
        // parsing thread itself (the queue is full) and some by the writer: both must round-trip.
        let dir = tempfile::tempdir().unwrap();
        let mut store = file_store_with_event(&dir);
        let mut tokens = TokenTable::default();
        let batch_key = tokens.add(br#"{"batch":"#);
        let row_key = tokens.add(br#","row":"#);
        let mut outbox = OutboxWriter::for_store(&store, Packer::new(&tokens)).unwrap();
        let mut data = Vec::new();
        let mut written = Vec::new();
        for idx in 1..=40u64 {
            data.clear();
            data.push(b'[');
            let mut expected = b"[".to_vec();
            for row in 0..2000 {
                for (out, batch, row_) in [
                    (&mut data, &batch_key[..], &row_key[..]),
                    (&mut expected, &br#"{"batch":"#[..], &br#","row":"#[..]),
                ] {
                    out.extend_from_slice(batch);
                    out.extend_from_slice(idx.to_string().as_bytes());
                    out.extend_from_slice(row_);
                    out.extend_from_slice(format!("{row}}},").as_bytes());
                }
            }
            data.push(b']');
            expected.push(b']');
            let id = outbox
                .write_batch(&mut store, "evt_1", idx, 2000, 1, &mut data, expected.len())
                .unwrap();
            assert!(data.is_empty(), "handed back empty for the next batch");
            written.push((id, expected));
        }
        outbox.finish().unwrap();
        for (id, expected) in written {
            let mut out = Vec::new();
            load(&store, &id, &mut out).unwrap();
            assert!(out == expected, "batch {id} differs");
        }
    }

    #[test]
    fn a_large_batch_is_stored_whole_among_small_ones() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = file_store_with_event(&dir);
        let mut writer = BatchWriter::new(Packer::new(&TokenTable::default()));
        let (jobs, queue) = sync_channel(8);
        // Bytes LZ4 cannot shrink much, past the size whose rows are let go of early.
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut large = b"[{\"a\":\"".to_vec();
        while large.len() < LARGE_BATCH_BYTES + 10 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            large.push(b'a' + (seed % 26) as u8);
        }
        large.extend_from_slice(b"\"}]");
        let mut big = job(2, large.len());
        big.data = large.clone();
        let big_id = big.id.clone();
        jobs.send(big).unwrap();
        jobs.send(job(3, 11)).unwrap();
        let mut recycled = Vec::new();
        writer
            .write_queued(&mut store, job(1, 11), &queue, &mut |job: Job| {
                recycled.push(job.data.capacity())
            })
            .unwrap();
        // The large batch ends the group.
        assert_eq!(batch_count(&store), 2);
        assert_eq!(recycled[1], 0, "the large batch's rows were let go of");
        let mut out = Vec::new();
        load(&store, &big_id, &mut out).unwrap();
        assert!(out == large, "the large batch comes back as it was");
        // The compressor's buffer went with the large payload; the next batches make another.
        jobs.send(job(5, 11)).unwrap();
        writer
            .write_queued(&mut store, job(4, 11), &queue, &mut drop)
            .unwrap();
        assert_eq!(batch_count(&store), 5);
    }
}
