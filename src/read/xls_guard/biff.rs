//! The BIFF records of a workbook stream, walked as calamine's `xls.rs` walks them when it
//! opens the file: the globals up to their EOF, then each sheet from its BOUNDSHEET offset to
//! its EOF, nested substreams (charts) skipped. What is counted, per sheet: the cells calamine
//! gathers (and their text), what a DIMENSIONS record makes it reserve, and the dense grids it
//! lays the cells and the formulas out in (`Range::from_sparse`, first used cell to last).

use std::collections::HashMap;
use std::mem::size_of;

use calamine::{Cell, Data};

use super::bytes::{u16_at, u32_at};
use crate::read::sheet_bounds::{a1, grid_budget, over_budget};

/// BIFF8's last column, IV, and last row, 65,536 (0-based: 255 and 65,535).
const LAST_COLUMN: u32 = 255;
const LAST_ROW: u32 = 65_535;

const BOF: u16 = 0x0809;
const EOF: u16 = 0x000A;
const CONTINUE: u16 = 0x003C;
const BOUNDSHEET: u16 = 0x0085;
const SST: u16 = 0x00FC;
const DIMENSIONS: u16 = 0x0200;
const FORMULA: u16 = 0x0006;
const STRING: u16 = 0x0207;
const LABEL: u16 = 0x0204;
const RSTRING: u16 = 0x00D6;
const LABELSST: u16 = 0x00FD;
const MULRK: u16 = 0x00BD;
const MULBLANK: u16 = 0x00BE;

/// Checks the workbook stream `stream` of a file of `file_bytes` bytes.
pub fn check(stream: &[u8], file_bytes: u64, max_record_bytes: u64) -> Result<(), String> {
    let globals = globals(stream);
    let budget = grid_budget(file_bytes);
    // calamine holds the shared strings: a `String` each, and its text (up to 3 bytes a
    // character in UTF-8).
    let mut total = globals.strings.len() as u64 * size_of::<String>() as u64
        + globals
            .strings
            .iter()
            .map(|&n| 3 * u64::from(n))
            .sum::<u64>();
    let mut walked: HashMap<usize, Cost> = HashMap::new();
    for (at, name) in &globals.sheets {
        let name = name.as_str();
        if *at > stream.len() {
            return Err(format!(
                "sheet {name:?} starts at byte {at}, past the end of the workbook stream ({} \
                 bytes)",
                stream.len()
            ));
        }
        let cost = match walked.get(at) {
            Some(cost) => *cost,
            None => {
                let mut sheet = Sheet::new(&globals.strings, max_record_bytes);
                sheet
                    .walk(&stream[*at..])
                    .map_err(|why| format!("sheet {name:?}: {why}"))?;
                let cost = sheet.cost();
                walked.insert(*at, cost);
                cost
            }
        };
        total = total.saturating_add(cost.bytes);
        if total > budget {
            let what = match (cost.declared, cost.span) {
                (Some(declared), _) if 2 * cost.reserved_bytes >= cost.bytes => format!(
                    "sheet {name:?}: its DIMENSIONS record declares {}",
                    span(declared)
                ),
                (_, Some(cells)) => format!("sheet {name:?}: its cells span {}", span(cells)),
                _ => format!("sheet {name:?}"),
            };
            return Err(over_budget(&what, total, budget));
        }
    }
    Ok(())
}

type Span = ((u32, u32), (u32, u32));

/// `A1:IV65536`: a span's first and last cells, 0-based (row, column) each.
fn span(((r0, c0), (r1, c1)): Span) -> String {
    format!(
        "{}:{}",
        a1(c0 as usize, u64::from(r0) + 1),
        a1(c1 as usize, u64::from(r1) + 1)
    )
}

/// What the globals tell: each sheet's offset and name, and the shared strings' lengths.
struct Globals {
    sheets: Vec<(usize, String)>,
    strings: Vec<u16>,
}

fn globals(stream: &[u8]) -> Globals {
    let mut globals = Globals {
        sheets: Vec::new(),
        strings: Vec::new(),
    };
    let mut biff8 = true;
    for record in Records::new(stream) {
        match record.typ {
            BOF if record.data.len() >= 2 => {
                let version = u16_at(record.data, 0);
                let kind = record.data.get(2..4).map_or(0, |d| u16_at(d, 0));
                biff8 = match version {
                    0x0200 | 0x0002 | 0x0007 | 0x0300 | 0x0400 | 0x0500 => false,
                    0 => kind != 0x1000,
                    _ => true,
                };
            }
            BOUNDSHEET if record.data.len() >= 4 => {
                let at = u32_at(record.data, 0) as usize;
                globals.sheets.push((at, sheet_name(record.data, biff8)));
            }
            SST => globals.strings = super::sst::lengths(record.data, &record.cont),
            EOF => break,
            _ => {}
        }
    }
    globals
}

