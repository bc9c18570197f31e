//! Resuming: continue runs that were interrupted, killed or failed, each from its first
//! undelivered batch, per destination oldest first. A run stopped while staging is staged
//! again from its file first, but only when the file is unchanged.

use std::time::Instant;

use anyhow::{anyhow, bail, Result};

use super::abandon::{abandon, input_change, is_stdin, unstageable, Abandoned};
use super::delivery::{deliver_run, Delivery};
use super::lock::RunLock;
use super::signing::stored_run_deliverer;
use super::staging::{stage_run, Staging};
use super::summary::run_summary;
use crate::deliver::DeliverySettings;
use crate::exit::{usage, DeliveryError, InterruptedError, QuietDeliveryError};
use crate::plan::{Knobs, RunPlan};
use crate::plural::part_of;
use crate::progress::Progress;
use crate::read::{ByteCounter, Input};
use crate::redact::shown_url;
use crate::stage::{CheckedRows, EventKind, Staged, SyncMode};
use crate::store::{IdRef, Location, RunRow, RunStatus, Store};

/// What `pulse resume` was asked.
pub struct ResumeSettings {
    /// The run to continue; none: every unfinished run, oldest first per destination.
    pub run_id: Option<String>,
    /// Continue `run_id` even though older runs to its destination are unfinished.
    pub out_of_order: bool,
    /// Limits for staging a run again, instead of those it was pushed with.
    pub max_record_bytes: Option<u64>,
    pub max_body_bytes: Option<u64>,
    pub delivery: DeliverySettings,
    /// The delivery settings for a run pushed `--to NAME`, from the config file's destination
    /// (under the flags and variables given); none: `delivery` for every run.
    pub for_destination: Option<ForDestination>,
    pub knobs: Knobs,
}

/// The delivery settings a command gives a run pushed to a named destination of the config
/// file: `cli/` builds it, as it builds every setting from the command line.
pub type ForDestination = Box<dyn Fn(&str) -> Result<DeliverySettings>>;

/// The delivery settings a stored run is sent with: its destination's, when it was pushed to
/// one and the command knows how to read them, else the command's own.
pub(super) fn delivery_for(
    plan: &RunPlan,
    own: &DeliverySettings,
    for_destination: Option<&ForDestination>,
) -> Result<DeliverySettings> {
    match (plan.deliver.destination.as_deref(), for_destination) {
        (Some(name), Some(settings_for)) => {
            let settings = settings_for(name)?;
            crate::deliver::check_client_files(&settings)?;
            Ok(settings)
        }
        _ => Ok(own.clone()),
    }
}

impl ResumeSettings {
    /// For continuing runs in their turn, as a push does: with the push's own settings.
    pub(super) fn in_turn(delivery: DeliverySettings, knobs: Knobs) -> ResumeSettings {
        ResumeSettings {
            run_id: None,
            out_of_order: false,
            max_record_bytes: None,
            max_body_bytes: None,
            delivery,
            for_destination: None,
            knobs,
        }
    }
}

/// Continues the run asked for, or every unfinished run: per destination (URL, method and
/// format) oldest first, so that a receiver never gets a newer run's rows before an older
/// one's. Destinations are independent: one whose run fails holds up only its own later runs.
pub fn resume(asked: ResumeSettings, db: &Location) -> Result<()> {
    crate::signals::install(asked.knobs.deadline);
    let progress = Progress::new(asked.knobs.quiet);
    // Before a run stopped while staging is staged again, as a push checks before staging.
    crate::deliver::check_client_files(&asked.delivery)?;
    let mut store = Store::open(db)?;
    match asked.run_id.clone() {
        Some(id) => resume_given(&mut store, db, &id, &asked, &progress),
        None => resume_all(&mut store, &asked, &progress),
    }
}

fn resume_given(
    store: &mut Store,
    db: &Location,
    id: &str,
    asked: &ResumeSettings,
    progress: &Progress,
) -> Result<()> {
    let (run, _lock) = given_run(store, db, id)?;
    match run.status() {
        Some(RunStatus::Delivered) => {
            if !asked.knobs.quiet {
                crate::output::errln!("pulse: {} is already delivered", run.id);
            }
            return Ok(());
        }
        Some(status) if status.is_final() => {
            let note = store.run_note(&run.id)?;
            bail!("{}", final_reason(&run.id, status, note))
        }
        _ => {}
    }
    if !asked.out_of_order {
        let older: Vec<String> = older_unfinished(store, &run)?
            .into_iter()
            .map(|other| format!("{} ({})", other.id, other.source))
            .collect();
        if !older.is_empty() {
            // Left waiting: "not delivered" (exit 4), as wherever a run waits its turn.
            return Err(DeliveryError(format!(
                "{} ({}) waits behind older unfinished runs to the same URL: {}; `pulse resume` \
                 delivers them in order, `pulse cancel RUN` drops one, --out-of-order sends \
                 this one first",
                run.id,
                run.source,
                older.join(", ")
            ))
            .into());
        }
    }
    continue_run(store, &run, asked, progress, None)
}

