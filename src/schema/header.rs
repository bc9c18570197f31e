//! Pairing CSV header labels with schema fields under `fieldsMatch`.
//!
//! frictionless reports header mismatches as label errors and still checks the rows; pulse
//! refuses the file instead, before sending anything, with one line that names the columns.

use std::collections::{HashMap, HashSet};

use super::{Field, FieldsMatch, Schema, SchemaError};

/// Problems a header error lists; the rest are counted, so that the one line stays readable
/// whatever the width of the file.
const LISTED_PROBLEMS: usize = 10;

/// One CSV column: its header label, and the schema field it maps to (if any).
#[derive(Debug)]
pub(super) struct Column {
    pub label: String,
    /// Boxed: a `Field` is about 600 bytes, and a file of a million columns, most of them
    /// without a field, holds a `Column` for each.
    pub field: Option<Box<Field>>,
    pub missing_values: Vec<String>,
    /// Whether the column takes part in any key check (unique, primary key, unique keys).
    pub keyed: bool,
}

pub(super) fn map_columns(schema: &Schema, labels: &[String]) -> Result<Vec<Column>, SchemaError> {
    let mode = schema.fields_match;
    let mut problems: Vec<String> = Vec::new();
    let mut matched: Vec<Option<usize>> = Vec::with_capacity(labels.len());
    // Maps, not scans: pairing stays linear in the columns (200,000 of them load in a blink).
    let mut first_column: HashMap<&str, usize> = HashMap::with_capacity(labels.len());
    if mode == FieldsMatch::Exact {
        for (i, label) in labels.iter().enumerate() {
            let previous = *first_column.entry(label.as_str()).or_insert(i);
            let previous = (previous != i).then_some(previous);
            match schema.fields.get(i) {
                None => problems.push(format!("column {} {label:?} is not in the schema", i + 1)),
                Some(_) if label.is_empty() => {
                    problems.push(format!("column {} has a blank name", i + 1))
                }
                Some(_) if previous.is_some() => problems.push(format!(
                    "column {} {label:?} repeats column {}",
                    i + 1,
                    previous.unwrap_or(0) + 1
                )),
                Some(field) if field.name != *label => problems.push(format!(
                    "column {} is {label:?} where the schema has {:?}",
                    i + 1,
                    field.name
                )),
                Some(_) => {}
            }
            matched.push((i < schema.fields.len()).then_some(i));
        }
        for field in schema.fields.iter().skip(labels.len()) {
            problems.push(format!("field {:?} has no column", field.name));
        }
    } else {
        let tolerates_extra = matches!(mode, FieldsMatch::Subset | FieldsMatch::Partial);
        let tolerates_missing = matches!(mode, FieldsMatch::Superset | FieldsMatch::Partial);
        let field_of: HashMap<&str, usize> = schema
            .fields
            .iter()
            .enumerate()
            .map(|(index, field)| (field.name.as_str(), index))
            .collect();
        for (i, label) in labels.iter().enumerate() {
            if *first_column.entry(label.as_str()).or_insert(i) != i {
                problems.push(format!(
                    "column {} {label:?} appears twice, so it cannot be matched by name",
                    i + 1
                ));
            }
            let field = field_of.get(label.as_str()).copied();
            if field.is_none() && !tolerates_extra {
                problems.push(format!("column {} {label:?} is not in the schema", i + 1));
            }
            matched.push(field);
        }
        let primary_key: HashSet<&str> = schema.primary_key.iter().map(String::as_str).collect();
        let has_column: HashSet<usize> = matched.iter().flatten().copied().collect();
        for (index, field) in schema.fields.iter().enumerate() {
            let required = field.constraints.required || primary_key.contains(field.name.as_str());
            if !has_column.contains(&index) && (!tolerates_missing || required) {
                let why = if tolerates_missing {
                    " (it is required)"
                } else {
                    ""
                };
                problems.push(format!("field {:?} has no column{why}", field.name));
            }
        }
        if mode == FieldsMatch::Partial
            && !schema.fields.is_empty()
            && matched.iter().all(Option::is_none)
        {
            problems.push("no column matches a field of the schema".into());
        }
    }
    if !problems.is_empty() {
        return Err(header_error(schema, problems));
    }
    Ok(labels
        .iter()
        .zip(matched)
        .map(|(label, index)| {
            let field = index.map(|i| Box::new(schema.fields[i].clone()));
            let missing_values = match &field {
                Some(f) => schema.missing_values_of(f).to_vec(),
                None => schema.missing_values.clone(),
            };
            Column {
                label: label.clone(),
                field,
                missing_values,
                keyed: false,
            }
        })
        .collect())
}

/// One line for all of a header's problems: the first few, and how many more.
fn header_error(schema: &Schema, mut problems: Vec<String>) -> SchemaError {
    let more = problems.len().saturating_sub(LISTED_PROBLEMS);
    problems.truncate(LISTED_PROBLEMS);
    let mut detail = problems.join("; ");
    if more > 0 {
        detail.push_str(&format!("; and {more} more"));
    }
    SchemaError::Header {
        origin: schema.origin.clone(),
        mode: schema.fields_match.name(),
        detail,
    }
}
