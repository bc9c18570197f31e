//! Delivering a run: its undelivered batches in order, the outcome recorded as the run's status,
//! and the summary printed.

use std::time::Instant;

use anyhow::Result;

use super::summary::run_summary;
use crate::deliver::{Concurrency, Deliverer};
use crate::exit::{with_hint, InterruptedError, RejectedRowsError};
use crate::payload::BodyContext;
use crate::plan::Knobs;
use crate::plural::{count, part_of};
use crate::progress::Progress;
use crate::store::{EventRecord, RowCounts, RunStatus, Store};

/// What to deliver and how to report it.
pub struct Delivery<'a> {
    pub run_id: &'a str,
    /// The run's input as the log names it: said in every message about the run.
    pub source: &'a str,
    pub url: &'a reqwest::Url,
    pub body: &'a BodyContext,
    pub events: &'a [EventRecord],
    pub counts: &'a RowCounts,
    pub knobs: Knobs,
    /// The run a push delivers this one ahead of (a backlog run): its `--json` line says so.
    pub ahead_of: Option<&'a str>,
}

/// Delivers the run's undelivered batches in order, records the outcome as the run's status,
/// prints the summary, and turns a stop into an error that says how to continue.
pub fn deliver_run(
    store: &mut Store,
    deliverer: &Deliverer,
    run: &Delivery,
    progress: &Progress,
    clock: Instant,
) -> Result<()> {
    let total_batches: u64 = run.events.iter().map(|e| e.batch_count).sum();
    progress.start_delivery(total_batches);
    store.set_run_status(run.run_id, RunStatus::Delivering)?;
    let outcome = deliverer.deliver(store, run.body, run.events, progress);
    progress.finish();
    let status = match &outcome {
        Ok(_) => RunStatus::Delivered,
        Err(err) if err.is::<InterruptedError>() => RunStatus::Interrupted,
        Err(_) => RunStatus::Failed,
    };
    let recorded = if status == RunStatus::Delivered {
        // For a mirror run this also makes its state current, in the same transaction.
        store.finish_delivered(run.run_id)
    } else {
        store.set_run_status(run.run_id, status)
    };
    if let Err(not_recorded) = recorded {
        // A log that fails here (a database gone away) most often failed the delivery first:
        // its error says what happened, and the run's status stays resumable.
        return Err(match outcome {
            Err(first) => first,
            Ok(_) => not_recorded,
        });
    }
    let delivered = store.delivered_batches(run.run_id)?;
    let url = crate::redact::shown_url(run.url.as_str());
    if run.knobs.json {
        let since = crate::store::now_ms() - clock.elapsed().as_millis() as i64;
        let seconds = clock.elapsed().as_secs_f64();
        let mut summary = run_summary(store, run.run_id, status.as_str(), since, seconds)?;
        // Mirror counts (unchanged, deleted) are known here, not kept in the log.
        summary["rows"] = serde_json::to_value(run.counts)?;
        if let Some(ahead_of) = run.ahead_of {
            summary["backlog_of"] = ahead_of.into();
        }
        crate::output::outln!("{summary}");
    }
    match outcome {
        Ok(_) => {
            if !run.knobs.quiet {
                // Rows sent: the `all` event has every row; otherwise the events are disjoint.
                let sent = match run.events.iter().find(|e| e.name == "all") {
                    Some(all) => all.total_rows,
                    None => run.events.iter().map(|e| e.total_rows).sum(),
                };
                // Invalid rows go out with `all` and `invalidData`; with `validData` alone they
                // stay behind. Either way the line says so, as `pulse log` does.
                let takes_invalid = run
                    .events
                    .iter()
                    .any(|e| e.name == "all" || e.name == "invalidData");
                let invalid = match (run.counts.invalid, takes_invalid) {
                    (0, _) => String::new(),
                    (n, true) => format!(" ({n} invalid)"),
                    (n, false) => format!(" ({n} invalid not sent)"),
                };
                let mirror = if run.counts.unchanged + run.counts.deleted > 0 {
                    format!(
                        " ({} skipped, {})",
                        count(run.counts.unchanged, "unchanged row", "unchanged rows"),
                        count(run.counts.deleted, "delete", "deletes")
                    )
                } else {
                    String::new()
                };
                crate::output::errln!(
                    "pulse: delivered {}{invalid}{mirror} in {} to {url} in {:.2}s (run {}, {})",
                    count(sent, "row", "rows"),
                    part_of(delivered, total_batches, "batch", "batches"),
                    clock.elapsed().as_secs_f64(),
                    run.run_id,
                    run.source
                );
                in_flight_line(store, deliverer, run.run_id, clock)?;
            }
            rejected_rows(store, deliverer, run)
        }
        Err(err) => {
            let since = crate::store::now_ms() - clock.elapsed().as_millis() as i64;
            let hint = format!(
                "{} delivered from {}; {}",
                part_of(delivered, total_batches, "batch", "batches"),
                run.source,
                way_on(store, run.run_id, since)
            );
            Err(with_hint(err, &hint))
        }
    }
}

