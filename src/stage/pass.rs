//! The staging pass: read every row once, judge it, write it into the batch buffer of each event
//! it belongs to, and store full batches in the outbox. Memory holds one batch per event.

use anyhow::{bail, Result};

use super::batcher::{BatchLimits, BatchSink, EventBatches, RowNumbers};
use super::checked_rows::{CheckedRow, CheckedRows};
use super::event::EventKind;
use super::mirror::{Mirror, MirrorVerdict};
use crate::payload::{write_as_read, Packer, RowPosition, RowWriter};
use crate::read::CellKind;
use crate::schema::{CellError, RowValidator};
use crate::store::{EventRecord, OutboxWriter, RowCounts, Store};

/// How rows are staged.
pub struct StageOptions<'a> {
    pub batch_size: u64,
    /// A batch's rows stop growing before their JSON passes this many bytes.
    pub max_batch_bytes: u64,
    /// The operation every row is tagged with (`__op`), if any.
    pub op: Option<&'a str>,
}

/// The first invalid row, for messages.
#[derive(Debug, Clone)]
pub struct FirstInvalid {
    pub line: u64,
    pub message: String,
}

impl FirstInvalid {
    fn of(row: &CheckedRow, errors: &[CellError]) -> FirstInvalid {
        FirstInvalid {
            line: row.line,
            message: errors
                .first()
                .map(|e| e.message.clone())
                .unwrap_or_default(),
        }
    }
}

/// What staging produced.
pub struct Staged {
    pub events: Vec<EventRecord>,
    pub counts: RowCounts,
    pub source_hash: String,
    pub first_invalid: Option<FirstInvalid>,
}

/// Stages every row into the events given (id, kind), in batches of `options.batch_size`.
/// `on_row` sees the running row count and may stop staging by returning an error.
pub fn stage(
    store: &mut Store,
    rows: &mut CheckedRows,
    events: &[(String, EventKind)],
    options: &StageOptions,
    mut mirror: Option<&mut Mirror>,
    mut on_row: impl FnMut(u64) -> Result<()>,
) -> Result<Staged> {
    let writer = RowWriter::new(rows.headers());
    let label = rows.label().to_string();
    rows.render_cast_values();
    let mut sink = BatchSink {
        outbox: OutboxWriter::for_store(store, Packer::new(writer.token_table()))?,
        reading: Some(rows.position()),
    };
    let limits = BatchLimits {
        rows: options.batch_size,
        json_bytes: options.max_batch_bytes as usize,
    };
    let mut batches = EventBatches::new(events, limits);
    let mut counts = RowCounts::default();
    let mut first_invalid = None;
    let mut own_errors: Vec<CellError> = Vec::new();
    while let Some(row) = rows.next_row()? {
        counts.total += 1;
        let mut op = options.op;
        let mut errors = row.errors;
        if let Some(mirror) = mirror.as_deref_mut() {
            let cells: Vec<&str> = row.record.iter().collect();
            match mirror.classify(store, &cells, row.valid(), row.validator)? {
                MirrorVerdict::Unchanged => {
                    counts.unchanged += 1;
                    if row.valid() {
                        counts.valid += 1;
                    } else {
                        counts.invalid += 1;
                        first_invalid.get_or_insert_with(|| FirstInvalid::of(&row, row.errors));
                    }
                    on_row(counts.total)?;
                    continue;
                }
                MirrorVerdict::Upsert => op = Some("upsert"),
                MirrorVerdict::Duplicate(error) => {
                    own_errors.clear();
                    own_errors.extend_from_slice(row.errors);
                    own_errors.push(error);
                    errors = &own_errors;
                }
            }
        }
        let valid = errors.is_empty();
        if valid {
            counts.valid += 1;
        } else {
            counts.invalid += 1;
            first_invalid.get_or_insert_with(|| FirstInvalid::of(&row, errors));
        }
        let judged = JudgedRow {
            row: &row,
            valid,
            errors,
            op,
            label: &label,
        };
        let write = |out: &mut Vec<u8>, previous: Option<RowNumbers>| {
            judged.write(&writer, out, previous, options.max_batch_bytes)
        };
        batches.add_row(valid, (row.index, row.line), &write, store, &mut sink)?;
        on_row(counts.total)?;
    }
    // The whole input is read: later batches record all of it as staged.
    sink.reading = None;
    sink.outbox.source_mark = Some(rows.read_so_far());
    if let Some(mirror) = mirror {
        counts.deleted = stage_deletes(mirror, store, &mut batches, &mut sink)?;
    }
    let events = batches.finish(store, &mut sink)?;
    // Every batch is stored before the run can be marked staged.
    sink.outbox.finish()?;
    counts.blank = rows.blank_rows();
    Ok(Staged {
        events,
        counts,
        source_hash: rows.content_hash(),
        first_invalid,
    })
}

