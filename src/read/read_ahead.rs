//! Reading ahead: the CSV source parses and decodes on a thread of its own, a chunk of records
//! at a time, so that checking rows on the caller's thread overlaps with parsing (the two
//! halves cost about the same, so validation runs on two cores instead of one).
//!
//! Order and errors are kept: records arrive in file order, and a read error arrives after the
//! records before it, where reading without this thread would have raised it.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use anyhow::{anyhow, Result};

use crate::read::source::{SourcePosition, TableSource};
use crate::read::text_record::TextRecord;

/// A chunk ends after this many records or this many bytes of cells, whichever comes first;
/// with the channel's one queued chunk, at most three chunks exist at a time.
const CHUNK_RECORDS: usize = 512;
const CHUNK_BYTES: usize = 512 * 1024;
/// A recycled record whose buffer grew past this is dropped, so that one huge record does not
/// keep its memory for the rest of the file.
const KEEP_RECORD_BYTES: usize = 64 * 1024;

/// Records read ahead by another thread.
pub struct ReadAhead {
    headers: Vec<String>,
    position: SourcePosition,
    chunks: Receiver<Chunk>,
    recycle: SyncSender<Chunk>,
    current: Chunk,
    /// Index in `current` of the record `advance` moved to, and of the one after it.
    at: usize,
    next: usize,
    blank_rows: u64,
    finished: bool,
}

#[derive(Default)]
struct Chunk {
    records: Vec<TextRecord>,
    lines: Vec<u64>,
    /// Records in use (`records` keeps more, for reuse).
    len: usize,
    /// Blank rows the source skipped while reading this chunk.
    blank_rows: u64,
    /// Set on the last chunk: the end of the input, or the error that stopped reading.
    end: Option<Result<()>>,
}

impl ReadAhead {
    /// Starts reading `source` (its header already read) on its own thread.
    pub fn start(mut source: TableSource) -> Result<ReadAhead> {
        let headers = source.headers().to_vec();
        let position = source.position();
        let (send, chunks) = sync_channel::<Chunk>(1);
        let (recycle, recycled) = sync_channel::<Chunk>(3);
        std::thread::Builder::new()
            .name("pulse-csv".into())
            .spawn(move || loop {
                let mut chunk = recycled.try_recv().unwrap_or_default();
                fill(&mut source, &mut chunk);
                let last = chunk.end.is_some();
                // The reader is gone (an error or Ctrl-C upstream): stop reading.
                if send.send(chunk).is_err() || last {
                    return;
                }
            })
            .map_err(|err| anyhow!("cannot start the CSV reader thread: {err}"))?;
        Ok(ReadAhead {
            headers,
            position,
            chunks,
            recycle,
            current: Chunk::default(),
            at: 0,
            next: 0,
            blank_rows: 0,
            finished: false,
        })
    }

    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    /// Where the reading thread is in the input (it may be ahead of the rows handed out).
    pub fn position(&self) -> &SourcePosition {
        &self.position
    }

    /// Blank rows skipped in the chunks handed out so far.
    pub fn blank_rows(&self) -> u64 {
        self.blank_rows
    }

    /// Moves to the next record (see `record`) and returns the line it starts on, or None at
    /// the end; a read error comes once the records before it were handed out.
    pub fn advance(&mut self) -> Result<Option<u64>> {
        loop {
            if self.next < self.current.len {
                self.at = self.next;
                self.next += 1;
                return Ok(Some(self.current.lines[self.at]));
            }
            if let Some(end) = self.current.end.take() {
                self.finished = true;
                end?;
            }
            if self.finished {
                return Ok(None);
            }
            let chunk = self
                .chunks
                .recv()
                .map_err(|_| anyhow!("the CSV reader thread stopped unexpectedly"))?;
            let done = std::mem::replace(&mut self.current, chunk);
            // Best effort: with the recycle queue full, the reader makes a fresh chunk.
            let _ = self.recycle.try_send(done);
            self.blank_rows += self.current.blank_rows;
            self.next = 0;
        }
    }

    /// The record `advance` moved to.
    pub fn record(&self) -> &TextRecord {
        &self.current.records[self.at]
    }
}