/// How many requests were in flight (mean, peak, limit), after a delivery that sent more than
/// one at a time; from this command's attempts.
fn in_flight_line(
    store: &Store,
    deliverer: &Deliverer,
    run_id: &str,
    clock: Instant,
) -> Result<()> {
    if deliverer.concurrency() == Concurrency::Fixed(1) {
        return Ok(());
    }
    let since = crate::store::now_ms() - clock.elapsed().as_millis() as i64;
    if let Some(in_flight) = store.in_flight_of_run(run_id, since)? {
        crate::output::errln!(
            "pulse: in flight (--concurrency {}): {}",
            deliverer.concurrency(),
            in_flight.text()
        );
    }
    Ok(())
}

/// A delivered run whose receiver refused rows (`--rejected-rows`): a warning, even under
/// `--quiet` (exit 0), or with `--fail-on-rejected` an error (exit 5), for the command's own
/// run (not a backlog run a push delivers first, which only warns).
fn rejected_rows(store: &Store, deliverer: &Deliverer, run: &Delivery) -> Result<()> {
    let Some(row) = store.run(run.run_id)? else {
        return Ok(());
    };
    if row.rows_rejected == 0 {
        return Ok(());
    }
    let text = format!(
        "the receiver refused {} of {} of {} ({}): `pulse export {} --rejected --with-errors` \
         writes them with its messages",
        row.rows_rejected,
        count(row.rows.total, "row", "rows"),
        run.run_id,
        run.source,
        run.run_id
    );
    if deliverer.fails_on_rejected() && run.ahead_of.is_none() {
        return Err(RejectedRowsError(format!("{text} (--fail-on-rejected)")).into());
    }
    crate::output::errln!("pulse: warning: {text}");
    Ok(())
}

/// What to do about a run left undelivered: resume it, unless the receiver refused its batch
/// (a 4xx other than 408 and 429), which a resume would send again to the same answer; after
/// a 401 or 403, once the credentials are right.
fn way_on(store: &Store, run_id: &str, since: i64) -> String {
    let status = match store.last_attempt_of_run(run_id, since) {
        Ok(Some(last)) => last.http_status,
        _ => 0,
    };
    match status {
        401 | 403 => format!(
            "continue with `pulse resume {run_id}` once the receiver takes the credentials \
             (its secret, with --resign for a run signed with another, or --auth-header-value)"
        ),
        408 | 429 => format!("continue with `pulse resume {run_id}`"),
        400..=499 => format!(
            "the receiver refused it, so a resume would get the same answer: fix the rows \
             (`pulse export {run_id} --failed`) and push them with `--replaces {run_id}`, or \
             `pulse cancel {run_id}`"
        ),
        _ => format!("continue with `pulse resume {run_id}`"),
    }
}
