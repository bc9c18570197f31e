//! Runs that can never be sent: stopped while staging (so nothing of them went out), with an
//! input that is gone, changed, or was stdin. Such a run is made final (`abandoned`, its reason
//! in the log) and reported once, so that it never holds up the runs behind it. A run that
//! merely fails at its receiver keeps its place: that is the order guarantee.

use std::path::Path;

use anyhow::{Context, Result};

use super::summary::run_summary;
use crate::plan::{Knobs, RunPlan};
use crate::read::{prefix_hash, Input};
use crate::store::{now_ms, RunRow, Store};

/// A run was found unsendable and marked abandoned; the message says which, why, and what to
/// do. Callers working through a queue report it and go on.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Abandoned(pub String);

pub fn is_stdin(run: &RunRow) -> bool {
    run.source_size.is_none() && run.source == Input::Stdin.label()
}

/// Why `run` can never be staged again, if so: it is not staged to the end and its input was
/// stdin, or its file is gone or changed. A file that cannot be read for another reason
/// (permissions, a mount not there yet) may come back: that is an error, not a reason.
pub fn unstageable(run: &RunRow, plan: &RunPlan) -> Result<Option<String>> {
    if run.is_staged() {
        return Ok(None);
    }
    let path = match (&plan.read.input, is_stdin(run)) {
        (Input::File(path), false) => path,
        (input, false) if input.is_remote() => return remote_change(run, input),
        _ => return Ok(Some("it read stdin, which cannot be read again".into())),
    };
    match std::fs::metadata(path) {
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            Ok(Some(format!("{} is gone", path.display())))
        }
        _ => input_change(run, path),
    }
}

/// How the file differs from what was staged before the stop, if it does: its size, or the
/// hash of the bytes staged so far.
pub fn input_change(run: &RunRow, path: &Path) -> Result<Option<String>> {
    let meta = std::fs::metadata(path)
        .with_context(|| format!("{}: its input {} cannot be read", run.id, path.display()))?;
    if let Some(size) = run.source_size
        && meta.len() != size
    {
        return Ok(Some(format!(
            "{} changed since it was pushed (was {size} bytes, now {})",
            path.display(),
            meta.len()
        )));
    }
    if let (Some(bytes), Some(hash)) = (run.staged_bytes, run.staged_hash.as_deref()) {
        let now =
            prefix_hash(path, bytes).with_context(|| format!("cannot read {}", path.display()))?;
        if now.as_deref() != Some(hash) {
            return Ok(Some(format!(
                "{} changed since it was pushed (its content differs)",
                path.display()
            )));
        }
    }
    Ok(None)
}

/// How a remote input differs from what was staged before the stop, if it does: its announced
/// length (a HEAD), or the hash of the bytes staged so far (downloaded again, no further). An
/// input that cannot be reached now is an error, not a change: it may come back.
fn remote_change(run: &RunRow, input: &Input) -> Result<Option<String>> {
    let label = input.label();
    let cannot = |err: anyhow::Error| err.context(format!("{}: its input cannot be read", run.id));
    let now = super::remote::head(input).map_err(cannot)?;
    if let (Some(size), Some(now)) = (run.source_size, now.size)
        && size != now
    {
        return Ok(Some(format!(
            "{label} changed since it was pushed (was {size} bytes, now {now})"
        )));
    }
    if let (Some(bytes), Some(hash)) = (run.staged_bytes, run.staged_hash.as_deref()) {
        let now = super::remote::prefix_hash(input, bytes).map_err(cannot)?;
        if now.as_deref() != Some(hash) {
            return Ok(Some(format!(
                "{label} changed since it was pushed (its content differs)"
            )));
        }
    }
    Ok(None)
}

/// Marks `run` abandoned for `why`, prints its JSON summary with `--json`, and returns the
/// error that tells of it.
pub fn abandon(store: &Store, run: &RunRow, why: &str, knobs: Knobs) -> Result<Abandoned> {
    store.abandon_run(&run.id, why)?;
    if knobs.json {
        let mut summary = run_summary(store, &run.id, "abandoned", now_ms(), 0.0)?;
        summary["reason"] = why.into();
        crate::output::outln!("{summary}");
    }
    Ok(Abandoned(format!(
        "{} ({}) is abandoned: {why}; it was stopped while staging, so nothing of it was sent, \
         and the runs behind it go on (push the data again to send it)",
        run.id, run.source
    )))
}
