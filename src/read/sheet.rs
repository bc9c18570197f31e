//! Spreadsheets (`.xlsx`, `.xlsm`, `.xls`, `.ods`) read through calamine on a thread of their
//! own, row by row, each cell as the text a CSV export would hold: dates and times in ISO 8601,
//! numbers without float noise, booleans `true`/`false`, errors as Excel shows them (`#N/A`).
//!
//! Bounds, as CSV's: no cell past Excel's last, XFD1048576 (an error naming it); cells in
//! order, row by row and left to right, as Excel writes them (a cell naming an earlier place is
//! an error naming it: rows would go back); no row larger than `--max-record-size`, counted as
//! its CSV export (each cell's text and a separator), refused before it is whole. Rows go to
//! the reader in chunks of at most `CHUNK_ROWS` rows or `CHUNK_BYTES` bytes, one chunk queued.
//!
//! `.xlsx`: calamine streams a sheet cell by cell (`worksheet_cells_reader`, never the dense
//! `worksheet_range`, which allocates rows × columns cells from the largest reference), but it
//! holds each XML token and each cell's value whole and parses references without a bound. So
//! every part calamine parses is checked before it parses it (`xlsx_guard`, `xlsx_scan`):
//! references within Excel's limits, each cell and shared string at most `--max-record-size`
//! bytes of XML, each token at most that or 1 MiB. What stays held whole: the shared-string
//! table (each string bounded; the table as large as the file makes it, up to 100 times its
//! compressed size) and the workbook's styles and names, as calamine keeps them.
//!
//! `.xls` and `.ods`: calamine loads every sheet whole when it opens the file, into a dense
//! range from the first used cell to the last, before pulse sees a row. So the file is checked
//! before calamine opens it, walked as calamine will walk it, and refused where calamine would
//! not be bounded: `.xls` by `xls_guard` (the compound file's sector chains acyclic and inside
//! the file; cells within IV65536 and each cell's text within `--max-record-size`, named),
//! `.ods` by `ods_guard` (`content.xml` read with a bounded tokenizer, its repeats counted as
//! calamine expands them; cells with a value within XFD1048576, each cell and row within
//! `--max-record-size`, named). What calamine would hold for the whole workbook (cells, their
//! text and copies, the dense grids of values and of formulas, an `.xls` DIMENSIONS record's
//! reservation) is held to the grid budget of `sheet_bounds`: 256 MiB, or 16 times the file's
//! size if that is more. Rows are checked again against `--max-record-size` as they are read
//! from calamine's grid, counted as pulse exports them.

use std::io::{Read, Seek};
use std::path::Path;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use anyhow::{anyhow, Context, Result};
use calamine::{Data, DataRef, ExcelDateTime, Reader};

use crate::read::ods_guard;
use crate::read::raw_record::RawRecord;
use crate::read::xls_guard;
use crate::read::xlsx_guard::{self, Stage};

/// A chunk of rows ends after this many rows or this many bytes of cells, whichever first.
const CHUNK_ROWS: usize = 512;
const CHUNK_BYTES: usize = 512 * 1024;

pub use crate::read::sheet_bounds::{a1, MAX_COLUMNS, MAX_ROWS};

/// A spreadsheet's kind, by its file name's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Xlsx,
    Xls,
    Ods,
}

fn kind_of(path: &Path) -> Option<Kind> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "xlsx" | "xlsm" => Some(Kind::Xlsx),
        "xls" => Some(Kind::Xls),
        "ods" => Some(Kind::Ods),
        _ => None,
    }
}

/// Whether pulse reads `path` as a spreadsheet.
pub fn is_spreadsheet(path: &Path) -> bool {
    kind_of(path).is_some()
}

/// Whether the first bytes of a stream are a spreadsheet's (a zip or an OLE file), for a clear
/// error when one comes where a CSV was expected.
pub fn looks_like_spreadsheet(head: &[u8]) -> bool {
    head.starts_with(b"PK\x03\x04") || head.starts_with(&[0xd0, 0xcf, 0x11, 0xe0])
}

type Chunk = Vec<(u64, RawRecord)>;

/// What the reading thread sends: the sheet's name first, then its rows, then the end (a
/// thread gone without it stopped halfway).
enum Message {
    Sheet(String),
    Rows(Chunk),
    End,
}

/// The rows of one sheet, read on a thread of their own.
pub struct SheetRows {
    chunks: Receiver<Result<Message>>,
    current: std::vec::IntoIter<(u64, RawRecord)>,
    /// The sheet's name, for messages.
    pub name: String,
}

