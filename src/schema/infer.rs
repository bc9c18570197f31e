//! A Table Schema inferred from sample rows with frictionless-py's rules (`Detector.
//! detect_schema` in frictionless 5): for each column, candidate types are tried in a fixed
//! order on each sampled cell, +1 for a cell the type reads and -1 for one it does not;
//! missing values (`""`, or `--missing-values`) count for no type and lower the bar (the
//! sampled rows less the missing cells); the first candidate whose score reaches 90% of the
//! bar wins, as soon as it does; a column no candidate wins is `any`. The bar is the whole
//! sample's count from the start, so a type can win before the sample ends; cells that do not
//! read cost it twice (reads minus misses): one `NA` before nine integers makes the column
//! `string` (8 < 9), unless `NA` is a missing value.
//!
//! frictionless tries `yearmonth`, `geopoint`, `duration` and `geojson` before `object` and
//! `array`; pulse's schemas have none of those four, so they are not candidates here and such
//! columns fall through to the next type that reads them (a GeoJSON object is an `object`,
//! other values in practice `string`; see tests/differential/README.md).

use serde_json::{json, Value as Json};

use super::types::{FieldType, NumberStyle, StringFormat};

/// The share of a column's non-missing sampled cells a type must read (frictionless'
/// `field_confidence`).
const CONFIDENCE: f64 = 0.9;

/// Sampled rows, the header row included (frictionless' `sample_size`).
pub const DEFAULT_SAMPLE: usize = 100;

/// The candidate types, in frictionless' order, with their Table Schema names.
fn candidates() -> Vec<(&'static str, FieldType)> {
    let texts = |list: [&str; 4]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    vec![
        ("object", FieldType::Object),
        ("array", FieldType::Array),
        ("datetime", FieldType::DateTime(None)),
        ("time", FieldType::Time(None)),
        ("date", FieldType::Date(None)),
        ("integer", FieldType::Integer { bare: true }),
        (
            "number",
            FieldType::Number(NumberStyle {
                bare: true,
                group_char: String::new(),
                decimal_char: ".".into(),
                explicit: false,
            }),
        ),
        (
            "boolean",
            FieldType::Boolean {
                true_values: texts(["true", "True", "TRUE", "1"]),
                false_values: texts(["false", "False", "FALSE", "0"]),
            },
        ),
        ("year", FieldType::Year),
        ("string", FieldType::String(StringFormat::Default)),
    ]
}

/// Infers column types from rows as they are sampled.
pub struct Inference {
    names: Vec<String>,
    candidates: Vec<(&'static str, FieldType)>,
    /// Per column: each candidate's score.
    scores: Vec<Vec<i64>>,
    /// Per column: the sampled rows less its missing cells so far.
    max_score: Vec<i64>,
    /// Per column: the winning candidate, once there is one.
    decided: Vec<Option<usize>>,
    rows: Vec<Vec<Option<String>>>,
    /// The cells that mean "no value" (frictionless' `missingValues`, `[""]` by default).
    missing_values: Vec<String>,
}

impl Inference {
    /// `missing_values`: empty for the default `[""]`; given, the schema keeps them.
    pub fn new(names: Vec<String>, missing_values: Vec<String>) -> Inference {
        let candidates = candidates();
        let width = names.len();
        Inference {
            scores: vec![vec![0; candidates.len()]; width],
            max_score: vec![0; width],
            decided: vec![None; width],
            candidates,
            names,
            rows: Vec::new(),
            missing_values,
        }
    }

    /// Takes one sampled row (None for a cell the row lacks). Rows are judged together at the
    /// end: frictionless' bar depends on how many there are.
    pub fn add_row<'a>(&mut self, cells: impl Iterator<Item = &'a str>) {
        let mut row: Vec<Option<String>> = cells.map(|c| Some(c.to_string())).collect();
        row.resize(self.names.len(), None);
        self.rows.push(row);
    }

