//! Reading CSV records from a byte stream, as `csv::Reader` does, but faster on the common line:
//! one that holds no quote and no carriage return is split at its delimiters directly, which is
//! what the byte-at-a-time parser (`csv_core`) would make of it. Every other line goes through
//! that parser, so quoting, CR and CRLF endings and records across reads stay exactly its own.
//!
//! A record larger than the limit (`--max-record-size`) is an error naming its line, refused
//! as soon as it passes the limit: a record is held once, in the parser's output, and never
//! grows much past the limit.

use std::io::{self, Read};

use crate::read::raw_record::{RawRecord, KEEP_RECORD_BYTES};

/// The parser's first output buffer. It is kept up to `KEEP_RECORD_BYTES`; a record larger
/// than that takes the buffer whole rather than a copy of it.
const OUTPUT_BYTES: usize = 1024;

/// A record larger than the limit: the line (1-based, in what the reader read) where it starts.
#[derive(Debug)]
pub struct RecordTooLarge {
    pub line: u64,
    /// The limit, in bytes.
    pub limit: u64,
    /// Where a quoted field still open opened, if one is: the likelier reason for a huge record.
    pub open_quote: Option<u64>,
}

impl std::fmt::Display for RecordTooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {}: record larger than {} bytes",
            self.line, self.limit
        )
    }
}

impl std::error::Error for RecordTooLarge {}

/// Records of a stream, with the byte offset each read starts at.
pub struct RecordReader<R> {
    inner: R,
    /// Boxed: its transition table is large, and readers are moved around.
    core: Box<csv_core::Reader>,
    delimiter: u8,
    quote: u8,
    buf: Box<[u8]>,
    /// Unread bytes are `buf[pos..end]`.
    pos: usize,
    end: usize,
    /// Bytes consumed from the stream.
    offset: u64,
    /// Whether the parser stands at the start of a record with nothing pending: after a line
    /// break (`\n`) ended a record. After a CR it may still swallow an LF, so lines go through
    /// it until one ends with `\n` again. The first record is always its own: it strips a
    /// UTF-8 byte order mark at the start of the stream.
    at_line_start: bool,
    finished: bool,
    /// The parser's output for the record being read: field bytes and field ends.
    fields: Vec<u8>,
    ends: Vec<usize>,
    /// Offsets of the delimiters in the line the shortcut is taking.
    cuts: Vec<usize>,
    /// Line breaks (LF, CR, and a CRLF once) in the bytes consumed so far.
    breaks: u64,
    /// Whether the last byte consumed was a CR: an LF right after it ends no other line.
    after_cr: bool,
    /// The line (1-based) where the last record read starts, past the empty lines skipped.
    record_line: u64,
    /// Quotes in the record the parser is reading, to tell a quoted field left open at the end.
    quotes: QuoteTracker,
    /// The largest record accepted, in bytes: from its first byte to the line break that ends
    /// it, that line break excluded.
    max_record_bytes: u64,
    /// `max_record_bytes` as the shortcut compares a line's length with it.
    max_line: usize,
}

impl<R: Read> RecordReader<R> {
    /// A reader with a buffer of `capacity` bytes (the most it reads ahead).
    pub fn new(inner: R, delimiter: u8, capacity: usize) -> RecordReader<R> {
        // The defaults are csv::Reader's: `"` quotes and doubles, CR, LF and CRLF end records.
        let core = Box::new(csv_core::ReaderBuilder::new().delimiter(delimiter).build());
        RecordReader {
            inner,
            core,
            delimiter,
            quote: b'"',
            buf: vec![0; capacity.max(1)].into_boxed_slice(),
            pos: 0,
            end: 0,
            offset: 0,
            at_line_start: false,
            finished: false,
            fields: vec![0; OUTPUT_BYTES],
            ends: vec![0; 64],
            cuts: Vec::with_capacity(64),
            breaks: 0,
            after_cr: false,
            record_line: 1,
            quotes: QuoteTracker::new(delimiter, b'"'),
            max_record_bytes: u64::MAX,
            max_line: usize::MAX,
        }
    }

