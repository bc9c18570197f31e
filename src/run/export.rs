//! `pulse export`: the rows of a run, event or batch (or only its undelivered batches) written
//! back out of the log, as CSV a person can fix and push again, or as JSON lines. A dead-letter
//! file for `--on-failure skip`.
//!
//! CSV keeps the file's column order (the order of a stored row's keys) and the original text
//! of invalid cells (stored as they were read); valid cells a schema typed are written as their
//! JSON text (`1.5`, `true`), which the same schema reads back to the same values. Cells beyond
//! the header (`__extra`) follow at the end of their record. Memory holds one batch.
//!
//! `--rejected` writes only the rows receivers refused in delivered batches (`--rejected-rows`,
//! the positions the attempt that delivered each batch recorded), `--with-errors` with the
//! receiver's message for each (`__receiver_error`).

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use serde_json::{Map, Value};

use super::resend::{identify, select_batches};
use crate::payload::unpack;
use crate::store::{BatchRef, EventRecord, IdRef, Location, Store};

/// How exported rows are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// The file's columns, a header line first.
    Csv,
    /// One stored row object per line, `__index`, `__row`, `__valid` and `__errors` included.
    Jsonl,
}

/// What `pulse export` was asked.
pub struct ExportSettings {
    pub id: String,
    /// Only the batches not delivered.
    pub failed: bool,
    /// Only the rows receivers refused in delivered batches.
    pub rejected: bool,
    /// With `rejected`: each row with the receiver's message.
    pub with_errors: bool,
    pub format: ExportFormat,
    /// None: stdout.
    pub output: Option<PathBuf>,
    pub quiet: bool,
}

/// Writes the rows an id names; returns how many.
pub fn export(asked: ExportSettings, db: &Location) -> Result<u64> {
    let store = Store::open(db)?;
    let id = asked.id.as_str();
    let (kind, run_id) = identify(&store, id, db)?;
    let mut batches = select_batches(&store, &kind, id, &run_id, asked.failed)?;
    // A run's `all` event holds every row; its other events would repeat them.
    if matches!(kind, IdRef::Run) && batches.iter().any(|(event, _)| event.name == "all") {
        batches.retain(|(event, _)| event.name == "all");
    }
    let (mut out, shown): (Box<dyn Write>, String) = match &asked.output {
        Some(path) => (
            Box::new(std::io::BufWriter::new(
                std::fs::File::create(path)
                    .with_context(|| format!("--output {}: cannot create", path.display()))?,
            )),
            path.display().to_string(),
        ),
        None => (Box::new(crate::output::stdout()), "stdout".to_string()),
    };
    let which = match (asked.rejected, asked.with_errors) {
        (false, _) => Which::All,
        (true, with_errors) => Which::Rejected { with_errors },
    };
    let (rows, deletes) = write_rows(&store, &batches, (asked.format, which), &mut out)
        .with_context(|| format!("exporting {id} to {shown}"))?;
    out.flush()
        .with_context(|| format!("exporting {id} to {shown}"))?;
    if !asked.quiet {
        let which = if asked.failed { "undelivered " } else { "" };
        let (row, rows_of) = if asked.rejected {
            ("refused row", "refused rows")
        } else {
            ("row", "rows")
        };
        let deletes = match deletes {
            0 => String::new(),
            n => format!(
                "; {} left out (rows gone from the file, not rows of it: `--format jsonl` has \
                 them)",
                crate::plural::count(n, "delete", "deletes")
            ),
        };
        let count = batches.len() as u64;
        crate::output::errln!(
            "pulse: exported {} from the {count} {which}{} of {id} to {shown}{deletes}",
            crate::plural::count(rows, row, rows_of),
            crate::plural::noun(count, "batch", "batches")
        );
        if asked.failed && rows > 0 {
            crate::output::errln!(
                "pulse: once fixed, push them with `--replaces {run_id}`: {run_id} is cancelled                  then, so the fix does not wait behind it"
            );
        }
    }
    Ok(rows)
}

/// Which rows of the chosen batches are written.
#[derive(Clone, Copy)]
enum Which {
    All,
    /// Those the receiver refused (`--rejected`), with its messages or not.
    Rejected {
        with_errors: bool,
    },
}

/// Column (CSV) or field (JSON lines) of a refused row's message.
const RECEIVER_ERROR: &str = "__receiver_error";

