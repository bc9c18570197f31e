//! How a CSV file is written: its delimiter, encoding, escape, record limit and table shape,
//! as flags give them and a run stores them.

use anyhow::Result;

use crate::read::columns::TableShape;
use crate::read::encoding::Encoding;

/// Reading options.
#[derive(Debug, Clone)]
pub struct CsvDialect {
    /// None: sniffed (see `read::sniff`).
    pub delimiter: Option<u8>,
    pub encoding: Encoding,
    /// Largest record accepted, in bytes: one bad file must not exhaust memory.
    pub max_record_bytes: u64,
    /// The header, lines and columns wanted (`--no-header`, `--select`, ...).
    pub table: TableShape,
}

/// Default `--max-record-size`.
pub const DEFAULT_MAX_RECORD_BYTES: u64 = 64 * 1024 * 1024;

/// The most `--max-record-size` may be: a record is held whole (and pushed, in its JSON and
/// the batch stored), so a few times this is what one record can take in memory.
pub const MAX_RECORD_BYTES_CEILING: u64 = 1024 * 1024 * 1024;

impl Default for CsvDialect {
    fn default() -> Self {
        CsvDialect {
            delimiter: None,
            encoding: Encoding::Utf8,
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
            table: TableShape::default(),
        }
    }
}

/// A `--delimiter` value: one ASCII character, or `\t` for tab.
pub fn parse_delimiter(text: &str) -> Result<u8> {
    match text {
        "\\t" | "\t" | "tab" => Ok(b'\t'),
        "\n" | "\r" | "\\n" | "\\r" => Err(crate::exit::usage(
            "--delimiter cannot be a line break: lines end records",
        )),
        _ if text.len() == 1 && text.is_ascii() && text != "\"" => Ok(text.as_bytes()[0]),
        _ => Err(crate::exit::usage(format!(
            "--delimiter {text:?} must be one ASCII character (or \\t)"
        ))),
    }
}

impl CsvDialect {
    /// `--escape` cannot be the delimiter (given or sniffed) of the file `label`.
    pub fn check_escape(&self, delimiter: u8, label: &str) -> Result<()> {
        match self.table.escape {
            Some(escape) if escape == delimiter => Err(crate::exit::usage(format!(
                "--escape {:?} is the delimiter of {label}; give another character",
                char::from(escape)
            ))),
            _ => Ok(()),
        }
    }
}
