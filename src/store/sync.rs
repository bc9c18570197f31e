//! Mirror-mode state: what was last delivered for each sync, and what a run will make current.

use anyhow::{Context, Result};

use super::db::{Db, SqlDialect};
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
        let hash: Option<Vec<u8>> = self.db.query_opt(
            "SELECT row_hash FROM sync_state WHERE sync = ?1 AND key_hash = ?2",
            &[&sync, &&key_hash[..]],
            |r| r.get(0),
        )?;
        Ok(hash.and_then(|h| h.try_into().ok()))
    }

    /// Whether a sync has any delivered state (a first mirror push need not look keys up).
    pub fn has_delivered_state(&self, sync: &str) -> Result<bool> {
        Ok(self
            .db
            .query_opt(
                "SELECT sync FROM sync_state WHERE sync = ?1 LIMIT 1",
                &[&sync],
                |_| Ok(()),
            )?
            .is_some())
    }

    /// Records keys of a run's future state, in one transaction. A run's keys are distinct
    /// (a repeated key is an invalid row, not noted) and a restaged run starts afresh.
    pub fn add_pending_keys(
        &mut self,
        run_id: &str,
        sync: &str,
        keys: &[PendingKey],
    ) -> Result<()> {
        self.db.transaction("recording mirror keys", |tx| match tx {
            Db::Sqlite(_) => {
                for key in keys {
                    tx.execute(
                        "INSERT INTO sync_pending (run_id, sync, key_hash, row_hash, key_json)
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                        &[
                            &run_id,
                            &sync,
                            &&key.key_hash[..],
                            &&key.row_hash[..],
                            &key.key_json,
                        ],
                    )?;
                }
                Ok(())
            }
            // One statement for all the keys: a round trip each would be most of the time.
            Db::Postgres(conn) => {
                let key_hashes: Vec<&[u8]> = keys.iter().map(|k| &k.key_hash[..]).collect();
                let row_hashes: Vec<&[u8]> = keys.iter().map(|k| &k.row_hash[..]).collect();
                let key_json: Vec<&str> = keys.iter().map(|k| k.key_json.as_str()).collect();
                conn.execute(
                    "INSERT INTO sync_pending (run_id, sync, key_hash, row_hash, key_json)
                     SELECT ?1, ?2, * FROM unnest(?3::bytea[], ?4::bytea[], ?5::text[])",
                    &[&run_id, &sync, &key_hashes, &row_hashes, &key_json],
                )?;
                Ok(())
            }
        })
    }

    /// Up to `limit` delivered keys of `sync` after `after`, in key-hash order, as
    /// (key_hash, key_json): a sequential walk of the state, one page at a time.
    pub fn delivered_keys(
        &self,
        sync: &str,
        after: &[u8],
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, String)>> {
        self.db.query(
            "SELECT key_hash, key_json FROM sync_state
             WHERE sync = ?1 AND key_hash > ?2 ORDER BY key_hash LIMIT ?3",
            &[&sync, &after, &(limit as i64)],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }

    /// Copies a sync's delivered state from another log (for `--dry-run`, whose scratch log
    /// must compare with the real one).
    pub fn import_sync_state(&self, other: &Store, sync: &str) -> Result<()> {
        if let (Some(conn), Some(path)) = (self.db.sqlite(), other.path()) {
            let path = path.to_string_lossy();
            conn.execute("ATTACH DATABASE ?1 AS live", [path.as_ref()])?;
            let copied = conn.execute(
                "INSERT OR REPLACE INTO sync_state SELECT * FROM live.sync_state WHERE sync = ?1",
                [sync],
            );
            conn.execute("DETACH DATABASE live", [])?;
            copied?;
            return Ok(());
        }
        let mut after = Vec::new();
        loop {
            let page = other.db.query(
                "SELECT key_hash, row_hash, key_json FROM sync_state
                 WHERE sync = ?1 AND key_hash > ?2 ORDER BY key_hash LIMIT 10000",
                &[&sync, &after],
                |r| {
                    Ok((
                        r.get::<Vec<u8>>(0)?,
                        r.get::<Vec<u8>>(1)?,
                        r.get::<String>(2)?,
                    ))
                },
            )?;
            let Some(last) = page.last() else {
                return Ok(());
            };
            after = last.0.clone();
            self.db.transaction("copying the mirror state", |tx| {
                for (key_hash, row_hash, key_json) in &page {
                    tx.execute(
                        "INSERT INTO sync_state (sync, key_hash, row_hash, key_json)
                         VALUES (?1, ?2, ?3, ?4)",
                        &[&sync, key_hash, row_hash, key_json],
                    )?;
                }
                Ok(())
            })?;
        }
    }

    /// Marks a run delivered; for a mirror run, its state becomes the sync's current state in
    /// the same transaction, so a failed or interrupted run never loses a change.
    pub fn finish_delivered(&mut self, run_id: &str) -> Result<()> {
        let finished_at = now_ms();
        self.db.transaction("marking the run delivered", |tx| {
            let pending: Option<String> = tx.query_opt(
                "SELECT sync FROM sync_pending WHERE run_id = ?1 LIMIT 1",
                &[&run_id],
                |r| r.get(0),
            )?;
            let sync = match pending {
                Some(sync) => Some(sync),
                None => tx
                    .query_opt(
                        match tx.dialect() {
                            SqlDialect::Sqlite => {
                                "SELECT json_extract(options, '$.sync') FROM runs WHERE id = ?1"
                            }
                            SqlDialect::Postgres => {
                                "SELECT options::jsonb ->> 'sync' FROM runs WHERE id = ?1"
                            }
                        },
                        &[&run_id],
                        |r| r.get::<Option<String>>(0),
                    )?
                    .flatten(),
            };
            if let Some(sync) = sync {
                replace_state(tx, &sync, run_id)?;
                delete_pending_keys(tx, run_id)?;
            }
            tx.execute(
                "UPDATE runs SET status = ?3, finished_at = ?2 WHERE id = ?1",
                &[&run_id, &finished_at, &super::RunStatus::Delivered.as_str()],
            )?;
            Ok(())
        })
    }
}

