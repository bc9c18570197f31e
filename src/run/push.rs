//! `pulse push` as a run: a new run created, its input staged into the outbox, then delivered
//! batch by batch (or, with `--dry-run`, handed to `dry_run`).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Result;

use super::delivery::{deliver_run, Delivery};
use super::lock::RunLock;
use super::options::{encoding_name, RunOptions, SigningSource};
use super::resume::ResumeSettings;
use super::signing::signing_secrets;
use super::staging::{stage_options, stage_run, Staging};
use crate::deliver::settings::{DeliverySettings, Signing};
use crate::deliver::Deliverer;
use crate::exit::usage;
use crate::payload::BodyContext;
use crate::progress::Progress;
use crate::read::source::{ByteCounter, CsvDialect, Input, TableSource};
use crate::redact::shown_url;
use crate::schema::Schema;
use crate::sign::SigningSecret;
use crate::stage::checked_rows::CheckedRows;
use crate::stage::event::{new_event_id, EventKind};
use crate::stage::{Staged, SyncMode};
use crate::store::{Location, NewRun, Store};

/// Checked settings of `pulse push`.
pub struct PushSettings {
    pub run_id: String,
    pub input: Input,
    /// Always given to a push that sends; a dry run does without.
    pub url: Option<reqwest::Url>,
    pub batch_size: u64,
    pub events: Vec<EventKind>,
    pub schema: Option<PathBuf>,
    pub fail_on_invalid: bool,
    pub delivery: DeliverySettings,
    pub body: BodyContext,
    pub dialect: CsvDialect,
    /// Largest request body; batches are cut early to stay under it.
    pub max_body_bytes: u64,
    pub mode: SyncMode,
    /// Mirror mode: the columns that identify a row (`--key`; empty: the schema's primaryKey).
    pub id_columns: Vec<String>,
    /// The mirror state's name.
    pub sync_name: String,
    pub dry_run: bool,
    /// How many requests a dry run prints (None: all).
    pub dry_run_limit: Option<u64>,
    /// Push even what an earlier run pushed already (see `run::repeat`).
    pub force: bool,
    pub quiet: bool,
    pub json: bool,
}

/// Stages the input into a new run, then delivers it (or, for a dry run, prints its bodies).
pub fn push(mut config: PushSettings, db: &Location) -> Result<()> {
    let schema = crate::schema::load_for_flag(config.schema.as_deref())?;
    if config.mode == SyncMode::Mirror && config.id_columns.is_empty() {
        config.id_columns = schema
            .as_ref()
            .map(|s| s.primary_key().to_vec())
            .filter(|key| !key.is_empty())
            .ok_or_else(|| usage("--mode mirror needs --key COL or a schema with a primaryKey"))?;
    }
    crate::signals::install(config.delivery.deadline);
    let progress = Progress::new(config.quiet);
    if config.dry_run {
        return super::dry_run::dry_run(&config, schema.as_ref(), db, &progress);
    }
    let url = config
        .url
        .clone()
        .ok_or_else(|| usage("--url is required (only --dry-run does without)"))?;
    let clock = Instant::now();

    let mut store = Store::open(db)?;
    let counter = ByteCounter::default();
    let (mut rows, delimiter) = open_rows(&config, schema.as_ref(), &counter)?;
    // A sniffed delimiter is stored as if given: resume reads the file the same way.
    config.dialect.delimiter = Some(delimiter);
    let secrets = signing_secrets(&config.delivery.signing, &shown_url(url.as_str()), &store)?;

    let run_id = config.run_id.clone();
    // Held from before the run exists until pulse exits, so `resume` never picks this run up.
    let _lock = RunLock::acquire(&store, &run_id)?;
    let label = config.input.label();
    let mut options = run_options(&config, &secrets);
    options.shape = Some(super::repeat::shape_of(&options)?);
    // Mirror mode compares rows with the last delivered state itself, which a push to the same
    // sync in between may have changed: the same file then has changes to send again.
    let repeats = !config.force && config.mode != SyncMode::Mirror;
    if let (true, Input::File(path), Some(size)) = (repeats, &config.input, config.input.size()) {
        let shape = options.shape.as_deref().unwrap_or_default();
        let earlier = super::repeat::earlier_run_of_file(&store, url.as_str(), shape, path, size)?;
        if let Some(earlier) = earlier {
            return again(&mut store, &earlier, &label, &config, &progress);
        }
    }
    let staged = stage_new_run(
        &mut store,
        &config,
        &options,
        (&mut rows, &counter),
        &progress,
    )?;
    // The reader's buffers are not needed for delivery.
    drop(rows);

    if repeats && matches!(config.input, Input::Stdin) {
        // Stdin can only be compared once read: this run goes, an earlier one stands.
        let shape = options.shape.as_deref().unwrap_or_default();
        let earlier = super::repeat::earlier_run(
            &store,
            url.as_str(),
            shape,
            &staged.source_hash,
            Some(&run_id),
        )?;
        if let Some(earlier) = earlier {
            store.delete_runs(std::slice::from_ref(&run_id))?;
            return again(&mut store, &earlier, &label, &config, &progress);
        }
    }

    // Older runs to the same destination go first: a receiver never gets Tuesday's rows before
    // Monday's. If they cannot, this run stays staged behind them.
    super::resume::deliver_backlog(&mut store, &run_id, &for_earlier_runs(&config), &progress)?;

    let deliverer = Deliverer::new(url.clone(), secrets, &config.delivery)?;
    let delivery = Delivery {
        run_id: &run_id,
        url: &url,
        body: &config.body,
        events: &staged.events,
        counts: &staged.counts,
        quiet: config.quiet,
        json: config.json,
    };
    deliver_run(&mut store, &deliverer, &delivery, &progress, clock)
}

