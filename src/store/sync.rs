//! Mirror-mode state: what was last delivered for each sync, and what a run will make current.

use anyhow::Result;
use rusqlite::{params, OptionalExtension};

use super::{now_ms, Store};

/// One key of a run's future state.
pub struct PendingKey {
    pub key_hash: [u8; 16],
    pub row_hash: [u8; 16],
    pub key_json: String,
}

impl Store {
    /// The row hash last delivered for a key, if the key was there.
    pub fn delivered_row_hash(&self, sync: &str, key_hash: &[u8; 16]) -> Result<Option<[u8; 16]>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT row_hash FROM sync_state WHERE sync = ?1 AND key_hash = ?2")?;
        let hash: Option<Vec<u8>> = stmt
            .query_row(params![sync, &key_hash[..]], |r| r.get(0))
            .optional()?;
        Ok(hash.and_then(|h| h.try_into().ok()))
    }

    /// Whether a sync has any delivered state (a first mirror push need not look keys up).
    pub fn has_delivered_state(&self, sync: &str) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached("SELECT 1 FROM sync_state WHERE sync = ?1 LIMIT 1")?
            .exists([sync])?)
    }

    /// Records keys of a run's future state, in one transaction. A run's keys are distinct
    /// (a repeated key is an invalid row, not noted) and a restaged run starts afresh.
    pub fn add_pending_keys(
        &mut self,
        run_id: &str,
        sync: &str,
        keys: &[PendingKey],
    ) -> Result<()> {
        let tx = self.begin("recording mirror keys")?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO sync_pending (run_id, sync, key_hash, row_hash, key_json)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for key in keys {
                stmt.execute(params![
                    run_id,
                    sync,
                    &key.key_hash[..],
                    &key.row_hash[..],
                    key.key_json
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Up to `limit` delivered keys of `sync` after `after`, in key-hash order, as
    /// (key_hash, key_json): a sequential walk of the state, one page at a time.
    pub fn delivered_keys(
        &self,
        sync: &str,
        after: &[u8],
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, String)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT key_hash, key_json FROM sync_state
             WHERE sync = ?1 AND key_hash > ?2 ORDER BY key_hash LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![sync, after, limit as i64], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Copies a sync's delivered state from another log file (for `--dry-run`, whose scratch
    /// log must compare with the real one).
    pub fn import_sync_state(&self, other: &std::path::Path, sync: &str) -> Result<()> {
        let path = other.to_string_lossy();
        self.conn
            .execute("ATTACH DATABASE ?1 AS live", [path.as_ref()])?;
        let copied = self.conn.execute(
            "INSERT OR REPLACE INTO sync_state SELECT * FROM live.sync_state WHERE sync = ?1",
            [sync],
        );
        self.conn.execute("DETACH DATABASE live", [])?;
        copied?;
        Ok(())
    }

    /// Marks a run delivered; for a mirror run, its state becomes the sync's current state in
    /// the same transaction, so a failed or interrupted run never loses a change.
    pub fn finish_delivered(&mut self, run_id: &str) -> Result<()> {
        let tx = self.begin("marking the run delivered")?;
        let sync: Option<String> = tx
            .query_row(
                "SELECT sync FROM sync_pending WHERE run_id = ?1 LIMIT 1",
                [run_id],
                |r| r.get(0),
            )
            .optional()?
            .or(tx
                .query_row(
                    "SELECT json_extract(options, '$.sync') FROM runs WHERE id = ?1",
                    [run_id],
                    |r| r.get(0),
                )
                .optional()?
                .flatten());
        if let Some(sync) = sync {
            delete_in_chunks(
                &tx,
                "DELETE FROM sync_state WHERE sync = ?1 AND key_hash IN
                     (SELECT key_hash FROM sync_state WHERE sync = ?1 LIMIT 10000)",
                &sync,
            )?;
            // Sorted first, so the state's B-tree is built left to right, not page by page.
            tx.execute(
                "INSERT OR REPLACE INTO sync_state (sync, key_hash, row_hash, key_json)
                 SELECT sync, key_hash, row_hash, key_json FROM sync_pending WHERE run_id = ?1
                 ORDER BY key_hash",
                [run_id],
            )?;
            delete_pending_keys(&tx, run_id)?;
        }
        tx.execute(
            "UPDATE runs SET status = ?3, finished_at = ?2 WHERE id = ?1",
            params![run_id, now_ms(), super::RunStatus::Delivered.as_str()],
        )?;
        tx.commit()?;
        Ok(())
    }
}

/// Deletes a run's pending keys. Run inside the caller's transaction.
pub(super) fn delete_pending_keys(tx: &rusqlite::Transaction, run_id: &str) -> Result<()> {
    delete_in_chunks(
        tx,
        "DELETE FROM sync_pending WHERE rowid IN
             (SELECT rowid FROM sync_pending WHERE run_id = ?1 LIMIT 10000)",
        run_id,
    )
}

/// Repeats a `DELETE` that removes at most a chunk of rows until nothing is left: one DELETE
/// of millions of rows first collects every row it will delete in memory.
fn delete_in_chunks(tx: &rusqlite::Transaction, sql: &str, param: &str) -> Result<()> {
    let mut stmt = tx.prepare(sql)?;
    while stmt.execute([param])? > 0 {}
    Ok(())
}
