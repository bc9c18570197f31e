//! The staging pass: read every row once, judge it, write it into the batch buffer of each event
//! it belongs to, and store full batches in the outbox. Memory holds one batch per event.

use anyhow::{bail, Result};

use crate::event::EventKind;
use crate::mirror::{Mirror, MirrorVerdict};
use crate::payload::{RowPosition, RowWriter};
use crate::rows::CheckedRows;
use crate::schema::CellError;
use crate::store::{EventRecord, RowCounts, Stager, Store};

/// An event being filled.
struct EventBuffer {
    id: String,
    kind: EventKind,
    /// The batch's rows as written, keys as tokens (see `payload::KeyTable`).
    data: Vec<u8>,
    /// The JSON size of `data`, its tokens expanded: what batch limits and the log count.
    json_len: usize,
    rows_in_batch: u64,
    /// The index and line of the batch's last row, which the next row's may follow.
    last_numbers: Option<(u64, u64)>,
    first_row: u64,
    batches: u64,
    total_rows: u64,
}

impl EventBuffer {
    /// Appends a written row that grows by `growth` bytes when expanded; `numbers` are its
    /// index and line, if it has them.
    fn push(&mut self, row: &[u8], growth: usize, index: u64, numbers: Option<(u64, u64)>) {
        self.open_row(index);
        self.data.extend_from_slice(row);
        self.json_len += row.len() + growth;
        self.close_row(numbers);
    }

    /// Starts a row: the array's `[` or the `,` before it. The row's JSON follows in `data`.
    fn open_row(&mut self, index: u64) {
        if self.rows_in_batch == 0 {
            self.data.push(b'[');
            self.first_row = index;
        } else {
            self.data.push(b',');
        }
        self.json_len += 1;
    }

    fn close_row(&mut self, numbers: Option<(u64, u64)>) {
        self.last_numbers = numbers;
        self.rows_in_batch += 1;
        self.total_rows += 1;
    }

    /// Stores the batch as one that covers the input up to `mark` (for resuming).
    fn flush_marked(
        &mut self,
        mark: (u64, String),
        store: &mut Store,
        stager: &mut Stager,
    ) -> Result<()> {
        stager.source_mark = Some(mark);
        self.flush(store, stager)
    }

