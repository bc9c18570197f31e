//! Validating, a dry pass: a CSV checked against a schema with no network and no log; a
//! summary, the errors (all of them with `--json`), and optionally the failing rows as CSV.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::exit::InvalidRowsError;
use crate::plan::ReadPlan;
use crate::read::ByteCounter;
use crate::stage::{CheckedRow, CheckedRows};

/// What `pulse validate` was asked.
pub struct ValidateSettings {
    pub read: ReadPlan,
    pub schema: Option<PathBuf>,
    /// Where to write the invalid rows as CSV.
    pub invalid_out: Option<PathBuf>,
    /// Error lines shown without `--json`.
    pub max_errors: usize,
    pub json: bool,
}

/// Checks every row, prints the report, and fails with exit code 3 when a row is invalid.
pub fn validate(asked: ValidateSettings) -> Result<()> {
    let schema = crate::schema::load_for_flag(asked.schema.as_deref())?;
    let source = super::remote::open_source(
        &asked.read.input,
        &asked.read.dialect,
        ByteCounter::default(),
    )?
    .0;
    for notice in source.notices() {
        crate::output::errln!("pulse: {notice}");
    }
    // A spreadsheet's name with its sheet, and its cells named as the sheet names them.
    let label = source.label().to_string();
    let cell_names = source.cell_names();
    let cell_of = |error: &crate::schema::CellError, row: u64| {
        let names = cell_names.as_ref()?;
        (error.field_number > 0).then(|| names(error.field_number - 1, row))
    };
    let mut rows = CheckedRows::new(source, schema.as_ref())?.read_ahead()?;
    let mut invalid_out = asked
        .invalid_out
        .as_deref()
        .map(|path| invalid_rows_writer(path, rows.headers()))
        .transpose()?;
    let rows_width = rows.headers().len();
    let mut out = crate::output::stdout();
    if asked.json {
        out.write_all(b"{\"errors\":[")?;
    }
    let (mut total, mut invalid, mut error_count) = (0u64, 0u64, 0u64);
    // (field, type) -> count: bounded by the number of fields times the error types.
    let mut by_field: BTreeMap<(String, &'static str), u64> = BTreeMap::new();
    let mut first_errors: Vec<String> = Vec::new();
    while let Some(row) = rows.next_row()? {
        total += 1;
        if row.valid() {
            continue;
        }
        invalid += 1;
        for error in row.errors {
            *by_field
                .entry((error.field_name.clone(), error.kind))
                .or_default() += 1;
            if asked.json {
                if error_count > 0 {
                    out.write_all(b",")?;
                }
                let mut entry = serde_json::to_value(error)?;
                entry["line"] = row.line.into();
                entry["index"] = row.index.into();
                if let Some(cell) = cell_of(error, row.line) {
                    entry["cell_ref"] = cell.into();
                }
                serde_json::to_writer(&mut out, &entry)?;
            } else if first_errors.len() < asked.max_errors {
                let at = match cell_of(error, row.line) {
                    Some(cell) => format!("row {} ({cell})", row.line),
                    None => format!("line {}", row.line),
                };
                first_errors.push(format!("{at}: {}", error.message));
            }
            error_count += 1;
        }
        if let Some(writer) = invalid_out.as_mut() {
            write_invalid_row(writer, &row, rows_width)?;
        }
    }
    if let Some(mut writer) = invalid_out {
        writer.flush()?;
    }
    let blank = rows.blank_rows();
    let counts = (total, invalid, blank);
    if asked.json {
        write_json_summary(&mut out, &label, counts, error_count, &by_field)?;
    } else {
        write_text_report(&mut out, &label, counts, &by_field, &first_errors)?;
    }
    out.flush()?;
    if invalid > 0 {
        let are = crate::plural::noun(invalid, "is", "are");
        let rows = crate::plural::count(total, "row", "rows");
        return Err(InvalidRowsError(format!("{label}: {invalid} of {rows} {are} invalid")).into());
    }
    Ok(())
}

/// One invalid row in the `--invalid-out` CSV, its error messages in the last column. Ragged
/// rows are padded (or cut) to the header so `errors` stays the last column; the errors name
/// any extra cells.
fn write_invalid_row(
    writer: &mut csv::Writer<std::fs::File>,
    row: &CheckedRow,
    width: usize,
) -> Result<()> {
    let messages: Vec<&str> = row.errors.iter().map(|e| e.message.as_str()).collect();
    let mut record: Vec<&str> = row.record.iter().take(width).collect();
    record.resize(width, "");
    let joined = messages.join("; ");
    record.push(&joined);
    writer.write_record(&record)?;
    Ok(())
}

/// The end of `--json`'s report: the errors array closed and the summary's fields spliced
/// into the same object.
fn write_json_summary(
    out: &mut impl Write,
    label: &str,
    (total, invalid, blank): (u64, u64, u64),
    error_count: u64,
    by_field: &BTreeMap<(String, &'static str), u64>,
) -> Result<()> {
    let summary = serde_json::json!({
        "source": label,
        "valid": invalid == 0,
        "rows": total,
        "valid_rows": total - invalid,
        "invalid_rows": invalid,
        "blank_rows": blank,
        "error_count": error_count,
        "errors_by_field": by_field.iter().map(|((field, kind), n)| serde_json::json!({
            "fieldName": field, "type": kind, "count": n,
        })).collect::<Vec<_>>(),
    });
    let text = summary.to_string();
    write!(out, "],{}", &text[1..])?;
    writeln!(out)?;
    Ok(())
}

/// The `--invalid-out` CSV: the header, and an `errors` column after it.
fn invalid_rows_writer(path: &Path, headers: &[String]) -> Result<csv::Writer<std::fs::File>> {
    let mut writer = csv::Writer::from_path(path)
        .with_context(|| format!("--invalid-out {}: cannot create", path.display()))?;
    let mut header: Vec<&str> = headers.iter().map(String::as_str).collect();
    header.push("errors");
    writer.write_record(&header)?;
    Ok(writer)
}

/// The report for people: counts, errors by field and type, and the first errors.
fn write_text_report(
    out: &mut impl Write,
    label: &str,
    (total, invalid, blank): (u64, u64, u64),
    by_field: &BTreeMap<(String, &'static str), u64>,
    first_errors: &[String],
) -> Result<()> {
    writeln!(
        out,
        "{label}: {}, {} valid, {invalid} invalid, {} skipped",
        crate::plural::count(total, "row", "rows"),
        total - invalid,
        crate::plural::count(blank, "blank row", "blank rows"),
    )?;
    if by_field.is_empty() {
        return Ok(());
    }
    writeln!(out, "errors by field and type:")?;
    let name = |field: &str| if field.is_empty() { "(row)" } else { field }.to_string();
    // Columns as wide as their longest entry (field names can be long), at least as wide as
    // the usual ones so that short tables read the same.
    let field_width = by_field
        .keys()
        .map(|(field, _)| name(field).chars().count())
        .fold(20, usize::max);
    let kind_width = by_field
        .keys()
        .map(|(_, kind)| kind.len())
        .fold(18, usize::max);
    for ((field, kind), n) in by_field {
        let field = name(field);
        writeln!(out, "  {field:<field_width$} {kind:<kind_width$} {n}")?;
    }
    if !first_errors.is_empty() {
        let errors = if first_errors.len() == 1 {
            "error"
        } else {
            "errors"
        };
        writeln!(out, "first {} {errors}:", first_errors.len())?;
        for line in first_errors {
            writeln!(out, "  {line}")?;
        }
    }
    Ok(())
}
