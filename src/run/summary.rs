//! The JSON summary of a run that `--json` prints on stdout: one shape for every outcome
//! (delivered, failed, interrupted, invalid, unchanged, cancelled), built from the log, so that
//! CI reads the same fields whatever happened. README's "JSON summary" documents it.

use anyhow::Result;
use serde_json::{json, Value};

use crate::redact::shown_url;
use crate::store::Store;

/// Most characters of a response kept in a summary's error.
const RESPONSE_START: usize = 200;

/// The summary of `run_id` after a command that started at `since_ms` (attempts made since
/// count) and took `seconds`, with `status` as the command ended it.
pub fn run_summary(
    store: &Store,
    run_id: &str,
    status: &str,
    since_ms: i64,
    seconds: f64,
) -> Result<Value> {
    let Some(run) = store.run(run_id)? else {
        return Ok(json!({ "run_id": run_id, "status": status }));
    };
    let events = store.events_of_run(run_id)?;
    let mut error = Value::Null;
    if matches!(status, "failed" | "interrupted") {
        'events: for event in &events {
            for batch in store.batch_rows_of_event(&event.id)? {
                if batch.delivered() || batch.attempts == 0 {
                    continue;
                }
                let last = store.attempts_of_batch(&batch.id)?.pop();
                error = json!({
                    "event": event.name,
                    "batch_id": batch.id,
                    "index": batch.idx,
                    "http_status": last.as_ref().and_then(|a| (a.http_status != 0).then_some(a.http_status)),
                    "error": last.as_ref().and_then(|a| a.error.clone()),
                    "response": last
                        .as_ref()
                        .and_then(|a| a.response.as_deref())
                        .map(|r| r.chars().take(RESPONSE_START).collect::<String>()),
                });
                break 'events;
            }
        }
    }
    Ok(json!({
        "run_id": run.id,
        "status": status,
        "url": shown_url(&run.url),
        "source": run.source,
        "rows": run.rows,
        "valid": run.rows.valid,
        "invalid": run.rows.invalid,
        "events": events.iter().map(|e| json!({
            "id": e.id, "name": e.name, "rows": e.total_rows, "batches": e.batch_count,
        })).collect::<Vec<_>>(),
        "batches": run.batches_total,
        "delivered": run.batches_delivered,
        "rejected": run.rows_rejected,
        "attempts": store.attempts_since(run_id, since_ms)?,
        "in_flight": store.in_flight_of_run(run_id, since_ms)?,
        "seconds": (seconds * 1000.0).round() / 1000.0,
        "error": error,
    }))
}
