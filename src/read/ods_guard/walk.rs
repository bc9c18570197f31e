//! `content.xml`'s tokens walked as calamine's `ods.rs` reads them (`parse_content`,
//! `read_table`, `read_row`, `get_datatype`, `get_range`): what each sheet would take, counted
//! in a few numbers a sheet, never laid out.

use std::mem::size_of;

use calamine::Data;

use super::xml::{attribute, least, Token};
use crate::read::sheet_bounds::{a1, over_budget, MAX_COLUMNS, MAX_ROWS};

const COLUMNS: u64 = MAX_COLUMNS as u64;
const ROWS: u64 = MAX_ROWS as u64;

/// The bytes of the cells' text (as written, at least what calamine holds) and at least the
/// bytes the cells' text holds once read (for `--max-record-size`).
#[derive(Debug, Default, Clone, Copy)]
struct Text {
    held: u64,
    least: u64,
}

/// A cell being read.
struct Cell {
    repeats: u64,
    /// A value calamine keeps (not `Data::Empty`), and a formula.
    value: bool,
    formula: bool,
    /// The text of its value, and of its formula.
    text: Text,
    formula_bytes: u64,
    /// Reading its content as its text (a string without `office:string-value`), or skipping
    /// it: then `depth` counts its own name's elements open.
    content: bool,
    name: Vec<u8>,
    depth: usize,
    first_paragraph: bool,
    annotation: bool,
}

/// A row being read: what calamine gathers for it.
#[derive(Default)]
struct Row {
    /// Its first row number (1-based), and its repeats as written and as calamine caps them.
    number: u64,
    repeats: u64,
    capped: u64,
    /// Columns gathered, and empty ones not yet (calamine drops them if nothing follows).
    columns: u64,
    pending: u64,
    /// Bytes of its CSV export, at least.
    bytes: u64,
    text: u64,
    value_text: u64,
    formula_text: u64,
    /// First and last column holding a value, and a formula.
    values: Option<(u64, u64)>,
    formulas: Option<(u64, u64)>,
}

/// One grid of a sheet (values, or formulas), as `get_range` lays it out.
#[derive(Default, Clone, Copy)]
struct Grid {
    /// Rows before the first row element holding something, and through the last.
    start: u64,
    end: u64,
    /// The same for the repeated text: bytes copied before, and through.
    text_start: u64,
    text_end: u64,
    columns: Option<(u64, u64)>,
}

impl Grid {
    fn add(&mut self, row: &Row, columns: Option<(u64, u64)>, rows_before: u64, text: (u64, u64)) {
        let Some((first, last)) = columns else {
            return;
        };
        if self.columns.is_none() {
            self.start = rows_before;
            self.text_start = text.0;
        }
        self.end = rows_before + row.capped;
        self.text_end = text.1;
        let (a, b) = self.columns.unwrap_or((first, last));
        self.columns = Some((a.min(first), b.max(last)));
    }

    fn bytes(&self, cell: u64) -> u64 {
        let Some((first, last)) = self.columns else {
            return 0;
        };
        (last - first + 1)
            .saturating_mul(self.end - self.start)
            .saturating_mul(cell)
            .saturating_add(self.text_end - self.text_start)
    }
}

/// A sheet being read.
struct Table {
    name: String,
    /// Rows so far, as calamine caps them.
    rows: u64,
    /// What calamine gathers before laying out: cells, their text, a row's bookkeeping.
    gathered: u64,
    value_text: u64,
    formula_text: u64,
    values: Grid,
    formulas: Grid,
}

pub struct Walk {
    max_record_bytes: u64,
    budget: u64,
    total: u64,
    table: Option<Table>,
    row: Option<Row>,
    cell: Option<Cell>,
}

impl Walk {
    pub fn new(max_record_bytes: u64, budget: u64) -> Walk {
        Walk {
            max_record_bytes,
            budget,
            total: 0,
            table: None,
            row: None,
            cell: None,
        }
    }

    /// The whole of `content.xml` read: its names and styles within the budget too.
    pub fn finish(&self) -> Result<(), String> {
        if self.total > self.budget {
            return Err(over_budget(
                "its sheets, names and styles",
                self.total,
                self.budget,
            ));
        }
        Ok(())
    }

    pub fn token(&mut self, token: Token) -> Result<(), String> {
        if self.cell.is_some() {
            return self.in_cell(token);
        }
        match token {
            Token::Start {
                name,
                attributes,
                empty,
            } => {
                self.start(name, attributes)?;
                if empty {
                    match self.cell.take() {
                        Some(cell) => self.cell_done(cell)?,
                        None => self.end(name)?,
                    }
                }
            }
            Token::End { name } => self.end(name)?,
            _ => {}
        }
        Ok(())
    }

    fn start(&mut self, name: &[u8], attributes: &[u8]) -> Result<(), String> {
        match (name, &self.table, &self.row) {
            (b"table:table", None, _) => {
                if let Some(name) = attribute(attributes, b"table:name") {
                    self.table = Some(Table {
                        name: String::from_utf8_lossy(name).into_owned(),
                        rows: 0,
                        gathered: 0,
                        value_text: 0,
                        formula_text: 0,
                        values: Grid::default(),
                        formulas: Grid::default(),
                    });
                }
            }
            (b"table:table-row", Some(table), None) => {
                let repeats = number(attribute(attributes, b"table:number-rows-repeated"))?;
                let capped = repeats.min(ROWS - table.rows);
                self.row = Some(Row {
                    number: table.rows + 1,
                    repeats,
                    capped,
                    ..Row::default()
                });
            }
            (b"table:table-cell" | b"table:covered-table-cell", Some(_), Some(_)) => {
                self.cell = Some(cell(name, attributes)?);
            }
            // Held by calamine too, each about as large as its tag: a defined name, a sheet's
            // visibility by its style.
            (b"table:named-range" | b"table:named-expression" | b"style:table-properties", ..) => {
                self.total = self.total.saturating_add(attributes.len() as u64 + 64);
            }
            _ => {}
        }
        Ok(())
    }

