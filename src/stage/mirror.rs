//! `--mode mirror`: compare each row with the last delivered state of the same sync by key, so
//! only new and changed rows go out (as upserts) and vanished keys go out as deletes.

use anyhow::{Context, Result};
use xxhash_rust::xxh3::Xxh3;

use crate::exit::usage;
use crate::json_out::write_json_string;
use crate::schema::{CellError, FingerprintSet, RowValidator};
use crate::store::{PendingKey, Store, SyncStateCopy};

/// Pending keys are written in chunks of this many (about 2 MB), each chunk in one
/// transaction: few transactions, so little waiting on the batch writer's lock.
const PENDING_CHUNK: usize = 20_000;

/// What mirror mode makes of one row.
pub enum MirrorVerdict {
    /// New or changed since the last delivery: send as an upsert.
    Upsert,
    /// Same as delivered last time: skip.
    Unchanged,
    /// Its key appeared earlier in this file: an invalid row.
    Duplicate(CellError),
}

/// Mirror bookkeeping of one run.
pub struct Mirror {
    sync: String,
    run_id: String,
    id_columns: Vec<usize>,
    id_names: Vec<String>,
    /// Keys seen in this file, to find duplicates (bounded memory, see `schema::fingerprint_set`).
    seen: FingerprintSet,
    pending: Vec<PendingKey>,
    /// Whether the sync has a delivered state to compare with; asked once.
    has_state: Option<bool>,
    /// With a PostgreSQL log, a copy of the sync's delivered state in a scratch SQLite file,
    /// made once when first needed: a round trip to the server for every row would be most of
    /// a mirror push's time. The store is dropped before its file is removed.
    local_state: SyncStateCopy,
}

impl Mirror {
    /// `id_names` name the columns that identify a row (`--key`); each must be in the header.
    pub fn new(
        sync: &str,
        run_id: &str,
        id_names: &[String],
        headers: &[String],
    ) -> Result<Mirror> {
        let id_columns = id_names
            .iter()
            .map(|name| {
                headers.iter().position(|h| h == name).ok_or_else(|| {
                    usage(format!(
                        "--key {name:?} is not a column of the input (columns: {})",
                        headers.join(", ")
                    ))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Mirror {
            sync: sync.to_string(),
            run_id: run_id.to_string(),
            id_columns,
            id_names: id_names.to_vec(),
            seen: FingerprintSet::new(),
            pending: Vec::new(),
            has_state: None,
            local_state: SyncStateCopy::default(),
        })
    }

    /// Judges a row against the delivered state and notes it for this run's future state.
    pub fn classify(
        &mut self,
        store: &mut Store,
        cells: &[&str],
        valid: bool,
        validator: &RowValidator,
    ) -> Result<MirrorVerdict> {
        let key_hash = self.key_hash(cells);
        let seen_before = !self.seen.insert(u128::from_le_bytes(key_hash));
        if let Some(failure) = self.seen.failure() {
            anyhow::bail!("mirror mode: {failure}");
        }
        if seen_before {
            let values: Vec<&str> = self.id_columns.iter().map(|&c| cell(cells, c)).collect();
            return Ok(MirrorVerdict::Duplicate(CellError {
                kind: "primary-key",
                field_name: self.id_names.join(","),
                field_number: self.id_columns[0] + 1,
                cell: values.join(","),
                message: format!(
                    "key ({}) = ({}) appears more than once in the file",
                    self.id_names.join(", "),
                    values.join(", ")
                ),
            }));
        }
        let row_hash = row_hash(cells);
        let has_state = match self.has_state {
            Some(known) => known,
            None => *self
                .has_state
                .insert(store.has_delivered_state(&self.sync)?),
        };
        let before = if has_state {
            store
                .sync_state_for_lookups(&mut self.local_state, &self.sync)?
                .delivered_row_hash(&self.sync, &key_hash)?
        } else {
            None
        };
        self.pending.push(PendingKey {
            key_hash,
            row_hash,
            key_json: self.key_json(cells, valid, validator),
        });
        if self.pending.len() >= PENDING_CHUNK {
            self.flush(store)?;
        }
        Ok(if before == Some(row_hash) {
            MirrorVerdict::Unchanged
        } else {
            MirrorVerdict::Upsert
        })
    }

    /// Writes the noted keys to the log.
    pub fn flush(&mut self, store: &mut Store) -> Result<()> {
        if !self.pending.is_empty() {
            store.add_pending_keys(&self.run_id, &self.sync, &self.pending)?;
            self.pending.clear();
        }
        Ok(())
    }

    /// Calls `emit` with the key object (JSON) of every delivered key this file no longer has,
    /// a page at a time so memory stays bounded.
    pub fn for_each_vanished(
        &mut self,
        store: &mut Store,
        mut emit: impl FnMut(&mut Store, &str) -> Result<()>,
    ) -> Result<()> {
        self.flush(store)?;
        let mut after = Vec::new();
        loop {
            let page = store
                .sync_state_for_lookups(&mut self.local_state, &self.sync)?
                .delivered_keys(&self.sync, &after, 1000)?;
            let Some((last, _)) = page.last() else {
                return Ok(());
            };
            after = last.clone();
            for (key_hash, key_json) in &page {
                // `seen` holds exactly the keys noted for this run's state.
                let key = <[u8; 16]>::try_from(key_hash.as_slice())
                    .map(u128::from_le_bytes)
                    .map_err(|_| {
                        anyhow::anyhow!("sync {}: a stored key hash is not 16 bytes", self.sync)
                    })?;
                let present = self
                    .seen
                    .contains(key)
                    .context("cannot read the spilled mirror keys")?;
                if !present {
                    emit(store, key_json)?;
                }
            }
        }
    }

    fn key_hash(&self, cells: &[&str]) -> [u8; 16] {
        let mut hasher = Xxh3::new();
        for &column in &self.id_columns {
            let text = cell(cells, column);
            hasher.update(&(text.len() as u64).to_le_bytes());
            hasher.update(text.as_bytes());
        }
        hasher.digest128().to_le_bytes()
    }

    /// The key fields as a JSON object: cast values for valid rows, text otherwise.
    fn key_json(&self, cells: &[&str], valid: bool, validator: &RowValidator) -> String {
        let mut out = vec![b'{'];
        for (i, (&column, name)) in self.id_columns.iter().zip(&self.id_names).enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_json_string(&mut out, name);
            out.push(b':');
            if valid {
                validator.write_cast_value(column, cell(cells, column), &mut out);
            } else {
                write_json_string(&mut out, cell(cells, column));
            }
        }
        out.push(b'}');
        String::from_utf8(out).expect("JSON is UTF-8")
    }
}

fn cell<'a>(cells: &[&'a str], column: usize) -> &'a str {
    cells.get(column).copied().unwrap_or("")
}

/// A stable hash of a row's cells (length-prefixed, so cell boundaries count).
fn row_hash(cells: &[&str]) -> [u8; 16] {
    let mut hasher = Xxh3::new();
    for text in cells {
        hasher.update(&(text.len() as u64).to_le_bytes());
        hasher.update(text.as_bytes());
    }
    hasher.digest128().to_le_bytes()
}
