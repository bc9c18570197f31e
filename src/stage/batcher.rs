//! One event's batches as they fill: the buffer of the batch being filled, its JSON size, and
//! the `__index`/`__row` numbers of its last row, which the next row's numbers may follow (see
//! `payload::RowPosition`). Every row goes in through a method here, so the numbers are kept in
//! step with the buffer on every path, and a full batch goes to the outbox.

use anyhow::Result;

use super::event::EventKind;
use crate::read::source::SourcePosition;
use crate::store::{Stager, Store};

/// A row's `__index` and `__row` (its line).
pub(super) type RowNumbers = (u64, u64);

/// Writes one row's JSON into `out`, its numbers following `previous` if given; returns the
/// row's JSON size once its tokens are expanded.
pub(super) type WriteRow<'w> = dyn Fn(&mut Vec<u8>, Option<RowNumbers>) -> Result<usize> + 'w;

/// Where full batches go: the stager, and while rows are still being read, how far reading has
/// come (each batch records it, so that a resumed run knows what was staged).
pub(super) struct Outbox {
    pub stager: Stager,
    pub reading: Option<SourcePosition>,
}

/// Limits of a batch.
#[derive(Clone, Copy)]
pub(super) struct BatchLimits {
    pub rows: u64,
    /// A batch's rows stop growing before their JSON passes this many bytes.
    pub json_bytes: usize,
}

/// The batches of one event.
pub(super) struct Batcher {
    pub id: String,
    pub kind: EventKind,
    limits: BatchLimits,
    /// The batch's rows as written, keys as tokens (see `payload::TokenTable`).
    data: Vec<u8>,
    /// The JSON size of `data`, its tokens expanded: what batch limits and the log count.
    json_len: usize,
    rows_in_batch: u64,
    /// The numbers of the batch's last row, if it has them.
    last_numbers: Option<RowNumbers>,
    first_row: u64,
    pub batches: u64,
    pub total_rows: u64,
}

impl Batcher {
    pub fn new(id: String, kind: EventKind, limits: BatchLimits) -> Batcher {
        Batcher {
            id,
            kind,
            limits,
            data: Vec::new(),
            json_len: 0,
            rows_in_batch: 0,
            last_numbers: None,
            first_row: 0,
            batches: 0,
            total_rows: 0,
        }
    }

    /// Whether this event takes a row of that validity.
    pub fn takes(&self, valid: bool) -> bool {
        self.kind.takes(valid)
    }

    /// The numbers of the batch's last row, which a row written for several events follows.
    pub fn last_numbers(&self) -> Option<RowNumbers> {
        self.last_numbers
    }

    /// Adds a row written straight into the batch, without a copy (the usual case: one event
    /// takes the row). A row that leaves no room for the closing `]` starts the next batch,
    /// written again there with its numbers in full.
    pub fn write_row(
        &mut self,
        numbers: RowNumbers,
        write: &WriteRow,
        store: &mut Store,
        outbox: &mut Outbox,
    ) -> Result<()> {
        let (before, json_before) = (self.data.len(), self.json_len);
        self.open_row(numbers.0);
        self.json_len += write(&mut self.data, self.last_numbers)?;
        if self.json_len >= self.limits.json_bytes && self.rows_in_batch > 0 {
            self.data.truncate(before);
            self.json_len = json_before;
            self.flush(store, outbox)?;
            self.open_row(numbers.0);
            self.json_len += write(&mut self.data, None)?;
        }
        self.close_row(Some(numbers));
        self.flush_if_full(store, outbox)
    }

    /// Adds a row written once for several events (`row_json`, `json_len` bytes expanded), its
    /// numbers following `previous`; where this batch's last row is another, the row is
    /// written again with its numbers in full.
    #[allow(clippy::too_many_arguments)]
    pub fn copy_row(
        &mut self,
        row_json: &[u8],
        json_len: usize,
        previous: Option<RowNumbers>,
        numbers: RowNumbers,
        write: &WriteRow,
        store: &mut Store,
        outbox: &mut Outbox,
    ) -> Result<()> {
        if self.json_len + json_len + 2 > self.limits.json_bytes {
            self.flush(store, outbox)?;
        }
        self.open_row(numbers.0);
        if previous.is_none() || self.last_numbers == previous {
            self.data.extend_from_slice(row_json);
            self.json_len += json_len;
        } else {
            self.json_len += write(&mut self.data, None)?;
        }
        self.close_row(Some(numbers));
        self.flush_if_full(store, outbox)
    }

    /// Adds a row without numbers or tokens (a mirror delete).
    pub fn add_plain_row(
        &mut self,
        row_json: &[u8],
        store: &mut Store,
        outbox: &mut Outbox,
    ) -> Result<()> {
        if self.json_len + row_json.len() + 2 > self.limits.json_bytes {
            self.flush(store, outbox)?;
        }
        self.open_row(0);
        self.data.extend_from_slice(row_json);
        self.json_len += row_json.len();
        self.close_row(None);
        self.flush_if_full(store, outbox)
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

    fn close_row(&mut self, numbers: Option<RowNumbers>) {
        self.last_numbers = numbers;
        self.rows_in_batch += 1;
        self.total_rows += 1;
    }

    fn flush_if_full(&mut self, store: &mut Store, outbox: &mut Outbox) -> Result<()> {
        if self.rows_in_batch >= self.limits.rows {
            self.flush(store, outbox)?;
        }
        Ok(())
    }

    /// Closes the batch being filled, if it has rows, and hands it to the outbox.
    pub fn flush(&mut self, store: &mut Store, outbox: &mut Outbox) -> Result<()> {
        if self.rows_in_batch == 0 {
            return Ok(());
        }
        self.data.push(b']');
        self.json_len += 1;
        self.batches += 1;
        if let Some(reading) = &outbox.reading {
            outbox.stager.source_mark = Some(reading.read_so_far());
        }
        outbox.stager.write_batch(
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
