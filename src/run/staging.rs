//! Staging a run: a new run recorded, every row of its input into the outbox as its plan says,
//! the run's status kept in step, and a run refused whole under `--fail-on-invalid`. A push, a
//! dry run and a restage all stage through here.

use std::sync::atomic::Ordering;

use anyhow::Result;
use serde_json::json;

use crate::exit::{usage, InterruptedError, InvalidRowsError};
use crate::plan::RunPlan;
use crate::plural::count;
use crate::progress::Progress;
use crate::read::{ByteCounter, Input, RemoteObject};
use crate::schema::Schema;
use crate::stage::{new_event_id, stage, CheckedRows, EventKind, FirstInvalid, Mirror, Staged};
use crate::store::{NewRun, RunStatus, Store};

/// What to stage into which run: the run's plan says how.
pub struct Staging<'a> {
    pub run_id: &'a str,
    /// The input as messages name it.
    pub label: &'a str,
    /// Event ids (kept across restaging) and kinds, in delivery order.
    pub events: &'a [(String, EventKind)],
    pub plan: &'a RunPlan,
    /// Print a JSON summary on stdout when the run is refused (`--json`).
    pub json: bool,
}

/// Records a new run for `plan` in `store` (its events with fresh ids, in delivery order) and
/// stages `rows` (read through `counter`) into it. Shared by a push and a dry run.
pub fn stage_new_run(
    store: &mut Store,
    (run_id, url): (&str, &str),
    plan: &RunPlan,
    (rows, counter): (&mut CheckedRows, &ByteCounter),
    (progress, json): (&Progress, bool),
) -> Result<Staged> {
    let label = plan.read.input.label();
    let events: Vec<(String, EventKind)> = plan
        .shape
        .events
        .iter()
        .map(|kind| (new_event_id(), *kind))
        .collect();
    store.create_run(
        &NewRun {
            id: run_id,
            source: &label,
            source_size: plan.read.source_size(),
            url,
            options: &plan.to_json(),
        },
        &events
            .iter()
            .map(|(id, kind)| (id.clone(), kind.name()))
            .collect::<Vec<_>>(),
    )?;
    let staging = Staging {
        run_id,
        label: &label,
        events: &events,
        plan,
        json,
    };
    let size = plan.read.source_size();
    stage_run(store, &staging, rows, counter, size, progress)
}

/// Opens the plan's input and checks its rows against `schema`; returns them with the
/// delimiter read with (given or sniffed) and what a download told of a remote input.
pub fn open_rows(
    plan: &RunPlan,
    schema: Option<&Schema>,
    counter: &ByteCounter,
    quiet: bool,
) -> Result<(CheckedRows, u8, RemoteObject)> {
    let (source, remote) =
        super::remote::open_source(&plan.read.input, &plan.read.dialect, counter.clone())?;
    if !quiet {
        for notice in source.notices() {
            crate::output::errln!("pulse: {notice}");
        }
    }
    let delimiter = source.delimiter();
    let rows = CheckedRows::new(source, schema)?;
    if plan.shape.body.nest {
        // Before the run is recorded: a clash is the flag's mistake, and nothing is staged.
        crate::payload::check_nesting(rows.headers()).map_err(usage)?;
    }
    Ok((rows, delimiter, remote))
}