impl SheetRows {
    /// Opens the sheet `sheet` (a name, or a 1-based position; the first without) of the
    /// workbook at `path`; a row larger than `max_record_bytes` is an error.
    pub fn open(path: &Path, sheet: Option<&str>, max_record_bytes: u64) -> Result<SheetRows> {
        let kind = kind_of(path).ok_or_else(|| anyhow!("not a spreadsheet"))?;
        let (tx, chunks) = sync_channel(1);
        let path = path.to_path_buf();
        let sheet = sheet.map(String::from);
        std::thread::Builder::new()
            .name(READER_THREAD.into())
            .spawn(move || {
                let mut out = Sender::new(&tx, max_record_bytes);
                let result = guarded(|| match kind {
                    Kind::Xlsx => read_xlsx(&path, sheet.as_deref(), &mut out),
                    Kind::Xls => {
                        xls_guard::check(&path, max_record_bytes).map_err(|why| anyhow!(why))?;
                        match calamine::open_workbook::<calamine::Xls<_>, _>(&path) {
                            Ok(book) => read_range(book, sheet.as_deref(), &mut out),
                            Err(err) => Err(anyhow!(err)),
                        }
                    }
                    Kind::Ods => {
                        ods_guard::check(&path, max_record_bytes).map_err(|why| anyhow!(why))?;
                        match calamine::open_workbook::<calamine::Ods<_>, _>(&path) {
                            Ok(book) => read_range(book, sheet.as_deref(), &mut out),
                            Err(err) => Err(anyhow!(err)),
                        }
                    }
                });
                let last = match result {
                    Ok(()) if out.flush() => Ok(Message::End),
                    Ok(()) => return,
                    Err(err) => Err(err),
                };
                let _ = tx.send(last);
            })?;
        let name = match chunks.recv() {
            Ok(Ok(Message::Sheet(name))) => name,
            Ok(Err(err)) => return Err(err),
            _ => anyhow::bail!("the spreadsheet reader stopped"),
        };
        Ok(SheetRows {
            chunks,
            current: Vec::new().into_iter(),
            name,
        })
    }

    /// The next row that has a cell: its 1-based number in the sheet, its cells in `record`.
    pub fn next_row(&mut self, record: &mut RawRecord) -> Result<Option<u64>> {
        loop {
            if let Some((number, row)) = self.current.next() {
                *record = row;
                return Ok(Some(number));
            }
            match self.chunks.recv() {
                Ok(Ok(Message::Rows(chunk))) => self.current = chunk.into_iter(),
                Ok(Ok(Message::Sheet(_))) => {}
                Ok(Ok(Message::End)) => return Ok(None),
                Ok(Err(err)) => return Err(err),
                Err(_) => anyhow::bail!("the spreadsheet reader stopped halfway"),
            }
        }
    }
}

/// The name of the thread that reads a sheet through calamine.
const READER_THREAD: &str = "pulse-sheet";

/// Runs `read` on the reader thread, where calamine panics on some damaged files (an `.xls`
/// whose sectors run past its end, found by the `sheet` fuzz target): the panic becomes this
/// file's error, not a crash, and is not printed.
fn guarded(read: impl FnOnce() -> Result<()>) -> Result<()> {
    static QUIET: std::sync::Once = std::sync::Once::new();
    QUIET.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().name() != Some(READER_THREAD) {
                previous(info);
            }
        }));
    });
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(read)).unwrap_or_else(|panic| {
        let why = match (panic.downcast_ref::<&str>(), panic.downcast_ref::<String>()) {
            (Some(text), _) => text.to_string(),
            (_, Some(text)) => text.clone(),
            _ => "no reason given".to_string(),
        };
        Err(anyhow!(
            "calamine, the spreadsheet reader, failed on it ({why}): the file is damaged, or \
             of a kind calamine cannot read"
        ))
    })
}

/// Picks the sheet named `wanted`, or at that 1-based position, or the first.
fn pick_sheet(names: &[String], wanted: Option<&str>) -> Result<String> {
    let found = match wanted {
        None => names.first(),
        Some(wanted) => names.iter().find(|n| *n == wanted).or_else(|| {
            wanted
                .parse::<usize>()
                .ok()
                .and_then(|i| i.checked_sub(1))
                .and_then(|i| names.get(i))
        }),
    };
    found.cloned().ok_or_else(|| {
        crate::exit::usage(format!(
            "--sheet {}: the workbook has no such sheet (its sheets: {})",
            wanted.unwrap_or("1"),
            names.join(", ")
        ))
    })
}

