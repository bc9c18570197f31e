//! Row-by-row checking of one CSV file against a schema (or only its shape, without one).

use xxhash_rust::xxh3::xxh3_128_with_seed;

use super::errors::*;
use super::header::{self, Column};
use super::types::CellValue;
use super::unique::{key_hash, KeyHash, KeyPart, UniqueConstraint};
use super::Schema;
use crate::json_out::write_json_string;

/// Checks rows of one CSV file against a schema (or, with `schema = None`, only ragged rows).
///
/// Unique, primary-key and unique-key checks keep one 128-bit hash per distinct key, never
/// the text, so memory stays modest on multi-million-row files.
#[derive(Debug)]
pub struct RowValidator {
    columns: Vec<Column>,
    unique_fields: Vec<UniqueConstraint>,
    primary_key: Option<UniqueConstraint>,
    primary_key_names: String,
    unique_keys: Vec<UniqueConstraint>,
    /// Per-row scratch: each keyed column's part, reused to avoid allocating per row.
    parts: Vec<KeyPart>,
    /// Seeded at random per validator so that nobody can craft colliding keys in advance;
    /// made once and reset per key, because deriving a seeded secret costs more than hashing.
    hasher: SeededHasher,
    /// Set by `render_cast_values` (push), not by `validate`, which never writes values.
    rendered: Option<Rendered>,
    /// No column has a schema field: only a row's shape is checked.
    shape_only: bool,
}

/// The JSON of the last checked row's cast values, made while casting them for the checks, so
/// that writing a valid row does not cast every cell a second time.
#[derive(Debug)]
struct Rendered {
    json: Vec<u8>,
    /// Per column: its value's bytes in `json`, or `NOT_RENDERED`.
    spans: Vec<(u32, u32)>,
}

const NOT_RENDERED: (u32, u32) = (u32::MAX, u32::MAX);

/// The seed, and a buffer reused for each key's bytes.
struct SeededHasher {
    seed: u64,
    scratch: Vec<u8>,
}

impl std::fmt::Debug for SeededHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SeededHasher")
    }
}

impl RowValidator {
    /// Maps the header's columns to the schema's fields under its `fieldsMatch` mode; a
    /// mismatch the mode forbids is an error naming the columns.
    pub fn new(schema: Option<&Schema>, headers: &[String]) -> Result<RowValidator, SchemaError> {
        let columns = match schema {
            Some(schema) => header::map_columns(schema, headers)?,
            None => headers
                .iter()
                .map(|h| Column {
                    label: h.clone(),
                    field: None,
                    missing_values: vec![String::new()],
                    keyed: false,
                })
                .collect(),
        };
        let column_of: std::collections::HashMap<&str, usize> = columns
            .iter()
            .enumerate()
            .rev()
            .filter_map(|(i, c)| Some((c.field.as_ref()?.name.as_str(), i)))
            .collect();
        let find = |name: &str| column_of.get(name).copied();
        let key_set = |names: &[String]| -> Option<UniqueConstraint> {
            let columns = names.iter().map(|n| find(n)).collect::<Option<Vec<_>>>()?;
            Some(UniqueConstraint {
                columns,
                seen: crate::schema::fingerprint_set::FingerprintSet::new(),
                shares_unique: false,
            })
        };
        let unique_fields: Vec<UniqueConstraint> = columns
            .iter()
            .enumerate()
            .filter(|(_, c)| c.field.as_ref().is_some_and(|f| f.constraints.unique))
            .map(|(i, _)| UniqueConstraint {
                columns: vec![i],
                seen: crate::schema::fingerprint_set::FingerprintSet::new(),
                shares_unique: false,
            })
            .collect();
        // Like frictionless, key checks only run when every key field has a column.
        let (primary_key, primary_key_names, unique_keys) = match schema {
            Some(s) if !s.primary_key.is_empty() => (
                key_set(&s.primary_key),
                s.primary_key.join(","),
                s.unique_keys.iter().filter_map(|k| key_set(k)).collect(),
            ),
            Some(s) => (
                None,
                String::new(),
                s.unique_keys.iter().filter_map(|k| key_set(k)).collect(),
            ),
            None => (None, String::new(), Vec::new()),
        };
        let mut primary_key = primary_key;
        if let Some(pk) = primary_key.as_mut() {
            pk.shares_unique =
                pk.columns.len() == 1 && unique_fields.iter().any(|u| u.columns == pk.columns);
        }
        let columns_without_fields = columns.iter().all(|c| c.field.is_none());
        let mut validator = RowValidator {
            parts: vec![KeyPart::Null; columns.len()],
            columns,
            unique_fields,
            primary_key,
            primary_key_names,
            unique_keys,
            hasher: SeededHasher {
                seed: rand::random(),
                scratch: Vec::new(),
            },
            rendered: None,
            shape_only: columns_without_fields,
        };
        let keyed: Vec<usize> = validator
            .unique_constraints()
            .flat_map(|k| k.columns.iter().copied())
            .collect();
        for i in keyed {
            validator.columns[i].keyed = true;
        }
        Ok(validator)
    }

