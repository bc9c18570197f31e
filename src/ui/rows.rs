//! The first invalid and refused rows of a run, with their errors, for its page: read from the
//! stored batches as `pulse export` reads them, a few batches at most, so a page costs the same
//! whatever the run's size (the whole list is one export away).

use anyhow::{Context, Result};
use serde_json::{Map, Value};

use crate::payload::unpack;
use crate::store::{RunRow, Store};

/// The most rows a page shows of each kind.
pub const SHOWN: usize = 20;
/// The most batches read looking for invalid rows.
const BATCHES_READ: usize = 20;
/// The most characters of a row's cells shown.
const CELLS_SHOWN: usize = 300;

/// A row as the page shows it.
#[derive(Debug, serde::Serialize)]
pub struct RowSample {
    /// Its line in the input (`__row`), or its place in its batch.
    pub line: String,
    /// Its cells as compact JSON, cut short.
    pub cells: String,
    pub errors: String,
}

/// Up to `SHOWN` invalid rows of a run, from its `invalidData` event (else `all`).
pub fn invalid_rows(store: &Store, run: &RunRow) -> Result<Vec<RowSample>> {
    if run.rows.invalid == 0 {
        return Ok(Vec::new());
    }
    let events = store.events_of_run(&run.id)?;
    let Some(event) = ["invalidData", "all"]
        .iter()
        .find_map(|name| events.iter().find(|event| event.name == *name))
    else {
        return Ok(Vec::new());
    };
    let mut samples = Vec::new();
    for batch in store.batches_of_event(&event.id)?.iter().take(BATCHES_READ) {
        for row in rows_of_batch(store, &batch.id)? {
            if row.get("__valid") == Some(&Value::Bool(false)) {
                let errors = errors_text(row.get("__errors"));
                samples.push(sample(&row, None, errors));
                if samples.len() == SHOWN {
                    return Ok(samples);
                }
            }
        }
    }
    Ok(samples)
}

/// Up to `SHOWN` rows receivers refused in delivered batches, with their messages.
pub fn rejected_rows(store: &Store, run: &RunRow) -> Result<Vec<RowSample>> {
    if run.rows_rejected == 0 {
        return Ok(Vec::new());
    }
    #[derive(serde::Deserialize)]
    struct Refused {
        position: u64,
        error: Option<String>,
    }
    let mut samples = Vec::new();
    for event in store.events_of_run(&run.id)? {
        for batch in store.batch_rows_of_event(&event.id)? {
            if batch.rejected == 0 {
                continue;
            }
            let Some(text) = store.rejected_rows_of_batch(&batch.id)? else {
                continue;
            };
            let refused: Vec<Refused> = serde_json::from_str(&text)
                .with_context(|| format!("the refused rows of batch {} are damaged", batch.id))?;
            let rows = rows_of_batch(store, &batch.id)?;
            for refused in refused {
                let index = usize::try_from(refused.position.saturating_sub(1)).unwrap_or(0);
                if let Some(row) = rows.get(index) {
                    let place = format!("{} #{} row {}", event.name, batch.idx, refused.position);
                    samples.push(sample(row, Some(place), refused.error.unwrap_or_default()));
                }
                if samples.len() == SHOWN {
                    return Ok(samples);
                }
            }
        }
    }
    Ok(samples)
}

fn rows_of_batch(store: &Store, batch_id: &str) -> Result<Vec<Map<String, Value>>> {
    let mut json = Vec::new();
    store
        .with_payload(batch_id, |blob, raw_len| {
            unpack(blob, raw_len, &mut json, 0)
        })
        .with_context(|| format!("reading batch {batch_id}"))?;
    serde_json::from_slice(&json).with_context(|| format!("batch {batch_id} holds no rows"))
}

fn sample(row: &Map<String, Value>, place: Option<String>, errors: String) -> RowSample {
    let cells: Map<String, Value> = row
        .iter()
        .filter(|(key, _)| !key.starts_with("__"))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    let mut cells = Value::Object(cells).to_string();
    if let Some((cut, _)) = cells.char_indices().nth(CELLS_SHOWN) {
        cells.truncate(cut);
        cells.push('…');
    }
    let line = match (row.get("__row"), place) {
        (_, Some(place)) => place,
        (Some(Value::Number(n)), None) => format!("line {n}"),
        _ => String::new(),
    };
    RowSample {
        line,
        cells,
        errors,
    }
}

/// A row's `__errors` as one line: messages joined by `; `.
fn errors_text(errors: Option<&Value>) -> String {
    let Some(Value::Array(errors)) = errors else {
        return String::new();
    };
    errors
        .iter()
        .map(|error| match error {
            Value::String(text) => text.clone(),
            Value::Object(fields) => match fields.get("message") {
                Some(Value::String(message)) => message.clone(),
                _ => error.to_string(),
            },
            other => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join("; ")
}
