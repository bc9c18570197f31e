//! The fuzz targets' checks, shared with the main package's tests, which replay the seeds and
//! every crash input found so far (`tests/it/fuzz_regressions.rs`) on a stable toolchain.
//! A check that fails panics.

use pulse::fuzzing::{unpack_payload, RowPosition, RowWriter};
use pulse::fuzzing::{write_valid_cell, CheckedRows, TextRecord};
use pulse::fuzzing::{ByteCounter, CsvDialect, Encoding, Input, TableSource};
use pulse::fuzzing::{RowValidator, Schema};
use std::sync::OnceLock;

// The tests' workbook writer, shared: the tests reach it through here (this file is loaded by
// a path, so this one is relative to `fuzz/`).
#[allow(dead_code)]
#[path = "../tests/it/support/xlsx.rs"]
pub mod xlsx;

const SCHEMAS: &[&str] = &[
    // Every type, positional.
    r#"{"fields": [
        {"name": "a", "type": "integer", "constraints": {"required": true, "minimum": -5, "maximum": 1000}},
        {"name": "b", "type": "number", "decimalChar": ",", "groupChar": "."},
        {"name": "c", "type": "boolean", "trueValues": ["y"], "falseValues": ["n"]},
        {"name": "d", "type": "date"},
        {"name": "e", "type": "datetime", "format": "%d/%m/%Y %H:%M:%S"},
        {"name": "f", "type": "time"},
        {"name": "g", "type": "year"},
        {"name": "h", "type": "any"}
    ]}"#,
    // Strings and their constraints; keys.
    r#"{"fields": [
        {"name": "a", "type": "string", "constraints": {"unique": true, "pattern": "[a-z]+\\d*", "minLength": 1, "maxLength": 8}},
        {"name": "b", "type": "string", "format": "email"},
        {"name": "c", "type": "string", "format": "uri", "constraints": {"enum": ["http://x", "https://y"]}},
        {"name": "d", "type": "string", "format": "uuid"}
    ], "primaryKey": ["a", "b"], "uniqueKeys": [["c", "d"]], "missingValues": ["", "NA", "-"]}"#,
    // Columns matched by name, some missing.
    r#"{"fields": [
        {"name": "a", "type": "integer", "bareNumber": false, "constraints": {"unique": true}},
        {"name": "b", "type": "number", "constraints": {"exclusiveMinimum": 0, "enum": [1, 2.5, "3"]}},
        {"name": "z", "type": "date", "format": "%Y-%m-%d", "missingValues": ["none"]}
    ], "fieldsMatch": "superset", "primaryKey": "a"}"#,
    r#"{"fields": [
        {"name": "a", "type": "any"},
        {"name": "b", "type": "time", "format": "%H:%M", "constraints": {"minimum": "01:00", "maximum": "23:00"}}
    ], "fieldsMatch": "subset"}"#,
    r#"{"fields": [
        {"name": "b", "type": "year", "constraints": {"unique": true}},
        {"name": "a", "type": "datetime", "constraints": {"minimum": "2000-01-01T00:00:00Z"}}
    ], "fieldsMatch": "equal"}"#,
    r#"{"fields": [
        {"name": "a", "type": "string"},
        {"name": "q", "type": "integer", "constraints": {"required": true}}
    ], "fieldsMatch": "partial"}"#,
];

