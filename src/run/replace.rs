//! `push --replaces RUN`: the dead-letter loop (`--on-failure skip`, `export --failed`, fix,
//! push the fix) without a manual cancel. Order per URL would otherwise send the failed original
//! first, where it fails again, and hold the fix behind it. The replaced run is checked before
//! anything is read, and cancelled only once the new run is staged (a fix that cannot be read
//! replaces nothing): its delivered batches stay delivered, its undelivered ones are never sent,
//! and the log says by which run it was replaced.

use anyhow::Result;

use super::lock::RunLock;
use crate::exit::usage;
use crate::redact::shown_url;
use crate::store::{IdRef, RunRow, RunStatus, Store};

/// The run a push replaces, locked from the check to the end of the push, so that no resume
/// sends it meanwhile.
pub struct Replaced {
    run: RunRow,
    _lock: RunLock,
}

/// Checks that `id` is a run to the URL of the push (`url` as the log shows it) with something
/// left to replace, and locks it.
pub fn claim(store: &Store, id: &str, url: &str) -> Result<Replaced> {
    match store.identify(id)? {
        Some(IdRef::Run) => {}
        Some(_) => return Err(usage(format!("--replaces {id}: not a run; give a run id"))),
        None => return Err(usage(format!("--replaces {id}: no such run in the log"))),
    }
    let lock = RunLock::acquire(store, id)?;
    let Some(run) = store.run(id)? else {
        return Err(usage(format!("--replaces {id}: no such run in the log")));
    };
    if run.url != url {
        return Err(usage(format!(
            "--replaces {id}: that run went to {}, not to {}; a push replaces a run to its own URL",
            shown_url(&run.url),
            shown_url(url)
        )));
    }
    if run.status() == Some(RunStatus::Delivered) {
        return Err(usage(format!(
            "--replaces {id}: that run is delivered, nothing of it is left to replace"
        )));
    }
    Ok(Replaced { run, _lock: lock })
}

/// Cancels the replaced run in favour of `by` (its source `by_source`), once `by` is staged.
pub fn replace(
    store: &Store,
    replaced: &Replaced,
    by: &str,
    by_source: &str,
    quiet: bool,
) -> Result<()> {
    let run = &replaced.run;
    if let Some(status) = run.status().filter(|s| s.is_final()) {
        if !quiet {
            crate::output::errln!(
                "pulse: {} ({}) is {} already: nothing to replace",
                run.id,
                run.source,
                status.as_str()
            );
        }
        return Ok(());
    }
    let why = format!("replaced by {by} ({by_source})");
    store.cancel_run_because(&run.id, &why)?;
    if !quiet {
        let left = run.batches_total.saturating_sub(run.batches_delivered);
        crate::output::errln!(
            "pulse: {} ({}) is {why}: {} of it will not be sent, and {by} does not wait for it",
            run.id,
            run.source,
            crate::plural::count(left, "undelivered batch", "undelivered batches")
        );
    }
    Ok(())
}
