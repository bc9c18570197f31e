//! Resuming: continue a run that was interrupted, killed or failed, from its first
//! undelivered batch. A run stopped while staging is staged again from its file first, but only
//! when the file is unchanged.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};

use super::delivery::{deliver_run, Delivery};
use super::lock::RunLock;
use super::options::RunOptions;
use super::signing::stored_run_deliverer;
use super::staging::{stage_options, stage_run, Staging};
use crate::deliver::settings::DeliverySettings;
use crate::exit::usage;
use crate::progress::Progress;
use crate::read::source::{prefix_hash, ByteCounter, CsvSource, Input};
use crate::stage::checked_rows::CheckedRows;
use crate::stage::event::EventKind;
use crate::stage::{Staged, SyncMode};
use crate::store::{IdRef, RunRow, RunStatus, Store};

/// What `pulse resume` was asked.
pub struct ResumeSettings {
    /// The run to continue; none: the newest resumable one.
    pub run_id: Option<String>,
    pub delivery: DeliverySettings,
    pub quiet: bool,
    pub json: bool,
}

/// Continues a run: restaged first if it was stopped while staging, then delivered.
pub fn resume(asked: ResumeSettings, db: &Path) -> Result<()> {
    crate::signals::install();
    let progress = Progress::new(asked.quiet);
    let clock = Instant::now();
    let mut store = Store::open(db)?;
    let picked = match &asked.run_id {
        Some(id) => Some(given_run(&store, db, id)?),
        None => latest_resumable(&store, db)?,
    };
    let Some((run, _lock)) = picked else {
        if !asked.quiet {
            eprintln!("pulse: nothing to resume: no run in the log is waiting to be delivered");
        }
        return Ok(());
    };
    if run.status() == Some(RunStatus::Delivered) {
        if !asked.quiet {
            eprintln!("pulse: {} is already delivered", run.id);
        }
        return Ok(());
    }
    if run.status() == Some(RunStatus::Invalid) {
        bail!(
            "{} was refused by --fail-on-invalid: nothing of it is ever sent; fix the input and push it again",
            run.id
        );
    }
    let options = RunOptions::parse(&run.id, &run.options)?;
    let url = asked.delivery.stored_url(&run.id, &run.url)?;
    // Built before restaging, so a missing auth value or secret fails before any work.
    let deliverer = stored_run_deliverer(asked.delivery, &run.id, &options, &url, true, &store)?;

    let (events, counts) = if run.is_staged() {
        (store.events_of_run(&run.id)?, run.rows.clone())
    } else {
        if !asked.quiet {
            eprintln!(
                "pulse: {} was stopped while staging; staging {} again",
                run.id, run.source
            );
        }
        let staged = restage(&mut store, &run, &options, &progress)?;
        (staged.events, staged.counts)
    };
    if !asked.quiet && run.is_staged() {
        eprintln!(
            "pulse: resuming {} ({}/{} batches delivered)",
            run.id, run.batches_delivered, run.batches_total
        );
    }
    let delivery = Delivery {
        run_id: &run.id,
        url: &url,
        source: &run.source,
        body: &options.body,
        events: &events,
        counts: &counts,
        quiet: asked.quiet,
        json: asked.json,
    };
    deliver_run(&mut store, &deliverer, &delivery, &progress, clock)
}

/// The run named on the command line, locked.
fn given_run(store: &Store, db: &Path, id: &str) -> Result<(RunRow, RunLock)> {
    match store.identify(id)? {
        None => bail!("no run {id:?} in the log {}", db.display()),
        Some(IdRef::Event { .. }) => {
            return Err(usage(format!(
                "{id} is an event, not a run: `pulse resend {id}` delivers it again"
            )))
        }
        Some(IdRef::Batch { .. }) => {
            return Err(usage(format!(
                "{id} is a batch, not a run: `pulse resend {id}` delivers it again"
            )))
        }
        Some(IdRef::Run) => {}
    }
    let lock = RunLock::acquire(db, id)?;
    // Read after locking: the process that held the lock may have changed the run.
    let run = store
        .run(id)?
        .ok_or_else(|| anyhow!("{id} vanished from the log"))?;
    Ok((run, lock))
}

