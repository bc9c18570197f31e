//! Streaming CSV input: the header, records with their line numbers, BOM and encodings, blank
//! rows, and the byte count and content hash of what was read.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::read::columns::{self, generated_names, Columns, TableShape};
use crate::read::decompress::{Decompressed, InputCompression};
use crate::read::encoding::StreamDecoder;
use crate::read::format::{self, InputFormat};
use crate::read::json_input;
use crate::read::json_rows::JsonRows;
use crate::read::peeked::Peeked;
use crate::read::raw_record::RawRecord;
use crate::read::records::{read_error, RecordReader};
use crate::read::sheet::{self, SheetRows};
use crate::read::tap::Tap;
use crate::read::text_record::TextRecord;
use crate::read::typed_columns::{ColumnType, ColumnTypes};
use crate::read::{encoding, sniff};

pub use crate::read::dialect::CsvDialect;
pub use crate::read::encoding::Encoding;
pub use crate::read::input::Input;
pub use crate::read::tap::{prefix_hash, prefix_hash_of, ByteCounter, SourcePosition};

/// The CSV reader's buffer: the most it reads ahead of the record being parsed.
const READ_BUFFER: usize = 256 * 1024;

/// What to tell of a sniffed delimiter: a guess in doubt always, the comma too; another
/// delimiter with why it was chosen.
fn sniffed_notice(label: &str, delimiter: u8, why: &str, doubt: Option<String>) -> Option<String> {
    let name = sniff::name(delimiter);
    match doubt {
        Some(doubt) => Some(format!(
            "{label}: reading as {name}-separated, a guess ({doubt}); --delimiter sets another"
        )),
        None if delimiter != b',' => Some(format!(
            "{label}: reading as {name}-separated ({why}; --delimiter sets another)"
        )),
        None => None,
    }
}

/// A CSV reader that yields records with the line they start on.
pub struct TableSource {
    reader: RecordReader<Box<dyn Read + Send>>,
    /// A spreadsheet's rows, read instead of `reader`'s records.
    sheet: Option<SheetRows>,
    /// A JSON input's rows, read instead of `reader`'s records.
    json: Option<JsonRows>,
    /// A query's column types, given to its records' cells (`set_column_types`).
    column_types: Option<ColumnTypes>,
    label: String,
    /// The delimiter read with, given or sniffed.
    delimiter: u8,
    /// Lines before the header that the reader never saw (a `sep=` line).
    line_offset: u64,
    /// What the user should know about how the input was read ("reading as ;-separated").
    notices: Vec<String>,
    /// The file's records shaped into the table's columns.
    columns: Columns,
    /// Rows starting with this byte are skipped (`--comment`).
    comment: Option<u8>,
    /// The first row of a file without a header, read with the header, not yet handed out.
    pending: Option<u64>,
    headers: Vec<String>,
    text: TextRecord,
    raw: RawRecord,
    /// A third record buffer, so that decoding rotates the three, keeping their grown buffers,
    /// without allocating.
    spare: Option<RawRecord>,
    encoding: Encoding,
    /// The encoding the input was recognised in by its byte order mark (UTF-16), decoded
    /// strictly: a record that is not UTF-8 holds a malformed sequence of it.
    recognised: Option<&'static encoding_rs::Encoding>,
    /// Line where the next record would start if no blank line came before it.
    expected_line: u64,
    blank_rows: u64,
    position: SourcePosition,
}

