//! Single flag values: sizes, URLs, metadata, and how to read the input.

use anyhow::Result;

use crate::cli::{SourceArgs, TableArgs};
use crate::exit::usage;
use crate::plan::ReadPlan;
use crate::read::{
    parse_delimiter, CsvDialect, Encoding, Input, TableShape, DEFAULT_MAX_RECORD_BYTES,
    MAX_RECORD_BYTES_CEILING,
};
use crate::stage::EventKind;

/// What to read and how, from the flags push and validate share.
pub fn source_read_plan(source: &SourceArgs) -> Result<ReadPlan> {
    read_plan(
        &source.input,
        (source.delimiter.as_deref(), source.encoding),
        Some(&source.max_record_size),
        &source.table,
    )
}

/// What to read and how, for push, validate and schema infer alike; `--max-record-size` is
/// none for infer, which does not take it.
pub fn read_plan(
    input: &str,
    (delimiter, encoding): (Option<&str>, Encoding),
    max_record_size: Option<&str>,
    table: &TableArgs,
) -> Result<ReadPlan> {
    let max_record_bytes = match max_record_size {
        Some(text) => parse_record_size(text)?,
        None => DEFAULT_MAX_RECORD_BYTES,
    };
    Ok(ReadPlan {
        input: with_query(Input::parse(input), table)?,
        dialect: CsvDialect {
            delimiter: delimiter.map(parse_delimiter).transpose()?,
            encoding,
            max_record_bytes,
            table: table_shape(table)?,
        },
        remote: Default::default(),
    })
}

/// A database input with its `--query` (or `--query-file`); either is a usage error for any
/// other input.
fn with_query(input: Input, table: &TableArgs) -> Result<Input> {
    let query = match (&table.query, &table.query_file) {
        (Some(sql), _) => Some(sql.clone()),
        (None, Some(path)) => Some(std::fs::read_to_string(path).map_err(|err| {
            usage(format!(
                "--query-file {}: cannot read it ({err})",
                path.display()
            ))
        })?),
        (None, None) => None,
    };
    match (input, query) {
        (Input::Database { url, .. }, Some(query)) if !query.trim().is_empty() => {
            Ok(Input::Database { url, query })
        }
        (Input::Database { url, .. }, _) => Err(usage(format!(
            "{}: a database input needs --query SQL (or --query-file FILE)",
            crate::redact::shown_url(&url)
        ))),
        (input, None) => Ok(input),
        (input, Some(_)) => Err(usage(format!(
            "--query: {} is not a database (postgres://... or sqlite:///PATH)",
            input.label()
        ))),
    }
}

/// The input's header, lines and columns, checked.
fn table_shape(args: &TableArgs) -> Result<TableShape> {
    let comment = match args.comment.as_deref() {
        None => None,
        Some(text) if text.len() == 1 && text.is_ascii() && !matches!(text, "\"" | "\n" | "\r") => {
            Some(text.as_bytes()[0])
        }
        Some(text) => {
            return Err(usage(format!(
                "--comment {text:?} must be one ASCII character (e.g. '#')"
            )))
        }
    };
    let escape = match args.escape.as_deref() {
        None => None,
        Some(text) if text.len() == 1 && text.is_ascii() && !matches!(text, "\"" | "\n" | "\r") => {
            Some(text.as_bytes()[0])
        }
        Some(text) => {
            return Err(usage(format!(
                "--escape {text:?} must be one ASCII character other than a quote or line break \
                 (e.g. '\\')"
            )))
        }
    };
    if let Some(blank) = args.columns.iter().position(|name| name.trim().is_empty()) {
        return Err(usage(format!("--columns: name {} is blank", blank + 1)));
    }
    if let Some(blank) = args.select.iter().position(|name| name.trim().is_empty()) {
        return Err(usage(format!("--select: name {} is blank", blank + 1)));
    }
    let rename = args
        .rename
        .iter()
        .map(|pair| match pair.split_once('=') {
            Some((old, new)) if !old.is_empty() && !new.trim().is_empty() => {
                Ok((old.to_string(), new.to_string()))
            }
            _ => Err(usage(format!("--rename {pair:?} must be OLD=NEW"))),
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(TableShape {
        no_header: args.no_header,
        columns: args.columns.clone(),
        skip_lines: args.skip_lines,
        comment,
        escape,
        select: args.select.clone(),
        rename,
        sheet: args.sheet.clone(),
        format: args.input_format,
        flatten: args.flatten,
    })
}

/// `--max-record-size`: a size (see `parse_size`) of at most 1 GiB.
pub fn parse_record_size(text: &str) -> Result<u64> {
    let bytes = parse_size(text).map_err(|e| usage(format!("--max-record-size: {e}")))?;
    if bytes > MAX_RECORD_BYTES_CEILING {
        return Err(usage(format!(
            "--max-record-size: {text:?} is above the ceiling of 1GiB (a record is held whole in \
             memory, and a push holds it a few times over)"
        )));
    }
    Ok(bytes)
}

/// `64MiB`, `500KB`, `1024`: a byte count (decimal and binary units; at least 1 KiB).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (digits, unit) = trimmed.split_at(split);
    let number: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a size like 64MiB"))?;
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1000,
        "kib" | "k" => 1024,
        "mb" => 1000 * 1000,
        "mib" | "m" => 1024 * 1024,
        "gb" => 1000 * 1000 * 1000,
        "gib" | "g" => 1024 * 1024 * 1024,
        _ => {
            return Err(format!(
                "{text:?}: unknown unit (use B, KB, KiB, MB, MiB, GB or GiB)"
            ))
        }
    };
    let bytes = number
        .checked_mul(factor)
        .ok_or_else(|| format!("{text:?} is too large"))?;
    if bytes < 1024 {
        return Err(format!("{text:?} is below the minimum of 1KiB"));
    }
    Ok(bytes)
}