    /// Reads a quote after `escape` inside a quoted field as a literal quote (`"a \"b\""`, as
    /// MySQL writes), besides doubled quotes. Outside quotes the byte is plain, as in csv_core,
    /// so lines without a quote still take the shortcut.
    pub fn with_escape(mut self, escape: Option<u8>) -> RecordReader<R> {
        self.core = Box::new(
            csv_core::ReaderBuilder::new()
                .delimiter(self.delimiter)
                .escape(escape)
                .build(),
        );
        self.quotes.escape = escape;
        self
    }

    /// Refuses records larger than `max_bytes` (see `RecordTooLarge`).
    pub fn with_max_record_bytes(mut self, max_bytes: u64) -> RecordReader<R> {
        self.max_record_bytes = max_bytes;
        self.max_line = usize::try_from(max_bytes).unwrap_or(usize::MAX);
        self
    }

    /// The line (1-based) where the last record read starts.
    pub fn record_line(&self) -> u64 {
        self.record_line
    }

    /// Line breaks read so far: the line after the last record read starts at this plus one.
    pub fn line_breaks_read(&self) -> u64 {
        self.breaks
    }

    /// Bytes consumed so far: where the next read starts.
    #[cfg(test)]
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Reads the next record into `record` (its position is where this read started, before
    /// any empty lines it skipped); false at the end of the input. Empty lines are skipped.
    pub fn read_record(&mut self, record: &mut RawRecord) -> io::Result<bool> {
        record.clear();
        record.set_start(self.offset);
        if self.finished {
            return Ok(false);
        }
        loop {
            if !self.at_line_start {
                return self.read_parsed(record);
            }
            if self.read_plain_line(record) {
                return Ok(true);
            }
            // Not a line the shortcut can take, or one not wholly read yet: the parser's. An
            // empty buffer is refilled first, to try the shortcut on what comes next.
            if self.pos < self.end || !self.fill()? {
                return self.read_parsed(record);
            }
        }
    }

    /// Takes the next line when it is wholly in the buffer and holds no quote and no CR;
    /// skips empty lines on the way. False when the shortcut does not apply (a line over the
    /// limit is left to the parser, which refuses it).
    fn read_plain_line(&mut self, record: &mut RawRecord) -> bool {
        loop {
            let rest = &self.buf[self.pos..self.end];
            let Some(len) = plain_line(rest, self.delimiter, self.quote, &mut self.cuts) else {
                return false;
            };
            if len > self.max_line {
                return false;
            }
            let start = self.pos;
            let line = self.breaks + 1;
            self.consume(len + 1);
            // Its LF; the line holds no CR, and the byte before it was an LF.
            self.breaks += 1;
            if len == 0 {
                continue;
            }
            self.record_line = line;
            record.push_line(&self.buf[start..start + len], &self.cuts);
            return true;
        }
    }

    /// Reads one record through the parser, as `csv::Reader::read_byte_record` does.
    fn read_parsed(&mut self, record: &mut RawRecord) -> io::Result<bool> {
        use csv_core::ReadRecordResult::*;
        let (mut out_len, mut ends_len) = (0, 0);
        let mut started = false;
        // The record's bytes consumed so far, from its first (past the empty lines before it).
        let mut record_bytes: u64 = 0;
        self.quotes.start_record();
        loop {
            if self.pos == self.end {
                self.fill()?;
            }
            let input = &self.buf[self.pos..self.end];
            let at_end = input.is_empty();
            let (result, read, written, ended) = self.core.read_record(
                input,
                &mut self.fields[out_len..],
                &mut self.ends[ends_len..],
            );
            let consumed = &input[..read];
            self.quotes.scan(consumed, self.breaks, self.after_cr);
            let last = consumed.last().copied();
            let (breaks, first) = count_lines(consumed, self.after_cr, started);
            match first {
                Some((at, leading)) => {
                    self.record_line = self.breaks + at + 1;
                    started = true;
                    record_bytes = (read - leading) as u64;
                }
                None if started => record_bytes += read as u64,
                None => {}
            }
            // The parser hands a record over with the line break that ends it consumed.
            let line_break = result == Record && matches!(last, Some(b'\n' | b'\r'));
            if record_bytes - u64::from(line_break) > self.max_record_bytes {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    RecordTooLarge {
                        line: self.record_line,
                        limit: self.max_record_bytes,
                        open_quote: self.quotes.open_since(),
                    },
                ));
            }
            self.breaks += breaks;
            if let Some(last) = last {
                self.after_cr = last == b'\r';
            }
            self.consume(read);
            out_len += written;
            ends_len += ended;
            match result {
                InputEmpty => continue,
                OutputFull => {
                    // Doubled while small, then by an eighth: a buffer is zeroed as it grows,
                    // so a large record takes little more memory than its own bytes. Never past
                    // what a record within the limit can need, with one more read of input.
                    let len = self.fields.len();
                    let step = if len < KEEP_RECORD_BYTES {
                        len
                    } else {
                        len / 8
                    };
                    let most = (self.max_record_bytes as usize).saturating_add(self.buf.len());
                    let grown = (len + step).min(most).max(len + 1);
                    // Exactly: `resize` alone would double the capacity.
                    self.fields.reserve_exact(grown - len);
                    self.fields.resize(grown, 0);
                }
                OutputEndsFull => {
                    let grown = self.ends.len() * 2;
                    self.ends.resize(grown, 0);
                }
                Record => {
                    if let (true, Some(line)) = (at_end, self.quotes.open_since()) {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            UnclosedQuote { line },
                        ));
                    }
                    self.at_line_start = last == Some(b'\n');
                    if self.fields.len() > KEEP_RECORD_BYTES {
                        // A large record takes the buffer (held once, not copied), and does not
                        // keep its memory for the rest of the file.
                        let mut fields = std::mem::replace(&mut self.fields, vec![0; OUTPUT_BYTES]);
                        fields.truncate(out_len);
                        record.take_fields(fields, &self.ends[..ends_len]);
                    } else {
                        record.push_fields(&self.fields[..out_len], &self.ends[..ends_len]);
                    }
                    return Ok(true);
                }
                End => {
                    self.finished = true;
                    return Ok(false);
                }
            }
        }
    }

    fn consume(&mut self, n: usize) {
        self.pos += n;
        self.offset += n as u64;
    }

    /// Refills the empty buffer; false at the end of the input (the buffer stays empty).
    fn fill(&mut self) -> io::Result<bool> {
        debug_assert_eq!(self.pos, self.end);
        let n = loop {
            match self.inner.read(&mut self.buf) {
                Ok(n) => break n,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(err),
            }
        };
        self.pos = 0;
        self.end = n;
        Ok(n > 0)
    }
}