/// Writes the rows of `batches` in order, one batch in memory at a time; returns how many, and
/// how many of mirror mode's deletes CSV left out.
fn write_rows(
    store: &Store,
    batches: &[(EventRecord, BatchRef)],
    (format, which): (ExportFormat, Which),
    out: &mut dyn Write,
) -> Result<(u64, u64)> {
    let mut sink = match format {
        ExportFormat::Csv => Sink::Csv(Box::new(
            csv::WriterBuilder::new().flexible(true).from_writer(out),
        )),
        ExportFormat::Jsonl => Sink::Jsonl(out),
    };
    let mut columns: Option<Vec<String>> = None;
    let (mut rows, mut deletes) = (0, 0);
    let mut json = Vec::new();
    for (_, batch) in batches {
        let refused = match which {
            Which::All => None,
            Which::Rejected { .. } => match refused_rows(store, batch)? {
                Some(refused) => Some(refused),
                None => continue,
            },
        };
        json.clear();
        store
            .with_payload(&batch.id, |blob, raw_len| {
                unpack(blob, raw_len, &mut json, 0)
            })
            .with_context(|| format!("reading batch {}", batch.id))?;
        let stored: Vec<Map<String, Value>> = serde_json::from_slice(&json)
            .with_context(|| format!("batch {} holds no rows", batch.id))?;
        for (position, mut row) in (1..).zip(stored) {
            let message = match &refused {
                None => None,
                Some(refused) => match refused.get(&position) {
                    Some(message) => Some(message.clone()),
                    None => continue,
                },
            };
            if let (Which::Rejected { with_errors: true }, Some(message)) = (which, message) {
                row.insert(
                    RECEIVER_ERROR.to_string(),
                    message.map_or(Value::Null, Value::String),
                );
            }
            // Mirror mode's delete for a row gone from the file has no line (`__row` null):
            // pushed again as CSV it would become a row of only its key.
            if matches!(sink, Sink::Csv(_)) && row.get("__row") == Some(&Value::Null) {
                deletes += 1;
                continue;
            }
            rows += 1;
            match &mut sink {
                Sink::Jsonl(out) => {
                    serde_json::to_writer(&mut *out, &row)?;
                    out.write_all(b"\n")?;
                }
                Sink::Csv(csv) => {
                    let columns = columns.get_or_insert_with(|| {
                        let mut columns: Vec<String> = row
                            .keys()
                            .filter(|k| !k.starts_with("__"))
                            .cloned()
                            .collect();
                        if let Which::Rejected { with_errors: true } = which {
                            columns.push(RECEIVER_ERROR.to_string());
                        }
                        columns
                    });
                    if rows == 1 {
                        csv.write_record(columns.iter())?;
                    }
                    csv.write_record(record_of(&row, columns))?;
                }
            }
        }
    }
    match sink {
        Sink::Csv(mut csv) => csv.flush()?,
        Sink::Jsonl(out) => out.flush()?,
    }
    Ok((rows, deletes))
}

/// The rows the receiver refused of `batch`, by 1-based position, with its message if any;
/// none when it refused none.
fn refused_rows(
    store: &Store,
    batch: &BatchRef,
) -> Result<Option<std::collections::BTreeMap<u64, Option<String>>>> {
    #[derive(serde::Deserialize)]
    struct Refused {
        position: u64,
        error: Option<String>,
    }
    let Some(text) = store.rejected_rows_of_batch(&batch.id)? else {
        return Ok(None);
    };
    let refused: Vec<Refused> = serde_json::from_str(&text).with_context(|| {
        format!(
            "the refused rows recorded for batch {} are damaged",
            batch.id
        )
    })?;
    Ok(Some(
        refused
            .into_iter()
            .map(|row| (row.position, row.error))
            .collect(),
    ))
}

/// Where exported rows go, per format.
enum Sink<'a> {
    Csv(Box<csv::Writer<&'a mut dyn Write>>),
    Jsonl(&'a mut dyn Write),
}

/// A stored row's cells in `columns` order, then its `__extra` cells.
fn record_of(row: &Map<String, Value>, columns: &[String]) -> Vec<String> {
    let mut record: Vec<String> = columns
        .iter()
        .map(|column| row.get(column).map_or_else(String::new, cell_text))
        .collect();
    if let Some(Value::Array(extra)) = row.get("__extra") {
        record.extend(extra.iter().map(cell_text));
    }
    record
}

/// The CSV text of a stored value: strings as they are, null empty, others as JSON.
fn cell_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cells_keep_their_text_and_extra_cells_follow() {
        let row = json!({"b": "x, \"y\"", "a": 1.5, "c": null, "d": true,
            "__extra": ["e1", "e2"], "__index": 1, "__valid": false, "__errors": []});
        let Value::Object(row) = row else {
            unreachable!()
        };
        let columns: Vec<String> = ["b", "a", "c", "d"].map(String::from).to_vec();
        assert_eq!(
            record_of(&row, &columns),
            ["x, \"y\"", "1.5", "", "true", "e1", "e2"]
        );
    }
}
