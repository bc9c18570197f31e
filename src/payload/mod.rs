//! JSON bodies: rows written straight into the batch buffer at staging, and the envelope
//! (`id`, `index`, `count`, ...) wrapped around a stored batch at send time, once totals are known.

mod formats;
mod nest;
mod query;
mod stored;
mod template;

use serde::{Deserialize, Serialize};

pub use formats::write_request_with;
pub use nest::check_nesting;
pub use stored::TokenTable;
pub use template::BodyTemplate;

use crate::json_out::{
    is_plain_json_text, put, write_json_string, write_json_string_body, write_u64,
};
use crate::read::{CellKind, TextRecord};
pub use stored::{decompress, unpack, Packer};

/// Writes rows as JSON objects keyed by header name, for storage: the keys and the other fixed
/// strings are written as tokens of `table` (see `keys`), and every write returns how many bytes
/// the row grows by when expanded, so that batches know their JSON size.
pub struct RowWriter {
    /// `"name":` for each header.
    keys: Vec<Piece>,
    /// `"name":"` for the first header and `","name":"` for the others: the fixed bytes
    /// before a cell written as a string, the previous cell's closing quote included.
    text_keys: Vec<Piece>,
    /// The written bytes of all `text_keys`, and their growth.
    text_keys_len: usize,
    text_keys_growth: usize,
    /// The fixed strings of a row's end; `text_end` closes a string row's last cell too.
    index: Piece,
    text_end: Piece,
    row: Piece,
    op: Piece,
    valid: Piece,
    invalid: Piece,
    table: TokenTable,
}

/// A fixed string as written (usually a token) and what expanding it adds.
struct Piece {
    written: Vec<u8>,
    growth: usize,
}

impl Piece {
    fn new(table: &mut TokenTable, text: &[u8]) -> Piece {
        let written = table.add(text);
        Piece {
            growth: text.len() - written.len(),
            written,
        }
    }

    /// Appends the piece and returns its growth.
    #[inline]
    fn write(&self, out: &mut Vec<u8>) -> usize {
        put(out, &self.written);
        self.growth
    }
}

/// Where a row stands in the input.
#[derive(Debug, Clone, Copy)]
pub struct RowPosition {
    /// 1-based position among data rows.
    pub index: u64,
    /// Line where the record starts (the header is line 1).
    pub line: u64,
    /// The index and line of the row written before it in the same payload, if any: numbers
    /// one more than those are stored in a byte each (see `TokenTable::write_counter`).
    pub previous: Option<(u64, u64)>,
}

/// The `TokenTable` counters of a row's numbers.
const INDEX_COUNTER: usize = 0;
const LINE_COUNTER: usize = 1;

impl RowWriter {
    pub fn new(headers: &[String]) -> RowWriter {
        let mut table = TokenTable::default();
        // The strings every row has come first: they get one-byte tokens whatever the width.
        let index = Piece::new(&mut table, b"\"__index\":");
        let text_end = Piece::new(&mut table, b"\",\"__index\":");
        let row = Piece::new(&mut table, b",\"__row\":");
        let valid = Piece::new(&mut table, b",\"__valid\":true,\"__errors\":[]}");
        let invalid = Piece::new(&mut table, b",\"__valid\":false,\"__errors\":");
        let op = Piece::new(&mut table, b",\"__op\":");
        let keys: Vec<Vec<u8>> = headers
            .iter()
            .map(|h| {
                let mut key = Vec::with_capacity(h.len() + 3);
                write_json_string(&mut key, h);
                key.push(b':');
                key
            })
            .collect();
        let text_keys: Vec<Piece> = keys
            .iter()
            .enumerate()
            .map(|(column, key)| {
                let close: &[u8] = if column == 0 { b"" } else { b"\"," };
                Piece::new(&mut table, &[close, key, b"\""].concat())
            })
            .collect();
        let keys: Vec<Piece> = keys.iter().map(|key| Piece::new(&mut table, key)).collect();
        RowWriter {
            text_keys_len: text_keys.iter().map(|k| k.written.len()).sum(),
            text_keys_growth: text_keys.iter().map(|k| k.growth).sum(),
            keys,
            text_keys,
            index,
            text_end,
            row,
            op,
            valid,
            invalid,
            table,
        }
    }