/// A quoted field still open when the input ended: a file cut short, most likely.
#[derive(Debug)]
pub struct UnclosedQuote {
    /// The line where the quote opened.
    pub line: u64,
}

impl std::fmt::Display for UnclosedQuote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {}: a quoted field opens here and is never closed (is the file cut short?)",
            self.line
        )
    }
}

impl std::error::Error for UnclosedQuote {}

/// Where a quote stands in the record being parsed, as the parser sees it (csv_core does not
/// say): the states of RFC 4180 quoting with doubled quotes, which are csv_core's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum QuoteState {
    FieldStart,
    InField,
    Quoted,
    /// A quote inside a quoted field: it closes the field, or doubles into a literal quote.
    QuoteInQuoted,
    /// The escape byte inside a quoted field: the next byte is literal.
    Escaped,
}

/// Follows the quotes of one record through the bytes the parser consumed, skipping to the
/// bytes that matter with `memchr`.
#[derive(Debug)]
struct QuoteTracker {
    state: QuoteState,
    delimiter: u8,
    quote: u8,
    /// `--escape`: the byte that makes the next one literal inside a quoted field.
    escape: Option<u8>,
    /// The line where the open quoted field began.
    opened_line: u64,
}

impl QuoteTracker {
    fn new(delimiter: u8, quote: u8) -> QuoteTracker {
        QuoteTracker {
            state: QuoteState::FieldStart,
            delimiter,
            quote,
            escape: None,
            opened_line: 0,
        }
    }