/// Reads records into `chunk` until it is full, or the input ends or fails.
fn fill(source: &mut TableSource, chunk: &mut Chunk) {
    chunk.len = 0;
    chunk.end = None;
    chunk.lines.clear();
    let blank_before = source.blank_rows();
    let mut bytes = 0;
    while chunk.len < CHUNK_RECORDS && bytes < CHUNK_BYTES {
        match source.advance() {
            Ok(Some(line)) => {
                if chunk.records.len() == chunk.len {
                    chunk.records.push(TextRecord::new());
                }
                let slot = &mut chunk.records[chunk.len];
                if slot.as_bytes().len() > KEEP_RECORD_BYTES {
                    *slot = TextRecord::new();
                }
                source.swap_record(slot);
                bytes += slot.as_bytes().len();
                chunk.lines.push(line);
                chunk.len += 1;
            }
            Ok(None) => {
                chunk.end = Some(Ok(()));
                break;
            }
            Err(err) => {
                chunk.end = Some(Err(err));
                break;
            }
        }
    }
    chunk.blank_rows = source.blank_rows() - blank_before;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::source::{ByteCounter, CsvDialect};

    fn source(bytes: Vec<u8>) -> TableSource {
        TableSource::from_reader(
            Box::new(std::io::Cursor::new(bytes)),
            "t.csv".into(),
            &CsvDialect::default(),
            ByteCounter::default(),
        )
        .unwrap()
    }

    /// Every (line, first cell) pulled through `ReadAhead`, and the error that ended it.
    fn drain(ahead: &mut ReadAhead) -> (Vec<(u64, String)>, Option<String>) {
        let mut rows = Vec::new();
        loop {
            match ahead.advance() {
                Ok(Some(line)) => rows.push((line, ahead.record()[0].to_string())),
                Ok(None) => return (rows, None),
                Err(err) => return (rows, Some(err.to_string())),
            }
        }
    }

    #[test]
    fn records_come_in_order_across_chunks_with_their_lines_and_blank_rows() {
        let mut csv = String::from("n\n");
        let mut expected = Vec::new();
        let mut line = 2;
        for i in 0..(3 * CHUNK_RECORDS + 7) {
            if i % 100 == 0 {
                csv.push('\n'); // a blank line
                line += 1;
            }
            csv.push_str(&format!("{i}\n"));
            expected.push((line, i.to_string()));
            line += 1;
        }
        let mut ahead = ReadAhead::start(source(csv.clone().into_bytes())).unwrap();
        let (rows, error) = drain(&mut ahead);
        assert_eq!(error, None);
        assert_eq!(rows, expected);
        assert_eq!(
            ahead.blank_rows(),
            (3 * CHUNK_RECORDS as u64 + 7).div_ceil(100)
        );
        assert_eq!(ahead.position().read_so_far().0, csv.len() as u64);
        // The end stays the end.
        assert_eq!(ahead.advance().unwrap(), None);
    }

    #[test]
    fn a_read_error_comes_after_the_records_before_it() {
        let mut bytes = b"n\n".to_vec();
        for i in 0..(CHUNK_RECORDS + 3) {
            bytes.extend_from_slice(format!("{i}\n").as_bytes());
        }
        bytes.extend_from_slice(b"\xff\n");
        bytes.extend_from_slice(b"after\n");
        let mut ahead = ReadAhead::start(source(bytes)).unwrap();
        let (rows, error) = drain(&mut ahead);
        assert_eq!(rows.len(), CHUNK_RECORDS + 3);
        let error = error.expect("invalid UTF-8 stops reading");
        let bad_line = CHUNK_RECORDS as u64 + 5;
        assert!(error.contains(&format!("line {bad_line}")), "{error}");
        assert_eq!(ahead.advance().unwrap(), None, "nothing after the error");
    }

    #[test]
    fn big_records_end_chunks_early_and_are_not_kept_for_reuse() {
        let big = "x".repeat(CHUNK_BYTES);
        let mut csv = String::from("n\n");
        for i in 0..6 {
            csv.push_str(&format!("{i}{big}\n"));
        }
        let mut ahead = ReadAhead::start(source(csv.into_bytes())).unwrap();
        let (rows, error) = drain(&mut ahead);
        assert_eq!(error, None);
        assert_eq!(rows.len(), 6);
        assert!(rows
            .iter()
            .enumerate()
            .all(|(i, (_, cell))| cell.starts_with(&i.to_string())));
    }
}