    /// What the tokens of written rows stand for.
    pub fn token_table(&self) -> &TokenTable {
        &self.table
    }

    /// Appends a valid row whose cells are all strings (no schema types them, and they are
    /// not a JSON input's numbers, booleans, nulls or objects): each cell between fixed bytes,
    /// copied as it is when no cell needs escaping (which one scan of the whole record tells),
    /// escaped otherwise. A row of another width, or with typed cells, is written by
    /// `write_row`.
    pub fn write_text_row(
        &self,
        out: &mut Vec<u8>,
        record: &TextRecord,
        position: RowPosition,
        op: Option<&str>,
    ) -> usize {
        if record.len() != self.keys.len() || record.has_kinds() {
            let no_errors: &[()] = &[];
            return self.write_row(out, record, position, no_errors, op, |_, raw, kind, out| {
                write_as_read(out, raw, kind)
            });
        }
        // Cells, keys, quotes and the bookkeeping fields: one growth at most.
        out.reserve(record.as_bytes().len() + self.text_keys_len + 128);
        out.push(b'{');
        if is_plain_json_text(record.as_bytes()) {
            for (key, cell) in self.text_keys.iter().zip(record.iter()) {
                put(out, &key.written);
                put(out, cell.as_bytes());
            }
        } else {
            for (key, cell) in self.text_keys.iter().zip(record.iter()) {
                put(out, &key.written);
                write_json_string_body(out, cell);
            }
        }
        let end = if self.keys.is_empty() {
            &self.index
        } else {
            &self.text_end
        };
        self.text_keys_growth + self.write_row_end::<()>(out, end, position, op, Ok(()))
    }

    /// Appends one row object. `cast` writes the JSON value of a valid row's text cell;
    /// invalid rows keep their original text. A JSON input's typed cells (`CellKind`) are
    /// written as the input had them when `cast` writes them so (`write_as_read`).
    /// Missing cells of ragged rows are null; extra cells are kept in `__extra` so nothing in
    /// the input is lost. `op` tags the row with `__op`. Returns the row's growth when
    /// expanded.
    pub fn write_row<E: Serialize>(
        &self,
        out: &mut Vec<u8>,
        record: &TextRecord,
        position: RowPosition,
        errors: &[E],
        op: Option<&str>,
        mut cast: impl FnMut(usize, &str, CellKind, &mut Vec<u8>),
    ) -> usize {
        let valid = errors.is_empty();
        out.push(b'{');
        let mut growth = 0;
        let mut written = 0;
        let mut extra_open = false;
        for (column, cell) in record.iter().enumerate() {
            let kind = record.kind(column);
            if let Some(key) = self.keys.get(column) {
                growth += key.write(out);
                if valid {
                    cast(column, cell, kind, out);
                } else {
                    write_as_read(out, cell, kind);
                }
                out.push(b',');
            } else {
                out.extend_from_slice(if extra_open { b"" } else { b"\"__extra\":[" });
                extra_open = true;
                write_as_read(out, cell, kind);
                out.push(b',');
            }
            written = column + 1;
        }
        if extra_open {
            out.pop();
            out.extend_from_slice(b"],");
        }
        for key in self.keys.iter().skip(written) {
            growth += key.write(out);
            out.extend_from_slice(b"null,");
        }
        let verdict = if valid { Ok(()) } else { Err(errors) };
        growth + self.write_row_end(out, &self.index, position, op, verdict)
    }

    /// The bookkeeping fields that end every row, from `index` (the `__index` key and what
    /// comes before it) on; returns their growth.
    fn write_row_end<E: Serialize>(
        &self,
        out: &mut Vec<u8>,
        index: &Piece,
        position: RowPosition,
        op: Option<&str>,
        verdict: Result<(), &[E]>,
    ) -> usize {
        let previous = position.previous;
        let mut growth = index.write(out) as isize;
        growth +=
            TokenTable::write_counter(out, INDEX_COUNTER, position.index, previous.map(|p| p.0));
        growth += self.row.write(out) as isize;
        growth +=
            TokenTable::write_counter(out, LINE_COUNTER, position.line, previous.map(|p| p.1));
        let mut growth =
            usize::try_from(growth).expect("the first entry, `__index`, is a token that grows");
        if let Some(op) = op {
            growth += self.op.write(out);
            write_json_string(out, op);
        }
        match verdict {
            Ok(()) => growth + self.valid.write(out),
            Err(errors) => {
                growth += self.invalid.write(out);
                serde_json::to_writer(&mut *out, errors).expect("errors serialize");
                out.push(b'}');
                growth
            }
        }
    }
}