    /// Why unique-key answers can no longer be trusted (a spill file could not be read), if so:
    /// the caller stops rather than let a duplicate pass.
    pub fn key_check_failure(&self) -> Option<&str> {
        self.unique_constraints().find_map(|c| c.seen.failure())
    }

    fn unique_constraints(&self) -> impl Iterator<Item = &UniqueConstraint> {
        self.unique_fields
            .iter()
            .chain(self.primary_key.iter())
            .chain(self.unique_keys.iter())
    }

    /// Makes `check_row` keep the JSON of the values it casts, for `write_cast_value`.
    pub fn render_cast_values(&mut self) {
        self.rendered = Some(Rendered {
            json: Vec::new(),
            spans: vec![NOT_RENDERED; self.columns.len()],
        });
    }

    /// Whether every cell is a missing value: frictionless reports such rows as `blank-row`;
    /// pulse skips and counts them before calling `check_row`. A row with a value past the
    /// header is never blank: it is an `extra-cell` error, not data dropped unseen.
    pub fn is_blank_row(&self, cells: &[&str]) -> bool {
        self.extra_cells_are_empty(cells)
            && self.columns.iter().enumerate().all(|(i, c)| {
                cells
                    .get(i)
                    .is_none_or(|raw| c.missing_values.iter().any(|m| m == raw))
            })
    }

    /// Whether every cell past the header is empty (or there is none).
    fn extra_cells_are_empty(&self, cells: &[&str]) -> bool {
        cells
            .iter()
            .skip(self.columns.len())
            .all(|cell| cell.is_empty())
    }

    /// Validates one data row (cells may be fewer or more than the header: ragged).
    /// Clears then fills `errors`; returns true when the row is valid.
    pub fn check_row(&mut self, cells: &[&str], errors: &mut Vec<CellError>) -> bool {
        errors.clear();
        if self.shape_only {
            // Without fields only the row's shape can be wrong: nothing to cast, render or key.
            let blank = self.extra_cells_are_empty(cells)
                && (0..self.columns.len()).all(|i| cells.get(i).is_none_or(|c| c.is_empty()));
            return if blank {
                self.blank_row(errors)
            } else {
                self.check_shape(cells, errors);
                errors.is_empty()
            };
        }
        if let Some(rendered) = self.rendered.as_mut() {
            rendered.json.clear();
            rendered.spans.fill(NOT_RENDERED);
        }
        let mut blank = 0;
        for (i, column) in self.columns.iter().enumerate() {
            let (part, is_blank) = check_cell(
                column,
                i,
                cells.get(i).copied(),
                &mut self.hasher,
                errors,
                self.rendered.as_mut(),
            );
            blank += is_blank as usize;
            self.parts[i] = part;
        }
        self.check_shape(cells, errors);
        if blank == self.columns.len() && self.extra_cells_are_empty(cells) {
            return self.blank_row(errors);
        }
        self.check_keys(cells, errors);
        errors.is_empty()
    }

    /// Reports a row whose every cell is empty or a missing value; returns false.
    fn blank_row(&self, errors: &mut Vec<CellError>) -> bool {
        errors.clear();
        let message = "the row is blank: every cell is empty or a missing value".to_string();
        errors.push(CellError {
            kind: BLANK_ROW,
            field_name: String::new(),
            field_number: 0,
            cell: String::new(),
            message,
        });
        false
    }

