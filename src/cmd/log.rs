//! `pulse log`: the delivery log for people (aligned lines) and programs (`--json`, one object
//! per line with a `type` field). Nothing secret is printed: auth values are never stored, and
//! URL passwords are masked.

use std::io::{BufWriter, Write};

use anyhow::{anyhow, Result};
use serde_json::{json, Value};

use crate::cli::LogSettings;
use crate::plural::{count, part_of};
use crate::redact::shown_url;
use crate::run::RunLock;
use crate::store::{
    AttemptRow, BatchRow, EventRecord, IdRef, Location, RunRow, RunStatus, Store, UndeliveredBatch,
};
use crate::time_text::{show, show_duration, show_ms};

/// Fewest batches delivered at the first try, one after another, that `pulse log ID` folds
/// into one line.
const FOLD_AT_LEAST: usize = 4;
/// Spans of time the `--concurrency auto` limit is shown over in `pulse log RUN`: enough to
/// see it climb and fall, short enough for one line.
const LIMIT_SLOTS: i64 = 12;

/// How much of a response body a human line shows.
const SNIPPET_CHARS: usize = 120;

/// Where output goes and in which shape. Writes go through `writeln!` so a closed pipe
/// (`pulse log | head`) surfaces as an error that main treats as success.
struct Printer<'a> {
    out: BufWriter<crate::output::Named<std::io::StdoutLock<'static>>>,
    json: bool,
    db: &'a Location,
    store: &'a Store,
}

pub fn run(asked: &LogSettings, db: &Location) -> Result<()> {
    let (args, since, limit) = (asked.args, asked.since, asked.limit);
    let store = Store::open_to_read(db)?;
    let mut printer = Printer {
        out: crate::output::stdout(),
        json: args.json,
        db,
        store: &store,
    };
    match &args.id {
        None if args.failed => {
            let batches = store.undelivered_batches(since, limit, args.all)?;
            for batch in &batches {
                printer.failed_batch(batch)?;
            }
            if batches.is_empty() && !args.json {
                crate::output::errln!("pulse: no undelivered batches");
            }
        }
        None => {
            let runs = store.runs(since, limit)?;
            printer.run_lines(&runs)?;
            if runs.is_empty() && !args.json {
                crate::output::errln!("pulse: no runs in the log {db}");
            }
            printer.outages()?;
        }
        Some(id) => show_id(&store, &mut printer, id, args.failed, args.all)?,
    }
    printer.out.flush()?;
    Ok(())
}

/// A run, event or batch with everything under it; with `failed`, only its undelivered batches.
fn show_id(
    store: &Store,
    printer: &mut Printer,
    id: &str,
    failed: bool,
    every_batch: bool,
) -> Result<()> {
    let kind = store
        .identify(id)?
        .ok_or_else(|| anyhow!("no run, event or batch {id:?} in the log {}", printer.db))?;
    let run_id = match &kind {
        IdRef::Run => id.to_string(),
        IdRef::Event { run_id } | IdRef::Batch { run_id, .. } => run_id.clone(),
    };
    let run = store
        .run(&run_id)?
        .ok_or_else(|| anyhow!("{run_id} vanished from the log"))?;
    let events: Vec<EventRecord> = store
        .events_of_run(&run_id)?
        .into_iter()
        .filter(|e| match &kind {
            IdRef::Run => true,
            IdRef::Event { .. } => e.id == id,
            IdRef::Batch { event_id, .. } => &e.id == event_id,
        })
        .collect();
    if !failed {
        printer.run_detail(&run)?;
    }
    for event in &events {
        let all = store.batch_rows_of_event(&event.id)?;
        let delivered = all.iter().filter(|b| b.delivered()).count();
        let batches: Vec<BatchRow> = all
            .into_iter()
            .filter(|b| !matches!(&kind, IdRef::Batch { .. }) || b.id == id)
            .collect();
        if failed {
            for batch in batches.into_iter().filter(|b| !b.delivered()) {
                printer.failed_batch(&UndeliveredBatch {
                    run_id: run_id.clone(),
                    run_status: run.status.to_string(),
                    event_name: event.name.clone(),
                    event_batches: event.batch_count,
                    batch,
                })?;
            }
            continue;
        }
        printer.event(&run_id, event, delivered)?;
        // Runs of batches delivered at the first try: one line each run, unless --all.
        let fold = !every_batch && !printer.json;
        let foldable = |b: &BatchRow| fold && b.delivered() && b.attempts <= 1 && b.rejected == 0;
        let mut i = 0;
        while i < batches.len() {
            let run_len = batches[i..].iter().take_while(|b| foldable(b)).count();
            if run_len >= FOLD_AT_LEAST {
                printer.folded(&batches[i..i + run_len])?;
                i += run_len;
                continue;
            }
            let batch = &batches[i];
            printer.batch(&run_id, event, batch)?;
            for attempt in store.attempts_of_batch(&batch.id)? {
                printer.attempt(&batch.id, &run.url, &attempt)?;
            }
            i += 1;
        }
    }
    Ok(())
}

