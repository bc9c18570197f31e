//! Changing the log in bulk: clearing a half-staged run before it is staged again, and pruning
//! old runs.

use anyhow::Result;
use rusqlite::{params, TransactionBehavior};

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
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "DELETE FROM batches WHERE event_id IN (SELECT id FROM events WHERE run_id = ?1)",
            [run_id],
        )?;
        tx.execute(
            "UPDATE events SET total_rows = 0, batch_count = 0 WHERE run_id = ?1",
            [run_id],
        )?;
        tx.execute(
            "UPDATE runs SET status = ?2, finished_at = NULL, staged_bytes = NULL,
                 staged_hash = NULL, rows_total = 0, rows_valid = 0, rows_invalid = 0,
                 blank_rows = 0 WHERE id = ?1",
            params![run_id, RunStatus::Staging.as_str()],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Ids of runs started before `cutoff` (ms since the epoch), oldest first.
    pub fn runs_started_before(&self, cutoff: i64) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare("SELECT id FROM runs WHERE started_at < ?1 ORDER BY started_at, id")?;
        let rows = stmt.query_map([cutoff], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Deletes runs with everything they own, counting it first, in one transaction.
    pub fn delete_runs(&mut self, run_ids: &[String]) -> Result<PruneReport> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut report = PruneReport::default();
        for id in run_ids {
            let (events, batches, attempts, bytes): (i64, i64, i64, i64) = tx.query_row(
                "SELECT
                   (SELECT count(*) FROM events WHERE run_id = ?1),
                   (SELECT count(*) FROM batches b JOIN events e ON e.id = b.event_id
                    WHERE e.run_id = ?1),
                   (SELECT count(*) FROM attempts a JOIN batches b ON b.id = a.batch_id
                    JOIN events e ON e.id = b.event_id WHERE e.run_id = ?1),
                   (SELECT coalesce(sum(length(p.data)), 0) FROM payloads p
                    JOIN batches b ON b.id = p.batch_id JOIN events e ON e.id = b.event_id
                    WHERE e.run_id = ?1)",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )?;
            // Foreign keys cascade from runs to events, batches, payloads and attempts.
            report.runs += tx.execute("DELETE FROM runs WHERE id = ?1", [id])? as u64;
            report.events += events as u64;
            report.batches += batches as u64;
            report.attempts += attempts as u64;
            report.payload_bytes += bytes as u64;
        }
        tx.commit()?;
        Ok(report)
    }

    /// Rewrites the file without free pages, then empties the WAL so the file shrinks on disk.
    pub fn vacuum(&self) -> Result<()> {
        self.conn.execute_batch("VACUUM")?;
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }
}
