//! Changing the log in bulk: clearing a half-staged run before it is staged again, and pruning
//! old runs.

use anyhow::Result;

use super::db::Db;
use super::{RunStatus, Store};

/// What `prune` removed.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct PruneReport {
    pub runs: u64,
    pub events: u64,
    pub batches: u64,
    pub attempts: u64,
    /// Compressed payload bytes removed.
    pub payload_bytes: u64,
}

impl Store {
    /// Deletes the batches (payloads and attempts cascade) a run staged before it was stopped,
    /// and puts it back to `staging`, in one transaction: a crash leaves either the old partial
    /// batches or none, never a mix.
    pub fn reset_staging(&mut self, run_id: &str) -> Result<()> {
        self.db.transaction("clearing a half-staged run", |tx| {
            tx.execute(
                "DELETE FROM batches WHERE event_id IN (SELECT id FROM events WHERE run_id = ?1)",
                &[&run_id],
            )?;
            tx.execute(
                "UPDATE events SET total_rows = 0, batch_count = 0 WHERE run_id = ?1",
                &[&run_id],
            )?;
            // A mirror run's future state is recomputed by staging again.
            super::sync::delete_pending_keys(tx, run_id)?;
            tx.execute(
                "UPDATE runs SET status = ?2, finished_at = NULL, staged_bytes = NULL,
                     staged_hash = NULL, rows_total = 0, rows_valid = 0, rows_invalid = 0,
                     blank_rows = 0 WHERE id = ?1",
                &[&run_id, &RunStatus::Staging.as_str()],
            )?;
            Ok(())
        })
    }

