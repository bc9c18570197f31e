//! `pulse push`: stage the whole input into the outbox, then deliver it batch by batch.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};

use crate::body_loader::write_batch_body;
use crate::cli::{PushArgs, SyncMode};
use crate::config::{PushConfig, Signing};
use crate::csv_source::{ByteCounter, CsvSource, Input};
use crate::deliver::Deliverer;
use crate::event::new_event_id;
use crate::exit::usage;
use crate::progress::Progress;
use crate::rows::CheckedRows;
use crate::run_lock::RunLock;
use crate::run_options::{encoding_name, RunOptions, SigningSource};
use crate::runner::{deliver_run, stage_options, stage_run, Delivery, Staging};
use crate::sign::SigningKey;
use crate::stage::Staged;
use crate::store::{NewRun, Store};

pub fn run(args: &PushArgs, db: &Path) -> Result<()> {
    let mut config = PushConfig::from_args(args)?;
    let schema = crate::schema::load_for_flag(config.schema.as_deref())?;
    if config.mode == SyncMode::Mirror && config.key.is_empty() {
        config.key = schema
            .as_ref()
            .map(|s| s.primary_key().to_vec())
            .filter(|key| !key.is_empty())
            .ok_or_else(|| usage("--mode mirror needs --key COL or a schema with a primaryKey"))?;
    }
    crate::signals::install();
    let progress = Progress::new(config.quiet);
    let clock = Instant::now();

    // A dry run stages into a scratch file, not memory, so its memory stays bounded too; the
    // file is removed when the run ends.
    let scratch = if config.dry_run {
        Some(
            tempfile::Builder::new()
                .prefix("pulse-dry-run-")
                .suffix(".db")
                .tempfile()
                .context("cannot create a scratch database for --dry-run")?
                .into_temp_path(),
        )
    } else {
        None
    };
    let mut store = Store::open(scratch.as_deref().unwrap_or(db))?;
    if config.dry_run && config.mode == SyncMode::Mirror && db.exists() {
        // A dry run compares with the real last delivered state, read from the real log.
        store.import_sync_state(db, &config.sync_name)?;
    }
    let counter = ByteCounter::default();
    let source = CsvSource::open(&config.input, config.dialect, counter.clone())?;
    let mut rows = CheckedRows::new(source, schema.as_ref())?;
    let keys = if config.dry_run {
        Vec::new()
    } else {
        signing_keys(&config.delivery.signing, config.url.as_str(), &store)?
    };

    let run_id = config.run_id.clone();
    // Held from before the run exists until pulse exits, so `resume` never picks this run up.
    let _lock = if config.dry_run {
        None
    } else {
        Some(RunLock::acquire(db, &run_id)?)
    };
    let events: Vec<(String, _)> = config
        .events
        .iter()
        .map(|kind| (new_event_id(), *kind))
        .collect();
    let options = run_options(args, &config, &keys);
    let label = config.input.label();
    store.create_run(
        &NewRun {
            id: &run_id,
            source: &label,
            source_size: config.input.size(),
            url: config.url.as_str(),
            options: &options.to_json(),
        },
        &events
            .iter()
            .map(|(id, kind)| (id.clone(), kind.name()))
            .collect::<Vec<_>>(),
    )?;

    let plan = Staging {
        run_id: &run_id,
        label: &label,
        events: &events,
        options: stage_options(
            config.batch_size,
            config.max_body_bytes,
            config.mode,
            config.body.metadata.len(),
        ),
        mirror: (config.mode == SyncMode::Mirror)
            .then_some((config.sync_name.as_str(), config.key.as_slice())),
        fail_on_invalid: config.fail_on_invalid,
        stdin: matches!(config.input, Input::Stdin),
        json: config.json,
    };
    let staged = stage_run(
        &mut store,
        &plan,
        &mut rows,
        &counter,
        config.input.size(),
        &progress,
    )?;
    // The reader's buffers are not needed for delivery.
    drop(rows);

    if config.dry_run {
        progress.finish();
        return print_dry_run(&mut store, &config, &staged);
    }

    let deliverer = Deliverer::new(config.url.clone(), keys, &config.delivery)?;
    let delivery = Delivery {
        run_id: &run_id,
        url: &config.url,
        source: &label,
        body: &config.body,
        events: &staged.events,
        counts: &staged.counts,
        quiet: config.quiet,
        json: config.json,
    };
    deliver_run(&mut store, &deliverer, &delivery, &progress, clock)
}

