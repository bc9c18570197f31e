//! A database query's result read as CSV (`COPY ... (FORMAT csv, NULL '\N')`, or SQLite's rows
//! written so), its cells typed by the query's column types: numbers, booleans and JSON reach
//! the payload as such, as a JSON input's do, and `\N` is SQL's NULL.

use crate::read::raw_record::CellKind;
use crate::read::text_record::TextRecord;

/// How the query's result types a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    Text,
    /// Integers, floats, numerics: sent as JSON numbers (`NaN` and infinities stay text).
    Number,
    /// `t`/`f` (PostgreSQL) or `1`/`0` (SQLite): sent and validated as `true`/`false`.
    Boolean,
    /// `json`/`jsonb`: the value's JSON as it is.
    Json,
}

/// What the query input writes for NULL: unquoted, where an empty string is `""`, which CSV
/// reads as empty too.
pub const SQL_NULL: &str = "\\N";

/// The column types, applied to each record.
pub struct ColumnTypes {
    types: Vec<ColumnType>,
    scratch: TextRecord,
}

impl ColumnTypes {
    pub fn new(types: Vec<ColumnType>) -> ColumnTypes {
        ColumnTypes {
            types,
            scratch: TextRecord::new(),
        }
    }

    /// Gives `record`'s cells their kinds (and booleans their JSON text).
    pub fn apply(&mut self, record: &mut TextRecord) {
        let out = &mut self.scratch;
        out.clear();
        for (i, cell) in record.iter().enumerate() {
            let column = self.types.get(i).copied().unwrap_or(ColumnType::Text);
            match (column, cell) {
                (_, SQL_NULL) => out.push_typed("", CellKind::Null),
                (ColumnType::Number, _) if is_json_number(cell) => {
                    out.push_typed(cell, CellKind::Json)
                }
                (ColumnType::Boolean, "t" | "1" | "true") => out.push_typed("true", CellKind::Json),
                (ColumnType::Boolean, "f" | "0" | "false") => {
                    out.push_typed("false", CellKind::Json)
                }
                (ColumnType::Json, _)
                    if serde_json::from_str::<serde::de::IgnoredAny>(cell).is_ok() =>
                {
                    out.push_typed(cell, CellKind::Json)
                }
                _ => out.push_typed(cell, CellKind::Text),
            }
        }
        std::mem::swap(record, out);
    }
}

/// Whether `text` is a JSON number (`-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`).
fn is_json_number(text: &str) -> bool {
    let b = text.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'-'));
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => {
            digits(&mut i);
        }
        _ => return false,
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_numbers_are_told_from_other_text() {
        for yes in ["0", "-0", "12", "12.50", "-1e3", "1.5E+10", "0.001"] {
            assert!(is_json_number(yes), "{yes}");
        }
        for no in [
            "", "-", "01", "1.", ".5", "NaN", "Infinity", "1e", "1,5", " 1", "0x10",
        ] {
            assert!(!is_json_number(no), "{no}");
        }
    }

    #[test]
    fn cells_take_their_columns_types_and_null_is_null() {
        use ColumnType::*;
        let mut types = ColumnTypes::new(vec![Number, Boolean, Text, Json, Number]);
        let mut record: TextRecord = ["12.50", "t", "\\N", "{\"a\": 1}", "NaN"]
            .into_iter()
            .collect();
        types.apply(&mut record);
        let cells: Vec<(&str, CellKind)> = record
            .iter()
            .enumerate()
            .map(|(i, c)| (c, record.kind(i)))
            .collect();
        assert_eq!(
            cells,
            [
                ("12.50", CellKind::Json),
                ("true", CellKind::Json),
                ("", CellKind::Null),
                ("{\"a\": 1}", CellKind::Json),
                ("NaN", CellKind::Text),
            ]
        );
    }
}