impl TableSource {
    /// Opens the input and reads its header line.
    pub fn open(input: &Input, dialect: &CsvDialect, counter: ByteCounter) -> Result<TableSource> {
        let as_sheet = |path: &Path| match dialect.table.format {
            Some(format) => format == InputFormat::Xlsx,
            None => sheet::is_spreadsheet(path),
        };
        let inner: Box<dyn Read + Send> = match input {
            Input::Stdin if dialect.table.format == Some(InputFormat::Xlsx) => {
                return Err(crate::exit::usage(
                    "--input-format xlsx: a spreadsheet is read from a file, not from stdin",
                ))
            }
            Input::Stdin => Box::new(io::stdin()),
            Input::File(path) if as_sheet(path) => {
                return TableSource::from_sheet(path, dialect, counter)
            }
            Input::File(path) => Box::new(open_file(path)?),
            // The run layer downloads it (`run::remote`) and hands the stream to `from_reader`.
            Input::Url(_) | Input::S3(_) | Input::Database { .. } => {
                bail!("{}: a remote input, not a file", input.label())
            }
        };
        if let Some(sheet) = &dialect.table.sheet {
            return Err(crate::exit::usage(format!(
                "--sheet {sheet}: {} is not a spreadsheet (.xlsx, .xlsm, .xls, .ods)",
                input.label()
            )));
        }
        TableSource::from_reader(inner, input.label(), dialect, counter)
    }

    /// Reads CSV from any reader (the fuzz targets feed bytes from memory); `label` names it in
    /// messages.
    pub fn from_reader(
        inner: Box<dyn Read + Send>,
        label: String,
        dialect: &CsvDialect,
        counter: ByteCounter,
    ) -> Result<TableSource> {
        let tap = Tap::new(inner, counter);
        let position = tap.position();
        let mut head = Peeked::new(Box::new(tap) as Box<dyn Read + Send>);
        let cannot_read = |err| anyhow::Error::new(err).context(format!("{label}: cannot read"));
        let mut notices = Vec::new();
        if let Some(compression) = InputCompression::of(head.peek(4).map_err(cannot_read)?) {
            let plain = Decompressed::spawn(head, compression).map_err(cannot_read)?;
            head = Peeked::new(Box::new(plain) as Box<dyn Read + Send>);
        }
        if sheet::looks_like_spreadsheet(head.peek(4).map_err(cannot_read)?) {
            bail!("{label}: a zip or OLE file, not CSV; spreadsheets are read from a file named .xlsx, .xlsm, .xls or .ods");
        }
        let (decoder, encoding) =
            encoding::stream_decoder(dialect.encoding, head.peek(2).map_err(cannot_read)?);
        let recognised = decoder.as_ref().and_then(StreamDecoder::recognised);
        if let Some(decoder) = decoder {
            if dialect.encoding == Encoding::Utf8 {
                notices.push(format!(
                    "{label}: reading as {} (by its byte order mark)",
                    decoder.decoder.encoding().name()
                ));
            }
            let utf8 = encoding::Transcode::new(head, decoder);
            head = Peeked::new(Box::new(utf8) as Box<dyn Read + Send>);
        }
        if json_input::reads_as_json(dialect, &label, &mut head)? {
            let (rows, names) = json_input::open(head, &label, dialect)?;
            let mut source = TableSource {
                json: Some(rows),
                notices,
                ..TableSource::empty(label, position)
            };
            source.plan_columns(names, &dialect.table, 1)?;
            return Ok(source);
        }
        let mut line_offset = 0;
        // Excel's first line `sep=;` names the delimiter and is no part of the table.
        let sep = sniff::sep_line(head.peek(8).map_err(cannot_read)?);
        // `--skip-lines` counts the file's lines: a `sep=` line is the first of them.
        let skip = dialect.table.skip_lines.max(u64::from(sep.is_some()));
        while line_offset < skip && head.skip_line().map_err(cannot_read)? {
            line_offset += 1;
        }
        let delimiter = match dialect.delimiter.or(sep) {
            Some(delimiter) => delimiter,
            None => {
                let (delimiter, why, doubt) = match sniff::by_extension(Path::new(&label)) {
                    Some(delimiter) => (delimiter, "by its extension", None),
                    None => {
                        head.peek_available(sniff::SAMPLE_BYTES)
                            .map_err(cannot_read)?;
                        let complete = head.at_eof();
                        let sample = head.peek(0).map_err(cannot_read)?;
                        let (delimiter, doubt) =
                            sniff::by_content(sample, complete, dialect.table.comment);
                        (delimiter, "by its content", doubt)
                    }
                };
                notices.extend(sniffed_notice(&label, delimiter, why, doubt));
                delimiter
            }
        };
        dialect.check_escape(delimiter, &label)?;
        let reader = RecordReader::new(
            Box::new(head) as Box<dyn Read + Send>,
            delimiter,
            READ_BUFFER,
        )
        .with_max_record_bytes(dialect.max_record_bytes)
        .with_escape(dialect.table.escape);
        let mut source = TableSource {
            reader,
            delimiter,
            line_offset,
            notices,
            comment: dialect.table.comment,
            encoding,
            recognised,
            expected_line: 1 + line_offset,
            ..TableSource::empty(label, position)
        };
        source.read_header(&dialect.table)?;
        Ok(source)
    }