/// What the run records so that resend and resume rebuild the same bodies, read the input the
/// same way, and sign and authenticate the same way. Never a secret or an auth value.
fn run_options(args: &PushArgs, config: &PushConfig, keys: &[SigningKey]) -> RunOptions {
    let absolute = |path: &Path| std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    RunOptions {
        body: config.body.clone(),
        batch_size: config.batch_size,
        events: config.events.iter().map(|k| k.name().to_string()).collect(),
        auth_header_name: config.delivery.auth_header_name.clone(),
        signed: !keys.is_empty(),
        signing: Some(match config.delivery.signing {
            Signing::Keys(_) => SigningSource::Given,
            Signing::Generated => SigningSource::Generated,
            Signing::Unsigned => SigningSource::None,
        }),
        headers: args.delivery.headers.clone(),
        source_path: match &config.input {
            Input::Stdin => None,
            Input::File(path) => Some(absolute(path)),
        },
        schema: config.schema.as_deref().map(absolute),
        fail_on_invalid: config.fail_on_invalid,
        mode: config.mode.name().to_string(),
        sync: (config.mode == SyncMode::Mirror).then(|| config.sync_name.clone()),
        key: config.key.clone(),
        max_record_bytes: Some(config.dialect.max_record_bytes),
        max_body_bytes: Some(config.max_body_bytes),
        delimiter: config.dialect.delimiter,
        encoding: encoding_name(config.dialect.encoding),
    }
}

/// The keys to sign with: the given secrets, none, or the stored/generated one for the URL.
pub fn signing_keys(signing: &Signing, url: &str, store: &Store) -> Result<Vec<SigningKey>> {
    match signing {
        Signing::Keys(keys) => Ok(keys.clone()),
        Signing::Unsigned => Ok(Vec::new()),
        Signing::Generated => {
            if let Some(secret) = store.secret_for_url(url)? {
                let key = SigningKey::parse(&secret)
                    .map_err(anyhow::Error::msg)
                    .context("the stored secret for this URL is damaged")?;
                return Ok(vec![key]);
            }
            let (_, fresh) = SigningKey::generate();
            let kept = store.keep_secret(url, &fresh)?;
            if kept == fresh {
                // Printed once, even under --quiet: it is never shown again.
                eprintln!(
                    "pulse: generated signing secret for {url}: {kept}\n\
                     pulse: it is stored in the log and reused for this URL; receivers verify \
                     webhook-signature with it (Standard Webhooks), e.g. `pulse receive --secret {kept}`"
                );
            }
            Ok(vec![SigningKey::parse(&kept).map_err(anyhow::Error::msg)?])
        }
    }
}

/// `--dry-run`: every body that would be sent, one per line on stdout.
fn print_dry_run(store: &mut Store, config: &PushConfig, staged: &Staged) -> Result<()> {
    use std::io::Write;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut body = Vec::new();
    for event in &staged.events {
        for batch in store.batches_of_event(&event.id)? {
            body.clear();
            write_batch_body(store, &config.body, event, &batch, &mut body)?;
            body.push(b'\n');
            out.write_all(&body)?;
        }
    }
    out.flush()?;
    if !config.quiet {
        eprintln!(
            "pulse: dry run: {} rows in {} batches would go to {}; nothing sent, nothing logged",
            staged.counts.total,
            staged.events.iter().map(|e| e.batch_count).sum::<u64>(),
            config.url
        );
    }
    Ok(())
}
