//! The two halves of a run that `push` and `resume` share: staging an input into the outbox,
//! and delivering what of it is not delivered yet, with the run's status kept in step.

use std::sync::atomic::Ordering;
use std::time::Instant;

use anyhow::Result;
use serde_json::json;

use crate::cli::DeliveryArgs;
use crate::cli::SyncMode;
use crate::config::{parse_headers, DeliveryConfig, Signing};
use crate::csv_source::ByteCounter;
use crate::deliver::{Deliverer, DeliveryReport};
use crate::event::EventKind;
use crate::exit::{DeliveryError, InterruptedError, InvalidRowsError};
use crate::mirror::Mirror;
use crate::payload::BodyContext;
use crate::progress::Progress;
use crate::rows::CheckedRows;
use crate::run_options::{RunOptions, SigningSource};
use crate::sign::SigningKey;
use crate::stage::{stage, StageOptions, Staged};
use crate::store::{EventRecord, RowCounts, RunStatus, Store};

/// What to stage into which run, and how.
pub struct Staging<'a> {
    pub run_id: &'a str,
    /// The input as messages name it.
    pub label: &'a str,
    /// Event ids (kept across restaging) and kinds, in delivery order.
    pub events: &'a [(String, EventKind)],
    pub options: StageOptions<'a>,
    /// Mirror mode: the sync's name and its key columns.
    pub mirror: Option<(&'a str, &'a [String])>,
    /// Refuse the whole run when a row is invalid.
    pub fail_on_invalid: bool,
    /// Stdin cannot be read twice, so a run stopped while staging it cannot be resumed.
    pub stdin: bool,
    /// Print a JSON summary on stdout when the run is refused (`--json`).
    pub json: bool,
}

/// The stage options of a sync mode: which `__op` rows carry, and room for the envelope.
pub fn stage_options(
    batch_size: u64,
    max_body_bytes: u64,
    mode: SyncMode,
    metadata_len: usize,
) -> StageOptions<'static> {
    let op = match mode {
        SyncMode::Upsert | SyncMode::Create | SyncMode::Delete => Some(mode.name()),
        SyncMode::Append | SyncMode::Mirror => None,
    };
    StageOptions {
        batch_size,
        // Room for the envelope around the rows (ids, counts, metadata).
        max_batch_bytes: max_body_bytes.saturating_sub(1024 + metadata_len as u64),
        op,
    }
}

/// Stages `rows` into the run and marks it staged. On failure or Ctrl-C the run is marked
/// failed or interrupted and the error says whether `pulse resume` can continue it; with
/// `fail_on_invalid`, an invalid row refuses the run so that nothing of it is ever sent.
pub fn stage_run(
    store: &mut Store,
    plan: &Staging,
    rows: &mut CheckedRows,
    counter: &ByteCounter,
    size: Option<u64>,
    progress: &Progress,
) -> Result<Staged> {
    progress.start_staging(size);
    let result = plan
        .mirror
        .map(|(sync, key)| Mirror::new(sync, plan.run_id, key, rows.headers()))
        .transpose()
        .and_then(|mut mirror| {
            stage(
                store,
                rows,
                plan.events,
                &plan.options,
                mirror.as_mut(),
                |n| {
                    // An atomic load per row: cheap, and Ctrl-C stops staging within one row.
                    if crate::signals::interrupted() {
                        return Err(InterruptedError("interrupted while staging".into()).into());
                    }
                    if n % 4096 == 0 {
                        progress.staged(counter.load(Ordering::Relaxed), n);
                    }
                    Ok(())
                },
            )
        });
    let staged = match result {
        Ok(staged) => staged,
        Err(err) => {
            progress.finish();
            let interrupted = err.is::<InterruptedError>() || crate::signals::interrupted();
            let status = if interrupted {
                RunStatus::Interrupted
            } else {
                RunStatus::Failed
            };
            store.set_run_status(plan.run_id, status)?;
            if !interrupted {
                return Err(err);
            }
            let hint = if plan.stdin {
                format!(
                    "{} read stdin, which cannot be read again: push it again",
                    plan.run_id
                )
            } else {
                format!("continue with `pulse resume {}`", plan.run_id)
            };
            return Err(InterruptedError(format!("{err:#}; {hint}")).into());
        }
    };
    store.finish_staging(
        plan.run_id,
        &staged.events,
        &staged.counts,
        &staged.source_hash,
    )?;
    if plan.fail_on_invalid && staged.counts.invalid > 0 {
        progress.finish();
        // Nothing may ever be sent for this run: drop its outbox, keep the run as a record.
        store.reject_run(plan.run_id)?;
        let first = staged
            .first_invalid
            .as_ref()
            .expect("an invalid row was seen");
        if plan.json {
            // CI reads this: the same summary shape as a delivery, with nothing sent.
            let summary = json!({
                "run_id": plan.run_id,
                "status": "invalid",
                "source": plan.label,
                "rows": staged.counts,
                "events": [],
                "batches": 0,
                "delivered": 0,
                "attempts": 0,
                "first_invalid": {"line": first.line, "message": first.message},
            });
            println!("{summary}");
        }
        return Err(InvalidRowsError(format!(
            "{}: {} invalid row(s) of {} with --fail-on-invalid; nothing sent (first: line {}: {})",
            plan.label, staged.counts.invalid, staged.counts.total, first.line, first.message
        ))
        .into());
    }
    Ok(staged)
}

