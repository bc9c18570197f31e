//! JSON bodies: rows written straight into the batch buffer at staging, and the envelope
//! (`id`, `index`, `count`, ...) wrapped around a stored batch at send time, once totals are known.

mod formats;
mod query;

use serde::{Deserialize, Serialize};

pub use formats::{write_request, write_request_with};

use crate::json_out::{is_plain_json_text, write_json_string, write_u64};

/// Writes rows as JSON objects keyed by header name.
pub struct RowWriter {
    /// `"name":` for each header, encoded once.
    keys: Vec<Vec<u8>>,
    /// `"name":"` for each header, and `,"name":"` after the first: the fixed bytes before a
    /// cell written as a string.
    text_keys: Vec<Vec<u8>>,
    /// The bytes of all `text_keys`.
    text_keys_len: usize,
}

/// Where a row stands in the input.
#[derive(Debug, Clone, Copy)]
pub struct RowPosition {
    /// 1-based position among data rows.
    pub index: u64,
    /// Line where the record starts (the header is line 1).
    pub line: u64,
}

impl RowWriter {
    pub fn new(headers: &[String]) -> RowWriter {
        let keys = headers
            .iter()
            .map(|h| {
                let mut key = Vec::with_capacity(h.len() + 3);
                write_json_string(&mut key, h);
                key.push(b':');
                key
            })
            .collect::<Vec<Vec<u8>>>();
        let text_keys = keys
            .iter()
            .enumerate()
            .map(|(column, key)| {
                let comma: &[u8] = if column == 0 { b"" } else { b"," };
                [comma, key, b"\""].concat()
            })
            .collect::<Vec<Vec<u8>>>();
        let text_keys_len = text_keys.iter().map(Vec::len).sum();
        RowWriter {
            keys,
            text_keys,
            text_keys_len,
        }
    }

    /// Appends a valid row whose cells are all strings (no schema types them). When no cell
    /// needs escaping, which one scan of the whole record tells, each cell is a single copy
    /// between fixed bytes; otherwise the row is written as by `write_row`.
    pub fn write_text_row(
        &self,
        out: &mut Vec<u8>,
        record: &csv::StringRecord,
        position: RowPosition,
        op: Option<&str>,
    ) {
        if record.len() != self.keys.len() || !is_plain_json_text(record.as_slice().as_bytes()) {
            let no_errors: &[()] = &[];
            return self.write_row(
                out,
                record.iter(),
                position,
                no_errors,
                op,
                |_, raw, out| write_json_string(out, raw),
            );
        }
        // Cells, keys, quotes and the bookkeeping fields: one growth at most.
        out.reserve(record.as_slice().len() + self.text_keys_len + 128);
        out.push(b'{');
        for (key, cell) in self.text_keys.iter().zip(record.iter()) {
            out.extend_from_slice(key);
            out.extend_from_slice(cell.as_bytes());
            out.push(b'"');
        }
        if !self.keys.is_empty() {
            out.push(b',');
        }
        self.write_row_end::<()>(out, position, op, Ok(()));
    }

    /// Appends one row object. `cast` writes the JSON value of a valid row's cell; invalid rows
    /// keep their original text. Missing cells of ragged rows are null; extra cells are kept in
    /// `__extra` so nothing in the file is lost. `op` tags the row with `__op`.
    pub fn write_row<'a, E: Serialize>(
        &self,
        out: &mut Vec<u8>,
        cells: impl Iterator<Item = &'a str>,
        position: RowPosition,
        errors: &[E],
        op: Option<&str>,
        mut cast: impl FnMut(usize, &str, &mut Vec<u8>),
    ) {
        let valid = errors.is_empty();
        out.push(b'{');
        let mut written = 0;
        let mut extra_open = false;
        for (column, cell) in cells.enumerate() {
            if let Some(key) = self.keys.get(column) {
                out.extend_from_slice(key);
                if valid {
                    cast(column, cell, out);
                } else {
                    write_json_string(out, cell);
                }
                out.push(b',');
            } else {
                out.extend_from_slice(if extra_open { b"" } else { b"\"__extra\":[" });
                extra_open = true;
                write_json_string(out, cell);
                out.push(b',');
            }
            written = column + 1;
        }
        if extra_open {
            out.pop();
            out.extend_from_slice(b"],");
        }
        for key in self.keys.iter().skip(written) {
            out.extend_from_slice(key);
            out.extend_from_slice(b"null,");
        }
        let verdict = if valid { Ok(()) } else { Err(errors) };
        self.write_row_end(out, position, op, verdict);
    }

    /// The bookkeeping fields that end every row, after its cells and a comma.
    fn write_row_end<E: Serialize>(
        &self,
        out: &mut Vec<u8>,
        position: RowPosition,
        op: Option<&str>,
        verdict: Result<(), &[E]>,
    ) {
        out.extend_from_slice(b"\"__index\":");
        write_u64(out, position.index);
        out.extend_from_slice(b",\"__row\":");
        write_u64(out, position.line);
        if let Some(op) = op {
            out.extend_from_slice(b",\"__op\":");
            write_json_string(out, op);
        }
        match verdict {
            Ok(()) => out.extend_from_slice(b",\"__valid\":true,\"__errors\":[]}"),
            Err(errors) => {
                out.extend_from_slice(b",\"__valid\":false,\"__errors\":");
                serde_json::to_writer(&mut *out, errors).expect("errors serialize");
                out.push(b'}');
            }
        }
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
    pub total_rows: u64,
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

    fn as_strings(_column: usize, cell: &str, out: &mut Vec<u8>) {
        write_json_string(out, cell);
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
                };
                let mut expected = b"[".to_vec();
                writer.write_row::<()>(
                    &mut expected,
                    cells.iter().copied(),
                    pos,
                    &[],
                    op,
                    as_strings,
                );
                let mut written = b"[".to_vec();
                let record = csv::StringRecord::from(cells.to_vec());
                writer.write_text_row(&mut written, &record, pos, op);
                assert_eq!(
                    String::from_utf8(written).unwrap(),
                    String::from_utf8(expected).unwrap()
                );
            }
        }
    }

    #[test]
    fn rows_keep_header_keys_and_positions() {
        let writer = RowWriter::new(&["name".into(), "note \"q\"".into()]);
        let mut out = Vec::new();
        let pos = RowPosition { index: 3, line: 5 };
        writer.write_row::<()>(
            &mut out,
            ["Zoë", "a,b\nc"].into_iter(),
            pos,
            &[],
            Some("upsert"),
            as_strings,
        );
        let row: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            row,
            json!({"name": "Zoë", "note \"q\"": "a,b\nc", "__index": 3, "__row": 5,
                   "__op": "upsert", "__valid": true, "__errors": []})
        );
    }

    #[test]
    fn ragged_rows_lose_nothing() {
        let writer = RowWriter::new(&["a".into(), "b".into()]);
        let pos = RowPosition { index: 1, line: 2 };
        let mut out = Vec::new();
        writer.write_row(
            &mut out,
            ["1"].into_iter(),
            pos,
            &["missing"],
            None,
            as_strings,
        );
        let row: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(row["b"], Value::Null);
        assert_eq!(row["__valid"], false);
        let mut out = Vec::new();
        writer.write_row(
            &mut out,
            ["1", "2", "3", "4"].into_iter(),
            pos,
            &["extra"],
            None,
            as_strings,
        );
        let row: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(row["__extra"], json!(["3", "4"]));
    }
}