    fn start_record(&mut self) {
        self.state = QuoteState::FieldStart;
    }

    /// The line a quoted field left open began on, if one is open.
    fn open_since(&self) -> Option<u64> {
        matches!(self.state, QuoteState::Quoted | QuoteState::Escaped).then_some(self.opened_line)
    }

    /// Follows `bytes`, which come after `breaks` line breaks (`after_cr`: after a CR).
    fn scan(&mut self, bytes: &[u8], breaks: u64, after_cr: bool) {
        let mut i = 0;
        // Line breaks in `bytes[..counted_to]`, counted as far as a quote opened (once each).
        let (mut counted_to, mut counted): (usize, u64) = (0, breaks);
        while i < bytes.len() {
            let b = match self.state {
                QuoteState::Quoted => {
                    let found = match self.escape {
                        Some(escape) => memchr::memchr2(self.quote, escape, &bytes[i..]),
                        None => memchr::memchr(self.quote, &bytes[i..]),
                    };
                    match found {
                        Some(at) => {
                            self.state = if bytes[i + at] == self.quote {
                                QuoteState::QuoteInQuoted
                            } else {
                                QuoteState::Escaped
                            };
                            i += at + 1;
                            continue;
                        }
                        None => return,
                    }
                }
                QuoteState::Escaped => {
                    i += 1;
                    self.state = QuoteState::Quoted;
                    continue;
                }
                QuoteState::InField => {
                    match memchr::memchr3(self.delimiter, b'\n', b'\r', &bytes[i..]) {
                        Some(at) => {
                            i += at + 1;
                            self.state = QuoteState::FieldStart;
                            continue;
                        }
                        None => return,
                    }
                }
                QuoteState::FieldStart | QuoteState::QuoteInQuoted => bytes[i],
            };
            self.state = match (self.state, b) {
                (QuoteState::QuoteInQuoted, q) if q == self.quote => QuoteState::Quoted,
                (QuoteState::FieldStart, q) if q == self.quote => {
                    let cr_before = counted_to
                        .checked_sub(1)
                        .map_or(after_cr, |j| bytes[j] == b'\r');
                    counted += line_breaks(&bytes[counted_to..i], cr_before);
                    counted_to = i;
                    self.opened_line = counted + 1;
                    QuoteState::Quoted
                }
                (_, d) if d == self.delimiter || d == b'\n' || d == b'\r' => QuoteState::FieldStart,
                _ => QuoteState::InField,
            };
            i += 1;
        }
    }
}

/// The length of the first line of `rest` (up to its `\n`) when it holds no `quote` and no CR,
/// with the offsets of its delimiters in `cuts`. None when `rest` holds no `\n`, or the line
/// holds a quote or CR: a line for the parser.
#[cfg(target_arch = "x86_64")]
fn plain_line(rest: &[u8], delimiter: u8, quote: u8, cuts: &mut Vec<usize>) -> Option<usize> {
    use std::arch::x86_64::*;
    cuts.clear();
    let mut at = 0;
    // One pass, 16 bytes at a time, for all four bytes that matter (separate `memchr` scans
    // for the line end, quotes and delimiters read each line three times).
    // SAFETY: SSE2 is part of every x86_64 CPU; each load reads 16 bytes within `rest`.
    unsafe {
        let (newline, cr) = (_mm_set1_epi8(b'\n' as i8), _mm_set1_epi8(b'\r' as i8));
        let (quotes, delimiters) = (_mm_set1_epi8(quote as i8), _mm_set1_epi8(delimiter as i8));
        while at + 16 <= rest.len() {
            let bytes = _mm_loadu_si128(rest.as_ptr().add(at).cast());
            let ends = _mm_movemask_epi8(_mm_cmpeq_epi8(bytes, newline)) as u32;
            let stops = _mm_movemask_epi8(_mm_or_si128(
                _mm_cmpeq_epi8(bytes, quotes),
                _mm_cmpeq_epi8(bytes, cr),
            )) as u32;
            let mut found = _mm_movemask_epi8(_mm_cmpeq_epi8(bytes, delimiters)) as u32;
            // The bytes before the line end, if it is in these 16.
            let before = if ends == 0 {
                0xFFFF
            } else {
                (1 << ends.trailing_zeros()) - 1
            };
            if stops & before != 0 {
                return None;
            }
            found &= before;
            while found != 0 {
                cuts.push(at + found.trailing_zeros() as usize);
                found &= found - 1;
            }
            if ends != 0 {
                return Some(at + ends.trailing_zeros() as usize);
            }
            at += 16;
        }
    }
    plain_line_from(rest, at, delimiter, quote, cuts)
}