/// Stages `rows` into the run and marks it staged. On failure or Ctrl-C the run is marked
/// failed or interrupted and the error says whether `pulse resume` can continue it; with
/// `fail_on_invalid`, an invalid row refuses the run so that nothing of it is ever sent.
pub fn stage_run(
    store: &mut Store,
    staging: &Staging,
    rows: &mut CheckedRows,
    counter: &ByteCounter,
    size: Option<u64>,
    progress: &Progress,
) -> Result<Staged> {
    progress.start_staging(size);
    let mut span = crate::telemetry::span("stage");
    if span.is_on() {
        span.set("pulse.run.id", staging.run_id.to_string());
    }
    let options = staging.plan.stage_options();
    let result = staging
        .plan
        .mirror()
        .map(|(sync, key)| Mirror::new(sync, staging.run_id, key, rows.headers()))
        .transpose()
        .and_then(|mut mirror| {
            stage(
                store,
                rows,
                staging.events,
                &options,
                mirror.as_mut(),
                |n| {
                    // An atomic load per row: cheap, and Ctrl-C stops staging within one row.
                    if crate::signals::interrupted() {
                        return Err(InterruptedError(format!(
                            "{} while staging",
                            crate::signals::stopped()
                        ))
                        .into());
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
            span.fail(&format!("{err:#}"));
            return Err(staging_stopped(store, staging, err)?);
        }
    };
    let counts = &staged.counts;
    span.set("pulse.rows", counts.total as i64);
    span.set("pulse.rows.invalid", counts.invalid as i64);
    span.set("pulse.bytes", counter.load(Ordering::Relaxed) as i64);
    crate::telemetry::run_attribute("pulse.rows", counts.total as i64);
    store.finish_staging(
        staging.run_id,
        &staged.events,
        &staged.counts,
        &staged.source_hash,
    )?;
    if staging.plan.validate.fail_on_invalid && staged.counts.invalid > 0 {
        progress.finish();
        return Err(refused(store, staging, &staged)?);
    }
    if staging.plan.shape.body.template.is_some() {
        first_body_renders(store, staging, &staged)?;
    }
    Ok(staged)
}

/// A `--template` run's first batch rendered as it will be sent: a template that fails on it,
/// or renders a JSON body that is not JSON, fails the run on its input for good (nothing of it
/// is sent, and it holds up no later run), a usage error (exit 2) naming the template.
fn first_body_renders(store: &mut Store, staging: &Staging, staged: &Staged) -> Result<()> {
    for event in &staged.events {
        let Some(batch) = store.batches_of_event(&event.id)?.into_iter().next() else {
            continue;
        };
        let ctx = &staging.plan.shape.body;
        let mut body = Vec::new();
        return match crate::deliver::write_batch_body(store, ctx, event, &batch, &mut body) {
            Ok(()) => Ok(()),
            Err(err) => {
                let why = format!("{err:#}");
                store.fail_run_on_input(staging.run_id, &why)?;
                Err(usage(format!("{why}; nothing sent")))
            }
        };
    }
    Ok(())
}

/// A run whose staging stopped on `err`: its status set (interrupted, failed on the log, or
/// failed on its input), and the error to report, saying whether `pulse resume` continues it.
fn staging_stopped(
    store: &mut Store,
    staging: &Staging,
    err: anyhow::Error,
) -> Result<anyhow::Error> {
    let interrupted = err.is::<InterruptedError>() || crate::signals::interrupted();
    let status = if interrupted {
        RunStatus::Interrupted
    } else if crate::store::is_log_error(&err) {
        // The log (a full disk, a lock): staging again later may well work.
        RunStatus::Failed
    } else {
        // The input itself: staging it again would fail the same way.
        RunStatus::InputError
    };
    store.set_run_status(staging.run_id, status)?;
    if !interrupted {
        return Ok(err);
    }
    let hint = if matches!(staging.plan.read.input, Input::Stdin) {
        format!(
            "{} read stdin, which cannot be read again: push it again",
            staging.run_id
        )
    } else {
        format!("continue with `pulse resume {}`", staging.run_id)
    };
    Ok(InterruptedError(format!("{err:#}; {hint}")).into())
}

/// A run refused whole by `--fail-on-invalid`: its outbox dropped (nothing may ever be sent),
/// the run kept as a record, and the error naming its first invalid row.
fn refused(store: &mut Store, staging: &Staging, staged: &Staged) -> Result<anyhow::Error> {
    store.reject_run(staging.run_id)?;
    let first = staged.first_invalid.clone().unwrap_or(FirstInvalid {
        line: 0,
        message: "(not recorded)".into(),
    });
    if staging.json {
        // CI reads this: the same summary shape as a delivery, with nothing sent.
        let mut summary =
            super::summary::run_summary(store, staging.run_id, "invalid", i64::MAX, 0.0)?;
        summary["first_invalid"] = json!({"line": first.line, "message": first.message});
        crate::output::outln!("{summary}");
    }
    Ok(InvalidRowsError(format!(
        "{}: {} of {} with --fail-on-invalid; nothing sent (first: line {}: {})",
        staging.label,
        count(staged.counts.invalid, "invalid row", "invalid rows"),
        staged.counts.total,
        first.line,
        first.message
    ))
    .into())
}