impl Printer<'_> {
    /// Whether a run that looks in progress has a live process; `staging` or `delivering` with
    /// none means its process died (SIGKILL, crash) and `pulse resume` continues it.
    fn running(&self, run: &RunRow) -> bool {
        run.status().is_some_and(RunStatus::is_in_progress) && RunLock::is_held(self.store, &run.id)
    }

    fn status_text(&self, run: &RunRow) -> String {
        let status = run.status();
        if run.rows_rejected > 0 && status == Some(RunStatus::Delivered) {
            // `--rejected-rows`: delivered, but the receiver refused some rows.
            return rejected_text(run.rows_rejected, run.rows.total);
        }
        if !status.is_some_and(RunStatus::is_in_progress) || self.running(run) {
            return run.status.clone();
        }
        // Fully staged with no process: it waits its turn (behind an earlier run to its URL,
        // or for the next `pulse resume`); nothing of it stopped half-way.
        match status {
            Some(RunStatus::Staged) => "staged (waiting)".into(),
            _ => format!("{} (stopped)", run.status),
        }
    }

    /// Runs a line each, in aligned columns.
    fn run_lines(&mut self, runs: &[RunRow]) -> Result<()> {
        if self.json {
            for run in runs {
                self.run_line(run)?;
            }
            return Ok(());
        }
        let rows: Vec<[String; 6]> = runs
            .iter()
            .map(|run| {
                let (batches, rows) = if run.is_staged() {
                    (
                        part_of(run.batches_delivered, run.batches_total, "batch", "batches"),
                        format!(
                            "{} ({} valid, {} invalid)",
                            count(run.rows.total, "row", "rows"),
                            run.rows.valid,
                            run.rows.invalid
                        ),
                    )
                } else {
                    // Counted only once staging ends.
                    ("-".to_string(), "-".to_string())
                };
                [
                    run.id.clone(),
                    show(run.started_at),
                    self.status_text(run),
                    batches,
                    rows,
                    format!("{} -> {}", run.source, shown_url(&run.url)),
                ]
            })
            .collect();
        let mut widths = [0; 6];
        for row in &rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        for row in &rows {
            let mut line = String::new();
            for (i, (cell, width)) in row.iter().zip(widths).enumerate() {
                if i + 1 == row.len() {
                    line.push_str(cell);
                } else {
                    line.push_str(&format!("{cell:<width$}  "));
                }
            }
            writeln!(self.out, "{}", line.trim_end())?;
        }
        Ok(())
    }

    /// Destinations the log remembers as down (`run::outage`), after the runs, on stderr:
    /// stdout keeps one line per run, for scripts.
    fn outages(&mut self) -> Result<()> {
        for outage in self.store.outages()? {
            let line = format!(
                "down: {} since {} (last tried {}: {})",
                shown_url(&outage.url),
                show(outage.down_since),
                show(outage.last_tried),
                one_line(&outage.last_error)
            );
            crate::output::errln!("pulse: {line}");
        }
        Ok(())
    }

    /// A run of batches delivered at the first try, as one line.
    fn folded(&mut self, batches: &[BatchRow]) -> Result<()> {
        let (Some(first), Some(last)) = (batches.first(), batches.last()) else {
            return Ok(());
        };
        let rows: u64 = batches.iter().map(|b| b.rows).sum();
        writeln!(
            self.out,
            "  batches {}-{}  {}  delivered at the first try (--all lists them)",
            first.idx,
            last.idx,
            count(rows, "row", "rows")
        )?;
        Ok(())
    }

    fn run_json(&self, run: &RunRow) -> Value {
        json!({
            "type": "run",
            "id": run.id,
            "started_at": show_ms(run.started_at),
            "finished_at": run.finished_at.map(show_ms),
            "status": run.status,
            "rejected": run.rows_rejected,
            "running": self.running(run),
            "source": run.source,
            "source_size": run.source_size,
            "url": shown_url(&run.url),
            "rows": run.rows,
            "batches": run.batches_total,
            "delivered": run.batches_delivered,
        })
    }

    fn run_line(&mut self, run: &RunRow) -> Result<()> {
        if self.json {
            let line = self.run_json(run);
            writeln!(self.out, "{line}")?;
            return Ok(());
        }
        let status = self.status_text(run);
        writeln!(
            self.out,
            "{}  {}  {status:<11}  {}/{} batches  {} rows ({} valid, {} invalid)  {} -> {}",
            run.id,
            show(run.started_at),
            run.batches_delivered,
            run.batches_total,
            run.rows.total,
            run.rows.valid,
            run.rows.invalid,
            run.source,
            shown_url(&run.url)
        )?;
        Ok(())
    }

    fn run_detail(&mut self, run: &RunRow) -> Result<()> {
        if self.json {
            return self.run_line(run);
        }
        let status = self.status_text(run);
        let out = &mut self.out;
        writeln!(out, "{}  {status}", run.id)?;
        let finished = run
            .finished_at
            .map(|t| format!("  finished {}", show(t)))
            .unwrap_or_default();
        writeln!(out, "  started   {}{finished}", show(run.started_at))?;
        let size = run
            .source_size
            .map(|s| format!(" ({s} bytes)"))
            .unwrap_or_default();
        writeln!(out, "  source    {}{size}", run.source)?;
        writeln!(out, "  url       {}", shown_url(&run.url))?;
        writeln!(
            out,
            "  rows      {}: {} valid, {} invalid, {} blank skipped",
            run.rows.total, run.rows.valid, run.rows.invalid, run.rows.blank
        )?;
        writeln!(
            out,
            "  batches   {}/{} delivered",
            run.batches_delivered, run.batches_total
        )?;
        // Only for runs that sent more than one request at a time.
        if let Some(in_flight) = self.store.in_flight_of_run(&run.id, 0)?
            && in_flight.highest_limit > 1
        {
            writeln!(self.out, "  in flight {}", in_flight.text())?;
            if in_flight.lowest_limit != in_flight.highest_limit {
                let limits = self.store.limit_over_time(&run.id, LIMIT_SLOTS)?;
                let shown: Vec<String> = limits.iter().map(u64::to_string).collect();
                writeln!(self.out, "  limit     over time: {}", shown.join(" "))?;
            }
        }
        if let Some(note) = self.store.run_note(&run.id)? {
            writeln!(self.out, "  why       {note}")?;
        }
        Ok(())
    }

    fn event(&mut self, run_id: &str, event: &EventRecord, delivered: usize) -> Result<()> {
        if self.json {
            let line = json!({
                "type": "event",
                "id": event.id,
                "run_id": run_id,
                "name": event.name,
                "rows": event.total_rows,
                "batches": event.batch_count,
                "delivered": delivered,
            });
            writeln!(self.out, "{line}")?;
            return Ok(());
        }
        writeln!(
            self.out,
            "event {} {}: {} in {}, {delivered} delivered",
            event.id,
            event.name,
            count(event.total_rows, "row", "rows"),
            count(event.batch_count, "batch", "batches")
        )?;
        Ok(())
    }

    fn batch_json(&self, run_id: &str, event_name: &str, count: u64, batch: &BatchRow) -> Value {
        let last = batch.last_attempt.as_ref();
        json!({
            "type": "batch",
            "id": batch.id,
            "run_id": run_id,
            "event_id": batch.event_id,
            "event_name": event_name,
            "index": batch.idx,
            // Unknown (null) while a run's staging has not finished.
            "count": (count > 0).then_some(count),
            "rows": batch.rows,
            "first_row": batch.first_row,
            "status": batch.status,
            "rejected": batch.rejected,
            "delivered_at": batch.delivered_at.map(show_ms),
            "attempts": batch.attempts,
            "last_attempt_at": last.map(|a| show_ms(a.started_at)),
            "last_status": last.and_then(|a| (a.http_status != 0).then_some(a.http_status)),
            "last_error": last.and_then(|a| a.error.clone()),
        })
    }

    fn batch(&mut self, run_id: &str, event: &EventRecord, batch: &BatchRow) -> Result<()> {
        if self.json {
            let line = self.batch_json(run_id, &event.name, event.batch_count, batch);
            writeln!(self.out, "{line}")?;
            return Ok(());
        }
        writeln!(
            self.out,
            "  batch {}/{} {}  {} from row {}  {}",
            batch.idx,
            batch_count_text(event.batch_count),
            batch.id,
            count(batch.rows, "row", "rows"),
            batch.first_row,
            match batch.rejected {
                0 => batch.status.clone(),
                n => rejected_text(n, batch.rows),
            }
        )?;
        Ok(())
    }

    fn attempt(&mut self, batch_id: &str, run_url: &str, attempt: &AttemptRow) -> Result<()> {
        if self.json {
            let headers: Value = serde_json::from_str(&attempt.request_headers)
                .unwrap_or_else(|_| Value::String(attempt.request_headers.clone()));
            let line = json!({
                "type": "attempt",
                "batch_id": batch_id,
                "started_at": show_ms(attempt.started_at),
                "duration_ms": attempt.duration_ms,
                "url": shown_url(&attempt.url),
                "http_status": (attempt.http_status != 0).then_some(attempt.http_status),
                "error": attempt.error,
                "response": attempt.response,
                "request_headers": headers,
                "rejected": attempt.rejected.as_deref().and_then(|r| serde_json::from_str::<Value>(r).ok()),
            });
            writeln!(self.out, "{line}")?;
            return Ok(());
        }
        let outcome = outcome_text(attempt.http_status, attempt.error.as_deref());
        let snippet = attempt
            .response
            .as_deref()
            .map(one_line)
            .filter(|s| !s.is_empty())
            .map(|s| format!("  {s:?}"))
            .unwrap_or_default();
        let elsewhere = if attempt.url != run_url {
            format!("  to {}", shown_url(&attempt.url))
        } else {
            String::new()
        };
        writeln!(
            self.out,
            "    {}  {outcome}  {}{snippet}{elsewhere}",
            show(attempt.started_at),
            show_duration(attempt.duration_ms)
        )?;
        Ok(())
    }

    fn failed_batch(&mut self, item: &UndeliveredBatch) -> Result<()> {
        let batch = &item.batch;
        if self.json {
            let mut line =
                self.batch_json(&item.run_id, &item.event_name, item.event_batches, batch);
            line["run_status"] = item.run_status.clone().into();
            writeln!(self.out, "{line}")?;
            return Ok(());
        }
        let last = match &batch.last_attempt {
            Some(a) => format!(
                "{} at {}",
                outcome_text(a.http_status, a.error.as_deref()),
                show(a.started_at)
            ),
            None => "never tried".to_string(),
        };
        writeln!(
            self.out,
            "{}  {}  {} {}/{}  {}  {}  {last}",
            batch.id,
            item.run_id,
            item.event_name,
            batch.idx,
            batch_count_text(item.event_batches),
            count(batch.rows, "row", "rows"),
            batch.status
        )?;
        Ok(())
    }
}