/// Writes a cell as the input had it: text as a JSON string, a JSON input's number, boolean,
/// object or array as its JSON, its null and missing keys as `null`.
pub fn write_as_read(out: &mut Vec<u8>, cell: &str, kind: CellKind) {
    match kind {
        CellKind::Text => write_json_string(out, cell),
        CellKind::Json => out.extend_from_slice(cell.as_bytes()),
        CellKind::Null | CellKind::Missing => out.extend_from_slice(b"null"),
    }
}

/// Body layouts: `pulse` (Pulter-compatible) and the shapes of hosted importers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    #[default]
    Pulse,
    Impler,
    Flatfile,
    Valmi,
}

/// HTTP method: POST with a JSON body, or GET with the row flattened into the query string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    #[default]
    Post,
    Get,
}

/// The run-wide parts of every body, stored with the run so resend and resume rebuild the same
/// bytes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BodyContext {
    pub template_id: String,
    pub user_id: Option<String>,
    /// A JSON object, compact.
    pub metadata: String,
    #[serde(default)]
    pub format: Format,
    #[serde(default)]
    pub method: Method,
    /// The sync mode (`append`, `upsert`, ...), sent as valmi's `_sync_mode`.
    #[serde(default = "default_mode")]
    pub mode: String,
    /// The input's file name, sent as impler's `fileName`.
    #[serde(default)]
    pub file_name: String,
    /// The run id, sent as impler's `uploadId`.
    #[serde(default)]
    pub run_id: String,
    /// Rows per batch, sent as impler's `chunkSize`.
    #[serde(default)]
    pub batch_size: u64,
    /// `--template`: the body rendered from it instead of a format's. (Absent from runs
    /// without it, so their shape, `run::repeat`, is what it was.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<BodyTemplate>,
    /// `--content-type`; `application/json` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// `--nest`: dotted column names become nested objects.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub nest: bool,
}

impl BodyContext {
    /// The body's media type, as the `Content-Type` header says it.
    pub fn content_type(&self) -> &str {
        self.content_type.as_deref().unwrap_or("application/json")
    }

    /// Whether a `pulse` POST body takes the stored rows as they are (no template, no nesting).
    fn rows_verbatim(&self) -> bool {
        (self.method, self.format) == (Method::Post, Format::Pulse)
            && self.template.is_none()
            && !self.nest
    }
}

fn default_mode() -> String {
    "append".into()
}

/// For stored runs that lack a body context (read leniently by resend and resume).
impl Default for BodyContext {
    fn default() -> Self {
        BodyContext {
            template_id: String::new(),
            user_id: None,
            metadata: "{}".into(),
            format: Format::default(),
            method: Method::default(),
            mode: default_mode(),
            file_name: String::new(),
            run_id: String::new(),
            batch_size: 0,
            template: None,
            content_type: None,
            nest: false,
        }
    }
}

/// Identifies a batch within its event.
#[derive(Debug, Clone, Copy)]
pub struct BatchHeader<'a> {
    /// The batch id (the webhook-id).
    pub batch_id: &'a str,
    pub event_id: &'a str,
    pub event_name: &'a str,
    pub index: u64,
    pub count: u64,
    /// Rows in the event.
    pub total_rows: u64,
    /// Rows in the run (a template's `run.total_rows`).
    pub run_rows: u64,
}

/// Everything of a `pulse` body before `data`'s array.
fn write_body_prefix(out: &mut Vec<u8>, ctx: &BodyContext, batch: &BatchHeader) {
    out.extend_from_slice(b"{\"id\":");
    write_json_string(out, batch.event_id);
    out.extend_from_slice(b",\"templateId\":");
    write_json_string(out, &ctx.template_id);
    out.extend_from_slice(b",\"index\":");
    write_u64(out, batch.index);
    out.extend_from_slice(b",\"count\":");
    write_u64(out, batch.count);
    out.extend_from_slice(b",\"totalRows\":");
    write_u64(out, batch.total_rows);
    out.extend_from_slice(b",\"event_name\":");
    write_json_string(out, batch.event_name);
    out.extend_from_slice(b",\"data\":");
}

