//! `pulse cancel RUN`: the run is never resumed and holds up no later run to its URL. Its
//! batches and attempts stay in the log (`pulse log`, `pulse resend`).

use anyhow::{bail, Result};

use crate::cli::CancelArgs;
use crate::exit::usage;
use crate::run::RunLock;
use crate::store::{IdRef, Location, RunStatus, Store};

pub fn run(args: &CancelArgs, db: &Location) -> Result<()> {
    let store = Store::open(db)?;
    let id = args.run_id.as_str();
    match store.identify(id)? {
        Some(IdRef::Run) => {}
        Some(_) => return Err(usage(format!("{id} is not a run: only runs are cancelled"))),
        None => bail!("no run {id:?} in the log {db}"),
    }
    // Another process sending the run holds its lock: cancelling under it would race.
    let _lock = RunLock::acquire(&store, id)?;
    let Some(run) = store.run(id)? else {
        bail!("{id} vanished from the log");
    };
    match run.status() {
        Some(RunStatus::Delivered) => bail!("{id} is delivered: there is nothing to cancel"),
        Some(status) if status.is_final() => {
            if !args.quiet {
                crate::output::errln!(
                    "pulse: {id} is {} already: it will not be resumed",
                    status.as_str()
                );
            }
            return Ok(());
        }
        _ => {}
    }
    store.cancel_run(id)?;
    if args.json {
        let summary = crate::run::run_summary(&store, id, "cancelled", i64::MAX, 0.0)?;
        crate::output::outln!("{summary}");
    }
    if !args.quiet {
        crate::output::errln!(
            "pulse: cancelled {id} of {} ({} delivered); it will not be resumed, and later runs \
             to its URL no longer wait for it",
            run.source,
            crate::plural::part_of(run.batches_delivered, run.batches_total, "batch", "batches")
        );
    }
    Ok(())
}
