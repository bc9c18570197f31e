//! The staging pass: read every row once, judge it, write it into the batch buffer of each event
//! it belongs to, and store full batches in the outbox. Memory holds one batch per event.

use anyhow::Result;

use crate::csv_source::CsvSource;
use crate::event::EventKind;
use crate::payload::{RowPosition, RowWriter};
use crate::store::{EventRecord, RowCounts, Stager, Store};

/// An event being filled.
struct EventBuffer {
    id: String,
    kind: EventKind,
    data: Vec<u8>,
    rows_in_batch: u64,
    first_row: u64,
    batches: u64,
    total_rows: u64,
}

impl EventBuffer {
    fn push(&mut self, row_json: &[u8], index: u64) {
        self.data
            .push(if self.rows_in_batch == 0 { b'[' } else { b',' });
        if self.rows_in_batch == 0 {
            self.first_row = index;
        }
        self.data.extend_from_slice(row_json);
        self.rows_in_batch += 1;
        self.total_rows += 1;
    }

    fn flush(&mut self, store: &mut Store, stager: &mut Stager) -> Result<()> {
        if self.rows_in_batch == 0 {
            return Ok(());
        }
        self.data.push(b']');
        self.batches += 1;
        stager.write_batch(
            store,
            &self.id,
            self.batches,
            self.rows_in_batch,
            self.first_row,
            &self.data,
        )?;
        self.data.clear();
        self.rows_in_batch = 0;
        Ok(())
    }
}

/// What staging produced.
pub struct Staged {
    pub events: Vec<EventRecord>,
    pub counts: RowCounts,
    pub source_hash: String,
}

/// A structural problem with a row, reported in `__errors` (frictionless error shape).
#[derive(Debug, Clone, serde::Serialize)]
pub struct RowError {
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(rename = "fieldName")]
    pub field_name: String,
    #[serde(rename = "fieldNumber")]
    pub field_number: usize,
    pub cell: String,
    pub message: String,
}

/// Stages every row of `source` into the events given (id, kind), in batches of `batch_size`.
/// `on_row` sees the row count after each row; its error (an interruption) stops staging, leaving
/// only whole batches behind.
pub fn stage(
    store: &mut Store,
    source: &mut CsvSource,
    events: &[(String, EventKind)],
    batch_size: u64,
    mut on_row: impl FnMut(u64) -> Result<()>,
) -> Result<Staged> {
    let writer = RowWriter::new(source.headers());
    let headers: Vec<String> = source.headers().to_vec();
    let mut stager = Stager::new()?;
    let mut buffers: Vec<EventBuffer> = events
        .iter()
        .map(|(id, kind)| EventBuffer {
            id: id.clone(),
            kind: *kind,
            data: Vec::new(),
            rows_in_batch: 0,
            first_row: 0,
            batches: 0,
            total_rows: 0,
        })
        .collect();
    let mut counts = RowCounts::default();
    let mut row_json = Vec::with_capacity(4096);
    let mut errors: Vec<RowError> = Vec::new();
    while let Some((line, record)) = source.next_record()? {
        counts.total += 1;
        let position = RowPosition {
            index: counts.total,
            line,
        };
        check_structure(&headers, record, &mut errors);
        let valid = errors.is_empty();
        if valid {
            counts.valid += 1;
        } else {
            counts.invalid += 1;
        }
        row_json.clear();
        writer.write_row(
            &mut row_json,
            record.iter(),
            position,
            &errors,
            |_, cell, out| crate::json_out::write_json_string(out, cell),
        );
        for buffer in buffers.iter_mut().filter(|b| b.kind.takes(valid)) {
            buffer.push(&row_json, position.index);
            if buffer.rows_in_batch >= batch_size {
                stager.source_mark = Some(source.read_so_far());
                buffer.flush(store, &mut stager)?;
            }
        }
        on_row(counts.total)?;
    }
    stager.source_mark = Some(source.read_so_far());
    for buffer in &mut buffers {
        buffer.flush(store, &mut stager)?;
    }
    counts.blank = source.blank_rows();
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
        source_hash: source.content_hash(),
    })
}

/// Ragged rows: cells missing at the end or beyond the header.
fn check_structure(headers: &[String], record: &csv::StringRecord, errors: &mut Vec<RowError>) {
    errors.clear();
    for (i, name) in headers.iter().enumerate().skip(record.len()) {
        errors.push(RowError {
            kind: "missing-cell",
            field_name: name.clone(),
            field_number: i + 1,
            cell: String::new(),
            message: format!("{name}: missing cell in column {}", i + 1),
        });
    }
    for (i, cell) in record.iter().enumerate().skip(headers.len()) {
        errors.push(RowError {
            kind: "extra-cell",
            field_name: String::new(),
            field_number: i + 1,
            cell: cell.to_string(),
            message: format!(
                "extra cell in column {} (the header has {})",
                i + 1,
                headers.len()
            ),
        });
    }
}
