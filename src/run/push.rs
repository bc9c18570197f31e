//! `pulse push` as a run: a new run created from its plan, its input staged into the outbox,
//! then delivered batch by batch (or, with `--dry-run`, handed to `dry_run`).

use std::time::Instant;

use anyhow::Result;

use super::delivery::{deliver_run, Delivery};
use super::lock::RunLock;
use super::push_request::{PushRequest, PushTo};
use super::resume::ResumeSettings;
use super::signing::{deliverer_for, resolve_signer, SignerFor};
use super::staging::{open_rows, stage_new_run};
use crate::plan::Knobs;
use crate::progress::Progress;
use crate::read::{ByteCounter, Input};
use crate::redact::shown_url;
use crate::sign::Signer;
use crate::stage::{Staged, SyncMode};
use crate::store::{Location, Store};

/// Stages the input into a new run, then delivers it (or, for a dry run, prints its bodies).
pub fn push(mut request: PushRequest, db: &Location) -> Result<()> {
    let schema = request.schema.take();
    crate::signals::install(request.knobs.deadline);
    let progress = Progress::new(request.knobs.quiet);
    // A bad --cert, --cert-key or --cacert stops the push before anything is staged (a run
    // staged and then refused would go first at the next push to this URL).
    crate::deliver::check_client_files(&request.delivery)?;
    let url = match &request.to {
        PushTo::Url(url) => url.clone(),
        PushTo::DryRun { .. } => {
            return super::dry_run::dry_run(&request, schema.as_ref(), db, &progress)
        }
    };
    let (quiet, json) = (request.knobs.quiet, request.knobs.json);
    let clock = Instant::now();

    let mut store = Store::open(db)?;
    // The password never: resume and resend take it again from --url-password.
    let shown = shown_url(url.as_str());
    if let Some(earlier) = unchanged_remote(&store, &request, &url)? {
        let replaced = claim_replaced(&store, &request, &shown)?;
        let label = request.plan.read.input.label();
        let source = (label.as_str(), replaced.as_ref());
        return again(&mut store, &earlier, source, &request, &progress);
    }
    let counter = ByteCounter::default();
    let (mut rows, delimiter, remote) = open_rows(&request.plan, schema.as_ref(), &counter, quiet)?;
    // A sniffed delimiter is stored as if given: resume reads the file the same way.
    request.plan.read.dialect.delimiter = Some(delimiter);
    request.plan.read.remote = remote;
    let signing = &request.delivery.signing;
    let signer = resolve_signer(signing, Some(&shown), Some(&store), SignerFor::Push)?;
    request.plan.deliver.secret_fingerprints = signer.fingerprints();

    let run_id = request.run_id.clone();
    // Held from before the run exists until pulse exits, so `resume` never picks this run up.
    let _lock = RunLock::acquire(&store, &run_id)?;
    let replaced = claim_replaced(&store, &request, &shown)?;
    let plan = &mut request.plan;
    let label = plan.read.input.label();
    let shape = super::repeat::shape_of(plan)?;
    plan.repeat_shape = Some(shape.clone());
    // Mirror mode compares rows with the last delivered state itself, which a push to the same
    // sync in between may have changed: the same file then has changes to send again.
    let repeats = !request.force && plan.shape.mode != SyncMode::Mirror;
    let input = &plan.read.input;
    if let (true, Input::File(path), Some(size)) = (repeats, input, input.size()) {
        let earlier = super::repeat::earlier_run_of_file(&store, url.as_str(), &shape, path, size)?;
        if let Some(earlier) = earlier {
            return again(
                &mut store,
                &earlier,
                (&label, replaced.as_ref()),
                &request,
                &progress,
            );
        }
    }
    let reading = (&mut rows, &counter);
    let staged = stage_new_run(
        &mut store,
        (&run_id, &shown),
        plan,
        reading,
        (&progress, json),
    )?;
    // The reader's buffers are not needed for delivery.
    drop(rows);

    if repeats && (matches!(plan.read.input, Input::Stdin) || plan.read.input.is_remote()) {
        // Stdin can only be compared once read, and so can a download whose ETag changed or
        // that has none: this run goes, an earlier one stands.
        let hash = &staged.source_hash;
        let earlier =
            super::repeat::earlier_run(&store, url.as_str(), &shape, hash, Some(&run_id))?;
        if let Some(earlier) = earlier {
            store.delete_runs(std::slice::from_ref(&run_id))?;
            return again(
                &mut store,
                &earlier,
                (&label, replaced.as_ref()),
                &request,
                &progress,
            );
        }
    }
    if let Some(replaced) = &replaced {
        super::replace::replace(&store, replaced, &run_id, &label, quiet)?;
    }

    deliver_in_turn(
        &mut store,
        &request,
        &staged,
        (&url, &shown),
        signer,
        (&progress, clock),
    )
}

