//! The log's rows as the pages show them: plain strings and numbers for the templates, every
//! URL and source with its credentials masked (`redact`), times as text.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::Value;

use super::charts::{AttemptMark, Delivered};
use crate::redact::{shown_input_url, shown_url};
use crate::store::{BatchRow, RunAttempt, RunRow, RunStatus};
use crate::time_text::{show, show_duration};

/// A run in the list of runs, and at the head of its page.
#[derive(Serialize)]
pub struct RunLine {
    pub id: String,
    pub status: String,
    /// Whether it may still change: polled while shown.
    pub live: bool,
    pub destination: String,
    pub source: String,
    pub rows_total: u64,
    pub rows_valid: u64,
    pub rows_invalid: u64,
    pub rows_rejected: u64,
    pub batches_delivered: u64,
    pub batches_total: u64,
    pub started: String,
    pub duration: String,
    /// Not final: `pulse resume` and `pulse cancel` apply.
    pub unfinished: bool,
    pub staged: bool,
}

pub fn run_line(run: &RunRow, now: i64) -> RunLine {
    let status = run.status();
    let final_ = status.is_some_and(RunStatus::is_final);
    let live = status.is_some_and(RunStatus::is_in_progress);
    let duration = match run.finished_at {
        Some(end) => show_duration(end.saturating_sub(run.started_at)),
        None if live => format!(
            "{} so far",
            show_duration(now.saturating_sub(run.started_at))
        ),
        None => String::new(),
    };
    RunLine {
        id: run.id.clone(),
        status: run.status.clone(),
        live,
        destination: shown_url(&run.url),
        source: shown_input_url(&run.source),
        rows_total: run.rows.total,
        rows_valid: run.rows.valid,
        rows_invalid: run.rows.invalid,
        rows_rejected: run.rows_rejected,
        batches_delivered: run.batches_delivered,
        batches_total: run.batches_total,
        started: show(run.started_at),
        duration,
        unfinished: status.is_some() && !final_,
        staged: run.is_staged(),
    }
}

/// A run's options as pushed, one line each, credentials masked: no secret is stored, and a
/// URL's password or a credential query parameter is masked again here.
pub fn options(run: &RunRow) -> Vec<(String, String)> {
    let Ok(Value::Object(options)) = serde_json::from_str::<Value>(&run.options) else {
        return Vec::new();
    };
    options
        .into_iter()
        .filter(|(_, value)| !value.is_null())
        .map(|(key, value)| {
            let text = match value {
                Value::String(text) => text,
                other => other.to_string(),
            };
            let text = if text.contains("://") {
                shown_input_url(&text)
            } else {
                text
            };
            (key, text)
        })
        .collect()
}

/// One attempt on a run's page.
#[derive(Serialize)]
pub struct AttemptView {
    pub at: String,
    /// `200`, or `no answer`.
    pub status: String,
    /// `ok`, `client`, `server` or `none`: the mark's colour.
    pub class: &'static str,
    pub duration: String,
    pub error: String,
    pub response: String,
    pub retry: u32,
}

/// A batch on a run's page, with every attempt.
#[derive(Serialize)]
pub struct BatchView {
    pub id: String,
    pub idx: u64,
    pub rows: u64,
    pub first_row: u64,
    pub status: String,
    pub rejected: u64,
    pub attempts: Vec<AttemptView>,
}

pub fn status_class(status: u16) -> &'static str {
    match status {
        200..=299 => "ok",
        400..=499 => "client",
        0 => "none",
        _ => "server",
    }
}

/// A run's attempts grouped by batch, in order, each with its retry number.
pub fn attempts_by_batch(attempts: &[RunAttempt]) -> HashMap<String, Vec<AttemptView>> {
    let mut by_batch: HashMap<String, Vec<AttemptView>> = HashMap::new();
    for attempt in attempts {
        let views = by_batch.entry(attempt.batch_id.clone()).or_default();
        views.push(AttemptView {
            at: show(attempt.started_at),
            status: match attempt.http_status {
                0 => "no answer".to_string(),
                code => code.to_string(),
            },
            class: status_class(attempt.http_status),
            duration: show_duration(attempt.duration_ms),
            error: attempt.error.clone().unwrap_or_default(),
            response: attempt.response.clone().unwrap_or_default(),
            retry: u32::try_from(views.len()).unwrap_or(u32::MAX),
        });
    }
    by_batch
}

pub fn batch_view(batch: BatchRow, attempts: &mut HashMap<String, Vec<AttemptView>>) -> BatchView {
    BatchView {
        attempts: attempts.remove(&batch.id).unwrap_or_default(),
        id: batch.id,
        idx: batch.idx,
        rows: batch.rows,
        first_row: batch.first_row,
        status: batch.status,
        rejected: batch.rejected,
    }
}

/// The attempts as marks on the run's timeline, from its first attempt.
pub fn marks(attempts: &[RunAttempt]) -> Vec<AttemptMark> {
    let start = attempts.iter().map(|a| a.started_at).min().unwrap_or(0);
    let mut tries: HashMap<&str, u32> = HashMap::new();
    attempts
        .iter()
        .map(|attempt| {
            let retry = tries.entry(attempt.batch_id.as_str()).or_insert(0);
            let mark = AttemptMark {
                at_ms: attempt.started_at.saturating_sub(start),
                duration_ms: attempt.duration_ms.max(0),
                http_status: attempt.http_status,
                retry: *retry,
                label: format!("{} #{}", attempt.event_name, attempt.batch_idx),
            };
            *retry += 1;
            mark
        })
        .collect()
}

/// Deliveries from the run's first attempt (or its first delivery).
pub fn delivered(attempts: &[RunAttempt], deliveries: &[crate::store::Delivery]) -> Vec<Delivered> {
    let start = attempts
        .iter()
        .map(|a| a.started_at)
        .chain(deliveries.iter().map(|d| d.at))
        .min()
        .unwrap_or(0);
    deliveries
        .iter()
        .map(|delivery| Delivered {
            at_ms: delivery.at.saturating_sub(start),
            rows: delivery.rows,
        })
        .collect()
}