/// An absolute http(s) URL. An error shows it with its password masked: errors land in CI logs.
pub fn parse_url(text: &str) -> Result<reqwest::Url> {
    let shown = || crate::redact::shown_url(text);
    let url = reqwest::Url::parse(text)
        .map_err(|e| usage(format!("--url {:?} is not a valid URL ({e})", shown())))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(usage(format!(
            "--url {:?}: only http and https URLs are supported",
            shown()
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(usage(format!("--url {:?} has no host", shown())));
    }
    Ok(url)
}

/// `--metadata` must be a JSON object; it is sent compact.
pub fn parse_metadata(text: &str) -> Result<String> {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(value @ serde_json::Value::Object(_)) => Ok(value.to_string()),
        Ok(_) => Err(usage(
            "--metadata must be a JSON object, like '{\"source\":\"crm\"}'",
        )),
        Err(e) => Err(usage(format!("--metadata is not valid JSON: {e}"))),
    }
}

/// Parses `--events all,valid,invalid`, keeping the given order and refusing repeats.
pub fn parse_events(text: &str) -> Result<Vec<EventKind>> {
    let mut kinds = Vec::new();
    for part in text.split(',').map(str::trim) {
        let kind = EventKind::from_name(part).ok_or_else(|| {
            usage(format!(
                "--events: unknown event {part:?} (expected all, valid, invalid)"
            ))
        })?;
        if kinds.contains(&kind) {
            return Err(usage(format!("--events: {part:?} is given twice")));
        }
        kinds.push(kind);
    }
    Ok(kinds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_http() {
        assert!(parse_url("http://127.0.0.1:8080/hook").is_ok());
        assert!(parse_url("ftp://example.com/").is_err());
        assert!(parse_url("not a url").is_err());
    }

    #[test]
    fn metadata_must_be_an_object() {
        assert_eq!(parse_metadata(r#"{ "a": 1 }"#).unwrap(), r#"{"a":1}"#);
        assert!(parse_metadata("[1]").is_err());
        assert!(parse_metadata("{").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("64MiB").unwrap(), 64 * 1024 * 1024);
        assert_eq!(parse_size("500KB").unwrap(), 500_000);
        assert_eq!(parse_size("2048").unwrap(), 2048);
        assert!(parse_size("12").is_err());
        assert!(parse_size("3 parsecs").is_err());
        assert!(parse_size("99999999999GiB").is_err());
    }

    #[test]
    fn record_sizes_have_a_ceiling_of_one_gib() {
        assert_eq!(parse_record_size("1GiB").unwrap(), 1 << 30);
        assert_eq!(parse_record_size("1024MiB").unwrap(), 1 << 30);
        for above in ["1025MiB", "2GiB", "100GiB", "1073741825"] {
            let err = parse_record_size(above).unwrap_err().to_string();
            assert!(err.contains("above the ceiling of 1GiB"), "{above}: {err}");
        }
        assert!(parse_record_size("12").is_err());
    }
    #[test]
    fn events_parse_in_order_with_both_spellings() {
        assert_eq!(
            parse_events("invalidData,all,valid").unwrap(),
            vec![EventKind::Invalid, EventKind::All, EventKind::Valid]
        );
        assert!(parse_events("all,all").is_err());
        assert!(parse_events("some").is_err());
    }
}
