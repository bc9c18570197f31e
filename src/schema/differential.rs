//! The Rust half of the differential check against frictionless-py (`tests/differential/`):
//! writes pulse's verdict on every corpus case next to frictionless' one.

use std::collections::BTreeMap;
use std::path::Path;

use super::{RowValidator, Schema};

/// Error types frictionless reports for the whole row rather than one cell.
const ROW_LEVEL: &[&str] = &["primary-key", "blank-row"];

/// For NAME.csv + NAME.schema.json, writes NAME.pulse.json in the same shape as
/// `frictionless_verdicts.py`: `{"rows": {row_number: [[type, fieldNumber], ...]}}`.
fn verdict(csv_path: &Path, schema_path: &Path) -> serde_json::Value {
    let schema = match Schema::load(schema_path) {
        Ok(schema) => schema,
        Err(e) => return serde_json::json!({ "schema_error": e.to_string() }),
    };
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(csv_path)
        .expect("corpus CSV opens");
    let headers: Vec<String> = reader
        .headers()
        .expect("header row")
        .iter()
        .map(String::from)
        .collect();
    let mut validator = match RowValidator::new(Some(&schema), &headers) {
        Ok(v) => v,
        Err(e) => return serde_json::json!({ "header_error": e.to_string() }),
    };
    let mut rows: BTreeMap<String, Vec<(String, usize)>> = BTreeMap::new();
    let mut errors = Vec::new();
    let mut checked = 0;
    for record in reader.records() {
        let record = record.expect("corpus CSV parses");
        let cells: Vec<&str> = record.iter().collect();
        checked += 1;
        if !validator.check_row(&cells, &mut errors) {
            let line = record.position().expect("records have positions").line();
            let found = errors
                .iter()
                .map(|e| {
                    let number = if ROW_LEVEL.contains(&e.kind) {
                        0
                    } else {
                        e.field_number
                    };
                    (e.kind.to_string(), number)
                })
                .collect();
            rows.insert(line.to_string(), found);
        }
    }
    serde_json::json!({ "rows": rows, "rows_checked": checked })
}

/// Run by `tests/differential/run.sh`, which sets `PULSE_DIFF_DIR` to a generated corpus.
#[test]
#[ignore = "needs a corpus from tests/differential/run.sh"]
fn write_pulse_verdicts() {
    let dir = std::env::var("PULSE_DIFF_DIR").expect("PULSE_DIFF_DIR names the corpus directory");
    let mut cases = 0;
    for entry in std::fs::read_dir(&dir).expect("corpus directory") {
        let path = entry.expect("directory entry").path();
        let Some(name) = path.to_str().and_then(|p| p.strip_suffix(".schema.json")) else {
            continue;
        };
        let result = verdict(Path::new(&format!("{name}.csv")), &path);
        let text = serde_json::to_string_pretty(&result).expect("verdict serializes");
        std::fs::write(format!("{name}.pulse.json"), text).expect("verdict written");
        cases += 1;
    }
    assert!(cases > 0, "no *.schema.json in {dir}");
}