/// The CSV reader with validation: bytes -> `TableSource` -> `CheckedRows` -> row JSON.
///
/// Input layout: the first byte picks the options, the rest is the CSV.
/// - bits 0-1: encoding (0 and 3 UTF-8, 1 Latin-1, 2 Windows-1252)
/// - bit 2: `;` as the delimiter instead of `,`
/// - bit 3: a tiny `--max-record-size` (64 bytes), to reach the limit
/// - bits 4-7: the schema: 0 none, 1..=SCHEMAS.len() a fixed one, 15 inline (the bytes up to
///   the first NUL are the schema JSON, the rest is the CSV), others none
///
/// Checked: no panic, every row's JSON parses, line numbers only grow, and a file read to the
/// end was read whole.
pub fn csv_rows(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    // The fixed schemas are parsed once: compiling their patterns each time would dominate.
    static FIXED: OnceLock<Vec<Schema>> = OnceLock::new();
    let fixed = FIXED.get_or_init(|| {
        SCHEMAS
            .iter()
            .map(|text| Schema::parse(text, "fixed").expect("fixed schema loads"))
            .collect()
    });
    let inline;
    let (schema, csv): (Option<&Schema>, &[u8]) = match flags >> 4 {
        15 => {
            let split = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
            let Ok(text) = std::str::from_utf8(&rest[..split]) else {
                return;
            };
            let Ok(schema) = Schema::parse(text, "fuzz") else {
                return;
            };
            inline = schema;
            (Some(&inline), rest.get(split + 1..).unwrap_or_default())
        }
        0 => (None, rest),
        n => (fixed.get(n as usize - 1), rest),
    };
    let dialect = CsvDialect {
        delimiter: Some(if flags & 4 != 0 { b';' } else { b',' }),
        encoding: match flags & 3 {
            1 => Encoding::Latin1,
            2 => Encoding::Windows1252,
            _ => Encoding::Utf8,
        },
        max_record_bytes: if flags & 8 != 0 { 64 } else { 1 << 20 },
        ..CsvDialect::default()
    };
    let owned: Vec<u8> = csv.to_vec();
    let source = match TableSource::from_reader(
        Box::new(std::io::Cursor::new(owned)),
        "fuzz.csv".to_string(),
        &dialect,
        ByteCounter::default(),
    ) {
        Ok(source) => source,
        Err(_) => return,
    };
    let Ok(mut rows) = CheckedRows::new(source, schema) else {
        return;
    };
    if !check_rows(&mut rows) {
        return;
    }
    let (read, _) = rows.read_so_far();
    assert_eq!(
        read,
        csv.len() as u64,
        "input read to the end but not whole"
    );
}

/// Cells that reach most casts: numbers, booleans, dates and times, blanks, odd text.
const CELLS: &[&str] = &[
    "",
    "1",
    "-2.5",
    "1e400",
    "NaN",
    "true",
    "n",
    "2024-02-29",
    "2024-02-29T23:59:60Z",
    "12:30:00",
    "2024",
    "NA",
    "a@b.c",
    "http://x",
    "0bd5ef1e-8b5b-4f1e-9c6e-7b2b8d9d7a71",
    "é\u{0}\"\\",
];

/// The schema loader: bytes -> `Schema::parse` -> `RowValidator::new` against small headers ->
/// a few rows checked and cast to JSON.
///
/// Checked: no panic, and every cast value of a valid row is JSON that parses.
pub fn schema(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(schema) = Schema::parse(text, "fuzz") else {
        return;
    };
    let small: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
    let _ = RowValidator::new(Some(&schema), &small);
    // The schema's own field names, so that the casts and constraints run.
    let Some(names) = field_names(text) else {
        return;
    };
    let Ok(mut validator) = RowValidator::new(Some(&schema), &names) else {
        return;
    };
    let writer = RowWriter::new(&names);
    let mut errors = Vec::new();
    let mut out = Vec::new();
    for (index, shift) in (0..CELLS.len()).enumerate() {
        let cells: Vec<&str> = (0..names.len())
            .map(|i| CELLS[(i + shift) % CELLS.len()])
            .collect();
        if validator.is_blank_row(&cells) {
            continue;
        }
        validator.check_row(&cells, &mut errors);
        out.clear();
        let record: TextRecord = cells.iter().copied().collect();
        let growth = writer.write_row(
            &mut out,
            &record,
            RowPosition {
                index: index as u64 + 1,
                line: index as u64 + 2,
                previous: None,
            },
            &errors,
            None,
            |column, raw, _, out| validator.write_cast_value(column, raw, out),
        );
        assert_json(&writer, &out, growth);
    }
}

/// Every row pulse writes must be JSON a receiver can parse, once its key tokens are expanded.
/// Reads every row, checking that each row's JSON parses and that line numbers only grow;
/// false when reading stopped at an error (which is allowed: bad input is refused).
fn check_rows(rows: &mut CheckedRows) -> bool {
    let writer = RowWriter::new(rows.headers());
    let mut out = Vec::new();
    let mut last_line = 1;
    let mut last_index = 0;
    loop {
        let row = match rows.next_row() {
            Ok(Some(row)) => row,
            Ok(None) => break,
            Err(_) => return false,
        };
        assert!(row.line > last_line, "line {} after {last_line}", row.line);
        assert_eq!(row.index, last_index + 1);
        last_line = row.line;
        last_index = row.index;
        out.clear();
        let validator = row.validator;
        let growth = writer.write_row(
            &mut out,
            row.record,
            RowPosition {
                index: row.index,
                line: row.line,
                // Each row is expanded alone.
                previous: None,
            },
            row.errors,
            None,
            |column, raw, kind, out| write_valid_cell(validator, column, (raw, kind), out),
        );
        assert_json(&writer, &out, growth);
    }
    true
}

