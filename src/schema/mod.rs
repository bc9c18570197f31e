//! Frictionless Table Schema support: loading a schema, casting cells, checking rows.
//!
//! The behaviour follows frictionless-py 5 (the reference implementation) so that pulse and
//! `frictionless validate` judge the same rows invalid with the same error types;
//! `tests/differential/` checks that. Deliberate differences are listed in
//! `tests/differential/README.md`.

mod constraints;
mod errors;
mod fingerprint_set;
mod header;
mod infer;
mod load;
mod load_field;
mod types;
mod unique;
mod validator;

#[cfg(test)]
mod differential;
pub use fingerprint_set::FingerprintSet;
pub use infer::{Inference, DEFAULT_SAMPLE};
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_rows;

pub use errors::{CellError, SchemaError};
pub use validator::RowValidator;

use constraints::Constraints;
use types::FieldType;

/// How CSV columns are paired with schema fields (`fieldsMatch`, Table Schema v2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldsMatch {
    /// Same fields, same order (paired by position). The default.
    Exact,
    /// Same fields, any order.
    Equal,
    /// Every field has a column; extra columns are allowed.
    Subset,
    /// Every column has a field; fields without a column are allowed unless required.
    Superset,
    /// At least one column matches a field; required fields must be present.
    Partial,
}

impl FieldsMatch {
    pub fn name(self) -> &'static str {
        match self {
            FieldsMatch::Exact => "exact",
            FieldsMatch::Equal => "equal",
            FieldsMatch::Subset => "subset",
            FieldsMatch::Superset => "superset",
            FieldsMatch::Partial => "partial",
        }
    }
}

/// One schema field, checked and compiled.
#[derive(Debug, Clone)]
pub struct Field {
    pub name: String,
    pub field_type: FieldType,
    pub constraints: Constraints,
    /// A field-level `missingValues` overrides the schema's.
    pub missing_values: Option<Vec<String>>,
}

/// A loaded Frictionless Table Schema.
#[derive(Debug, Clone)]
pub struct Schema {
    origin: String,
    fields: Vec<Field>,
    missing_values: Vec<String>,
    primary_key: Vec<String>,
    unique_keys: Vec<Vec<String>>,
    fields_match: FieldsMatch,
}

impl Schema {
    #[cfg(test)]
    pub fn field_names(&self) -> Vec<&str> {
        self.fields.iter().map(|f| f.name.as_str()).collect()
    }

    pub fn primary_key(&self) -> &[String] {
        &self.primary_key
    }

    fn missing_values_of<'a>(&'a self, field: &'a Field) -> &'a [String] {
        field
            .missing_values
            .as_deref()
            .unwrap_or(&self.missing_values)
    }
}

/// Loads `--schema` if given. Problems with the schema file are usage errors (exit 2).
pub fn load_for_flag(path: Option<&std::path::Path>) -> anyhow::Result<Option<Schema>> {
    match path {
        None => Ok(None),
        Some(path) => Schema::load(path)
            .map(Some)
            .map_err(|e| crate::exit::usage(format!("--schema {e}"))),
    }
}
