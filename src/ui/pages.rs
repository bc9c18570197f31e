//! The dashboard's pages: runs, a run, destinations in outage, an action's result, and the
//! embedded assets. Each reads the log on a blocking thread (`super::read`) and renders a
//! template; `?fragment=1` renders only the part a live page refreshes.

use std::collections::HashMap;

use anyhow::anyhow;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use minijinja::context;
use minijinja::value::{Serde, Value};

use super::charts;
use super::respond::{failed, not_found};
use super::rows::{invalid_rows, rejected_rows};
use super::state::{read, Shared};
use super::views::{attempts_by_batch, batch_view, delivered, marks, options, run_line};
use crate::store::{now_ms, RunFilter, RunStatus};
use crate::time_text::show;

/// Runs on a page of the list.
const PAGE_SIZE: u64 = 50;
/// The most batches of one event a run's page lists (`pulse log EVENT` has them all).
const BATCHES_SHOWN: usize = 300;

type Asked = Query<HashMap<String, String>>;

pub async fn runs(State(ui): State<Shared>, Query(asked): Asked) -> Response {
    let filter = RunFilter {
        status: asked.get("status").cloned().unwrap_or_default(),
        url: asked.get("destination").cloned().unwrap_or_default(),
    };
    let page: u64 = asked
        .get("page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(1)
        .max(1);
    let wanted = filter.clone();
    let found = read(&ui, move |store| {
        let (runs, total) =
            store.runs_page(&wanted, (page - 1).saturating_mul(PAGE_SIZE), PAGE_SIZE)?;
        Ok((runs, total, store.destinations()?))
    })
    .await;
    let (runs, total, destinations) = match found {
        Ok(found) => found,
        Err(err) => return failed(&err),
    };
    let now = now_ms();
    let lines: Vec<_> = runs.iter().map(|run| run_line(run, now)).collect();
    let destinations: Vec<_> = destinations
        .iter()
        // The log keeps URLs masked already; masked again here, the value filtered by too.
        .map(|url| {
            let shown = crate::redact::shown_url(url);
            (shown.clone(), shown)
        })
        .collect();
    let pages = total.div_ceil(PAGE_SIZE).max(1);
    let query = |page: u64| {
        form_urlencoded::Serializer::new(String::new())
            .append_pair("status", &filter.status)
            .append_pair("destination", &filter.url)
            .append_pair("page", &page.to_string())
            .finish()
    };
    let context = context! {
        runs => val(&lines),
        // New runs appear, and runs being delivered move, without a reload.
        live => true,
        total, page, pages,
        previous => (page > 1).then(|| query(page - 1)),
        next => (page < pages).then(|| query(page + 1)),
        here => query(page),
        status => filter.status,
        destination => filter.url,
        destinations,
        statuses => RunStatus::ALL.map(RunStatus::as_str),
    };
    ui.templates.page(
        ui.access.csrf(),
        "runs.html",
        asked.contains_key("fragment"),
        context,
    )
}

pub async fn run(
    State(ui): State<Shared>,
    Path(id): Path<String>,
    Query(asked): Asked,
) -> Response {
    let fragment = asked.contains_key("fragment");
    let wanted = id.clone();
    let found = read(&ui, move |store| {
        let Some(run) = store.run(&wanted)? else {
            return Ok(None);
        };
        let attempts = store.attempts_of_run(&wanted)?;
        let deliveries = store.deliveries_of_run(&wanted)?;
        let mut by_batch = attempts_by_batch(&attempts);
        let mut events = Vec::new();
        for event in store.events_of_run(&wanted)? {
            let batches = store.first_batches_of_event(&event.id, BATCHES_SHOWN as u64 + 1)?;
            let more = if batches.len() > BATCHES_SHOWN {
                let past = event.batch_count.saturating_sub(BATCHES_SHOWN as u64);
                past.max(1)
            } else {
                0
            };
            let shown: Vec<_> = batches
                .into_iter()
                .take(BATCHES_SHOWN)
                .map(|batch| batch_view(batch, &mut by_batch))
                .collect();
            events.push(context! { id => event.id, name => event.name,
            rows => event.total_rows, batches => val(&shown), more });
        }
        // The rows do not change once staged: read for the whole page, not its live part. A
        // batch that cannot be read is said in their place, the rest of the page shown.
        let rows = if fragment {
            Ok((Vec::new(), Vec::new()))
        } else {
            invalid_rows(store, &run)
                .and_then(|invalid| Ok((invalid, rejected_rows(store, &run)?)))
                .map_err(|err| format!("{err:#}"))
        };
        Ok(Some((run, attempts, deliveries, events, rows)))
    })
    .await;
    let (run, attempts, deliveries, events, rows) = match found {
        Ok(Some(found)) => found,
        Ok(None) => return not_found(&format!("no run {id} in the log")),
        Err(err) => return failed(&err),
    };
    let durations: Vec<i64> = attempts.iter().map(|a| a.duration_ms).collect();
    let line = run_line(&run, now_ms());
    let jobs: Vec<_> = ui
        .jobs
        .of_run(&run.id)
        .iter()
        .map(|job| job_line(job))
        .collect();
    let context = context! {
        live => line.live || jobs.iter().any(|job| job.running),
        run => val(&line),
        options => options(&run),
        events,
        invalid => val(rows.as_ref().map(|rows| &rows.0).ok()),
        rejected => val(rows.as_ref().map(|rows| &rows.1).ok()),
        rows_error => rows.as_ref().err(),
        attempts => attempts.len(),
        timeline => charts::timeline(&marks(&attempts)),
        rows_chart => charts::rows_over_time(&delivered(&attempts, &deliveries), run.rows.total),
        latency_chart => charts::latency_percentiles(&durations),
        jobs => val(&jobs),
    };
    ui.templates.page(
        ui.access.csrf(),
        "run.html",
        asked.contains_key("fragment"),
        context,
    )
}

pub async fn outages(State(ui): State<Shared>) -> Response {
    let found = read(&ui, |store| Ok((store.gauges()?, store.outages()?))).await;
    let (gauges, outages) = match found {
        Ok(found) => found,
        Err(err) => return failed(&err),
    };
    let destinations: Vec<_> = gauges
        .destinations
        .iter()
        .map(|(url, state)| {
            let outage = outages.iter().find(|outage| outage.url == *url);
            context! {
                url => crate::redact::shown_url(url),
                backlog => state.backlog_batches,
                oldest_unfinished => state.oldest_unfinished.map(show),
                failed => state.failed_batches,
                last_delivery => state.last_delivery.map(show),
                down_since => outage.map(|o| show(o.down_since)),
                last_error => outage.map(|o| o.last_error.clone()),
            }
        })
        .collect();
    let context = context! { destinations, runs_by_status => gauges.runs_by_status };
    ui.templates
        .page(ui.access.csrf(), "outages.html", false, context)
}

/// An action's job as a page lists it.
#[derive(serde::Serialize)]
struct JobLine {
    id: u64,
    command: String,
    run_id: String,
    started: String,
    running: bool,
    exit: Option<i32>,
    output: String,
    file: bool,
}

fn job_line(job: &super::jobs::Job) -> JobLine {
    let state = job.state();
    JobLine {
        id: job.id,
        command: job.command.clone(),
        run_id: job.run_id.clone(),
        started: show(job.started_at),
        running: state.exit.is_none(),
        exit: state.exit,
        output: state.output,
        file: job.file.is_some() && state.exit == Some(0),
    }
}

pub async fn job(State(ui): State<Shared>, Path(n): Path<u64>) -> Response {
    let Some(job) = ui.jobs.get(n) else {
        return not_found(&format!("no action {n} since pulse ui started"));
    };
    let line = job_line(&job);
    let context = context! { live => line.running, job => val(&line) };
    ui.templates
        .page(ui.access.csrf(), "job.html", false, context)
}

/// The file an export wrote, as a download.
pub async fn job_file(State(ui): State<Shared>, Path(n): Path<u64>) -> Response {
    let Some(job) = ui.jobs.get(n) else {
        return not_found(&format!("no action {n} since pulse ui started"));
    };
    let (Some(path), Some(0)) = (&job.file, job.state().exit) else {
        return not_found(&format!("action {n} wrote no file"));
    };
    let name = format!("{}-{}.csv", job.run_id, job.id);
    match tokio::fs::File::open(path).await {
        Ok(file) => {
            let body = axum::body::Body::from_stream(tokio_util::io::ReaderStream::new(file));
            let disposition = format!("attachment; filename=\"{name}\"");
            let headers = [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (header::CONTENT_DISPOSITION, disposition),
            ];
            (headers, body).into_response()
        }
        Err(err) => failed(&anyhow!("reading the export: {err}")),
    }
}

pub async fn asset(Path(name): Path<String>) -> Response {
    match super::templates::asset(&name) {
        Some((kind, text)) => ([(header::CONTENT_TYPE, kind)], text).into_response(),
        None => not_found(&format!("no asset {name}")),
    }
}

/// A value of the pages' own types, for a template.
fn val<T: serde::Serialize>(value: T) -> Value {
    Value::from(Serde(value))
}