fn assert_json(writer: &RowWriter, written: &[u8], growth: usize) {
    let mut row = Vec::new();
    writer
        .token_table()
        .expand(written, written.len() + growth, &mut row)
        .expect("row tokens expand to their recorded size");
    if let Err(err) = serde_json::from_slice::<serde_json::Value>(&row) {
        panic!(
            "row JSON does not parse ({err}): {}",
            String::from_utf8_lossy(&row)
        );
    }
}

/// The field names of a schema that loaded (so the JSON is an object with a `fields` list).
fn field_names(text: &str) -> Option<Vec<String>> {
    let json: serde_json::Value = serde_json::from_str(text).ok()?;
    let fields = json.get("fields")?.as_array()?;
    let names: Vec<String> = fields
        .iter()
        .filter_map(|f| f.get("name")?.as_str().map(String::from))
        .collect();
    (names.len() == fields.len() && names.len() <= 64).then_some(names)
}

/// The payload decoder on a stored payload from the log, as damaged as the input makes it. The
/// input is the recorded JSON length (u16, little-endian: a damaged length is an error, not a
/// huge allocation, whatever its value) and then the blob. Checks: no panic; a payload that
/// decodes comes to exactly its recorded length, after what was in the buffer.
pub fn payload(data: &[u8]) {
    if data.len() < 2 {
        return;
    }
    let raw_len = u16::from_le_bytes([data[0], data[1]]) as usize;
    let mut out = b"prefix".to_vec();
    if unpack_payload(&data[2..], raw_len, &mut out, 16).is_ok() {
        assert_eq!(out.len(), 6 + raw_len, "decoded to its recorded length");
        assert_eq!(&out[..6], b"prefix", "what was there is kept");
    }
}

/// Spreadsheets: bytes -> a file -> `TableSource::open` -> `CheckedRows` (no schema).
///
/// Input layout: the first byte picks the options, the rest is the file.
/// - bits 0-1: 0 the bytes are an `.xlsx`, 1 an `.ods`, 2 an `.xls`; 3 the bytes up to the first
///   NUL are the worksheet XML and the rest the shared strings XML, packed into a valid `.xlsx`
///   (so that the fuzzer reaches the XML rather than the zip's checksums)
/// - bit 2: a tiny `--max-record-size` (64 bytes)
///
/// Checked: no panic, every row's JSON parses, line numbers only grow.
pub fn sheet(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let (extension, file) = match flags & 3 {
        0 => ("xlsx", rest.to_vec()),
        1 => ("ods", rest.to_vec()),
        2 => ("xls", rest.to_vec()),
        _ => {
            let split = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
            let strings = rest.get(split + 1..).unwrap_or_default();
            ("xlsx", xlsx_around(&rest[..split], strings))
        }
    };
    let path = std::env::temp_dir().join(format!(
        "pulse-fuzz-sheet-{}-{:?}.{extension}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::write(&path, file).expect("the temp dir is writable");
    let dialect = CsvDialect {
        max_record_bytes: if flags & 4 != 0 { 64 } else { 1 << 20 },
        ..CsvDialect::default()
    };
    let rows = TableSource::open(&Input::File(path.clone()), &dialect, ByteCounter::default())
        .and_then(|source| CheckedRows::new(source, None));
    if let Ok(mut rows) = rows {
        check_rows(&mut rows);
    }
    let _ = std::fs::remove_file(&path);
}

/// A `.xlsx` whose one sheet is `sheet` and whose shared strings are `strings`.
pub fn xlsx_around(sheet: &[u8], strings: &[u8]) -> Vec<u8> {
    let out = std::io::Cursor::new(Vec::new());
    xlsx::xlsx_to(out, |out| out.write_all(sheet), Some(strings)).into_inner()
}
