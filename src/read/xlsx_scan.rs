//! One pass over one XML part of an `.xlsx` workbook, before calamine parses it, in memory
//! that does not depend on the part: what calamine would hold at once is checked here first.
//!
//! calamine (through quick-xml) holds each XML token (a tag, a run of text) whole, and a cell's
//! or a shared string's value whole; it parses cell references into `u32` without a bound (they
//! wrap, or panic in a debug build). This scanner, a small tokenizer of its own that keeps no
//! more than one tag, refuses:
//! - a token longer than `Limits::token` (a run of text, a tag, a comment, a CDATA section);
//! - a cell (`<c>…</c>`) or a shared string (`<si>…</si>`) longer than `Limits::cell` bytes,
//!   markup included;
//! - a cell reference (`<c r>`) past Excel's last cell, XFD1048576, or not a reference; a row
//!   number (`<row r>`) past 1,048,576; a sheet dimension (`<dimension ref>`) that is neither;
//! - a shared-string table that announces more strings (`uniqueCount`, which calamine reserves
//!   room for) than it holds;
//! - a defined name, font, fill or border longer than `Limits::token`, and styles whose cell
//!   formats would copy more than `STYLE_BUDGET` bytes of fonts, fills, borders and number
//!   formats (calamine copies them into every cell format);
//! - XML whose end tags do not match their start tags, nested deeper than `MAX_DEPTH`, or with
//!   a DOCTYPE (no Office part has one).
//!
//! Why well-formedness: calamine ends a cell or a string at the first end tag with the right
//! name; in well-formed XML that is never past the element's own end, so what it gathers for
//! one cell is inside the `<c>` element measured here.

use std::io::BufRead;

use crate::read::sheet::a1;
use references::{attribute, cell_reference, decimal, dimension, row_number, shown};

/// Elements open at once, at most: Office parts nest a dozen deep.
const MAX_DEPTH: usize = 256;

/// What the cell formats of a styles part may copy in all, counting each at a fixed 512 bytes
/// plus the largest font, fill, border and number format before it: 65,490 formats (Excel's
/// limit) of ordinary size fit with room to spare.
const STYLE_BUDGET: u64 = 256 * 1024 * 1024;

/// The bounds a part is checked against, in bytes.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// A cell or a shared string, markup included (`--max-record-size`).
    pub cell: u64,
    /// Any one token, and a defined name, font, fill or border.
    pub token: u64,
}

/// Reads `part` to its end; Ok when calamine may parse it.
pub fn scan(part: impl BufRead, limits: Limits) -> Result<Scanned, ScanError> {
    let mut scanner = Scanner {
        input: part,
        limits,
        pos: 0,
        text: 0,
        tag: Vec::new(),
        open: Vec::new(),
        region: None,
        row: 0,
        column: 0,
        strings: 0,
        unique_count: None,
        largest: [0; 4],
        style_cost: 0,
    };
    scanner.run()?;
    if let Some(announced) = scanner.unique_count
        && announced > scanner.strings
    {
        return Err(refuse(format!(
            "the shared-string table announces {announced} strings but holds {}",
            scanner.strings
        )));
    }
    Ok(Scanned { bytes: scanner.pos })
}

/// What a scan found, for the caller's own bounds.
#[derive(Debug, Clone, Copy)]
pub struct Scanned {
    /// The part's size, uncompressed.
    pub bytes: u64,
}

/// A part refused (why, as the user should read it), or not read.
#[derive(Debug)]
pub enum ScanError {
    Refused(String),
    Io(std::io::Error),
}

/// A refusal said by `references`.
impl From<String> for ScanError {
    fn from(why: String) -> ScanError {
        ScanError::Refused(why)
    }
}

impl From<std::io::Error> for ScanError {
    fn from(err: std::io::Error) -> ScanError {
        ScanError::Io(err)
    }
}

fn refuse(message: String) -> ScanError {
    ScanError::Refused(message)
}

/// An element whose whole extent is bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Cell,
    SharedString,
    /// A defined name, font, fill or border: `largest` index for the last three.
    Other(Option<usize>),
}

#[derive(Debug, Clone, Copy)]
struct Region {
    kind: Kind,
    /// `open.len()` once the element was opened.
    depth: usize,
    /// Offset of its `<`.
    start: u64,
    /// The cell's 0-based row and column, for messages.
    at: (u64, u64),
}

struct Scanner<R> {
    input: R,
    limits: Limits,
    /// Bytes read so far.
    pos: u64,
    /// Length of the run of text being read.
    text: u64,
    /// The markup being read, from its `<`.
    tag: Vec<u8>,
    /// Hashes of the names of the open elements.
    open: Vec<u64>,
    /// The bounded element being read, the outermost one.
    region: Option<Region>,
    /// Where calamine places a cell without a reference: the row it is in, the column after
    /// the cell before (0-based; for naming cells only).
    row: u64,
    column: u64,
    /// Shared strings seen, and the count the table announced.
    strings: u64,
    unique_count: Option<u64>,
    /// The largest font, fill, border and number format seen so far.
    largest: [u64; 4],
    style_cost: u64,
}