    fn flush(&mut self, store: &mut Store, stager: &mut Stager) -> Result<()> {
        if self.rows_in_batch == 0 {
            return Ok(());
        }
        self.data.push(b']');
        self.json_len += 1;
        self.batches += 1;
        stager.write_batch(
            store,
            &self.id,
            self.batches,
            self.rows_in_batch,
            self.first_row,
            &mut self.data,
            self.json_len,
        )?;
        self.rows_in_batch = 0;
        self.last_numbers = None;
        self.json_len = 0;
        Ok(())
    }
}

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
    rows.render_cast_values();
    let mut stager = Stager::for_store(store, writer.key_table())?;
    let mut buffers: Vec<EventBuffer> = events
        .iter()
        .map(|(id, kind)| EventBuffer {
            id: id.clone(),
            kind: *kind,
            data: Vec::new(),
            json_len: 0,
            rows_in_batch: 0,
            last_numbers: None,
            first_row: 0,
            batches: 0,
            total_rows: 0,
        })
        .collect();
    let mut counts = RowCounts::default();
    let mut first_invalid = None;
    let mut row_json = Vec::with_capacity(4096);
    let mut own_errors: Vec<CellError> = Vec::new();
    let reading = rows.position();
    while let Some(row) = rows.next_row()? {
        counts.total += 1;
        let mut op = options.op;
        let mut errors = row.errors;
        if let Some(mirror) = mirror.as_deref_mut() {
            let cells: Vec<&str> = row.record.iter().collect();
            match mirror.classify(store, &cells, row.valid(), row.validator)? {
                MirrorVerdict::Unchanged => {
                    counts.unchanged += 1;
                    counts.valid += row.valid() as u64;
                    counts.invalid += !row.valid() as u64;
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
            if first_invalid.is_none() {
                first_invalid = Some(FirstInvalid {
                    line: row.line,
                    message: errors[0].message.clone(),
                });
            }
        }
        let numbers = Some((row.index, row.line));
        let validator = row.validator;
        let line = row.line;
        // Writes the row after one numbered `previous`; returns its JSON size once expanded.
        let write = |out: &mut Vec<u8>, previous: Option<(u64, u64)>| {
            let position = RowPosition {
                index: row.index,
                line: row.line,
                previous,
            };
            let start = out.len();
            let growth = if valid && validator.writes_cells_as_text() {
                writer.write_text_row(out, row.record, position, op)
            } else {
                writer.write_row(
                    out,
                    row.record.iter(),
                    position,
                    errors,
                    op,
                    |column, raw, out| validator.write_cast_value(column, raw, out),
                )
            };
            let len = out.len() - start + growth;
            // A batch of this row alone adds its brackets.
            if len as u64 + 2 > options.max_batch_bytes {
                bail!(
                    "line {line}: this row alone is {len} bytes of JSON, more than --max-body-size allows"
                );
            }
            Ok(len)
        };
        match buffers.iter().filter(|b| b.kind.takes(valid)).count() {
            0 => {}
            1 => {
                // One event takes the row (the usual case): its JSON goes straight into the
                // batch, without a copy.
                let buffer = buffers
                    .iter_mut()
                    .find(|b| b.kind.takes(valid))
                    .expect("one taker");
                let (before, json_before) = (buffer.data.len(), buffer.json_len);
                buffer.open_row(row.index);
                let len = write(&mut buffer.data, buffer.last_numbers)?;
                buffer.json_len += len;
                let max = options.max_batch_bytes as usize;
                if buffer.json_len < max || buffer.rows_in_batch == 0 {
                    buffer.close_row(numbers);
                } else {
                    // No room left for the closing `]`: the row starts the next batch, written
                    // again there with its numbers in full.
                    buffer.data.truncate(before);
                    buffer.json_len = json_before;
                    buffer.flush_marked(reading.read_so_far(), store, &mut stager)?;
                    buffer.open_row(row.index);
                    let len = write(&mut buffer.data, None)?;
                    buffer.json_len += len;
                    buffer.close_row(numbers);
                }
                if buffer.rows_in_batch >= options.batch_size {
                    buffer.flush_marked(reading.read_so_far(), store, &mut stager)?;
                }
            }
            _ => {
                // Written once for all the events that take it, its numbers following the
                // row before only if that row is the same in all of them.
                let mut lasts = buffers
                    .iter()
                    .filter(|b| b.kind.takes(valid))
                    .map(|b| b.last_numbers);
                let first = lasts.next().flatten();
                let previous = first.filter(|_| lasts.all(|last| last == first));
                row_json.clear();
                let len = write(&mut row_json, previous)?;
                for buffer in buffers.iter_mut().filter(|b| b.kind.takes(valid)) {
                    if buffer.json_len + len + 2 > options.max_batch_bytes as usize {
                        buffer.flush_marked(reading.read_so_far(), store, &mut stager)?;
                    }
                    if previous.is_none() || buffer.last_numbers == previous {
                        buffer.push(&row_json, len - row_json.len(), row.index, numbers);
                    } else {
                        // The batch started over: the row is written again, numbers in full.
                        buffer.open_row(row.index);
                        let len = write(&mut buffer.data, None)?;
                        buffer.json_len += len;
                        buffer.close_row(numbers);
                    }
                    if buffer.rows_in_batch >= options.batch_size {
                        buffer.flush_marked(reading.read_so_far(), store, &mut stager)?;
                    }
                }
            }
        }
        on_row(counts.total)?;
    }
    // The whole input is read: later batches record all of it as staged.
    stager.source_mark = Some(rows.read_so_far());
    if let Some(mirror) = mirror {
        // Keys delivered before and absent now: one delete row each, carrying the key fields.
        mirror.for_each_vanished(store, |store, key_json| {
            counts.deleted += 1;
            row_json.clear();
            row_json.extend_from_slice(&key_json.as_bytes()[..key_json.len() - 1]);
            if key_json.len() > 2 {
                row_json.push(b',');
            }
            row_json.extend_from_slice(
                br#""__index":null,"__row":null,"__op":"delete","__valid":true,"__errors":[]}"#,
            );
            for buffer in buffers.iter_mut().filter(|b| b.kind.takes(true)) {
                if buffer.json_len + row_json.len() + 2 > options.max_batch_bytes as usize {
                    buffer.flush(store, &mut stager)?;
                }
                // Written out in full, without tokens.
                buffer.push(&row_json, 0, 0, None);
                if buffer.rows_in_batch >= options.batch_size {
                    buffer.flush(store, &mut stager)?;
                }
            }
            Ok(())
        })?;
    }
    for buffer in &mut buffers {
        buffer.flush(store, &mut stager)?;
    }
    // Every batch is stored before the run can be marked staged.
    stager.finish()?;
    counts.blank = rows.blank_rows();
    Ok(Staged {
        events: buffers
            .into_iter()
            .map(|b| EventRecord {
                id: b.id,
                name: b.kind.name().to_string(),
                total_rows: b.total_rows,
                batch_count: b.batches,
            })
            .collect(),
        counts,
        source_hash: rows.content_hash(),
        first_invalid,
    })
}
