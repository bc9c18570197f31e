//! Whether an input is read as JSON, and opening it so: the checks of the flags that apply
//! to CSV alone, and the first object's keys.

use anyhow::{bail, Context, Result};
use std::io::Read;

use crate::read::dialect::CsvDialect;
use crate::read::encoding::Encoding;
use crate::read::format::{self, InputFormat};
use crate::read::json_rows::JsonRows;
use crate::read::peeked::Peeked;

/// Whether the input is read as JSON: as `--input-format` says, else by its name, else by its
/// first bytes. A usage error for `--input-format xlsx` (only a file is read as a
/// spreadsheet) and for the flags of JSON given to CSV.
pub fn reads_as_json(
    dialect: &CsvDialect,
    label: &str,
    head: &mut Peeked<Box<dyn Read + Send>>,
) -> Result<bool> {
    let json = match dialect.table.format {
        Some(InputFormat::Csv) => false,
        Some(InputFormat::Json | InputFormat::Jsonl) => true,
        Some(InputFormat::Xlsx) => {
            return Err(crate::exit::usage(format!(
                "--input-format xlsx: {label} is not a spreadsheet (a zip or OLE file)"
            )))
        }
        None => {
            format::is_json_name(label)
                || format::starts_like_json_objects(
                    head.peek_available(4096)
                        .with_context(|| format!("{label}: cannot read"))?,
                )
        }
    };
    if !json && dialect.table.flatten {
        return Err(crate::exit::usage(format!(
            "--flatten applies to JSON input; {label} is read as CSV (--input-format json reads it as JSON)"
        )));
    }
    if !json && !dialect.table.columns.is_empty() && !dialect.table.no_header {
        return Err(crate::exit::usage(
            "--columns names the columns of CSV without a header (with --no-header) or of JSON input",
        ));
    }
    Ok(json)
}

/// Opens JSON input (an array of objects, or JSON lines), read as UTF-8 (or as the UTF-16
/// its byte order mark names, turned into UTF-8 before): the rows, and the columns (the first
/// object's keys, or `--columns`).
pub fn open(
    head: Peeked<Box<dyn Read + Send>>,
    label: &str,
    dialect: &CsvDialect,
) -> Result<(JsonRows, Vec<String>)> {
    let shape = &dialect.table;
    let csv_only = [
        (shape.no_header, "--no-header"),
        (shape.skip_lines > 0, "--skip-lines"),
        (shape.comment.is_some(), "--comment"),
        (shape.escape.is_some(), "--escape"),
        (shape.sheet.is_some(), "--sheet"),
        (
            matches!(dialect.encoding, Encoding::Latin1 | Encoding::Windows1252),
            "--encoding",
        ),
    ];
    if let Some((_, flag)) = csv_only.iter().find(|(given, _)| *given) {
        return Err(crate::exit::usage(format!(
            "{flag}: {label} is read as JSON, which it does not apply to (--input-format csv reads it as CSV)"
        )));
    }
    let (rows, names) = JsonRows::open(
        Box::new(head),
        label.to_string(),
        &shape.columns,
        shape.flatten,
        dialect.max_record_bytes,
    )?;
    if rows.is_empty() {
        bail!("{label}: empty input (no JSON object; --columns names the columns of an input that may have none)");
    }
    Ok((rows, names))
}