/// What to deliver and how to report it.
pub struct Delivery<'a> {
    pub run_id: &'a str,
    pub url: &'a reqwest::Url,
    pub source: &'a str,
    pub body: &'a BodyContext,
    pub events: &'a [EventRecord],
    pub counts: &'a RowCounts,
    pub quiet: bool,
    pub json: bool,
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
    let (status, report) = match &outcome {
        Ok(report) => (RunStatus::Delivered, report.clone()),
        Err(err) if err.is::<InterruptedError>() => {
            (RunStatus::Interrupted, DeliveryReport::default())
        }
        Err(_) => (RunStatus::Failed, DeliveryReport::default()),
    };
    if status == RunStatus::Delivered {
        // For a mirror run this also makes its state current, in the same transaction.
        store.finish_delivered(run.run_id)?;
    } else {
        store.set_run_status(run.run_id, status)?;
    }
    let delivered = store.delivered_batches(run.run_id)?;
    let url = crate::config::shown_url(run.url.as_str());
    if run.json {
        let summary = json!({
            "run_id": run.run_id,
            "status": status.as_str(),
            "url": url,
            "source": run.source,
            "rows": run.counts,
            "events": run.events.iter().map(|e| json!({
                "id": e.id, "name": e.name, "rows": e.total_rows, "batches": e.batch_count,
            })).collect::<Vec<_>>(),
            "batches": total_batches,
            "delivered": delivered,
            "attempts": report.attempts,
            "seconds": (clock.elapsed().as_secs_f64() * 1000.0).round() / 1000.0,
        });
        println!("{summary}");
    }
    match outcome {
        Ok(_) => {
            if !run.quiet {
                // Rows sent: the `all` event has every row; otherwise the events are disjoint.
                let sent = match run.events.iter().find(|e| e.name == "all") {
                    Some(all) => all.total_rows,
                    None => run.events.iter().map(|e| e.total_rows).sum(),
                };
                let mirror = if run.counts.unchanged + run.counts.deleted > 0 {
                    format!(
                        " ({} unchanged rows skipped, {} deletes)",
                        run.counts.unchanged, run.counts.deleted
                    )
                } else {
                    String::new()
                };
                eprintln!(
                    "pulse: delivered {sent} rows{mirror} in {delivered}/{total_batches} batches to {url} in {:.2}s (run {})",
                    clock.elapsed().as_secs_f64(),
                    run.run_id
                );
            }
            Ok(())
        }
        Err(err) => {
            let hint = format!(
                "{delivered}/{total_batches} batches delivered; continue with `pulse resume {}`",
                run.run_id
            );
            if err.is::<InterruptedError>() {
                Err(InterruptedError(format!("{err:#}; {hint}")).into())
            } else if err.is::<DeliveryError>() {
                Err(DeliveryError(format!("{err:#}; {hint}")).into())
            } else {
                Err(err)
            }
        }
    }
}

/// A deliverer that sends a stored run the way it was first sent: its stored `--header` values
/// (unless new ones are given), its auth header name with the value given again, and signed
/// as before. `own_url`: sending to the run's URL, where answers change batch status.
pub fn stored_run_deliverer(
    args: &DeliveryArgs,
    run_id: &str,
    options: &RunOptions,
    url: &reqwest::Url,
    own_url: bool,
    store: &Store,
) -> Result<Deliverer> {
    let mut config = DeliveryConfig::from_args(args)?;
    config.with_stored_auth_header(args, options.auth_header_name.as_deref())?;
    if args.headers.is_empty() {
        config.headers.extend(parse_headers(&options.headers)?);
    }
    let keys = stored_run_keys(&config.signing, run_id, options, url.as_str(), store)?;
    let deliverer = Deliverer::new(url.clone(), keys, &config)?;
    Ok(if own_url {
        deliverer
    } else {
        deliverer.without_status_updates()
    })
}

/// Keys for sending a stored run again: the ones given now, else as the run was signed.
fn stored_run_keys(
    signing: &Signing,
    run_id: &str,
    options: &RunOptions,
    url: &str,
    store: &Store,
) -> Result<Vec<SigningKey>> {
    if !matches!(signing, Signing::Generated) {
        return crate::cmd::push::signing_keys(signing, url, store);
    }
    match options.signing_source() {
        SigningSource::None => Ok(Vec::new()),
        SigningSource::Generated => crate::cmd::push::signing_keys(signing, url, store),
        SigningSource::Given => Err(crate::exit::usage(format!(
            "{run_id} was signed with a secret given on the command line, which is never \
             stored: give it again with --secret or PULSE_SECRET (or --no-sign)"
        ))),
    }
}