/// Every unfinished run, per destination oldest first.
fn resume_all(store: &mut Store, asked: &ResumeSettings, progress: &Progress) -> Result<()> {
    let mut destinations: Vec<(String, Vec<RunRow>)> = Vec::new();
    for run in store.unfinished_runs()? {
        let key = destination(&run);
        match destinations.iter_mut().find(|(k, _)| *k == key) {
            Some((_, runs)) => runs.push(run),
            None => destinations.push((key, vec![run])),
        }
    }
    if destinations.is_empty() {
        if !asked.knobs.quiet {
            crate::output::errln!(
                "pulse: nothing to resume: no run in the log is waiting to be delivered"
            );
        }
        return Ok(());
    }
    let mut failures: Vec<anyhow::Error> = Vec::new();
    for (_, runs) in &destinations {
        for candidate in runs {
            let waiting =
                runs.len() - 1 - runs.iter().position(|r| r.id == candidate.id).unwrap_or(0);
            let later = match waiting {
                0 => String::new(),
                n => format!("; {n} later run(s) to {} wait", shown_url(&candidate.url)),
            };
            let Some(_lock) = RunLock::try_acquire(store, &candidate.id)? else {
                if !asked.knobs.quiet {
                    crate::output::errln!(
                        "pulse: {} is being sent by another process{later}",
                        candidate.id
                    );
                }
                break;
            };
            // Read again under the lock: the process that held it may have changed the run.
            let Some(run) = store.run(&candidate.id)? else {
                continue;
            };
            if run.status().is_some_and(RunStatus::is_final) {
                continue;
            }
            match continue_run(store, &run, asked, progress, None) {
                Ok(()) => {}
                Err(err) if err.is::<InterruptedError>() => return Err(err),
                // Never sendable, now final: said once, even with --quiet; the next run goes.
                Err(err) if err.is::<Abandoned>() => {
                    crate::output::errln!("pulse: warning: {err:#}");
                }
                Err(err) => {
                    let named = format!(
                        "{} ({}) was not delivered{later}; `pulse cancel {}` drops it",
                        run.id, run.source, run.id
                    );
                    // Left waiting, whatever stopped it: "not delivered" (exit 4), unless
                    // the user stopped pulse.
                    failures.push(if err.is::<InterruptedError>() {
                        err.context(named)
                    } else if err.is::<QuietDeliveryError>() {
                        QuietDeliveryError(format!("{named}: {err:#}")).into()
                    } else {
                        DeliveryError(format!("{named}: {err:#}")).into()
                    });
                    break;
                }
            }
        }
    }
    // Each failure on a line of its own; the last one decides the exit code.
    let last = failures.pop();
    for failure in failures.iter().filter(|f| !f.is::<QuietDeliveryError>()) {
        crate::output::errln!("error: {failure:#}");
    }
    match last {
        Some(err) => Err(err),
        None => Ok(()),
    }
}

/// Before `run_id` (just staged by a push) is delivered: every older unfinished run to its
/// destination, oldest first. A backlog run that fails, or that another process is sending,
/// stops the push with an error naming it; `run_id` stays staged, and `pulse resume` delivers
/// it in its turn.
pub(super) fn deliver_backlog(
    store: &mut Store,
    run_id: &str,
    asked: &ResumeSettings,
    progress: &Progress,
) -> Result<()> {
    let Some(run) = store.run(run_id)? else {
        return Ok(());
    };
    let backlog: Vec<RunRow> = older_unfinished(store, &run)?;
    if backlog.is_empty() {
        return Ok(());
    }
    if !asked.knobs.quiet {
        crate::output::errln!(
            "pulse: {} earlier run(s) to this URL are unfinished; delivering them first",
            backlog.len()
        );
    }
    let ways_out = |blocking: &RunRow| {
        format!(
            "{run_id} ({}) is staged and waits behind {} ({}): `pulse resume` delivers both in \
             order once {} can go, `pulse cancel {}` drops it",
            run.source, blocking.id, blocking.source, blocking.id, blocking.id
        )
    };
    for older in backlog {
        // Another process sending it: wait for it to finish (or stop), then see.
        let _lock = wait_for_lock(store, &older.id, asked.knobs.quiet)?;
        let Some(older) = store.run(&older.id)? else {
            continue;
        };
        if older.status().is_some_and(RunStatus::is_final) {
            continue;
        }
        if let Err(err) = continue_run(store, &older, asked, progress, Some(run_id)) {
            if err.is::<Abandoned>() {
                crate::output::errln!("pulse: warning: {err:#}");
                continue;
            }
            if asked.knobs.json {
                print_waiting(store, &run, &older)?;
            }
            if err.is::<InterruptedError>() {
                return Err(err.context(ways_out(&older)));
            }
            if err.is::<QuietDeliveryError>() {
                return Err(QuietDeliveryError(format!("{err:#}; {}", ways_out(&older))).into());
            }
            // Left waiting, whatever stopped the run ahead of it: "not delivered" (exit 4).
            return Err(DeliveryError(format!("{err:#}; {}", ways_out(&older))).into());
        }
    }
    Ok(())
}