    /// Opens a sheet of a spreadsheet; its rows are read like a CSV file's records, each
    /// numbered as the sheet numbers it.
    fn from_sheet(path: &Path, dialect: &CsvDialect, counter: ByteCounter) -> Result<TableSource> {
        if dialect.table.escape.is_some() {
            return Err(crate::exit::usage(format!(
                "--escape: {} is a spreadsheet, whose cells need no escapes; it applies to CSV",
                path.display()
            )));
        }
        if dialect.table.flatten {
            return Err(crate::exit::usage(format!(
                "--flatten: {} is a spreadsheet; it applies to JSON input",
                path.display()
            )));
        }
        if !dialect.table.columns.is_empty() && !dialect.table.no_header {
            return Err(crate::exit::usage(
                "--columns names the columns of a sheet without a header (with --no-header) or of JSON input",
            ));
        }
        // The whole file counted and hashed up front, as resume and the repeat check compare it.
        let mut tap = Tap::new(Box::new(open_file(path)?), counter);
        let position = tap.position();
        io::copy(&mut tap, &mut io::sink())
            .with_context(|| format!("{}: cannot read", path.display()))?;
        let rows = SheetRows::open(
            path,
            dialect.table.sheet.as_deref(),
            dialect.max_record_bytes,
        )
        .map_err(|err| err.context(format!("{}: cannot read the spreadsheet", path.display())))?;
        let label = format!("{} (sheet {:?})", path.display(), rows.name);
        let skip = dialect.table.skip_lines;
        let mut source = TableSource {
            sheet: Some(rows),
            line_offset: skip,
            comment: dialect.table.comment,
            expected_line: 1 + skip,
            ..TableSource::empty(label, position)
        };
        source.read_header(&dialect.table)?;
        Ok(source)
    }

    /// A source with no rows yet, read as UTF-8 with a comma: the constructors set what they
    /// read otherwise.
    fn empty(label: String, position: SourcePosition) -> TableSource {
        TableSource {
            // Unused when the rows come from a sheet or JSON.
            reader: RecordReader::new(Box::new(io::empty()), b',', 0),
            sheet: None,
            json: None,
            column_types: None,
            label,
            delimiter: b',',
            line_offset: 0,
            notices: Vec::new(),
            columns: Columns::default(),
            comment: None,
            pending: None,
            headers: Vec::new(),
            text: TextRecord::new(),
            raw: RawRecord::default(),
            spare: Some(RawRecord::default()),
            encoding: Encoding::Utf8,
            recognised: None,
            expected_line: 1,
            blank_rows: 0,
            position,
        }
    }

    fn read_header(&mut self, shape: &TableShape) -> Result<()> {
        let Some(line) = self.next_table_raw()? else {
            if shape.no_header && !shape.columns.is_empty() {
                // Named columns and no rows: a table with nothing in it.
                return self.plan_columns(shape.columns.clone(), shape, 1 + self.line_offset);
            }
            bail!("{}: empty input (no header line)", self.label);
        };
        self.decode(line)?;
        if let (None, Some(first)) = (&self.sheet, self.text.iter().next()) {
            let first = first.trim_start_matches('\u{feff}').trim_start();
            if shape.format != Some(InputFormat::Csv) && format::looks_like_json(first) {
                bail!(
                    "{}: line {line}: this looks like JSON, not CSV (it starts with {:?}); pulse \
                     reads CSV with a header line",
                    self.label,
                    &first[..1]
                );
            }
        }
        let names = if shape.no_header {
            // The first row is data: `advance` hands it out first.
            self.pending = Some(line);
            generated_names(shape, self.text.len())
        } else {
            let mut names: Vec<String> = self.text.iter().map(String::from).collect();
            if let Some(first) = names.first_mut() {
                *first = first.trim_start_matches('\u{feff}').to_string();
            }
            names
        };
        self.plan_columns(names, shape, line)?;
        if let Some(line) = self.pending {
            self.shape_record(line)?;
        }
        Ok(())
    }