/// The newest run that is not delivered, can be continued, and that no live process is sending.
fn latest_resumable(store: &Store, db: &Path) -> Result<Option<(RunRow, RunLock)>> {
    for candidate in store.unfinished_runs()? {
        if !candidate.is_staged() && is_stdin(&candidate) {
            continue;
        }
        let Some(lock) = RunLock::try_acquire(db, &candidate.id)? else {
            continue;
        };
        if let Some(run) = store.run(&candidate.id)? {
            if run.status() != Some(RunStatus::Delivered) {
                return Ok(Some((run, lock)));
            }
        }
    }
    Ok(None)
}

fn is_stdin(run: &RunRow) -> bool {
    run.source_size.is_none() && run.source == Input::Stdin.label()
}

/// Stages a run stopped while staging again, from its unchanged file: the partial batches go
/// first (one transaction), the event ids stay.
fn restage(
    store: &mut Store,
    run: &RunRow,
    options: &RunOptions,
    progress: &Progress,
) -> Result<Staged> {
    if is_stdin(run) {
        bail!(
            "{} read stdin and was stopped while staging; stdin cannot be read again: push it again",
            run.id
        );
    }
    let path = options
        .source_path
        .clone()
        .unwrap_or_else(|| PathBuf::from(&run.source));
    check_unchanged(run, &path)?;
    let events = store
        .events_of_run(&run.id)?
        .into_iter()
        .map(|e| {
            EventKind::from_name(&e.name)
                .map(|kind| (e.id.clone(), kind))
                .ok_or_else(|| anyhow!("{}: unknown stored event {:?}", run.id, e.name))
        })
        .collect::<Result<Vec<_>>>()?;
    let cannot = |err: anyhow::Error| err.context(format!("{} cannot be resumed", run.id));
    let dialect = options.dialect().map_err(cannot)?;
    let mode = options.sync_mode().map_err(cannot)?;
    let schema = crate::schema::load_for_flag(options.schema.as_deref()).map_err(cannot)?;
    let input = Input::File(path);
    let counter = ByteCounter::default();
    let source = CsvSource::open(&input, dialect, counter.clone())?;
    let mut rows = CheckedRows::new(source, schema.as_ref())?;
    store.reset_staging(&run.id)?;
    let plan = Staging {
        run_id: &run.id,
        label: &run.source,
        events: &events,
        options: stage_options(
            options.batch_size.max(1),
            options.max_body_bytes.unwrap_or(u64::MAX),
            mode,
            options.body.metadata.len(),
        ),
        mirror: match (mode, options.sync.as_deref()) {
            (SyncMode::Mirror, Some(sync)) => Some((sync, options.id_columns.as_slice())),
            (SyncMode::Mirror, None) => bail!("{}: mirror run without a stored sync name", run.id),
            _ => None,
        },
        fail_on_invalid: options.fail_on_invalid,
        stdin: false,
        json: false,
    };
    stage_run(store, &plan, &mut rows, &counter, input.size(), progress)
}

/// Refuses a file whose size differs from when the run started, or whose bytes staged before
/// the stop hash differently.
fn check_unchanged(run: &RunRow, path: &Path) -> Result<()> {
    let cannot = |why: String| anyhow!("{} cannot be resumed: {why}", run.id);
    let meta = std::fs::metadata(path)
        .map_err(|e| cannot(format!("its input {} cannot be read ({e})", path.display())))?;
    if let Some(size) = run.source_size {
        if meta.len() != size {
            return Err(cannot(format!(
                "{} changed since it was pushed (was {size} bytes, now {})",
                path.display(),
                meta.len()
            )));
        }
    }
    if let (Some(bytes), Some(hash)) = (run.staged_bytes, run.staged_hash.as_deref()) {
        let now =
            prefix_hash(path, bytes).with_context(|| format!("cannot read {}", path.display()))?;
        if now.as_deref() != Some(hash) {
            return Err(cannot(format!(
                "{} changed since it was pushed (its content differs)",
                path.display()
            )));
        }
    }
    Ok(())
}
