//! Pushing what was pushed before: the same input content, the same payload-shaping options
//! and the same destination as an earlier run. Delivered: nothing is sent (status
//! `unchanged`). Unfinished: that run is continued, under its webhook-ids, instead of a second
//! copy being staged. `--force` skips the check.
//!
//! For a file the check costs one pass over it (hashing, at memory speed), and only when an
//! earlier run of the same shape, destination and size exists; stdin is compared once staged.
//! A remote input (URL, S3) is asked for its `ETag` first (a HEAD): the earlier run's `ETag`
//! means unchanged, with nothing downloaded; without one it is compared once staged, as stdin.

use anyhow::{Context, Result};
use serde_json::json;

use crate::plan::RunPlan;
use crate::redact::shown_url;
use crate::store::{RunRow, RunStatus, Store};

/// What makes two pushes send the same bodies, besides their input: every option that shapes
/// a payload, and the schema file's content (not its path). The JSON hashed is the one earlier
/// releases hashed, key for key, so their runs are recognised.
pub fn shape_of(plan: &RunPlan) -> Result<String> {
    let mut body = serde_json::to_value(&plan.shape.body)?;
    if let Some(fields) = body.as_object_mut() {
        // A fresh id every run: not a difference in what the rows say.
        fields.remove("run_id");
    }
    let schema = match &plan.validate.schema {
        Some(path) => {
            let text = std::fs::read(path)
                .with_context(|| format!("--schema {}: cannot read", path.display()))?;
            Some(format!("{:032x}", xxhash_rust::xxh3::xxh3_128(&text)))
        }
        None => None,
    };
    let (read, shape) = (&plan.read.dialect, &plan.shape);
    let mirror = shape.mirror.as_ref();
    let mut shaping = json!({
        "body": body,
        "batch_size": shape.batch_size,
        "events": shape.events,
        "fail_on_invalid": plan.validate.fail_on_invalid,
        "mode": shape.mode,
        "sync": mirror.map(|m| &m.sync),
        "id_columns": mirror.map(|m| m.key.as_slice()).unwrap_or_default(),
        "max_record_bytes": Some(read.max_record_bytes),
        "max_body_bytes": Some(shape.max_body_bytes),
        "delimiter": read.delimiter.unwrap_or(b','),
        "encoding": read.encoding.name(),
        "schema": schema,
    });
    // Only when shaped: the shape of runs pushed before these options existed stays the same.
    if !read.table.is_default() {
        shaping["table"] = serde_json::to_value(&read.table)?;
    }
    Ok(format!(
        "{:032x}",
        xxhash_rust::xxh3::xxh3_128(shaping.to_string().as_bytes())
    ))
}

/// The latest earlier run of this shape to this URL whose whole input hashed to `hash`.
pub fn earlier_run(
    store: &Store,
    url: &str,
    shape: &str,
    hash: &str,
    except: Option<&str>,
) -> Result<Option<RunRow>> {
    Ok(store
        .runs_of_shape(&shown_url(url), shape, None)?
        .into_iter()
        .filter(|run| Some(run.id.as_str()) != except)
        .find(|run| run.source_hash.as_deref() == Some(hash)))
}

/// The latest earlier run of this shape to this URL of the file at `path`, if its content is
/// unchanged; hashes the file only when a run of its size exists.
pub fn earlier_run_of_file(
    store: &Store,
    url: &str,
    shape: &str,
    path: &std::path::Path,
    size: u64,
) -> Result<Option<RunRow>> {
    let candidates: Vec<RunRow> = store
        .runs_of_shape(&shown_url(url), shape, Some(size))?
        .into_iter()
        .filter(|run| run.source_size == Some(size) && run.source_hash.is_some())
        .collect();
    if candidates.is_empty() {
        return Ok(None);
    }
    let Some(hash) = crate::read::prefix_hash(path, size)
        .with_context(|| format!("cannot read {}", path.display()))?
    else {
        return Ok(None);
    };
    Ok(candidates
        .into_iter()
        .find(|run| run.source_hash.as_deref() == Some(hash.as_str())))
}

/// The latest earlier run of this shape to this URL of the same remote input whose `ETag` is
/// the input's now (`etag_now`, asked only when an earlier run kept one: a first push makes no
/// extra request): the same content, known without downloading it. A run that sniffed its
/// delimiter stored it, so each delimiter sniffing can find is tried for a plan without one.
pub fn earlier_run_of_remote(
    store: &Store,
    url: &str,
    plan: &RunPlan,
    etag_now: impl FnOnce() -> Result<Option<String>>,
) -> Result<Option<RunRow>> {
    let label = plan.read.input.label();
    let delimiters = match plan.read.dialect.delimiter {
        Some(delimiter) => vec![delimiter],
        None => crate::read::SNIFFED_DELIMITERS.to_vec(),
    };
    let mut candidates = Vec::new();
    for delimiter in delimiters {
        let mut plan = plan.clone();
        plan.read.dialect.delimiter = Some(delimiter);
        let shape = shape_of(&plan)?;
        for run in store.runs_of_shape(&shown_url(url), &shape, None)? {
            if run.source != label {
                continue;
            }
            let stored = RunPlan::load(&run.id, &run.source, &run.options)?;
            if let Some(etag) = stored.read.remote.etag {
                candidates.push((run, etag));
            }
        }
    }
    if candidates.is_empty() {
        return Ok(None);
    }
    let Some(now) = etag_now()? else {
        return Ok(None);
    };
    // Newest first within each shape; the newest of all wins.
    candidates.sort_by(|(a, _), (b, _)| (b.started_at, &b.id).cmp(&(a.started_at, &a.id)));
    Ok(candidates
        .into_iter()
        .find(|(_, etag)| *etag == now)
        .map(|(run, _)| run))
}

/// Says that nothing was sent because `earlier` delivered the same already.
pub fn report_unchanged(
    store: &Store,
    earlier: &RunRow,
    source: &str,
    quiet: bool,
    json: bool,
) -> Result<()> {
    if json {
        // Nothing was attempted now: attempts since the end of time.
        let mut summary =
            super::summary::run_summary(store, &earlier.id, "unchanged", i64::MAX, 0.0)?;
        summary["source"] = source.into();
        summary["unchanged_since"] = earlier.id.clone().into();
        crate::output::outln!("{summary}");
    }
    if !quiet {
        let when = earlier
            .finished_at
            .map(crate::time_text::show_ms)
            .unwrap_or_default();
        crate::output::errln!(
            "pulse: {source} is unchanged since {} (delivered {when}): nothing sent; --force \
             sends it again",
            earlier.id
        );
    }
    Ok(())
}

/// Whether an earlier run is delivered (or still to be continued).
pub fn is_delivered(run: &RunRow) -> bool {
    run.status() == Some(RunStatus::Delivered)
}