    /// Runs started before `cutoff` (ms since the epoch), oldest first: each id, and whether
    /// the run is over for good (`RunStatus::is_final`; a status this pulse does not know is
    /// not).
    pub fn runs_started_before(&self, cutoff: i64) -> Result<Vec<(String, bool)>> {
        let runs: Vec<(String, String)> = self.db.query(
            "SELECT id, status FROM runs WHERE started_at < ?1 ORDER BY started_at, id",
            &[&cutoff],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok(runs
            .into_iter()
            .map(|(id, status)| {
                let finished = RunStatus::from_stored(&status).is_some_and(RunStatus::is_final);
                (id, finished)
            })
            .collect())
    }

    /// Deletes runs with everything they own, counting it first, in one transaction.
    pub fn delete_runs(&mut self, run_ids: &[String]) -> Result<PruneReport> {
        self.db.transaction("pruning runs", |tx| {
            let mut report = PruneReport::default();
            for id in run_ids {
                delete_run(tx, id, &mut report)?;
            }
            Ok(report)
        })
    }

    /// Rewrites the file without free pages, then empties the WAL so the file shrinks on disk;
    /// on PostgreSQL, `VACUUM` of pulse's tables (space for new rows, not returned to the
    /// system: that takes `VACUUM FULL`, which locks out every runner while it works).
    pub fn vacuum(&self) -> Result<()> {
        match &self.db {
            Db::Sqlite(conn) => {
                conn.execute_batch("VACUUM")?;
                conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
            }
            Db::Postgres(conn) => conn.batch(
                "VACUUM runs, events, batches, payloads, attempts, secrets, sync_state, \
                 sync_pending",
            )?,
        }
        Ok(())
    }

    /// The space the log takes in bytes: a SQLite log's file with its WAL, a PostgreSQL log's
    /// tables with their indexes and out-of-line data.
    pub fn size_on_disk(&self) -> Result<u64> {
        match &self.db {
            Db::Sqlite(_) => {
                let Some(path) = self.path() else {
                    return Ok(0);
                };
                let wal = format!("{}-wal", path.display());
                Ok([path.to_path_buf(), wal.into()]
                    .iter()
                    .filter_map(|p| std::fs::metadata(p).ok())
                    .map(|m| m.len())
                    .sum())
            }
            Db::Postgres(_) => {
                let bytes: i64 = self.db.query_value(
                    "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint
                     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                     WHERE n.nspname = current_schema() AND c.relkind = 'r'
                       AND c.relname IN ('runs', 'events', 'batches', 'payloads', 'attempts',
                                         'secrets', 'sync_state', 'sync_pending')",
                    &[],
                )?;
                Ok(bytes.max(0) as u64)
            }
        }
    }

    /// The least the log's file can take, and its page size: a page for the schema and one
    /// for each table and index, however empty. Pages are 64 KiB (the push is slower with
    /// smaller ones, bench/NOTES.md), so that is about a megabyte.
    /// None on PostgreSQL, whose floor is the server's business.
    pub fn size_floor(&self) -> Result<Option<(u64, u64)>> {
        let Some(conn) = self.db.sqlite() else {
            return Ok(None);
        };
        let trees: u64 = conn.query_row(
            "SELECT count(*) FROM sqlite_schema WHERE rootpage > 0",
            [],
            |r| r.get(0),
        )?;
        let page: u64 = conn.pragma_query_value(None, "page_size", |r| r.get(0))?;
        Ok(Some(((trees + 1) * page, page)))
    }
}

/// Deletes one run with everything it owns, counting it first into `report`. Run inside the
/// caller's transaction.
fn delete_run(tx: &Db, id: &str, report: &mut PruneReport) -> Result<()> {
    let counts = tx.query_opt(
        "SELECT
           (SELECT count(*) FROM events WHERE run_id = ?1),
           (SELECT count(*) FROM batches b JOIN events e ON e.id = b.event_id
            WHERE e.run_id = ?1),
           (SELECT count(*) FROM attempts a JOIN batches b ON b.id = a.batch_id
            JOIN events e ON e.id = b.event_id WHERE e.run_id = ?1),
           (SELECT coalesce(sum(length(p.data)), 0) FROM payloads p
            JOIN batches b ON b.id = p.batch_id JOIN events e ON e.id = b.event_id
            WHERE e.run_id = ?1)",
        &[&id],
        |r| Ok((r.count(0)?, r.count(1)?, r.count(2)?, r.count(3)?)),
    )?;
    let (events, batches, attempts, bytes) = counts.unwrap_or_default();
    // Foreign keys cascade from runs to events, batches, payloads and attempts; a failed
    // mirror run's many pending keys go first, a chunk at a time.
    super::sync::delete_pending_keys(tx, id)?;
    report.runs += tx.execute("DELETE FROM runs WHERE id = ?1", &[&id])? as u64;
    report.events += events;
    report.batches += batches;
    report.attempts += attempts;
    report.payload_bytes += bytes;
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::store::{AttemptRecord, NewRun, OutboxWriter, Store};

    /// Two runs of one event each, with two batches and one attempt on the first batch.
    fn store_with_runs() -> Store {
        let mut store = Store::open_in_memory().unwrap();
        let mut outbox = OutboxWriter::new(crate::payload::Packer::new(
            &crate::payload::TokenTable::default(),
        ))
        .unwrap();
        for n in 1..=2 {
            let run = format!("run_{n}");
            let event = format!("evt_{n}");
            let new = NewRun {
                id: &run,
                source: "x.csv",
                source_size: Some(10),
                url: "http://127.0.0.1/",
                options: "{}",
            };
            store.create_run(&new, &[(event.clone(), "all")]).unwrap();
            let first = outbox
                .write_batch(&mut store, &event, 1, 1, 1, &mut b"[1]".to_vec(), 3)
                .unwrap();
            outbox
                .write_batch(&mut store, &event, 2, 1, 2, &mut b"[2]".to_vec(), 3)
                .unwrap();
            let attempt = AttemptRecord {
                batch_id: &first,
                started_at: 0,
                duration_ms: 1,
                url: "http://127.0.0.1/",
                http_status: 200,
                error: None,
                response: None,
                request_headers: "{}".into(),
                rejected: None,
                rejected_count: 0,
                in_flight: None,
                in_flight_limit: None,
            };
            store.record_attempt(&attempt, true).unwrap();
        }
        store
    }

    fn count(store: &Store, table: &str) -> i64 {
        store
            .conn()
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn reset_staging_clears_one_run_only() {
        let mut store = store_with_runs();
        store.reset_staging("run_1").unwrap();
        assert_eq!(count(&store, "batches"), 2);
        assert_eq!(count(&store, "payloads"), 2);
        assert_eq!(count(&store, "attempts"), 1);
        let run = store.run("run_1").unwrap().unwrap();
        assert_eq!(run.status, "staging");
        assert_eq!(run.batches_total, 0);
        assert!(run.staged_hash.is_none());
    }

    #[test]
    fn deleting_runs_cascades_and_counts() {
        let mut store = store_with_runs();
        let report = store.delete_runs(&["run_2".to_string()]).unwrap();
        assert_eq!(
            (report.runs, report.events, report.batches, report.attempts),
            (1, 1, 2, 1)
        );
        assert!(report.payload_bytes > 0);
        for (table, left) in [("runs", 1), ("events", 1), ("batches", 2), ("payloads", 2)] {
            assert_eq!(count(&store, table), left, "{table}");
        }
        assert_eq!(count(&store, "attempts"), 1);
        store.vacuum().unwrap();
    }

    #[test]
    fn history_finds_ids_and_undelivered_batches() {
        use crate::store::IdRef;
        let store = store_with_runs();
        assert_eq!(store.identify("run_1").unwrap(), Some(IdRef::Run));
        assert_eq!(
            store.identify("evt_2").unwrap(),
            Some(IdRef::Event {
                run_id: "run_2".into()
            })
        );
        let undelivered = store.undelivered_batches(None, None, false).unwrap();
        assert_eq!(undelivered.len(), 2);
        assert!(undelivered.iter().all(|b| b.batch.idx == 2));
        let batch = &undelivered[0].batch;
        assert_eq!(
            store.identify(&batch.id).unwrap(),
            Some(IdRef::Batch {
                run_id: undelivered[0].run_id.clone(),
                event_id: batch.event_id.clone()
            })
        );
        assert_eq!(store.identify("nope").unwrap(), None);
        assert_eq!(
            store
                .undelivered_batches(None, Some(1), false)
                .unwrap()
                .len(),
            1
        );
        assert_eq!(store.runs(Some(i64::MAX), None).unwrap().len(), 0);
        let runs = store.runs(None, None).unwrap();
        assert_eq!(runs.len(), 2);
        assert_eq!((runs[0].batches_total, runs[0].batches_delivered), (2, 1));
        let first = &store.batch_rows_of_event("evt_1").unwrap()[0];
        assert_eq!(first.attempts, 1);
        assert_eq!(first.last_attempt.as_ref().unwrap().http_status, 200);
    }
}
