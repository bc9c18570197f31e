//! Resending: an event (all its batches, in order), a single batch, or a whole run delivered
//! again. Same `webhook-id`, fresh timestamp and signature; every attempt is logged against
//! the batch.

use std::time::Instant;

use anyhow::{anyhow, bail, Result};
use serde_json::json;

use super::lock::RunLock;
use super::signing::stored_run_deliverer;
use crate::deliver::{DeliveryReport, DeliverySettings};
use crate::exit::{with_hint, InterruptedError};
use crate::plan::{Knobs, RunPlan};
use crate::plural::{count, part_of};
use crate::progress::Progress;
use crate::redact::shown_url;
use crate::store::{BatchRef, EventRecord, IdRef, Location, RunStatus, Store};

/// What `pulse resend` was asked.
pub struct ResendSettings {
    /// A run, event or batch id.
    pub id: String,
    /// Another URL than the run's own: answers then change no batch's status.
    pub url: Option<reqwest::Url>,
    /// Only the batches never delivered.
    pub failed: bool,
    pub delivery: DeliverySettings,
    /// The delivery settings for a run pushed `--to NAME` (`resume::ForDestination`).
    pub for_destination: Option<super::resume::ForDestination>,
    pub knobs: Knobs,
}

/// Sends the batches an id names again, and reports what happened.
pub fn resend(asked: ResendSettings, db: &Location) -> Result<()> {
    crate::signals::install(asked.knobs.deadline);
    let progress = Progress::new(asked.knobs.quiet);
    let clock = Instant::now();
    let mut store = Store::open(db)?;
    let id = asked.id.as_str();
    let (kind, run_id) = identify(&store, id, db)?;
    let _lock = RunLock::acquire(&store, &run_id)?;
    let run = store
        .run(&run_id)?
        .ok_or_else(|| anyhow!("{run_id} vanished from the log"))?;
    if run.status() == Some(RunStatus::Invalid) {
        bail!("{run_id} was refused by --fail-on-invalid: nothing of it is ever sent");
    }
    if !run.is_staged() {
        bail!("{run_id} was stopped while staging; `pulse resume {run_id}` stages and delivers it");
    }
    let plan = RunPlan::load(&run_id, &run.source, &run.options)?;
    let delivery =
        super::resume::delivery_for(&plan, &asked.delivery, asked.for_destination.as_ref())?;
    // Another URL given: the run's own only if it is the same (the log keeps it masked).
    let (url, own_url) = match asked.url.clone() {
        Some(given) => {
            let own = shown_url(given.as_str()) == run.url;
            (delivery.url_with_password(given)?, own)
        }
        None => (delivery.stored_url(&run_id, &run.url)?, true),
    };

    let queue = select_batches(&store, &kind, id, &run_id, asked.failed)?;
    if queue.is_empty() {
        if !asked.knobs.quiet {
            crate::output::errln!("pulse: nothing to resend: every batch of {id} is delivered");
        }
        return Ok(());
    }
    let target = (&url, own_url);
    let deliverer = stored_run_deliverer(delivery, &run_id, &plan.deliver, target, &store)?;
    let shown = shown_url(url.as_str());

    progress.start_delivery(queue.len() as u64);
    let mut report = DeliveryReport::default();
    let outcome = deliverer.resend(&mut store, &plan.shape.body, &queue, &progress, &mut report);
    progress.finish();
    if own_url {
        complete_if_all_delivered(&mut store, &run_id)?;
    }
    let total = queue.len() as u64;
    let status = match &outcome {
        Ok(()) => "delivered",
        Err(err) if err.is::<InterruptedError>() => "interrupted",
        Err(_) => "failed",
    };
    if asked.knobs.json {
        let summary = json!({
            "id": id,
            "run_id": run_id,
            "status": status,
            "url": shown,
            "batches": total,
            "delivered": report.batches_delivered,
            "rows": report.rows_delivered,
            "attempts": report.attempts,
            "seconds": (clock.elapsed().as_secs_f64() * 1000.0).round() / 1000.0,
        });
        crate::output::outln!("{summary}");
    }
    match outcome {
        Ok(()) => {
            if !asked.knobs.quiet {
                crate::output::errln!(
                    "pulse: resent {} in {} of {id} to {shown} in {:.2}s",
                    count(report.rows_delivered, "row", "rows"),
                    count(total, "batch", "batches"),
                    clock.elapsed().as_secs_f64()
                );
            }
            Ok(())
        }
        Err(err) => {
            let hint = format!(
                "{} resent; `pulse resend {id} --failed` tries the rest",
                part_of(report.batches_delivered, total, "batch", "batches")
            );
            Err(with_hint(err, &hint))
        }
    }
}

/// What a run, event or batch id names, and its run; an error naming the log when it is not
/// in it.
pub(super) fn identify(store: &Store, id: &str, db: &Location) -> Result<(IdRef, String)> {
    let kind = store
        .identify(id)?
        .ok_or_else(|| anyhow!("no event, batch or run {id:?} in the log {}", db))?;
    let run_id = match &kind {
        IdRef::Run => id.to_string(),
        IdRef::Event { run_id } | IdRef::Batch { run_id, .. } => run_id.clone(),
    };
    Ok((kind, run_id))
}

/// The batches an id names, in delivery order; with `failed`, only those never delivered.
pub(super) fn select_batches(
    store: &Store,
    kind: &IdRef,
    id: &str,
    run_id: &str,
    failed: bool,
) -> Result<Vec<(EventRecord, BatchRef)>> {
    let mut queue = Vec::new();
    for event in store.events_of_run(run_id)? {
        let wanted = match kind {
            IdRef::Run => true,
            IdRef::Event { .. } => event.id == id,
            IdRef::Batch { event_id, .. } => &event.id == event_id,
        };
        if !wanted {
            continue;
        }
        for batch in store.batch_rows_of_event(&event.id)? {
            if matches!(kind, IdRef::Batch { .. }) && batch.id != id {
                continue;
            }
            if failed && batch.delivered() {
                continue;
            }
            queue.push((event.clone(), batch.as_ref()));
        }
    }
    Ok(queue)
}

/// Resending the last undelivered batches completes the run; as at the end of a push, a
/// mirror run's state becomes current too.
fn complete_if_all_delivered(store: &mut Store, run_id: &str) -> Result<()> {
    let now = store.run(run_id)?;
    if let Some(now) = now.filter(|r| r.status() != Some(RunStatus::Delivered))
        && now.batches_total > 0
        && now.batches_delivered == now.batches_total
    {
        store.finish_delivered(run_id)?;
    }
    Ok(())
}