const FONT: usize = 0;
const FILL: usize = 1;
const BORDER: usize = 2;
const NUMBER_FORMAT: usize = 3;

impl<R: BufRead> Scanner<R> {
    fn run(&mut self) -> Result<(), ScanError> {
        loop {
            let (taken, at_markup) = {
                let buf = self.input.fill_buf()?;
                if buf.is_empty() {
                    return Ok(());
                }
                match memchr::memchr(b'<', buf) {
                    Some(i) => (i, true),
                    None => (buf.len(), false),
                }
            };
            self.input.consume(taken);
            self.pos += taken as u64;
            self.text += taken as u64;
            if self.text > self.limits.token {
                return Err(self.too_large("a run of text", self.limits.token));
            }
            self.check_region()?;
            if at_markup {
                self.text = 0;
                self.markup()?;
            }
        }
    }

    /// Reads one piece of markup, from its `<` to its end, into `self.tag`.
    fn markup(&mut self) -> Result<(), ScanError> {
        self.tag.clear();
        let start = self.pos;
        let mut quote: Option<u8> = None;
        loop {
            let (taken, done) = {
                let buf = self.input.fill_buf()?;
                if buf.is_empty() {
                    // Cut short: calamine stops at the end of the part too.
                    return Ok(());
                }
                let mut done = false;
                let mut taken = buf.len();
                for (i, &b) in buf.iter().enumerate() {
                    self.tag.push(b);
                    if markup_ends(&self.tag, b, &mut quote, start)? {
                        done = true;
                        taken = i + 1;
                        break;
                    }
                }
                (taken, done)
            };
            self.input.consume(taken);
            self.pos += taken as u64;
            if self.tag.len() as u64 > self.limits.token {
                return Err(self.too_large("a tag", self.limits.token));
            }
            self.check_region()?;
            if done {
                return self.element(start);
            }
        }
    }

    /// A start or end tag read whole: the rules on elements.
    fn element(&mut self, start: u64) -> Result<(), ScanError> {
        let tag = std::mem::take(&mut self.tag);
        let result = self.tag_read(&tag, start);
        self.tag = tag;
        result
    }

    fn tag_read(&mut self, tag: &[u8], start: u64) -> Result<(), ScanError> {
        if tag.starts_with(b"<?") || tag.starts_with(b"<!") {
            return Ok(());
        }
        let inner = &tag[1..tag.len() - 1];
        if let Some(name) = inner.strip_prefix(b"/") {
            let name = name.trim_ascii_end();
            return self.end(name);
        }
        let (inner, empty) = match inner.strip_suffix(b"/") {
            Some(inner) => (inner, true),
            None => (inner, false),
        };
        let name_len = inner
            .iter()
            .position(|b| matches!(b, b' ' | b'\r' | b'\n' | b'\t'))
            .unwrap_or(inner.len());
        let (name, attributes) = inner.split_at(name_len);
        if self.open.len() >= MAX_DEPTH {
            return Err(refuse(format!(
                "XML nested more than {MAX_DEPTH} elements deep"
            )));
        }
        self.open.push(xxhash_rust::xxh3::xxh3_64(name));
        let local = match name.iter().position(|&b| b == b':') {
            Some(i) => &name[i + 1..],
            None => name,
        };
        self.start(local, attributes, start)?;
        if empty {
            self.end(name)?;
        }
        Ok(())
    }

    fn start(&mut self, local: &[u8], attributes: &[u8], start: u64) -> Result<(), ScanError> {
        let kind = match local {
            b"c" => {
                let mut at = (self.row, self.column);
                for r in attribute(attributes, b"r") {
                    let (column, row) = cell_reference(r)?;
                    at = (row, column);
                }
                self.column = at.1;
                Some((Kind::Cell, at))
            }
            b"row" => {
                for r in attribute(attributes, b"r") {
                    self.row = row_number(r)?;
                }
                None
            }
            b"dimension" => {
                for range in attribute(attributes, b"ref") {
                    dimension(range)?;
                }
                None
            }
            b"sst" => {
                for count in attribute(attributes, b"uniqueCount") {
                    // calamine reserves room for what it reads as a number.
                    if let Some(n) = decimal(count) {
                        self.unique_count = Some(n);
                    }
                }
                None
            }
            b"si" => {
                self.strings += 1;
                Some((Kind::SharedString, (self.strings, 0)))
            }
            b"definedName" => Some((Kind::Other(None), (0, 0))),
            b"font" => Some((Kind::Other(Some(FONT)), (0, 0))),
            b"fill" => Some((Kind::Other(Some(FILL)), (0, 0))),
            b"border" => Some((Kind::Other(Some(BORDER)), (0, 0))),
            b"numFmt" => {
                let size = attributes.len() as u64;
                self.largest[NUMBER_FORMAT] = self.largest[NUMBER_FORMAT].max(size);
                None
            }
            b"xf" => {
                self.style_cost += 512 + self.largest.iter().sum::<u64>();
                if self.style_cost > STYLE_BUDGET {
                    return Err(refuse(format!(
                        "its cell formats would copy more than {STYLE_BUDGET} bytes of styles"
                    )));
                }
                None
            }
            _ => None,
        };
        if let (Some((kind, at)), None) = (kind, self.region) {
            self.region = Some(Region {
                kind,
                depth: self.open.len(),
                start,
                at,
            });
        }
        Ok(())
    }

