//! Which reader an input takes: CSV, JSON (an array of objects, or objects one after another:
//! JSON lines) or a spreadsheet, as `--input-format` says, else by the input's name, else by
//! its first bytes.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// `--input-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum InputFormat {
    Csv,
    /// A JSON array of objects (objects one after another are read too).
    Json,
    /// JSON lines / NDJSON: one object per line (a JSON array is read too).
    Jsonl,
    /// A spreadsheet (.xlsx, .xlsm, .xls, .ods), whatever the file is named.
    Xlsx,
}

/// The extensions that name JSON input, compressed or not.
pub fn is_json_name(label: &str) -> bool {
    let name = label.to_ascii_lowercase();
    let name = [".gz", ".gzip", ".zst", ".zstd"]
        .iter()
        .find_map(|suffix| name.strip_suffix(suffix))
        .unwrap_or(&name);
    let extension = Path::new(name).extension().and_then(|e| e.to_str());
    matches!(extension, Some("json" | "jsonl" | "ndjson"))
}

/// Whether the input's first bytes (after any byte order mark and compression) open JSON
/// objects: `{`, or `[` followed by `{` or `]` (a bracketed CSV header such as `[id],name`
/// opens with neither). `sample` is what could be peeked; `complete` when it is the whole input.
pub fn starts_like_json_objects(sample: &[u8]) -> bool {
    let mut rest = sample.iter().skip_while(|b| b.is_ascii_whitespace());
    match rest.next() {
        Some(b'{') => true,
        Some(b'[') => matches!(
            rest.find(|b| !b.is_ascii_whitespace()),
            Some(b'{') | Some(b']')
        ),
        _ => false,
    }
}

/// Whether the first cell of a header line is the start of JSON (a JSON-lines file or a JSON
/// document given by mistake): a CSV header does not open with `{`, nor with `[` followed by
/// an object, an array, a string or nothing (`[id]`, as some exports bracket names, is CSV).
pub fn looks_like_json(first_cell: &str) -> bool {
    if first_cell.starts_with('{') {
        return true;
    }
    match first_cell.strip_prefix('[').map(str::trim_start) {
        Some(rest) => rest.is_empty() || rest.starts_with(['{', '[', '"']),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_named_by_its_extension_compressed_or_not() {
        for name in [
            "a.json",
            "b.JSONL",
            "dir/c.ndjson",
            "d.jsonl.gz",
            "e.json.zst",
        ] {
            assert!(is_json_name(name), "{name}");
        }
        for name in ["a.csv", "json", "a.json.csv", "a.tsv.gz", "<stdin>"] {
            assert!(!is_json_name(name), "{name}");
        }
    }

    #[test]
    fn json_objects_are_told_from_csv_by_their_first_bytes() {
        for text in ["{\"a\":1}", "  \n{", "[{\"a\":1}]", "[\n  {", "[]", "[ ]"] {
            assert!(starts_like_json_objects(text.as_bytes()), "{text:?}");
        }
        for text in ["id,name", "[id],name", "[\"a\"]", "", "  ", "[", "\"{\""] {
            assert!(!starts_like_json_objects(text.as_bytes()), "{text:?}");
        }
    }

    #[test]
    fn json_is_told_apart_from_csv_headers() {
        for json in [
            "{\"id\":1",
            "{",
            "[",
            "[{\"id\":1}",
            "[ {",
            "[[1",
            "[\"id\"",
        ] {
            assert!(looks_like_json(json), "{json}");
        }
        for csv in ["id", "[id]", "[Customer Id]", "", "x{"] {
            assert!(!looks_like_json(csv), "{csv}");
        }
    }
}