    /// Cells beyond the header (`extra-cell`) and columns the row lacks (`missing-cell`).
    fn check_shape(&self, cells: &[&str], errors: &mut Vec<CellError>) {
        for (i, cell) in cells.iter().enumerate().skip(self.columns.len()) {
            let message = format!(
                "column {}: extra cell {cell:?} (the header has {} columns)",
                i + 1,
                self.columns.len()
            );
            errors.push(CellError {
                kind: EXTRA_CELL,
                field_name: String::new(),
                field_number: i + 1,
                cell: cell.to_string(),
                message,
            });
        }
        for (i, column) in self.columns.iter().enumerate().skip(cells.len()) {
            let message = format!(
                "{}: missing cell (the row has {} of {} cells)",
                column.label,
                cells.len(),
                self.columns.len()
            );
            errors.push(CellError {
                kind: MISSING_CELL,
                field_name: column.label.clone(),
                field_number: i + 1,
                cell: String::new(),
                message,
            });
        }
    }

    fn check_keys(&mut self, cells: &[&str], errors: &mut Vec<CellError>) {
        let hasher = &mut self.hasher;
        // A one-column primary key on a unique field sees the same keys as the unique check:
        // it reuses that check's answer instead of keeping a second set.
        let shared_pk_column = self
            .primary_key
            .as_ref()
            .filter(|pk| pk.shares_unique)
            .map(|pk| pk.columns[0]);
        let mut shared_pk_duplicate = false;
        for set in &mut self.unique_fields {
            let i = set.columns[0];
            if let KeyPart::Hash(h) = self.parts[i]
                && !set.seen.insert(h)
            {
                shared_pk_duplicate |= shared_pk_column == Some(i);
                let label = &self.columns[i].label;
                let cell = cells[i].to_string();
                let message =
                    format!("{label}: {cell:?} is not unique (an earlier row has the same value)");
                errors.push(CellError {
                    kind: UNIQUE_ERROR,
                    field_name: label.clone(),
                    field_number: i + 1,
                    cell,
                    message,
                });
            }
        }
        let joined = |columns: &[usize]| {
            let texts: Vec<&str> = columns
                .iter()
                .map(|&i| cells.get(i).copied().unwrap_or(""))
                .collect();
            texts.join(",")
        };
        if let Some(set) = &mut self.primary_key {
            let names = &self.primary_key_names;
            let message = match key_hash(
                &set.columns,
                &self.parts,
                hasher.seed,
                &mut hasher.scratch,
                true,
            ) {
                KeyHash::AllNull => Some(format!("primary key ({names}) is empty")),
                KeyHash::Hash(_) if set.shares_unique && !shared_pk_duplicate => None,
                KeyHash::Hash(h) if !set.shares_unique && set.seen.insert(h) => None,
                KeyHash::Hash(_) => Some(format!(
                    "primary key ({names}) = ({}) is not unique (an earlier row has the same key)",
                    joined(&set.columns)
                )),
                _ => None,
            };
            if let Some(message) = message {
                let (field_name, field_number, cell) =
                    (names.clone(), set.columns[0] + 1, joined(&set.columns));
                errors.push(CellError {
                    kind: PRIMARY_KEY,
                    field_name,
                    field_number,
                    cell,
                    message,
                });
            }
        }
        for set in &mut self.unique_keys {
            if let KeyHash::Hash(h) = key_hash(
                &set.columns,
                &self.parts,
                hasher.seed,
                &mut hasher.scratch,
                false,
            ) && !set.seen.insert(h)
            {
                let names: Vec<&str> = set
                    .columns
                    .iter()
                    .map(|&i| self.columns[i].label.as_str())
                    .collect();
                let (names, cell) = (names.join(","), joined(&set.columns));
                let message = format!("unique key ({names}) = ({cell}) is not unique (an earlier row has the same values)");
                errors.push(CellError {
                    kind: UNIQUE_ERROR,
                    field_name: names,
                    field_number: set.columns[0] + 1,
                    cell,
                    message,
                });
            }
        }
    }

    /// Cells a row should have: the header's columns.
    pub fn column_count(&self) -> usize {
        self.columns.len()
    }

    /// Whether a row with one cell per column and any cell non-empty is valid and not blank:
    /// only its shape is checked, and only the empty string is a missing value.
    pub fn full_nonempty_rows_are_valid(&self) -> bool {
        self.shape_only
            && self
                .columns
                .iter()
                .all(|c| c.missing_values.iter().all(String::is_empty))
    }

    /// Whether column `column` has a field that casts its cells (else a JSON input's typed
    /// cell is written as it was read).
    pub fn casts(&self, column: usize) -> bool {
        !self.shape_only && self.columns.get(column).is_some_and(|c| c.field.is_some())
    }