/// Records a new run for `config` in `store` and stages `rows` (read through `counter`) into
/// it. Shared by a push and a dry run.
pub(super) fn stage_new_run(
    store: &mut Store,
    config: &PushSettings,
    options: &RunOptions,
    (rows, counter): (&mut CheckedRows, &ByteCounter),
    progress: &Progress,
) -> Result<Staged> {
    let label = config.input.label();
    let events = create_run(store, config, &label, options)?;
    let plan = Staging {
        run_id: &config.run_id,
        label: &label,
        events: &events,
        options: stage_options(
            config.batch_size,
            config.max_body_bytes,
            config.mode,
            config.body.metadata.len(),
        ),
        mirror: (config.mode == SyncMode::Mirror)
            .then_some((config.sync_name.as_str(), config.id_columns.as_slice())),
        fail_on_invalid: config.fail_on_invalid,
        stdin: matches!(config.input, Input::Stdin),
        json: config.json,
    };
    stage_run(store, &plan, rows, counter, config.input.size(), progress)
}

/// Opens the input of `config` and checks its rows against `schema`.
pub(super) fn open_rows(
    config: &PushSettings,
    schema: Option<&Schema>,
    counter: &ByteCounter,
) -> Result<(CheckedRows, u8)> {
    let source = TableSource::open(&config.input, &config.dialect, counter.clone())?;
    if !config.quiet {
        for notice in source.notices() {
            eprintln!("pulse: {notice}");
        }
    }
    let delimiter = source.delimiter();
    Ok((CheckedRows::new(source, schema)?, delimiter))
}

/// A push of what an earlier run pushed already: nothing is sent if that run is delivered;
/// otherwise it is continued, in its turn, under its own webhook-ids.
fn again(
    store: &mut Store,
    earlier: &crate::store::RunRow,
    label: &str,
    config: &PushSettings,
    progress: &Progress,
) -> Result<()> {
    if super::repeat::is_delivered(earlier) {
        progress.finish();
        return super::repeat::report_unchanged(store, earlier, label, config.quiet, config.json);
    }
    if !config.quiet {
        eprintln!(
            "pulse: {label} was pushed already as {}, not delivered yet: continuing it",
            earlier.id
        );
    }
    super::resume::continue_in_order(store, &earlier.id, &for_earlier_runs(config), progress)
}

/// How a push continues earlier runs to its URL: with its own delivery settings, and the
/// password written in `--url` for their stored URLs, which mask it.
fn for_earlier_runs(config: &PushSettings) -> ResumeSettings {
    let mut delivery = config.delivery.clone();
    if delivery.url_password.is_none() {
        delivery.url_password = config
            .url
            .as_ref()
            .and_then(|url| url.password())
            .map(str::to_string);
    }
    ResumeSettings::in_turn(delivery, config.quiet, config.json)
}

/// Records the new run and its events (fresh ids, in delivery order), which it returns.
fn create_run(
    store: &mut Store,
    config: &PushSettings,
    label: &str,
    options: &RunOptions,
) -> Result<Vec<(String, EventKind)>> {
    let events: Vec<(String, EventKind)> = config
        .events
        .iter()
        .map(|kind| (new_event_id(), *kind))
        .collect();
    store.create_run(
        &NewRun {
            id: &config.run_id,
            source: label,
            source_size: config.input.size(),
            // The password never: resume and resend take it again from --url-password.
            url: &config
                .url
                .as_ref()
                .map(|url| shown_url(url.as_str()))
                .unwrap_or_default(),
            options: &options.to_json(),
        },
        &events
            .iter()
            .map(|(id, kind)| (id.clone(), kind.name()))
            .collect::<Vec<_>>(),
    )?;
    Ok(events)
}

/// What the run records so that resend and resume rebuild the same bodies, read the input the
/// same way, and sign and authenticate the same way. Never a secret or an auth value.
pub(super) fn run_options(config: &PushSettings, secrets: &[SigningSecret]) -> RunOptions {
    let (stored_headers, credential_headers) = config.delivery.storable_headers();
    let absolute = |path: &Path| std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    RunOptions {
        body: config.body.clone(),
        batch_size: config.batch_size,
        events: config.events.iter().map(|k| k.name().to_string()).collect(),
        auth_header_name: config.delivery.auth_header_name.clone(),
        signed: !secrets.is_empty(),
        secret_fingerprints: secrets.iter().map(SigningSecret::fingerprint).collect(),
        signing: Some(match config.delivery.signing {
            Signing::Secrets(_) => SigningSource::Given,
            Signing::Generated => SigningSource::Generated,
            Signing::Unsigned => SigningSource::None,
        }),
        headers: stored_headers,
        credential_headers,
        source_path: match &config.input {
            Input::Stdin => None,
            Input::File(path) => Some(absolute(path)),
        },
        schema: config.schema.as_deref().map(absolute),
        fail_on_invalid: config.fail_on_invalid,
        mode: config.mode.name().to_string(),
        sync: (config.mode == SyncMode::Mirror).then(|| config.sync_name.clone()),
        id_columns: config.id_columns.clone(),
        max_record_bytes: Some(config.dialect.max_record_bytes),
        max_body_bytes: Some(config.max_body_bytes),
        delimiter: config.dialect.delimiter.unwrap_or(b','),
        encoding: encoding_name(config.dialect.encoding),
        table: config.dialect.table.clone(),
        shape: None,
    }
}