/// The `--json` line of `run`, left waiting behind `blocking`: its own line, always printed
/// for the run a command was asked about (README: "JSON summary").
fn print_waiting(store: &Store, run: &RunRow, blocking: &RunRow) -> Result<()> {
    let mut line = run_summary(store, &run.id, "waiting", crate::store::now_ms(), 0.0)?;
    let status = store.run(&blocking.id)?.and_then(|r| r.status());
    line["blocked_by"] = serde_json::json!({
        "run_id": blocking.id,
        "source": blocking.source,
        "status": status.map(RunStatus::as_str),
    });
    crate::output::outln!("{line}");
    Ok(())
}

/// Continues `run_id` in its turn: the older unfinished runs to its destination first, then it,
/// waiting for it while another process sends it. For a push of what that run pushed already.
pub(super) fn continue_in_order(
    store: &mut Store,
    run_id: &str,
    asked: &ResumeSettings,
    progress: &Progress,
) -> Result<()> {
    deliver_backlog(store, run_id, asked, progress)?;
    let _lock = wait_for_lock(store, run_id, asked.knobs.quiet)?;
    let Some(run) = store.run(run_id)? else {
        bail!("{run_id} vanished from the log");
    };
    if run.status().is_some_and(RunStatus::is_final) {
        // Delivered meanwhile, by the process that held it.
        return Ok(());
    }
    continue_run(store, &run, asked, progress, None)
}

/// The run's lock, waiting while another process holds it; Ctrl-C stops the wait.
fn wait_for_lock(store: &Store, run_id: &str, quiet: bool) -> Result<RunLock> {
    let mut said = false;
    loop {
        if let Some(lock) = RunLock::try_acquire(store, run_id)? {
            return Ok(lock);
        }
        if !said && !quiet {
            crate::output::errln!("pulse: waiting for {run_id}, which another process is sending");
            said = true;
        }
        if !crate::signals::sleep(std::time::Duration::from_millis(50)) {
            return Err(InterruptedError(format!(
                "{} while waiting for {run_id}",
                crate::signals::stopped()
            ))
            .into());
        }
    }
}

/// Continues one locked, unfinished run: staged again first if it was stopped while staging,
/// then delivered.
fn continue_run(
    store: &mut Store,
    run: &RunRow,
    asked: &ResumeSettings,
    progress: &Progress,
    ahead_of: Option<&str>,
) -> Result<()> {
    let clock = Instant::now();
    let mut plan = RunPlan::load(&run.id, &run.source, &run.options)?;
    if let Some(why) = unstageable(run, &plan)? {
        return Err(abandon(store, run, &why, asked.knobs)?.into());
    }
    if let Some(bytes) = asked.max_record_bytes {
        plan.read.dialect.max_record_bytes = bytes;
    }
    if let Some(bytes) = asked.max_body_bytes {
        plan.shape.max_body_bytes = bytes;
    }
    // Built before restaging, so a missing auth value or secret fails before any work.
    let mut delivery = delivery_for(&plan, &asked.delivery, asked.for_destination.as_ref())?;
    let url = delivery.stored_url(&run.id, &run.url)?;
    let watch = super::outage::before(store, &run.url, &mut delivery, asked.knobs.quiet)?;
    let deliverer = stored_run_deliverer(delivery, &run.id, &plan.deliver, (&url, true), store)?;
    let (events, counts) = if run.is_staged() {
        (store.events_of_run(&run.id)?, run.rows.clone())
    } else {
        if !asked.knobs.quiet {
            crate::output::errln!(
                "pulse: {} was stopped while staging; staging {} again",
                run.id,
                run.source
            );
        }
        let staged = restage(store, run, &plan, progress)?;
        (staged.events, staged.counts)
    };
    if !asked.knobs.quiet && run.is_staged() {
        crate::output::errln!(
            "pulse: resuming {} of {} ({} delivered)",
            run.id,
            run.source,
            part_of(run.batches_delivered, run.batches_total, "batch", "batches")
        );
    }
    let delivery = Delivery {
        run_id: &run.id,
        source: &run.source,
        url: &url,
        body: &plan.shape.body,
        events: &events,
        counts: &counts,
        knobs: asked.knobs,
        ahead_of,
    };
    let since = crate::store::now_ms();
    let outcome = deliver_run(store, &deliverer, &delivery, progress, clock);
    super::outage::after(store, &watch, &run.id, since, outcome, asked.knobs.quiet)
}