    fn end(&mut self, name: &[u8]) -> Result<(), ScanError> {
        let Some(open) = self.open.pop() else {
            return Err(refuse(format!(
                "malformed XML: </{}> closes nothing",
                shown(name)
            )));
        };
        if open != xxhash_rust::xxh3::xxh3_64(name) {
            return Err(refuse(format!(
                "malformed XML: </{}> closes another element",
                shown(name)
            )));
        }
        let local = match name.iter().position(|&b| b == b':') {
            Some(i) => &name[i + 1..],
            None => name,
        };
        match local {
            b"row" => {
                self.row += 1;
                self.column = 0;
            }
            b"c" => self.column += 1,
            _ => {}
        }
        if let Some(region) = self.region
            && region.depth == self.open.len() + 1
        {
            self.region = None;
            if let Kind::Other(Some(i)) = region.kind {
                self.largest[i] = self.largest[i].max(self.pos - region.start);
            }
        }
        Ok(())
    }

    /// Refuses the bounded element being read once it is too long.
    fn check_region(&self) -> Result<(), ScanError> {
        match self.region {
            Some(region) if self.pos - region.start > self.region_limit(region) => {
                Err(self.region_refusal(region))
            }
            _ => Ok(()),
        }
    }

    fn region_limit(&self, region: Region) -> u64 {
        match region.kind {
            Kind::Cell | Kind::SharedString => self.limits.cell,
            Kind::Other(_) => self.limits.token,
        }
    }

    fn region_refusal(&self, region: Region) -> ScanError {
        let limit = self.region_limit(region);
        let what = match region.kind {
            Kind::Cell => format!("cell {}", a1(region.at.1 as usize, region.at.0 + 1)),
            Kind::SharedString => format!("shared string {}", region.at.0),
            Kind::Other(_) => {
                return refuse(format!(
                    "an element of more than {limit} bytes at byte {}; pulse reads no more at \
                     once (--max-record-size, or 1 MiB if that is less)",
                    region.start
                ))
            }
        };
        refuse(format!(
            "{what} is larger than --max-record-size ({limit} bytes); raise the limit if the \
             file is right"
        ))
    }

    /// A token too large: inside a cell or a shared string, that one is named.
    fn too_large(&self, what: &str, limit: u64) -> ScanError {
        if let Some(region) = self.region
            && matches!(region.kind, Kind::Cell | Kind::SharedString)
        {
            return self.region_refusal(region);
        }
        refuse(format!(
            "{what} of more than {limit} bytes at byte {}; pulse reads no more at once \
             (--max-record-size, or 1 MiB if that is less)",
            self.pos
        ))
    }
}

/// Whether `b`, just added to `tag` (markup from its `<`, which starts at byte `start`), ends
/// it: `?>`, `-->`, `]]>`, or a `>` outside quotes.
fn markup_ends(tag: &[u8], b: u8, quote: &mut Option<u8>, start: u64) -> Result<bool, ScanError> {
    match tag.get(1) {
        None => Ok(false),
        Some(b'?') => Ok(tag.len() >= 4 && tag.ends_with(b"?>")),
        Some(b'!') => {
            if tag.starts_with(b"<!--") {
                Ok(tag.len() >= 7 && tag.ends_with(b"-->"))
            } else if tag.starts_with(b"<![CDATA[") {
                Ok(tag.len() >= 12 && tag.ends_with(b"]]>"))
            } else if b"<!--".starts_with(tag) || b"<![CDATA[".starts_with(tag) {
                Ok(false)
            } else if tag[2].eq_ignore_ascii_case(&b'd') {
                Err(refuse("a DOCTYPE, which no Office part has".into()))
            } else {
                Err(refuse(format!("malformed XML at byte {start}")))
            }
        }
        Some(_) => {
            match (*quote, b) {
                (Some(q), b) if b == q => *quote = None,
                (Some(_), _) => {}
                (None, b'"' | b'\'') => *quote = Some(b),
                (None, b'>') => return Ok(true),
                (None, _) => {}
            }
            Ok(false)
        }
    }
}

mod references;
#[cfg(test)]
mod tests;