/// Collects rows into chunks and sends them; false once the reader is gone.
struct Sender<'a> {
    tx: &'a SyncSender<Result<Message>>,
    chunk: Chunk,
    /// Bytes of cells in `chunk`.
    bytes: usize,
    max_record_bytes: u64,
}

impl<'a> Sender<'a> {
    fn new(tx: &'a SyncSender<Result<Message>>, max_record_bytes: u64) -> Sender<'a> {
        Sender {
            tx,
            chunk: Vec::new(),
            bytes: 0,
            max_record_bytes,
        }
    }

    fn sheet(&self, name: String) -> bool {
        self.tx.send(Ok(Message::Sheet(name))).is_ok()
    }

    fn row(&mut self, number: u64, record: RawRecord) -> bool {
        self.bytes += record.as_bytes().len() + 16 * record.len();
        self.chunk.push((number, record));
        if self.chunk.len() < CHUNK_ROWS && self.bytes < CHUNK_BYTES {
            return true;
        }
        self.flush()
    }

    fn flush(&mut self) -> bool {
        let chunk = std::mem::take(&mut self.chunk);
        self.bytes = 0;
        chunk.is_empty() || self.tx.send(Ok(Message::Rows(chunk))).is_ok()
    }
}

/// A row being put together cell by cell, its size counted as its CSV export's: each cell's
/// text and a separator.
struct Row {
    number: u64,
    record: RawRecord,
    bytes: u64,
}

impl Row {
    fn new(number: u64) -> Row {
        Row {
            number,
            record: RawRecord::default(),
            bytes: 0,
        }
    }