/// A row with the verdict it is sent with.
struct JudgedRow<'r, 'a> {
    row: &'r CheckedRow<'a>,
    valid: bool,
    /// The row's errors, a mirror duplicate's included.
    errors: &'r [CellError],
    /// `__op`, if rows carry one.
    op: Option<&'r str>,
    /// The input as messages name it.
    label: &'r str,
}

impl JudgedRow<'_, '_> {
    /// Writes the row's JSON into `out`, its numbers following `previous` if given; returns its
    /// JSON size once expanded. A row too large for any batch is an error naming its line.
    fn write(
        &self,
        writer: &RowWriter,
        out: &mut Vec<u8>,
        previous: Option<RowNumbers>,
        max_batch_bytes: u64,
    ) -> Result<usize> {
        let row = self.row;
        let position = RowPosition {
            index: row.index,
            line: row.line,
            previous,
        };
        let start = out.len();
        let growth = if self.valid && row.validator.writes_cells_as_text() {
            writer.write_text_row(out, row.record, position, self.op)
        } else {
            let validator = row.validator;
            writer.write_row(
                out,
                row.record,
                position,
                self.errors,
                self.op,
                |column, raw, kind, out| write_valid_cell(validator, column, (raw, kind), out),
            )
        };
        let len = out.len() - start + growth;
        // A batch of this row alone adds its brackets.
        if len as u64 + 2 > max_batch_bytes {
            bail!(
                "{}: line {}: this row alone is {len} bytes of JSON, more than --max-body-size allows",
                self.label,
                row.line
            );
        }
        Ok(len)
    }
}

/// Writes a valid row's cell: cast as its field says, or, when its column has no field, a
/// JSON input's number, boolean, null or object as it was read (text as a string).
pub fn write_valid_cell(
    validator: &RowValidator,
    column: usize,
    (raw, kind): (&str, CellKind),
    out: &mut Vec<u8>,
) {
    if kind == CellKind::Text || validator.casts(column) {
        validator.write_cast_value(column, raw, out)
    } else {
        write_as_read(out, raw, kind)
    }
}

/// Mirror mode: keys delivered before and absent now, one delete row each carrying the key
/// fields. Returns how many.
fn stage_deletes(
    mirror: &mut Mirror,
    store: &mut Store,
    batches: &mut EventBatches,
    sink: &mut BatchSink,
) -> Result<u64> {
    let mut deleted = 0;
    let mut row_json = Vec::new();
    mirror.for_each_vanished(store, |store, key_json| {
        deleted += 1;
        row_json.clear();
        row_json.extend_from_slice(&key_json.as_bytes()[..key_json.len() - 1]);
        if key_json.len() > 2 {
            row_json.push(b',');
        }
        row_json.extend_from_slice(
            br#""__index":null,"__row":null,"__op":"delete","__valid":true,"__errors":[]}"#,
        );
        batches.add_plain_row(&row_json, store, sink)
    })?;
    Ok(deleted)
}
