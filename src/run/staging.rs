//! Staging a run: every row of the input into the outbox, the run's status kept in step, and a
//! run refused whole under `--fail-on-invalid`.

use std::sync::atomic::Ordering;

use anyhow::Result;
use serde_json::json;

use crate::exit::{InterruptedError, InvalidRowsError};
use crate::plural::count;
use crate::progress::Progress;
use crate::read::source::ByteCounter;
use crate::stage::checked_rows::CheckedRows;
use crate::stage::event::EventKind;
use crate::stage::mirror::Mirror;
use crate::stage::{stage, FirstInvalid, StageOptions, Staged, SyncMode};
use crate::store::{RunStatus, Store};

/// What to stage into which run, and how.
pub struct Staging<'a> {
    pub run_id: &'a str,
    /// The input as messages name it.
    pub label: &'a str,
    /// Event ids (kept across restaging) and kinds, in delivery order.
    pub events: &'a [(String, EventKind)],
    pub options: StageOptions<'a>,
    /// Mirror mode: the sync's name and the columns that identify a row.
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
    StageOptions {
        batch_size,
        // Room for the envelope around the rows (ids, counts, metadata).
        max_batch_bytes: max_body_bytes.saturating_sub(1024 + metadata_len as u64),
        op: mode.row_op(),
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
            let interrupted = err.is::<InterruptedError>() || crate::signals::interrupted();
            let status = if interrupted {
                RunStatus::Interrupted
            } else if is_log_error(&err) {
                // The log (a full disk, a lock): staging again later may well work.
                RunStatus::Failed
            } else {
                // The input itself: staging it again would fail the same way.
                RunStatus::InputError
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
        let first = staged.first_invalid.clone().unwrap_or(FirstInvalid {
            line: 0,
            message: "(not recorded)".into(),
        });
        if plan.json {
            // CI reads this: the same summary shape as a delivery, with nothing sent.
            let mut summary =
                super::summary::run_summary(store, plan.run_id, "invalid", i64::MAX, 0.0)?;
            summary["first_invalid"] = json!({"line": first.line, "message": first.message});
            println!("{summary}");
        }
        return Err(InvalidRowsError(format!(
            "{}: {} of {} with --fail-on-invalid; nothing sent (first: line {}: {})",
            plan.label,
            count(staged.counts.invalid, "invalid row", "invalid rows"),
            staged.counts.total,
            first.line,
            first.message
        ))
        .into());
    }
    Ok(staged)
}

/// Whether a staging error came from the log rather than the input: the database's, or a full
/// disk.
fn is_log_error(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause.is::<rusqlite::Error>()
            || cause.is::<postgres::Error>()
            || cause
                .downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::StorageFull)
    })
}