    /// Adds `cell` as column `column` (0-based), padding with empty cells before it; an error
    /// naming the row once it is larger than `max` bytes.
    fn push(&mut self, column: usize, cell: &[u8], max: u64) -> Result<()> {
        let padding = column.saturating_sub(self.record.len());
        self.bytes += padding as u64 + cell.len() as u64 + 1;
        if self.bytes > max {
            anyhow::bail!(
                "row {} is larger than --max-record-size ({max} bytes); raise the limit if the \
                 file is right",
                self.number
            );
        }
        for _ in 0..padding {
            self.record.push_field(b"");
        }
        self.record.push_field(cell);
        Ok(())
    }
}

fn read_xlsx(path: &Path, wanted: Option<&str>, out: &mut Sender) -> Result<()> {
    let (guard, file) = xlsx_guard::open(path, out.max_record_bytes)?;
    let mut book = calamine::Xlsx::new(file).map_err(|err| guard.explain(err))?;
    guard.check()?;
    let name = pick_sheet(&book.sheet_names(), wanted)?;
    guard.stage(Stage::Sheet);
    let mut cells = book
        .worksheet_cells_reader(&name)
        .map_err(|err| guard.explain(err))
        .with_context(|| format!("sheet {name:?}"))?;
    if !out.sheet(name.clone()) {
        return Ok(());
    }
    // Every row as wide as the sheet's declared range, as a CSV export writes it (the range
    // was checked to lie within Excel's limits).
    let width = cells.dimensions().end.1 as usize + 1;
    let max = out.max_record_bytes;
    let mut row: Option<Row> = None;
    let mut last: Option<(u32, u32)> = None;
    let mut text = String::new();
    while let Some(cell) = cells.next_cell().context("cannot read the sheet")? {
        let (r, c) = cell.get_position();
        let place = || a1(c as usize, u64::from(r) + 1);
        if r >= MAX_ROWS || c >= MAX_COLUMNS {
            anyhow::bail!(
                "cell {} is beyond Excel's last cell, XFD{MAX_ROWS}",
                place()
            );
        }
        if let Some(before) = last
            && (r, c) <= before
        {
            anyhow::bail!(
                "cell {} comes after cell {}; pulse reads cells in order, row by \
                 row and left to right, as Excel writes them",
                place(),
                a1(before.1 as usize, u64::from(before.0) + 1)
            );
        }
        last = Some((r, c));
        let number = u64::from(r) + 1;
        if row.as_ref().is_some_and(|row| row.number != number) {
            let done = row.take().expect("a row");
            if !finish_row(out, done, width) {
                return Ok(());
            }
        }
        let current = row.get_or_insert_with(|| Row::new(number));
        text.clear();
        render_ref(cell.get_value(), &mut text);
        current.push(c as usize, text.as_bytes(), max)?;
    }
    if let Some(done) = row {
        finish_row(out, done, width);
    }
    Ok(())
}

/// Pads the row to `width`, drops empty cells past it, and sends it unless it is empty.
fn finish_row(out: &mut Sender, row: Row, width: usize) -> bool {
    let record = row.record;
    let Some(last) = record.iter().rposition(|cell| !cell.is_empty()) else {
        // Only empty cells (styled ones): a blank row.
        return true;
    };
    let mut shaped = RawRecord::default();
    for cell in record.iter().take((last + 1).max(width)) {
        shaped.push_field(cell);
    }
    while shaped.len() < width {
        shaped.push_field(b"");
    }
    out.row(row.number, shaped)
}

fn read_range<RS: Read + Seek, R: Reader<RS>>(
    mut book: R,
    wanted: Option<&str>,
    out: &mut Sender,
) -> Result<()>
where
    R::Error: std::error::Error + Send + Sync + 'static,
{
    let name = pick_sheet(&book.sheet_names(), wanted)?;
    let range = book
        .worksheet_range(&name)
        .with_context(|| format!("sheet {name:?}"))?;
    if !out.sheet(name.clone()) {
        return Ok(());
    }
    let (Some((first_row, first_col)), Some((last_row, last_col))) = (range.start(), range.end())
    else {
        return Ok(());
    };
    if last_row >= MAX_ROWS || last_col >= MAX_COLUMNS {
        anyhow::bail!(
            "cell {} is beyond Excel's last cell, XFD{MAX_ROWS}",
            a1(last_col as usize, u64::from(last_row) + 1)
        );
    }
    let max = out.max_record_bytes;
    let mut text = String::new();
    for (i, cells) in range.rows().enumerate() {
        if cells.iter().all(|c| matches!(c, Data::Empty)) {
            continue;
        }
        // Columns keep their letters: column A is the first whatever the used range.
        let mut row = Row::new(u64::from(first_row) + i as u64 + 1);
        for (j, cell) in cells.iter().enumerate() {
            text.clear();
            render(cell, &mut text);
            row.push(first_col as usize + j, text.as_bytes(), max)?;
        }
        let number = row.number;
        if !out.row(number, row.record) {
            return Ok(());
        }
    }
    Ok(())
}

/// A cell as a CSV export holds it.
pub fn render(cell: &Data, out: &mut String) {
    use std::fmt::Write;
    match cell {
        Data::Empty => {}
        Data::String(text) | Data::DateTimeIso(text) | Data::DurationIso(text) => {
            out.push_str(text)
        }
        Data::Int(n) => {
            let _ = write!(out, "{n}");
        }
        Data::Float(f) => number(*f, out),
        Data::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Data::DateTime(when) => date_time(when, out),
        Data::Error(err) => {
            let _ = write!(out, "{err}");
        }
    }
}

fn render_ref(cell: &DataRef, out: &mut String) {
    match cell {
        DataRef::SharedString(text) => out.push_str(text),
        DataRef::Empty => {}
        DataRef::String(text) => out.push_str(text),
        DataRef::DateTimeIso(text) | DataRef::DurationIso(text) => out.push_str(text),
        DataRef::Int(n) => render(&Data::Int(*n), out),
        DataRef::Float(f) => number(*f, out),
        DataRef::Bool(b) => render(&Data::Bool(*b), out),
        DataRef::DateTime(when) => date_time(when, out),
        DataRef::Error(err) => render(&Data::Error(err.clone()), out),
    }
}

/// A number as a spreadsheet shows it: 15 significant digits (what Excel keeps), then the
/// shortest text that reads back as that value: `0.1`, not `0.1000000000000000055`, and `3`,
/// not `3.0`.
fn number(value: f64, out: &mut String) {
    use std::fmt::Write;
    // Whole numbers (ids, counts, ages) are most cells: no rounding needed.
    if value == value.trunc() && value.abs() < 1e15 {
        let _ = write!(out, "{}", value as i64);
        return;
    }
    let start = out.len();
    let _ = write!(out, "{value}");
    let digits = out[start..]
        .bytes()
        .filter(u8::is_ascii_digit)
        .skip_while(|&d| d == b'0')
        .count();
    if digits <= 15 {
        return;
    }
    out.truncate(start);
    let rounded: f64 = format!("{value:.14e}").parse().unwrap_or(value);
    if rounded == rounded.trunc() && rounded.abs() < 1e15 {
        let _ = write!(out, "{}", rounded as i64);
    } else {
        let _ = write!(out, "{rounded}");
    }
}

/// A date, a time of day, or both, in ISO 8601; a duration as `[h]:mm:ss`.
fn date_time(when: &ExcelDateTime, out: &mut String) {
    use std::fmt::Write;
    let serial = when.as_f64();
    if when.is_duration() {
        let millis = (serial * 86_400_000.0).round() as i64;
        let (sign, millis) = if millis < 0 {
            ("-", -millis)
        } else {
            ("", millis)
        };
        let seconds = millis / 1000;
        let _ = write!(
            out,
            "{sign}{}:{:02}:{:02}",
            seconds / 3600,
            seconds / 60 % 60,
            seconds % 60
        );
        if millis % 1000 != 0 {
            let _ = write!(out, ".{:03}", millis % 1000);
        }
        return;
    }
    let (y, mo, d, h, mi, s, ms) = when.to_ymd_hms_milli();
    let has_time = (h, mi, s, ms) != (0, 0, 0, 0);
    if serial >= 1.0 {
        let _ = write!(out, "{y:04}-{mo:02}-{d:02}");
        if has_time {
            out.push('T');
        }
    }
    if has_time || serial < 1.0 {
        let _ = write!(out, "{h:02}:{mi:02}:{s:02}");
        if ms != 0 {
            let _ = write!(out, ".{ms:03}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::ExcelDateTimeType;

    fn shown(cell: Data) -> String {
        let mut out = String::new();
        render(&cell, &mut out);
        out
    }

    #[test]
    fn cells_read_as_a_csv_export_writes_them() {
        assert_eq!(shown(Data::Float(0.1)), "0.1");
        assert_eq!(shown(Data::Float(0.1 + 0.2)), "0.3");
        assert_eq!(shown(Data::Float(3.0)), "3");
        assert_eq!(shown(Data::Float(-1234.5)), "-1234.5");
        assert_eq!(shown(Data::Float(1e20)), "100000000000000000000");
        assert_eq!(shown(Data::Float(1.5e-7)), "0.00000015");
        assert_eq!(shown(Data::Float(4733.32)), "4733.32");
        assert_eq!(shown(Data::Float(1.0 / 3.0)), "0.333333333333333");
        assert_eq!(shown(Data::Float(2.675)), "2.675");
        assert_eq!(shown(Data::Int(42)), "42");
        assert_eq!(shown(Data::Bool(true)), "true");
        assert_eq!(shown(Data::Empty), "");
        assert_eq!(shown(Data::Error(calamine::CellErrorType::NA)), "#N/A");
        let when = |v, t| Data::DateTime(ExcelDateTime::new(v, t, false));
        assert_eq!(
            shown(when(45293.0, ExcelDateTimeType::DateTime)),
            "2024-01-02"
        );
        assert_eq!(
            shown(when(45293.5, ExcelDateTimeType::DateTime)),
            "2024-01-02T12:00:00"
        );
        assert_eq!(shown(when(0.75, ExcelDateTimeType::DateTime)), "18:00:00");
        assert_eq!(shown(when(1.5, ExcelDateTimeType::TimeDelta)), "36:00:00");
    }

    #[test]
    fn a1_references() {
        assert_eq!(a1(0, 1), "A1");
        assert_eq!(a1(25, 7), "Z7");
        assert_eq!(a1(26, 2), "AA2");
        assert_eq!(a1(27, 3), "AB3");
        assert_eq!(a1(701, 4), "ZZ4");
        assert_eq!(a1(702, 5), "AAA5");
    }

    #[test]
    fn sheets_by_name_or_position() {
        let names = vec!["Data".to_string(), "2".to_string(), "Notes".to_string()];
        assert_eq!(pick_sheet(&names, None).unwrap(), "Data");
        assert_eq!(pick_sheet(&names, Some("Notes")).unwrap(), "Notes");
        assert_eq!(pick_sheet(&names, Some("3")).unwrap(), "Notes");
        assert_eq!(pick_sheet(&names, Some("2")).unwrap(), "2", "a name first");
        let err = pick_sheet(&names, Some("9")).unwrap_err().to_string();
        assert_eq!(
            err,
            "--sheet 9: the workbook has no such sheet (its sheets: Data, 2, Notes)"
        );
    }
}