/// Everything of a `pulse` body after `data`'s array.
fn write_body_suffix(out: &mut Vec<u8>, ctx: &BodyContext) {
    out.extend_from_slice(b",\"user\":");
    match &ctx.user_id {
        Some(id) => {
            out.extend_from_slice(b"{\"id\":");
            write_json_string(out, id);
            out.push(b'}');
        }
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"metadata\":");
    out.extend_from_slice(ctx.metadata.as_bytes());
    out.push(b'}');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn as_strings(_column: usize, cell: &str, _kind: CellKind, out: &mut Vec<u8>) {
        write_json_string(out, cell);
    }

    /// The JSON of rows written with `growth` bytes to expand.
    fn expanded(writer: &RowWriter, written: &[u8], growth: usize) -> Vec<u8> {
        let mut json = Vec::new();
        writer
            .token_table()
            .expand(written, written.len() + growth, &mut json)
            .unwrap();
        json
    }

    #[test]
    fn text_rows_are_written_as_by_write_row() {
        let headers: Vec<String> = ["id", "name \"q\"", "note"].map(String::from).into();
        let writer = RowWriter::new(&headers);
        let records: [&[&str]; 7] = [
            &["1", "Zoë", "plain, with a comma"],
            &["2", "", ""],
            &["3", "Ann", "says \"hi\""],
            &["4", "back\\slash", "line\nbreak\u{1}"],
            &["5", "short"],
            &["6", "one", "two", "three"],
            &["7", "€€€€€€€€", "東京 → ÿ"],
        ];
        for (i, cells) in records.into_iter().enumerate() {
            for op in [None, Some("upsert")] {
                let pos = RowPosition {
                    index: i as u64 + 1,
                    line: i as u64 + 2,
                    previous: None,
                };
                let mut expected = b"[".to_vec();
                let expected_growth = writer.write_row::<()>(
                    &mut expected,
                    &cells.iter().copied().collect(),
                    pos,
                    &[],
                    op,
                    as_strings,
                );
                let mut written = b"[".to_vec();
                let record: TextRecord = cells.iter().copied().collect();
                let growth = writer.write_text_row(&mut written, &record, pos, op);
                assert_eq!(written.len() + growth, expected.len() + expected_growth);
                assert_eq!(
                    String::from_utf8(expanded(&writer, &written, growth)).unwrap(),
                    String::from_utf8(expanded(&writer, &expected, expected_growth)).unwrap()
                );
                let row: Value =
                    serde_json::from_slice(&expanded(&writer, &written[1..], growth)).unwrap();
                assert_eq!(row["__index"], i + 1);
            }
        }
    }

    #[test]
    fn wide_headers_expand_past_the_one_byte_and_two_byte_tokens() {
        // 5 row-end strings + 2 per column: one-byte tokens run out at 13 columns, two-byte
        // ones at 140; the rest are written out in full.
        let headers: Vec<String> = (0..200).map(|i| format!("col {i}")).collect();
        let writer = RowWriter::new(&headers);
        let cells: Vec<String> = (0..200).map(|i| format!("v{i}")).collect();
        let record: TextRecord = cells.iter().map(String::as_str).collect();
        let pos = RowPosition {
            index: 1,
            line: 2,
            previous: None,
        };
        let mut out = Vec::new();
        let growth = writer.write_text_row(&mut out, &record, pos, None);
        let row: Value = serde_json::from_slice(&expanded(&writer, &out, growth)).unwrap();
        for (header, cell) in headers.iter().zip(&cells) {
            assert_eq!(row[header], Value::String(cell.clone()));
        }
        assert_eq!(row["__row"], 2);
        let mut out = Vec::new();
        let growth = writer.write_row(&mut out, &record, pos, &["an error"], None, as_strings);
        let row: Value = serde_json::from_slice(&expanded(&writer, &out, growth)).unwrap();
        assert_eq!(row["col 199"], "v199");
        assert_eq!(row["__errors"], json!(["an error"]));
    }

    #[test]
    fn rows_keep_header_keys_and_positions() {
        let writer = RowWriter::new(&["name".into(), "note \"q\"".into()]);
        let mut out = Vec::new();
        let pos = RowPosition {
            index: 3,
            line: 5,
            previous: None,
        };
        let growth = writer.write_row::<()>(
            &mut out,
            &["Zoë", "a,b\nc"].into_iter().collect(),
            pos,
            &[],
            Some("upsert"),
            as_strings,
        );
        assert!(out.len() < 40, "keys are stored as tokens: {out:?}");
        let row: Value = serde_json::from_slice(&expanded(&writer, &out, growth)).unwrap();
        assert_eq!(
            row,
            json!({"name": "Zoë", "note \"q\"": "a,b\nc", "__index": 3, "__row": 5,
                   "__op": "upsert", "__valid": true, "__errors": []})
        );
    }

    #[test]
    fn ragged_rows_lose_nothing() {
        let writer = RowWriter::new(&["a".into(), "b".into()]);
        let pos = RowPosition {
            index: 1,
            line: 2,
            previous: None,
        };
        let mut out = Vec::new();
        let growth = writer.write_row(
            &mut out,
            &["1"].into_iter().collect(),
            pos,
            &["missing"],
            None,
            as_strings,
        );
        let row: Value = serde_json::from_slice(&expanded(&writer, &out, growth)).unwrap();
        assert_eq!(row["b"], Value::Null);
        assert_eq!(row["__valid"], false);
        let mut out = Vec::new();
        let growth = writer.write_row(
            &mut out,
            &["1", "2", "3", "4"].into_iter().collect(),
            pos,
            &["extra"],
            None,
            as_strings,
        );
        let row: Value = serde_json::from_slice(&expanded(&writer, &out, growth)).unwrap();
        assert_eq!(row["__extra"], json!(["3", "4"]));
    }

    #[test]
    fn a_json_inputs_typed_cells_are_written_as_it_had_them() {
        let writer = RowWriter::new(&["n".into(), "s".into(), "z".into(), "o".into(), "m".into()]);
        let mut record = TextRecord::new();
        for (text, kind) in [
            ("2.50", CellKind::Json),
            ("5", CellKind::Text),
            ("", CellKind::Null),
            ("{\"a\":[true]}", CellKind::Json),
        ] {
            record.push_typed(text, kind);
        }
        let pos = RowPosition {
            index: 1,
            line: 1,
            previous: None,
        };
        let mut out = Vec::new();
        let growth = writer.write_text_row(&mut out, &record, pos, None);
        let row: Value = serde_json::from_slice(&expanded(&writer, &out, growth)).unwrap();
        assert_eq!(
            row,
            json!({"n": 2.50, "s": "5", "z": null, "o": {"a": [true]}, "m": null,
                   "__index": 1, "__row": 1, "__valid": true, "__errors": []})
        );
        assert_eq!(
            String::from_utf8(expanded(&writer, &out, growth)).unwrap(),
            r#"{"n":2.50,"s":"5","z":null,"o":{"a":[true]},"m":null,"__index":1,"__row":1,"__valid":true,"__errors":[]}"#
        );
    }

    #[test]
    fn numbers_that_follow_the_row_before_take_a_byte_each() {
        let writer = RowWriter::new(&["a".into()]);
        let record: TextRecord = ["x"].into_iter().collect();
        // Rows 9 to 12; the record of row 10 spans three lines.
        let rows = [(9, 99), (10, 100), (11, 103), (12, 104)];
        let mut written = b"[".to_vec();
        let mut growth = 0;
        let mut previous = None;
        let mut sizes = Vec::new();
        for (index, line) in rows {
            let start = written.len();
            let position = RowPosition {
                index,
                line,
                previous,
            };
            growth += writer.write_text_row(&mut written, &record, position, None);
            sizes.push(written.len() - start);
            written.push(b',');
            previous = Some((index, line));
        }
        written.pop();
        written.push(b']');
        assert_eq!(
            sizes[1],
            sizes[0] - 3,
            "one byte each instead of a token and digits"
        );
        assert_eq!(
            sizes[2],
            sizes[1] + 3,
            "the line jumps: its digits are written"
        );
        let rows: Value = serde_json::from_slice(&expanded(&writer, &written, growth)).unwrap();
        let numbers: Vec<(u64, u64)> = rows
            .as_array()
            .unwrap()
            .iter()
            .map(|row| {
                (
                    row["__index"].as_u64().unwrap(),
                    row["__row"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(numbers, [(9, 99), (10, 100), (11, 103), (12, 104)]);
    }
}