    fn plan_columns(&mut self, names: Vec<String>, shape: &TableShape, line: u64) -> Result<()> {
        let planned = columns::plan(names, shape, &format!("{}: line {line}", self.label))?;
        self.notices.extend(planned.notice);
        self.headers = planned.headers;
        self.columns = planned.columns;
        Ok(())
    }

    /// Shapes the decoded record into the table's columns.
    fn shape_record(&mut self, line: u64) -> Result<()> {
        if self.columns.is_identity() {
            return Ok(());
        }
        let label = &self.label;
        let sheet = self.sheet.is_some();
        self.columns.apply(&mut self.text, |column| {
            if sheet {
                let a1 = sheet::a1(column, line);
                format!("{label}: row {line}, column {} ({a1})", column + 1)
            } else {
                format!("{label}: line {line}, column {}", column + 1)
            }
        })
    }

    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    /// For a spreadsheet, a function naming the cell of a table column (0-based) in a row as
    /// the sheet does (`C4`); None for CSV.
    pub fn cell_names(&self) -> Option<impl Fn(usize, u64) -> String + Send + 'static + use<>> {
        self.sheet.as_ref()?;
        let columns: Vec<usize> = (0..self.headers.len())
            .map(|i| self.columns.file_column(i))
            .collect();
        Some(move |column: usize, row: u64| {
            let file_column = columns.get(column).copied().unwrap_or(column);
            sheet::a1(file_column, row)
        })
    }

    /// The delimiter read with, given or sniffed: stored with a run, so that it is read again
    /// the same way.
    pub fn delimiter(&self) -> u8 {
        self.delimiter
    }

    /// What the user should be told about how the input is read (on stderr, unless quiet).
    pub fn notices(&self) -> &[String] {
        &self.notices
    }

    /// Blank rows skipped so far (empty lines and rows whose cells are all empty).
    pub fn blank_rows(&self) -> u64 {
        self.blank_rows
    }

    /// How many bytes were read so far and their hash, taken together.
    pub fn read_so_far(&self) -> (u64, String) {
        self.position().read_so_far()
    }

    /// The input as messages name it.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// A handle on how far this source has read, for another thread.
    pub fn position(&self) -> SourcePosition {
        self.position.clone()
    }

    /// Hands the record `advance` moved to over to `other`, taking `other`'s buffers for reuse.
    pub fn swap_record(&mut self, other: &mut TextRecord) {
        std::mem::swap(&mut self.text, other);
    }

    /// Moves to the next non-blank record (see `record`) and returns the line it starts on, or
    /// None at the end.
    pub fn advance(&mut self) -> Result<Option<u64>> {
        if let Some(line) = self.pending.take() {
            return Ok(Some(line));
        }
        if self.text.is_too_large_to_keep() {
            // The record handed out last is done with: a large one is not held while the next
            // is read.
            self.text = TextRecord::new();
        }
        loop {
            let Some(line) = self.next_table_raw()? else {
                return Ok(None);
            };
            // A record whose cells are all empty is a blank row.
            if self.raw.cells_are_empty() {
                self.blank_rows += 1;
                continue;
            }
            self.decode(line)?;
            if let Some(types) = &mut self.column_types {
                types.apply(&mut self.text);
            }
            self.shape_record(line)?;
            return Ok(Some(line));
        }
    }

    /// Types the cells of a database query's columns (in the order it read them) as the
    /// query's result types say: numbers, booleans and JSON kept so in the payload, `\N` null.
    pub fn set_column_types(&mut self, types: Vec<ColumnType>) {
        self.column_types = Some(ColumnTypes::new(types));
    }

    /// The record `advance` moved to.
    pub fn record(&self) -> &TextRecord {
        &self.text
    }

    /// Reads the next raw record that is not a comment (`--comment`) into `self.raw`.
    fn next_table_raw(&mut self) -> Result<Option<u64>> {
        loop {
            let line = self.next_raw()?;
            let comment = self
                .comment
                .is_some_and(|mark| self.raw.get(0).and_then(|cell| cell.first()) == Some(&mark));
            if !comment {
                return Ok(line);
            }
        }
    }

    /// Reads the next raw record into `self.raw`, counting skipped empty lines.
    fn next_raw(&mut self) -> Result<Option<u64>> {
        if let Some(json) = &mut self.json {
            return json.next_row(&mut self.raw);
        }
        if let Some(sheet) = &mut self.sheet {
            // `--skip-lines` skips the sheet's first rows; `line_offset` is their count.
            let line = loop {
                let next = sheet.next_row(&mut self.raw);
                match next.with_context(|| self.label.clone())? {
                    Some(line) if line <= self.line_offset => continue,
                    other => break other,
                }
            };
            let Some(line) = line else {
                return Ok(None);
            };
            self.blank_rows += line.saturating_sub(self.expected_line);
            self.expected_line = line + 1;
            return Ok(Some(line));
        }
        let more = match self.reader.read_record(&mut self.raw) {
            Ok(more) => more,
            Err(err) => return Err(read_error(err, &self.label, self.line_offset)),
        };
        if !more {
            return Ok(None);
        }
        // The reader skips empty lines silently: the gap between the line it says the record
        // starts on and the line after the record before is blank rows.
        let line = self.reader.record_line() + self.line_offset;
        self.blank_rows += line.saturating_sub(self.expected_line);
        self.expected_line = self.reader.line_breaks_read() + 1 + self.line_offset;
        Ok(Some(line))
    }

    /// Turns `self.raw` into text in `self.bytes` per the input encoding.
    fn decode(&mut self, line: u64) -> Result<()> {
        let record = &mut self.text;
        match self.encoding {
            // Other encodings were turned into UTF-8 before parsing (`encoding::Transcode`).
            Encoding::Utf8 | Encoding::Other(_) => {
                let spare = self.spare.take().unwrap_or_default();
                let raw = std::mem::replace(&mut self.raw, spare);
                match TextRecord::from_raw(raw) {
                    Ok(text) => {
                        let old = std::mem::replace(record, text).into_raw();
                        // A large record's buffer is not kept for reuse.
                        self.spare = (!old.is_too_large_to_keep()).then_some(old);
                    }
                    Err(err) => {
                        let field = err.field + 1;
                        self.spare = Some(std::mem::replace(&mut self.raw, err.record));
                        if let Some(recognised) = self.recognised {
                            // The decoder marked a malformed sequence (`encoding::NOT_UTF8`).
                            bail!(
                                "{}: line {line}, column {field}: invalid {} (a lone surrogate, or an odd byte at the end; --encoding utf-16 reads it with U+FFFD in its place)",
                                self.label,
                                recognised.name()
                            );
                        }
                        bail!(
                            "{}: line {line}, column {field}: invalid UTF-8 (use --encoding with the file's encoding: windows-1252, iso-8859-2, utf-16le, shift_jis, ...)",
                            self.label
                        );
                    }
                }
            }
            Encoding::Latin1 => {
                record.clear();
                for cell in self.raw.iter() {
                    let text: String = cell.iter().map(|&b| b as char).collect();
                    record.push_field(&text);
                }
            }
            Encoding::Windows1252 => {
                record.clear();
                for cell in self.raw.iter() {
                    // Cell by cell: a cell that starts like a byte order mark is text, not a BOM.
                    let (text, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(cell);
                    record.push_field(&text);
                }
            }
        }
        Ok(())
    }
}

fn open_file(path: &Path) -> Result<File> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("{}: cannot open", path.display()))?;
    if meta.is_dir() {
        bail!("{}: is a directory, not a CSV file", path.display());
    }
    File::open(path).with_context(|| format!("{}: cannot open", path.display()))
}

#[cfg(test)]
mod tests;