/// An event's batch count; `?` while its run's staging has not finished (a run stopped while
/// staging has batches, but no count yet: `pulse resume` stages it again).
/// `delivered, 3 of 500 rows rejected`: a delivery whose receiver refused rows.
fn rejected_text(rejected: u64, rows: u64) -> String {
    format!(
        "delivered, {rejected} of {} rejected",
        count(rows, "row", "rows")
    )
}

fn batch_count_text(count: u64) -> String {
    match count {
        0 => "?".to_string(),
        n => n.to_string(),
    }
}

/// `HTTP 503`, `HTTP 302 (redirect to ...)`, or the network error.
fn outcome_text(status: u16, error: Option<&str>) -> String {
    match (status, error) {
        (0, Some(err)) => one_line(err),
        (0, None) => "network error".to_string(),
        (status, Some(err)) => format!("HTTP {status} ({})", one_line(err)),
        (status, None) => format!("HTTP {status}"),
    }
}

/// The start of a text on one line.
fn one_line(text: &str) -> String {
    let flat = text.trim().replace(['\n', '\r', '\t'], " ");
    if flat.chars().count() > SNIPPET_CHARS {
        let cut: String = flat.chars().take(SNIPPET_CHARS).collect();
        format!("{cut}...")
    } else {
        flat
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_read_well() {
        assert_eq!(outcome_text(200, None), "HTTP 200");
        assert_eq!(
            outcome_text(0, Some("timed out: deadline")),
            "timed out: deadline"
        );
        assert_eq!(
            outcome_text(302, Some("redirect to /x")),
            "HTTP 302 (redirect to /x)"
        );
    }

    #[test]
    fn snippets_are_one_short_line() {
        assert_eq!(one_line(" a\nb "), "a b");
        let long = "x".repeat(500);
        assert_eq!(one_line(&long).chars().count(), SNIPPET_CHARS + 3);
    }
}
