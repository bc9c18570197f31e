//! `pulse push`: stage the whole input into the outbox, then deliver it batch by batch.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Instant;

use anyhow::{Context, Result};
use serde_json::json;

use crate::cli::{PushArgs, SyncMode};
use crate::config::{PushConfig, Signing};
use crate::csv_source::{ByteCounter, CsvSource};
use crate::deliver::{write_batch_body, Deliverer, DeliveryReport};
use crate::event::new_event_id;
use crate::exit::{usage, DeliveryError, InterruptedError, InvalidRowsError};
use crate::mirror::Mirror;
use crate::progress::Progress;
use crate::rows::CheckedRows;
use crate::sign::SigningKey;
use crate::stage::{stage, StageOptions, Staged};
use crate::store::{NewRun, RunStatus, Store};

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

    let mut store = if config.dry_run {
        Store::open_in_memory()?
    } else {
        Store::open(db)?
    };
    let counter = ByteCounter::default();
    let source = CsvSource::open(&config.input, config.dialect, counter.clone())?;
    let mut rows = CheckedRows::new(source, schema.as_ref())?;
    let keys = if config.dry_run {
        Vec::new()
    } else {
        signing_keys(&config.delivery.signing, config.url.as_str(), &store)?
    };

    let run_id = config.run_id.clone();
    let events: Vec<(String, _)> = config
        .events
        .iter()
        .map(|kind| (new_event_id(), *kind))
        .collect();
    let options = json!({
        "batch_size": config.batch_size,
        "body": config.body,
        "events": config.events.iter().map(|k| k.name()).collect::<Vec<_>>(),
        "auth_header_name": config.delivery.auth_header_name,
        "signed": !keys.is_empty(),
        "schema": config.schema,
        "delimiter": (config.dialect.delimiter as char).to_string(),
        "encoding": config.dialect.encoding,
        "fail_on_invalid": config.fail_on_invalid,
        "mode": config.mode.name(),
        "sync": (config.mode == SyncMode::Mirror).then_some(&config.sync_name),
        "key": config.key,
    });
    let label = config.input.label();
    store.create_run(
        &NewRun {
            id: &run_id,
            source: &label,
            source_size: config.input.size(),
            url: config.url.as_str(),
            options: &options.to_string(),
        },
        &events
            .iter()
            .map(|(id, kind)| (id.clone(), kind.name()))
            .collect::<Vec<_>>(),
    )?;

    progress.start_staging(config.input.size());
    let staged = match stage_input(&mut store, &mut rows, &events, &config, &progress, &counter) {
        Ok(staged) => staged,
        Err(err) => {
            progress.finish();
            let status = if crate::signals::interrupted() {
                RunStatus::Interrupted
            } else {
                RunStatus::Failed
            };
            store.set_run_status(&run_id, status)?;
            return Err(err);
        }
    };
    store.finish_staging(&run_id, &staged.events, &staged.counts, &staged.source_hash)?;

    if config.fail_on_invalid && staged.counts.invalid > 0 {
        progress.finish();
        // Nothing may ever be sent for this run: drop its outbox, keep the run as a record.
        store.reject_run(&run_id)?;
        let first = staged
            .first_invalid
            .as_ref()
            .expect("an invalid row was seen");
        return Err(InvalidRowsError(format!(
            "{}: {} invalid row(s) of {} with --fail-on-invalid; nothing sent (first: line {}: {})",
            label, staged.counts.invalid, staged.counts.total, first.line, first.message
        ))
        .into());
    }

    if config.dry_run {
        progress.finish();
        return print_dry_run(&mut store, &config, &staged);
    }

    let deliverer = Deliverer::new(config.url.clone(), keys, &config.delivery)?;
    let total_batches: u64 = staged.events.iter().map(|e| e.batch_count).sum();
    progress.start_delivery(total_batches);
    store.set_run_status(&run_id, RunStatus::Delivering)?;
    let outcome = deliverer.deliver(&mut store, &config.body, &staged.events, &progress);
    progress.finish();
    let (status, report) = match &outcome {
        Ok(report) => (RunStatus::Delivered, report.clone()),
        Err(err) if err.is::<InterruptedError>() => {
            (RunStatus::Interrupted, DeliveryReport::default())
        }
        Err(_) => (RunStatus::Failed, DeliveryReport::default()),
    };
    if status == RunStatus::Delivered {
        store.finish_delivered(&run_id)?;
    } else {
        store.set_run_status(&run_id, status)?;
    }
    let delivered = store.delivered_batches(&run_id)?;
    let summary = json!({
        "run_id": run_id,
        "status": status.as_str(),
        "url": config.url.as_str(),
        "source": label,
        "rows": staged.counts,
        "events": staged.events.iter().map(|e| json!({
            "id": e.id, "name": e.name, "rows": e.total_rows, "batches": e.batch_count,
        })).collect::<Vec<_>>(),
        "batches": total_batches,
        "delivered": delivered,
        "attempts": report.attempts,
        "seconds": (clock.elapsed().as_secs_f64() * 1000.0).round() / 1000.0,
    });
    if config.json {
        println!("{summary}");
    }
    match outcome {
        Ok(_) => {
            if !config.quiet {
                eprintln!(
                    "pulse: delivered {} rows in {delivered}/{total_batches} batches to {} in {:.2}s (run {run_id})",
                    staged.counts.total,
                    config.url,
                    clock.elapsed().as_secs_f64()
                );
            }
            Ok(())
        }
        Err(err) => {
            let hint = format!(
                "{delivered}/{total_batches} batches delivered; continue with `pulse resume {run_id}`"
            );
            if err.is::<InterruptedError>() {
                Err(InterruptedError(format!("{err:#}; {hint}")).into())
            } else if err.is::<DeliveryError>() {
                Err(DeliveryError(format!("{err:#}; {hint}")).into())
            } else {
                Err(err)
            }
        }
    }
}

fn stage_input(
    store: &mut Store,
    rows: &mut CheckedRows,
    events: &[(String, crate::event::EventKind)],
    config: &PushConfig,
    progress: &Progress,
    counter: &ByteCounter,
) -> Result<Staged> {
    let op = match config.mode {
        SyncMode::Upsert | SyncMode::Create | SyncMode::Delete => Some(config.mode.name()),
        SyncMode::Append | SyncMode::Mirror => None,
    };
    let options = StageOptions {
        batch_size: config.batch_size,
        // Room for the envelope around the rows (ids, counts, metadata).
        max_batch_bytes: config
            .max_body_bytes
            .saturating_sub(1024 + config.body.metadata.len() as u64),
        op,
    };
    let mut mirror = match config.mode {
        SyncMode::Mirror => Some(Mirror::new(
            &config.sync_name,
            &config.run_id,
            &config.key,
            rows.headers(),
        )?),
        _ => None,
    };
    stage(store, rows, events, &options, mirror.as_mut(), |n| {
        if n % 4096 == 0 {
            progress.staged(counter.load(Ordering::Relaxed), n);
            if crate::signals::interrupted() {
                return Err(InterruptedError("interrupted while staging".into()).into());
            }
        }
        Ok(())
    })
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