#[cfg(not(target_arch = "x86_64"))]
fn plain_line(rest: &[u8], delimiter: u8, quote: u8, cuts: &mut Vec<usize>) -> Option<usize> {
    cuts.clear();
    plain_line_from(rest, 0, delimiter, quote, cuts)
}

/// `plain_line` from `rest[at..]` on, a byte at a time; `cuts` holds the delimiters before it.
fn plain_line_from(
    rest: &[u8],
    at: usize,
    delimiter: u8,
    quote: u8,
    cuts: &mut Vec<usize>,
) -> Option<usize> {
    for (i, &byte) in rest.iter().enumerate().skip(at) {
        if byte == b'\n' {
            return Some(i);
        }
        if byte == b'\r' || byte == quote {
            return None;
        }
        if byte == delimiter {
            cuts.push(i);
        }
    }
    None
}

/// Line breaks in `bytes` (LF, CR, and a CRLF once; `after_cr` when the byte before them was
/// a CR), and, unless `started`, how many of them come before the first byte that is none (where
/// a record starts: the parser skips empty lines), if there is one, with that byte's offset.
fn count_lines(bytes: &[u8], after_cr: bool, started: bool) -> (u64, Option<(u64, usize)>) {
    let leading = if started {
        0
    } else {
        bytes
            .iter()
            .position(|&b| b != b'\n' && b != b'\r')
            .unwrap_or(bytes.len())
    };
    let before = line_breaks(&bytes[..leading], after_cr);
    let first = (leading < bytes.len() && !started).then_some((before, leading));
    let cr_before_rest = match leading {
        0 => after_cr,
        n => bytes[n - 1] == b'\r',
    };
    (
        before + line_breaks(&bytes[leading..], cr_before_rest),
        first,
    )
}

/// Line breaks in `bytes`: LF, CR (old Mac files; the parser ends records there too) and CRLF,
/// which counts once; `after_cr` when the byte before them was a CR.
pub fn line_breaks(bytes: &[u8], after_cr: bool) -> u64 {
    memchr::memchr2_iter(b'\n', b'\r', bytes)
        .filter(|&i| {
            let cr_before = if i == 0 {
                after_cr
            } else {
                bytes[i - 1] == b'\r'
            };
            bytes[i] == b'\r' || !cr_before
        })
        .count() as u64
}

/// The error that stopped the reader of `label`, naming the line in the file (the reader
/// counts from where it started: `line_offset` lines were skipped before the header).
pub fn read_error(err: io::Error, label: &str, line_offset: u64) -> anyhow::Error {
    let inner = err.get_ref();
    if let Some(large) = inner.and_then(|e| e.downcast_ref::<RecordTooLarge>()) {
        let line = large.line + line_offset;
        let why = match large.open_quote {
            Some(quote) => format!(
                "a quoted field opens on line {} and is still open; is a closing quote missing? If the file is right, raise the limit",
                quote + line_offset
            ),
            None => "raise the limit if the file is right".into(),
        };
        return anyhow::anyhow!(
            "{label}: line {line}: a record is larger than --max-record-size ({} bytes); {why}",
            large.limit
        );
    }
    if let Some(unclosed) = inner.and_then(|e| e.downcast_ref::<UnclosedQuote>()) {
        return anyhow::anyhow!(
            "{label}: line {}: a quoted field opens here and is never closed (is the file cut short?)",
            unclosed.line + line_offset
        );
    }
    anyhow::Error::new(err).context(format!("{label}: cannot read CSV"))
}

#[cfg(test)]
mod tests;
