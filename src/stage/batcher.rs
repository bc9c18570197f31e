//! One event's batches as they fill: the buffer of the batch being filled, its JSON size, and
//! the `__index`/`__row` numbers of its last row, which the next row's numbers may follow (see
//! `payload::RowPosition`). Every row goes in through a method here, so the numbers are kept in
//! step with the buffer on every path, and a full batch goes to the outbox.

use anyhow::Result;

use super::event::EventKind;
use crate::read::SourcePosition;
use crate::store::{EventRecord, OutboxWriter, Store};

/// A row's `__index` and `__row` (its line).
pub(super) type RowNumbers = (u64, u64);

/// Writes one row's JSON into `out`, its numbers following `previous` if given; returns the
/// row's JSON size once its tokens are expanded.
pub(super) type WriteRow<'w> = dyn Fn(&mut Vec<u8>, Option<RowNumbers>) -> Result<usize> + 'w;

/// Where full batches go: the outbox writer, and while rows are still being read, how far reading has
/// come (each batch records it, so that a resumed run knows what was staged).
pub(super) struct BatchSink {
    pub outbox: OutboxWriter,
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
struct Batcher {
    id: String,
    kind: EventKind,
    limits: BatchLimits,
    /// The batch's rows as written, keys as tokens (see `payload::TokenTable`).
    data: Vec<u8>,
    /// The JSON size of `data`, its tokens expanded: what batch limits and the log count.
    json_len: usize,
    rows_in_batch: u64,
    /// The numbers of the batch's last row, if it has them.
    last_numbers: Option<RowNumbers>,
    first_row: u64,
    batches: u64,
    total_rows: u64,
}

impl Batcher {
    fn new(id: String, kind: EventKind, limits: BatchLimits) -> Batcher {
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
    fn takes(&self, valid: bool) -> bool {
        self.kind.takes(valid)
    }

    /// The numbers of the batch's last row, which a row written for several events follows.
    fn last_numbers(&self) -> Option<RowNumbers> {
        self.last_numbers
    }

    /// Adds a row written straight into the batch, without a copy (the usual case: one event
    /// takes the row). A row that leaves no room for the closing `]` starts the next batch,
    /// written again there with its numbers in full.
    fn write_row(
        &mut self,
        numbers: RowNumbers,
        write: &WriteRow,
        store: &mut Store,
        sink: &mut BatchSink,
    ) -> Result<()> {
        let (before, json_before) = (self.data.len(), self.json_len);
        self.open_row(numbers.0);
        self.json_len += write(&mut self.data, self.last_numbers)?;
        if self.json_len >= self.limits.json_bytes && self.rows_in_batch > 0 {
            self.data.truncate(before);
            self.json_len = json_before;
            self.flush(store, sink)?;
            self.open_row(numbers.0);
            self.json_len += write(&mut self.data, None)?;
        }
        self.close_row(Some(numbers));
        self.flush_if_full(store, sink)
    }

    /// Adds a row written once for several events (`row_json`, `json_len` bytes expanded), its
    /// numbers following `previous`; where this batch's last row is another, the row is
    /// written again with its numbers in full.
    #[allow(clippy::too_many_arguments)]
    fn copy_row(
        &mut self,
        row_json: &[u8],
        json_len: usize,
        previous: Option<RowNumbers>,
        numbers: RowNumbers,
        write: &WriteRow,
        store: &mut Store,
        sink: &mut BatchSink,
    ) -> Result<()> {
        if self.json_len + json_len + 2 > self.limits.json_bytes {
            self.flush(store, sink)?;
        }
        self.open_row(numbers.0);
        if previous.is_none() || self.last_numbers == previous {
            self.data.extend_from_slice(row_json);
            self.json_len += json_len;
        } else {
            self.json_len += write(&mut self.data, None)?;
        }
        self.close_row(Some(numbers));
        self.flush_if_full(store, sink)
    }

    /// Adds a row without numbers or tokens (a mirror delete).
    fn add_plain_row(
        &mut self,
        row_json: &[u8],
        store: &mut Store,
        sink: &mut BatchSink,
    ) -> Result<()> {
        if self.json_len + row_json.len() + 2 > self.limits.json_bytes {
            self.flush(store, sink)?;
        }
        self.open_row(0);
        self.data.extend_from_slice(row_json);
        self.json_len += row_json.len();
        self.close_row(None);
        self.flush_if_full(store, sink)
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

    fn flush_if_full(&mut self, store: &mut Store, sink: &mut BatchSink) -> Result<()> {
        if self.rows_in_batch >= self.limits.rows {
            self.flush(store, sink)?;
        }
        Ok(())
    }

    /// Closes the batch being filled, if it has rows, and hands it to the outbox.
    fn flush(&mut self, store: &mut Store, sink: &mut BatchSink) -> Result<()> {
        if self.rows_in_batch == 0 {
            return Ok(());
        }
        self.data.push(b']');
        self.json_len += 1;
        self.batches += 1;
        if let Some(reading) = &sink.reading {
            sink.outbox.source_mark = Some(reading.read_so_far());
        }
        sink.outbox.write_batch(
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

/// The batchers of a run's events, in delivery order.
pub(super) struct EventBatches {
    batchers: Vec<Batcher>,
    /// A row written once for several events.
    shared_row: Vec<u8>,
}

impl EventBatches {
    pub fn new(events: &[(String, EventKind)], limits: BatchLimits) -> EventBatches {
        EventBatches {
            batchers: events
                .iter()
                .map(|(id, kind)| Batcher::new(id.clone(), *kind, limits))
                .collect(),
            shared_row: Vec::with_capacity(4096),
        }
    }

    /// Adds a row to every event that takes a row of its validity.
    pub fn add_row(
        &mut self,
        valid: bool,
        numbers: RowNumbers,
        write: &WriteRow,
        store: &mut Store,
        sink: &mut BatchSink,
    ) -> Result<()> {
        match self.batchers.iter().filter(|b| b.takes(valid)).count() {
            0 => Ok(()),
            1 => match self.batchers.iter_mut().find(|b| b.takes(valid)) {
                Some(only) => only.write_row(numbers, write, store, sink),
                None => Ok(()),
            },
            _ => {
                // Written once for all the events that take it, its numbers following the
                // row before only if that row is the same in all of them.
                let mut lasts = self
                    .batchers
                    .iter()
                    .filter(|b| b.takes(valid))
                    .map(Batcher::last_numbers);
                let first = lasts.next().flatten();
                let previous = first.filter(|_| lasts.all(|last| last == first));
                self.shared_row.clear();
                let len = write(&mut self.shared_row, previous)?;
                for batcher in self.batchers.iter_mut().filter(|b| b.takes(valid)) {
                    batcher.copy_row(
                        &self.shared_row,
                        len,
                        previous,
                        numbers,
                        write,
                        store,
                        sink,
                    )?;
                }
                Ok(())
            }
        }
    }

    /// Adds a valid row without numbers or tokens (a mirror delete) to the events taking it.
    pub fn add_plain_row(
        &mut self,
        row_json: &[u8],
        store: &mut Store,
        sink: &mut BatchSink,
    ) -> Result<()> {
        for batcher in self.batchers.iter_mut().filter(|b| b.takes(true)) {
            batcher.add_plain_row(row_json, store, sink)?;
        }
        Ok(())
    }

    /// Hands every event's last batch to the outbox; returns the events as recorded.
    pub fn finish(mut self, store: &mut Store, sink: &mut BatchSink) -> Result<Vec<EventRecord>> {
        for batcher in &mut self.batchers {
            batcher.flush(store, sink)?;
        }
        Ok(self
            .batchers
            .into_iter()
            .map(|b| EventRecord {
                id: b.id,
                name: b.kind.name().to_string(),
                total_rows: b.total_rows,
                batch_count: b.batches,
            })
            .collect())
    }
}
