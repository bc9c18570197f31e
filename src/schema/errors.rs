//! Error values of the schema module: schema-file problems and per-cell findings.

use serde::Serialize;

/// Why a schema could not be loaded or applied to a file's header.
///
/// Each variant renders as one line that starts with the schema's origin (its path, or
/// whatever name the caller gave to `Schema::parse`), so the top level can print it as is.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("{origin}: cannot read the schema: {source}")]
    Read {
        origin: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{origin}: invalid JSON at line {line}, column {column}: {message}")]
    Json {
        origin: String,
        line: usize,
        column: usize,
        message: String,
    },
    /// A property that is malformed, unknown or outside what pulse supports.
    /// `path` is a JSON-path-like pointer such as `fields[2].constraints`.
    #[error("{origin}: {path}: {message}")]
    Invalid {
        origin: String,
        path: String,
        message: String,
    },
    /// The header row (of a CSV file or a sheet) cannot be matched to the schema's fields under its `fieldsMatch` mode.
    #[error(
        "{origin}: the header row does not match the schema (fieldsMatch \"{mode}\"): {detail}"
    )]
    Header {
        origin: String,
        mode: &'static str,
        detail: String,
    },
}

/// One problem found in one row, in the shape frictionless reports it and pulse sends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CellError {
    /// A frictionless error type: `type-error`, `constraint-error`, `unique-error`,
    /// `primary-key`, `missing-cell`, `extra-cell` or `blank-row`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(rename = "fieldName")]
    pub field_name: String,
    /// 1-based column position in the CSV.
    #[serde(rename = "fieldNumber")]
    pub field_number: usize,
    pub cell: String,
    /// Human-readable, names the field and what was expected.
    pub message: String,
}

pub const TYPE_ERROR: &str = "type-error";
pub const CONSTRAINT_ERROR: &str = "constraint-error";
pub const UNIQUE_ERROR: &str = "unique-error";
pub const PRIMARY_KEY: &str = "primary-key";
pub const MISSING_CELL: &str = "missing-cell";
pub const EXTRA_CELL: &str = "extra-cell";
pub const BLANK_ROW: &str = "blank-row";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_errors_are_one_line_and_name_the_file() {
        let errors = [
            SchemaError::Json {
                origin: "s.json".into(),
                line: 3,
                column: 7,
                message: "expected `,`".into(),
            },
            SchemaError::Invalid {
                origin: "s.json".into(),
                path: "fields[2].constraints".into(),
                message: "unsupported constraint \"foo\"".into(),
            },
            SchemaError::Header {
                origin: "s.json".into(),
                mode: "exact",
                detail: "column 2 \"b\" is not in the schema".into(),
            },
        ];
        for error in errors {
            let text = error.to_string();
            assert!(text.starts_with("s.json: "), "{text}");
            assert!(!text.contains('\n'), "{text}");
        }
    }

    #[test]
    fn cell_error_serializes_with_frictionless_names() {
        let error = CellError {
            kind: TYPE_ERROR,
            field_name: "age".into(),
            field_number: 2,
            cell: "x".into(),
            message: "age: \"x\" is not an integer".into(),
        };
        let json = serde_json::to_string(&error).unwrap();
        assert_eq!(
            json,
            r#"{"type":"type-error","fieldName":"age","fieldNumber":2,"cell":"x","message":"age: \"x\" is not an integer"}"#
        );
    }
}