/// The unfinished runs older than `run` to its destination, oldest first.
fn older_unfinished(store: &Store, run: &RunRow) -> Result<Vec<RunRow>> {
    let here = destination(run);
    Ok(store
        .unfinished_runs()?
        .into_iter()
        .take_while(|other| other.id != run.id)
        .filter(|other| destination(other) == here)
        .collect())
}

/// Where a run's requests go, as far as their order matters: its URL (as the log keeps it),
/// method and format.
fn destination(run: &RunRow) -> String {
    match RunPlan::load(&run.id, &run.source, &run.options) {
        Ok(plan) => format!(
            "{} {:?} {:?}",
            run.url, plan.shape.body.method, plan.shape.body.format
        ),
        Err(_) => run.url.clone(),
    }
}

/// Why a final run is not resumed.
fn final_reason(run_id: &str, status: RunStatus, note: Option<String>) -> String {
    match status {
        RunStatus::Invalid => format!(
            "{run_id} was refused by --fail-on-invalid: nothing of it is ever sent; fix the input and push it again"
        ),
        RunStatus::Cancelled => format!("{run_id} was cancelled: it is never resumed"),
        RunStatus::Abandoned => format!(
            "{run_id} was abandoned: {}; nothing of it was sent: push the data again",
            note.as_deref().unwrap_or("it can never be staged again")
        ),
        RunStatus::InputError => format!(
            "{run_id} stopped on its input while staging, which would fail the same way again: \
             fix the input and push it again"
        ),
        other => format!("{run_id} is {}", other.as_str()),
    }
}

/// The run named on the command line, locked.
fn given_run(store: &Store, db: &Location, id: &str) -> Result<(RunRow, RunLock)> {
    match store.identify(id)? {
        None => bail!("no run {id:?} in the log {}", db),
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
    let lock = RunLock::acquire(store, id)?;
    // Read after locking: the process that held the lock may have changed the run.
    let run = store
        .run(id)?
        .ok_or_else(|| anyhow!("{id} vanished from the log"))?;
    Ok((run, lock))
}

/// Stages a run stopped while staging again, from its unchanged file, exactly as its plan
/// says: the partial batches go first (one transaction), the event ids stay.
fn restage(store: &mut Store, run: &RunRow, plan: &RunPlan, progress: &Progress) -> Result<Staged> {
    let readable_again = match (&plan.read.input, is_stdin(run)) {
        (Input::File(_), false) => true,
        (input, false) => input.is_remote(),
        _ => false,
    };
    if !readable_again {
        bail!(
            "{} read stdin and was stopped while staging; stdin cannot be read again: push it again",
            run.id
        );
    }
    // A remote input's prefix was downloaded and checked by `unstageable` just before: once.
    if let Input::File(path) = &plan.read.input
        && let Some(why) = input_change(run, path)?
    {
        bail!("{} cannot be resumed: {why}", run.id);
    }
    let events = store
        .events_of_run(&run.id)?
        .into_iter()
        .map(|e| {
            EventKind::from_name(&e.name)
                .map(|kind| (e.id.clone(), kind))
                .ok_or_else(|| anyhow!("{}: unknown stored event {:?}", run.id, e.name))
        })
        .collect::<Result<Vec<_>>>()?;
    if plan.shape.mode == SyncMode::Mirror && plan.mirror().is_none() {
        bail!("{}: mirror run without a stored sync name", run.id);
    }
    let cannot = |err: anyhow::Error| err.context(format!("{} cannot be resumed", run.id));
    let schema = crate::schema::load_for_flag(plan.validate.schema.as_deref()).map_err(cannot)?;
    let counter = ByteCounter::default();
    let (source, _) =
        super::remote::open_source(&plan.read.input, &plan.read.dialect, counter.clone())?;
    let mut rows = CheckedRows::new(source, schema.as_ref())?;
    store.reset_staging(&run.id)?;
    let staging = Staging {
        run_id: &run.id,
        label: &run.source,
        events: &events,
        plan,
        json: false,
    };
    let size = plan.read.source_size();
    stage_run(store, &staging, &mut rows, &counter, size, progress)
}