/// Makes a run's pending keys the sync's state. Run inside the caller's transaction.
fn replace_state(tx: &Db, sync: &str, run_id: &str) -> Result<()> {
    match tx.dialect() {
        SqlDialect::Sqlite => {
            delete_in_chunks(
                tx,
                "DELETE FROM sync_state WHERE sync = ?1 AND key_hash IN
                     (SELECT key_hash FROM sync_state WHERE sync = ?1 LIMIT 10000)",
                sync,
            )?;
            // Sorted first, so the state's B-tree is built left to right, not page by page.
            tx.execute(
                "INSERT OR REPLACE INTO sync_state (sync, key_hash, row_hash, key_json)
                 SELECT sync, key_hash, row_hash, key_json FROM sync_pending WHERE run_id = ?1
                 ORDER BY key_hash",
                &[&run_id],
            )?;
        }
        SqlDialect::Postgres => {
            tx.execute("DELETE FROM sync_state WHERE sync = ?1", &[&sync])?;
            tx.execute(
                "INSERT INTO sync_state (sync, key_hash, row_hash, key_json)
                 SELECT sync, key_hash, row_hash, key_json FROM sync_pending WHERE run_id = ?1
                 ORDER BY key_hash
                 ON CONFLICT (sync, key_hash) DO UPDATE
                 SET row_hash = excluded.row_hash, key_json = excluded.key_json",
                &[&run_id],
            )?;
        }
    }
    Ok(())
}

/// Deletes a run's pending keys. Run inside the caller's transaction.
pub(super) fn delete_pending_keys(tx: &Db, run_id: &str) -> Result<()> {
    match tx.dialect() {
        SqlDialect::Sqlite => delete_in_chunks(
            tx,
            "DELETE FROM sync_pending WHERE rowid IN
                 (SELECT rowid FROM sync_pending WHERE run_id = ?1 LIMIT 10000)",
            run_id,
        ),
        SqlDialect::Postgres => {
            tx.execute("DELETE FROM sync_pending WHERE run_id = ?1", &[&run_id])?;
            Ok(())
        }
    }
}

/// Repeats a `DELETE` that removes at most a chunk of rows until nothing is left: in SQLite,
/// one DELETE of millions of rows first collects every row it will delete in memory.
fn delete_in_chunks(tx: &Db, sql: &str, param: &str) -> Result<()> {
    while tx.execute(sql, &[&param])? > 0 {}
    Ok(())
}

/// A PostgreSQL log's sync state copied into a local file, for lookups row by row without a
/// round trip each; made on the first lookup, removed when dropped.
#[derive(Default)]
pub struct SyncStateCopy(Option<(Store, tempfile::TempPath)>);

impl Store {
    /// Where a sync's delivered state is looked up row by row: the log itself, or for a
    /// PostgreSQL log, the local copy in `copy` (made on the first call).
    pub fn sync_state_for_lookups<'a>(
        &'a self,
        copy: &'a mut SyncStateCopy,
        sync: &str,
    ) -> Result<&'a Store> {
        if self.postgres().is_none() {
            return Ok(self);
        }
        match &mut copy.0 {
            Some((local, _)) => Ok(local),
            empty => {
                let file = tempfile::Builder::new()
                    .prefix("pulse-mirror-")
                    .suffix(".db")
                    .tempfile()
                    .context("cannot create a scratch file for the mirror state")?
                    .into_temp_path();
                let local = Store::open_scratch(&file)?;
                local
                    .import_sync_state(self, sync)
                    .context("copying the mirror state from the log")?;
                Ok(&empty.insert((local, file)).0)
            }
        }
    }
}