/// A BOUNDSHEET's name, for messages.
fn sheet_name(data: &[u8], biff8: bool) -> String {
    let Some(&count) = data.get(6) else {
        return String::new();
    };
    let count = count as usize;
    let wide = biff8 && data.get(7).is_some_and(|f| f & 1 != 0);
    let text = &data[(if biff8 { 8 } else { 7 }).min(data.len())..];
    if wide {
        let units: Vec<u16> = text
            .chunks_exact(2)
            .take(count)
            .map(|c| u16_at(c, 0))
            .collect();
        String::from_utf16_lossy(&units)
    } else {
        text.iter().take(count).map(|&b| char::from(b)).collect()
    }
}

/// What one sheet would take.
#[derive(Debug, Clone, Copy)]
struct Cost {
    bytes: u64,
    /// What the DIMENSIONS records make calamine reserve, of `bytes`.
    reserved_bytes: u64,
    /// The cells' first and last (row, column), and the DIMENSIONS record's, for messages.
    span: Option<Span>,
    declared: Option<Span>,
}

/// The first and last row and column of some cells.
#[derive(Debug, Default, Clone, Copy)]
struct Extent(Option<Span>);

impl Extent {
    fn add(&mut self, row: u32, column: u32) {
        let ((r0, c0), (r1, c1)) = self.0.unwrap_or(((row, column), (row, column)));
        self.0 = Some(((r0.min(row), c0.min(column)), (r1.max(row), c1.max(column))));
    }

    /// Cells in the dense grid from the first to the last.
    fn cells(&self) -> u64 {
        self.0.map_or(0, |((r0, c0), (r1, c1))| {
            u64::from(r1 - r0 + 1) * u64::from(c1 - c0 + 1)
        })
    }
}

struct Sheet<'a> {
    strings: &'a [u16],
    max_record_bytes: u64,
    cells: u64,
    /// Bytes of text the cells hold, and of formulas.
    text: u64,
    formulas: u64,
    reserved: u64,
    declared: Option<Span>,
    extent: Extent,
    formula_extent: Extent,
    /// The FORMULA cell a STRING record gives the value of.
    formula_at: (u32, u32),
}