    /// Makes column `column`'s errors a `missing-cell` error: the row is a JSON object without
    /// the column's key (a short CSV row lacks only its last cells, which `check_row` tells).
    pub fn missing_key(&self, column: usize, errors: &mut Vec<CellError>) {
        let Some(c) = self.columns.get(column) else {
            return;
        };
        errors.retain(|e| e.field_number != column + 1);
        errors.push(CellError {
            kind: MISSING_CELL,
            field_name: c.label.clone(),
            field_number: column + 1,
            cell: String::new(),
            message: format!("{}: missing cell (the object has no such key)", c.label),
        });
    }

    /// Whether every cell of a valid row is written as a JSON string (no column has a field).
    pub fn writes_cells_as_text(&self) -> bool {
        self.shape_only
    }

    /// Writes the JSON value of column `column` with text `raw`, of a row that passed
    /// `check_row`: cast per the field's type, `null` for missing values, a string otherwise.
    pub fn write_cast_value(&self, column: usize, raw: &str, out: &mut Vec<u8>) {
        if self.shape_only {
            return write_json_string(out, raw);
        }
        if let Some(rendered) = &self.rendered
            && let Some(&(start, end)) = rendered.spans.get(column).filter(|s| **s != NOT_RENDERED)
        {
            return out.extend_from_slice(&rendered.json[start as usize..end as usize]);
        }
        let Some(Column {
            field: Some(field),
            missing_values,
            ..
        }) = self.columns.get(column)
        else {
            return write_json_string(out, raw);
        };
        if missing_values.iter().any(|m| m == raw) {
            return out.extend_from_slice(b"null");
        }
        match field.field_type.cast(raw) {
            Some(value) => value.write_json(out),
            None => write_json_string(out, raw),
        }
    }
}

/// Casts and constrains one cell, appending its errors; returns its key part and whether
/// it counts as blank (frictionless: no value and no type error).
fn check_cell(
    column: &Column,
    i: usize,
    raw: Option<&str>,
    hasher: &mut SeededHasher,
    errors: &mut Vec<CellError>,
    render: Option<&mut Rendered>,
) -> (KeyPart, bool) {
    let is_missing = raw.is_none_or(|r| column.missing_values.iter().any(|m| m == r));
    let Some(field) = &column.field else {
        return if is_missing {
            (KeyPart::Null, true)
        } else {
            (KeyPart::Hash(0), false)
        };
    };
    let cell = raw.unwrap_or("");
    let value = if is_missing {
        None
    } else {
        match field.field_type.cast(cell) {
            Some(v) => Some(v),
            None => {
                let message = format!(
                    "{}: {cell:?} is not {}",
                    field.name,
                    field.field_type.expected()
                );
                errors.push(CellError {
                    kind: TYPE_ERROR,
                    field_name: field.name.clone(),
                    field_number: i + 1,
                    cell: cell.to_string(),
                    message,
                });
                return (KeyPart::Null, false);
            }
        }
    };
    field.constraints.check(value.as_ref(), |v| {
        let message = match value {
            Some(_) => format!("{}: {cell:?} {}", field.name, v.expected),
            None => format!("{}: {}", field.name, v.expected),
        };
        errors.push(CellError {
            kind: CONSTRAINT_ERROR,
            field_name: field.name.clone(),
            field_number: i + 1,
            cell: cell.to_string(),
            message,
        });
    });
    if let Some(render) = render {
        let start = render.json.len();
        match &value {
            Some(v) => v.write_json(&mut render.json),
            None => render.json.extend_from_slice(b"null"),
        }
        render.spans[i] = (start as u32, render.json.len() as u32);
    }
    let part = match value {
        None => KeyPart::Null,
        Some(v) if !v.is_hashable() => KeyPart::NaN,
        Some(CellValue::Num(d)) if column.keyed && d.as_i64().is_some() => {
            // Whole numbers are exact keys: the key set keeps runs of them as intervals.
            KeyPart::Hash(crate::schema::fingerprint_set::int_fingerprint(
                d.as_i64().expect("checked"),
            ))
        }
        Some(v) if column.keyed => {
            hasher.scratch.clear();
            v.encode_key(&mut hasher.scratch);
            KeyPart::Hash(xxh3_128_with_seed(&hasher.scratch, hasher.seed))
        }
        Some(_) => KeyPart::Hash(0),
    };
    (part, part == KeyPart::Null)
}