    /// The inferred Table Schema.
    pub fn schema(mut self) -> Json {
        let sampled = self.rows.len() as i64;
        self.max_score.iter_mut().for_each(|m| *m = sampled);
        let threshold = sampled as f64 * (CONFIDENCE - 1.0);
        let rows = std::mem::take(&mut self.rows);
        for row in &rows {
            for (column, cell) in row.iter().enumerate() {
                if self.decided[column].is_some() {
                    continue;
                }
                // A cell the row lacks is no missing value, yet every type reads it
                // (frictionless reads None as no value, without a note).
                let missing = cell.as_deref().is_some_and(|c| self.is_missing(c));
                if missing {
                    self.max_score[column] -= 1;
                }
                for (i, (_, kind)) in self.candidates.iter().enumerate() {
                    let score = &mut self.scores[column][i];
                    if (*score as f64) < threshold {
                        continue;
                    }
                    if !missing {
                        let read = match cell.as_deref() {
                            None => true,
                            // An empty cell that is no missing value is a string's alone.
                            Some("") => matches!(kind, FieldType::String(_)),
                            Some(c) => kind.cast(c).is_some(),
                        };
                        *score += if read { 1 } else { -1 };
                    }
                    let bar = self.max_score[column];
                    if bar > 0 && *score as f64 >= bar as f64 * CONFIDENCE {
                        self.decided[column] = Some(i);
                        break;
                    }
                }
            }
        }
        let fields: Vec<Json> = self
            .names
            .iter()
            .zip(&self.decided)
            .map(|(name, decided)| {
                let kind = decided.map_or("any", |i| self.candidates[i].0);
                json!({"name": name, "type": kind})
            })
            .collect();
        if self.missing_values.is_empty() {
            return json!({ "fields": fields });
        }
        json!({ "fields": fields, "missingValues": self.missing_values })
    }

    fn is_missing(&self, cell: &str) -> bool {
        match self.missing_values.is_empty() {
            true => cell.is_empty(),
            false => self.missing_values.iter().any(|m| m == cell),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn infer(names: &[&str], rows: &[&[&str]]) -> Vec<String> {
        infer_missing(names, rows, &[])
    }

    fn infer_missing(names: &[&str], rows: &[&[&str]], missing: &[&str]) -> Vec<String> {
        let missing = missing.iter().map(|s| s.to_string()).collect();
        let mut inference = Inference::new(names.iter().map(|s| s.to_string()).collect(), missing);
        for row in rows {
            inference.add_row(row.iter().copied());
        }
        inference.schema()["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["type"].as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn types_in_frictionless_order() {
        let rows: &[&[&str]] = &[
            &[
                "1",
                "1.5",
                "2024-01-02",
                "true",
                "2024-01-02T03:04:05Z",
                "10:00:00",
                "2024",
                "x",
                "",
            ],
            &[
                "2",
                "2",
                "2024-02-03",
                "false",
                "2024-01-02T03:04:05",
                "11:30:00",
                "1999",
                "y",
                "",
            ],
            &[
                "0",
                "-3e2",
                "1999-12-31",
                "TRUE",
                "2000-01-01T00:00:00",
                "00:00:00",
                "0001",
                "1",
                "",
            ],
        ];
        assert_eq!(
            infer(&["i", "n", "d", "b", "dt", "t", "y", "s", "e"], rows),
            [
                "integer", "number", "date", "boolean", "datetime", "time", "integer", "string",
                "any"
            ]
        );
        // 0 and 1 read as integers first.
        assert_eq!(infer(&["b"], &[&["1"], &["0"]]), ["integer"]);
    }

    #[test]
    fn ninety_percent_wins_and_missing_values_lower_the_bar() {
        let mut rows: Vec<Vec<&str>> = vec![vec!["7"]; 9];
        rows.push(vec!["n/a"]);
        let rows: Vec<&[&str]> = rows.iter().map(|r| r.as_slice()).collect();
        assert_eq!(infer(&["a"], &rows), ["integer"]);
        let mut rows: Vec<Vec<&str>> = vec![vec!["7"]; 8];
        rows.extend([vec!["n/a"], vec!["?"]]);
        let rows: Vec<&[&str]> = rows.iter().map(|r| r.as_slice()).collect();
        assert_eq!(infer(&["a"], &rows), ["string"]);
        assert_eq!(infer(&["a"], &[&[""], &["3"], &[""]]), ["integer"]);
        // One NA first in ten: 9 reads - 1 miss = 8 < 90% of 10, so a string, unless NA is
        // missing. (Last, it comes after integer has won at 9 of 10.)
        let mut rows: Vec<Vec<&str>> = vec![vec!["NA"]];
        rows.extend(vec![vec!["7"]; 9]);
        let rows_na: Vec<&[&str]> = rows.iter().map(|r| r.as_slice()).collect();
        assert_eq!(infer(&["a"], &rows_na), ["string"]);
        assert_eq!(infer_missing(&["a"], &rows_na, &["", "NA"]), ["integer"]);
        // Given missing values replace the default: "" is then a value (a string's).
        assert_eq!(infer_missing(&["a"], &[&["1"], &[""]], &["NA"]), ["string"]);
        // Cells a short row lacks count for the first candidate (frictionless' is yearmonth,
        // which pulse's schemas lack).
        assert_eq!(infer(&["a", "b"], &[&["x"], &["y"]]), ["string", "object"]);
    }
}