impl<'a> Sheet<'a> {
    fn new(strings: &'a [u16], max_record_bytes: u64) -> Sheet<'a> {
        Sheet {
            strings,
            max_record_bytes,
            cells: 0,
            text: 0,
            formulas: 0,
            reserved: 0,
            declared: None,
            extent: Extent::default(),
            formula_extent: Extent::default(),
            formula_at: (0, 0),
        }
    }

    fn cost(&self) -> Cost {
        let cell = size_of::<Cell<Data>>() as u64;
        let formula = size_of::<Cell<String>>() as u64;
        let reserved_bytes = self.reserved * cell;
        let bytes = reserved_bytes
            + self.cells * cell
            + self.text
            // Twice: `worksheet_range` hands out a copy of the grid.
            + 2 * self.extent.cells() * size_of::<Data>() as u64
            + self.formulas * formula
            + self.formula_extent.cells() * size_of::<String>() as u64;
        Cost {
            bytes,
            reserved_bytes,
            span: self.extent.0.or(self.formula_extent.0),
            declared: self.declared,
        }
    }

    /// Walks the sheet's records to its EOF, as calamine does.
    fn walk(&mut self, stream: &[u8]) -> Result<(), String> {
        let mut seen_bof = false;
        let mut depth = 0usize;
        for record in Records::new(stream) {
            if depth > 0 {
                match record.typ {
                    BOF => depth += 1,
                    EOF => depth -= 1,
                    _ => {}
                }
                continue;
            }
            match record.typ {
                BOF if seen_bof => depth += 1,
                BOF => seen_bof = true,
                EOF => break,
                DIMENSIONS => self.dimensions(record.data)?,
                _ => self.cell(record.typ, record.data)?,
            }
        }
        Ok(())
    }

    /// A DIMENSIONS record: calamine reserves room for its rows × columns cells.
    fn dimensions(&mut self, data: &[u8]) -> Result<(), String> {
        let (first_row, end_row, mut first_col, end_col) = match data.len() {
            10 => (
                u32::from(u16_at(data, 0)),
                u32::from(u16_at(data, 2)),
                u32::from(u16_at(data, 4)),
                u32::from(u16_at(data, 6)),
            ),
            14 | 16 => (
                u32_at(data, 0),
                u32_at(data, 4),
                u32::from(u16_at(data, 8)),
                u32::from(u16_at(data, 10)),
            ),
            // calamine refuses it.
            _ => return Ok(()),
        };
        if 0xFF < first_col || end_col < first_col {
            first_col = 0;
        }
        let (last_row, last_col) = if end_row >= 1 && end_col >= 1 {
            (end_row - 1, end_col - 1)
        } else {
            (first_row, first_col)
        };
        if last_row > LAST_ROW || last_col > LAST_COLUMN {
            return Err(format!(
                "its DIMENSIONS record reaches cell {}, beyond Excel 97's last cell, IV65536",
                a1(last_col as usize, u64::from(last_row) + 1)
            ));
        }
        if last_row < first_row {
            return Err(format!(
                "its DIMENSIONS record is damaged: rows {} to {}",
                u64::from(first_row) + 1,
                u64::from(last_row) + 1
            ));
        }
        let rows = u64::from(last_row - first_row + 1);
        let cols = u64::from(last_col - first_col + 1);
        self.reserved = self.reserved.saturating_add(rows * cols);
        self.declared = Some(((first_row, first_col), (last_row, last_col)));
        Ok(())
    }

    /// A record that may be a cell: its place checked, its cost counted.
    fn cell(&mut self, typ: u16, data: &[u8]) -> Result<(), String> {
        let (row, col) = match (typ, data.len()) {
            (STRING, _) => self.formula_at,
            (0x0201 | 0x0203 | LABEL | RSTRING | 0x0205 | 0x027E | LABELSST | FORMULA, 4..)
            | (MULRK | MULBLANK, 6..) => (u32::from(u16_at(data, 0)), u32::from(u16_at(data, 2))),
            _ => return Ok(()),
        };
        let last = match typ {
            // One cell a column from the first, as calamine counts them.
            MULRK => col + ((data.len() as u32 - 6) / 6).max(1) - 1,
            MULBLANK => u32::from(u16_at(data, data.len() - 2)),
            _ => col,
        };
        if row > LAST_ROW || last > LAST_COLUMN {
            return Err(format!(
                "cell {} is beyond Excel 97's last cell, IV65536",
                a1(last.max(col) as usize, u64::from(row) + 1)
            ));
        }
        // The cell's text, in characters.
        let text = match typ {
            LABEL | RSTRING if data.len() >= 8 => u64::from(u16_at(data, 6)),
            STRING if data.len() >= 2 => u64::from(u16_at(data, 0)),
            LABELSST if data.len() >= 10 => {
                let index = u32_at(data, 6) as usize;
                self.strings.get(index).map_or(0, |&n| u64::from(n))
            }
            _ => 0,
        };
        if text > self.max_record_bytes {
            return Err(format!(
                "cell {} is larger than --max-record-size ({} bytes); raise the limit if the \
                 file is right",
                a1(col as usize, u64::from(row) + 1),
                self.max_record_bytes
            ));
        }
        // Up to 3 bytes a character in UTF-8.
        self.text += 3 * text;
        match typ {
            // calamine skips blank cells.
            0x0201 | MULBLANK => {}
            MULRK => {
                self.cells += u64::from(last - col + 1);
                self.extent.add(row, col);
                self.extent.add(row, last);
            }
            FORMULA => {
                self.formula_at = (row, col);
                self.formulas += 1;
                self.formula_extent.add(row, col);
                // The formula's text, about as long as its tokens.
                self.text += 4 * data.len() as u64;
                self.cells += 1;
                self.extent.add(row, col);
            }
            _ => {
                self.cells += 1;
                self.extent.add(row, col);
            }
        }
        Ok(())
    }
}

/// A record: its type and data, the CONTINUE records after it in `cont`.
struct Record<'a> {
    typ: u16,
    data: &'a [u8],
    cont: Vec<&'a [u8]>,
}

/// The records of a stream as calamine's `RecordIter` splits them; it stops where calamine
/// would fail.
struct Records<'a> {
    stream: &'a [u8],
}

impl<'a> Records<'a> {
    fn new(stream: &'a [u8]) -> Records<'a> {
        Records { stream }
    }

    fn take(&mut self) -> Option<(u16, &'a [u8])> {
        if self.stream.len() < 4 {
            return None;
        }
        let typ = u16_at(self.stream, 0);
        let len = u16_at(self.stream, 2) as usize;
        if self.stream.len() < len + 4 {
            return None;
        }
        let (record, rest) = self.stream.split_at(len + 4);
        self.stream = rest;
        Some((typ, &record[4..]))
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = Record<'a>;

    fn next(&mut self) -> Option<Record<'a>> {
        let (typ, data) = self.take()?;
        let mut cont = Vec::new();
        while self.stream.len() > 4 && u16_at(self.stream, 0) == CONTINUE {
            cont.push(self.take()?.1);
        }
        Some(Record { typ, data, cont })
    }
}