/// The run `--replaces` names, checked and claimed (`run::replace`).
fn claim_replaced(
    store: &Store,
    request: &PushRequest,
    shown: &str,
) -> Result<Option<super::replace::Replaced>> {
    match &request.replaces {
        Some(id) => Ok(Some(super::replace::claim(store, id, shown)?)),
        None => Ok(None),
    }
}

/// The earlier run of a remote input whose `ETag` is unchanged, found with a HEAD (nothing
/// downloaded), unless the push skips the repeat check.
fn unchanged_remote(
    store: &Store,
    request: &PushRequest,
    url: &reqwest::Url,
) -> Result<Option<crate::store::RunRow>> {
    let plan = &request.plan;
    if request.force || plan.shape.mode == SyncMode::Mirror || !plan.read.input.is_remote() {
        return Ok(None);
    }
    let etag_now = || Ok(super::remote::head(&plan.read.input)?.etag);
    super::repeat::earlier_run_of_remote(store, url.as_str(), plan, etag_now)
}

/// Delivers a staged push: the older runs to its destination first (a receiver never gets
/// Tuesday's rows before Monday's; if they cannot go, this run stays staged behind them), then
/// it, as the destination's outage policy allows.
fn deliver_in_turn(
    store: &mut Store,
    request: &PushRequest,
    staged: &Staged,
    (url, shown): (&reqwest::Url, &str),
    signer: Signer,
    (progress, clock): (&Progress, Instant),
) -> Result<()> {
    let (run_id, quiet) = (&request.run_id, request.knobs.quiet);
    let earlier_runs = for_earlier_runs(request);
    super::resume::deliver_backlog(store, run_id, &earlier_runs, progress)?;

    let plan = &request.plan;
    let mut settings = request.delivery.clone();
    let watch = super::outage::before(store, shown, &mut settings, quiet)?;
    let deliverer = deliverer_for(&settings, run_id, &plan.deliver, (url, true), signer)?;
    let source = plan.read.input.label();
    let delivery = Delivery {
        run_id,
        source: &source,
        url,
        body: &plan.shape.body,
        events: &staged.events,
        counts: &staged.counts,
        knobs: request.knobs,
        ahead_of: None,
    };
    let since = crate::store::now_ms();
    let outcome = deliver_run(store, &deliverer, &delivery, progress, clock);
    super::outage::after(store, &watch, run_id, since, outcome, quiet)
}

/// A push of what an earlier run pushed already: nothing is sent if that run is delivered;
/// otherwise it is continued, in its turn, under its own webhook-ids.
fn again(
    store: &mut Store,
    earlier: &crate::store::RunRow,
    (label, replaced): (&str, Option<&super::replace::Replaced>),
    request: &PushRequest,
    progress: &Progress,
) -> Result<()> {
    let Knobs { quiet, json, .. } = request.knobs;
    if let Some(replaced) = replaced {
        super::replace::replace(store, replaced, &earlier.id, label, quiet)?;
    }
    if super::repeat::is_delivered(earlier) {
        progress.finish();
        return super::repeat::report_unchanged(store, earlier, label, quiet, json);
    }
    if !quiet {
        crate::output::errln!(
            "pulse: {label} was pushed already as {}, not delivered yet: continuing it",
            earlier.id
        );
    }
    super::resume::continue_in_order(store, &earlier.id, &for_earlier_runs(request), progress)
}

/// How a push continues earlier runs to its URL: with its own delivery settings, and the
/// password written in `--url` for their stored URLs, which mask it.
fn for_earlier_runs(request: &PushRequest) -> ResumeSettings {
    let mut delivery = request.delivery.clone();
    if delivery.url_password.is_none() {
        // As written in the URL, percent-encoded; --url-password is taken as written.
        delivery.url_password = request
            .url()
            .and_then(|url| url.password())
            .map(|password| {
                percent_encoding::percent_decode_str(password)
                    .decode_utf8_lossy()
                    .into_owned()
            });
    }
    ResumeSettings::in_turn(delivery, request.knobs)
}