    fn end(&mut self, name: &[u8]) -> Result<(), String> {
        match name {
            b"table:table-row" if self.row.is_some() => self.row_done(),
            b"table:table" if self.row.is_none() => self.table_done(),
            _ => Ok(()),
        }
    }

    /// A token inside a cell: its content read as its text, or skipped.
    fn in_cell(&mut self, token: Token) -> Result<(), String> {
        let cell = self.cell.as_mut().expect("in a cell");
        let ends = match token {
            Token::End { name } if !cell.content => {
                if name == cell.name {
                    cell.depth -= 1;
                }
                cell.depth == 0
            }
            Token::Start { name, empty, .. } if !cell.content => {
                if name == cell.name && !empty {
                    cell.depth += 1;
                }
                false
            }
            Token::End { name } if cell.annotation => {
                cell.annotation = name != b"office:annotation";
                false
            }
            Token::End { name } => {
                matches!(name, b"table:table-cell" | b"table:covered-table-cell")
            }
            _ if cell.annotation => false,
            Token::Text { raw, least } => {
                cell.text.held = cell.text.held.saturating_add(raw);
                cell.text.least = cell.text.least.saturating_add(least);
                false
            }
            Token::Start {
                name,
                attributes,
                empty,
            } => {
                let added = match name {
                    b"text:p" => u64::from(!std::mem::replace(&mut cell.first_paragraph, false)),
                    b"text:s" => number(attribute(attributes, b"text:c"))?,
                    b"text:tab" | b"text:line-break" => 1,
                    b"office:annotation" => {
                        cell.annotation = !empty;
                        0
                    }
                    _ => 0,
                };
                cell.text.held = cell.text.held.saturating_add(added);
                cell.text.least = cell.text.least.saturating_add(added);
                // `<table:table-cell/>` inside: its end ends this cell, as calamine reads it.
                empty && matches!(name, b"table:table-cell" | b"table:covered-table-cell")
            }
            Token::Other => false,
        };
        if ends {
            let cell = self.cell.take().expect("in a cell");
            self.cell_done(cell)?;
        }
        Ok(())
    }
}

/// A cell's start tag read: what calamine makes of it.
fn cell(name: &[u8], attributes: &[u8]) -> Result<Cell, String> {
    let repeats = number(attribute(attributes, b"table:number-columns-repeated"))?;
    let string_value = attribute(attributes, b"office:string-value");
    let held = string_value
        .or_else(|| attribute(attributes, b"office:date-value"))
        .or_else(|| attribute(attributes, b"office:time-value"));
    let set = held.is_some()
        || attribute(attributes, b"office:value").is_some()
        || attribute(attributes, b"office:boolean-value").is_some();
    let string = attribute(attributes, b"office:value-type") == Some(b"string");
    let error = attribute(attributes, b"calcext:value-type") == Some(b"error");
    let content = (!set && string) || (error && string_value == Some(b""));
    let formula_bytes = attribute(attributes, b"table:formula").map_or(0, |f| f.len() as u64);
    Ok(Cell {
        repeats,
        value: set || string,
        formula: formula_bytes > 0,
        text: held.map_or(Text::default(), |v| Text {
            held: v.len() as u64,
            least: least(v),
        }),
        formula_bytes,
        content,
        name: name.to_vec(),
        depth: 1,
        first_paragraph: true,
        annotation: false,
    })
}

/// A count attribute (1 without it); calamine fails on one that is not a number.
fn number(value: Option<&[u8]>) -> Result<u64, String> {
    let Some(value) = value else {
        return Ok(1);
    };
    std::str::from_utf8(value)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .ok_or_else(|| {
            format!(
                "content.xml: a count that is not a number: {:?}",
                String::from_utf8_lossy(value)
            )
        })
}

mod rows;

/// Bytes calamine takes for a value and for a formula, gathered, and in a grid.
const GATHERED_CELL: u64 = (size_of::<Data>() + size_of::<String>()) as u64;
const VALUE_CELL: u64 = size_of::<Data>() as u64;
const FORMULA_CELL: u64 = size_of::<String>() as u64;

fn cell_name(column: u64, row: u64) -> String {
    a1(column as usize, row)
}

fn budget_refusal(table: &str, span: Option<String>, total: u64, budget: u64) -> String {
    let what = match span {
        Some(span) => format!("sheet {table:?}: its cells span {span}"),
        None => format!("sheet {table:?}"),
    };
    over_budget(&what, total, budget)
}

fn beyond(column: u64, row: u64) -> String {
    format!(
        "cell {} is beyond Excel's last cell, XFD{ROWS}",
        cell_name(column, row)
    )
}

fn larger(what: String, max: u64) -> String {
    format!(
        "{what} is larger than --max-record-size ({max} bytes); raise the limit if the file is \
         right"
    )
}

/// The values' grid counts twice: `worksheet_range` hands out a copy of it.
fn total_of(values: &Grid, formulas: &Grid, gathered: u64) -> u64 {
    gathered
        .saturating_add(values.bytes(VALUE_CELL).saturating_mul(2))
        .saturating_add(formulas.bytes(FORMULA_CELL))
}

fn span_of(grid: &Grid) -> Option<String> {
    let (first, last) = grid.columns?;
    Some(format!(
        "{}:{}",
        cell_name(first, grid.start + 1),
        cell_name(last, grid.end.max(grid.start + 1))
    ))
}

fn checked_columns(columns: u64) -> u64 {
    columns.min(COLUMNS)
}
