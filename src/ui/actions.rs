//! The dashboard's POSTs: resume, cancel, resend and export, each the CLI's command run as a
//! job (`jobs`), answered with a redirect to the job's page, which shows what came of it.
//! Each form carries the CSRF token; ids are checked against the log before anything runs.

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;

use super::auth::refused;
use super::respond::{bad_request, failed};
use super::state::{read, Shared};
use crate::store::IdRef;

type Fields = Form<HashMap<String, String>>;

pub async fn resume(State(ui): State<Shared>, Path(id): Path<String>, form: Fields) -> Response {
    let mut args = vec!["resume"];
    if form.get("out_of_order").is_some() {
        args.push("--out-of-order");
    }
    act(&ui, &id, Wanted::Run, &form, &args, None).await
}

/// A run this window is resuming is stopped first (it stays resumable until the cancel).
pub async fn cancel(State(ui): State<Shared>, Path(id): Path<String>, form: Fields) -> Response {
    if has_csrf(&ui, &form) {
        let (stopping, run_id) = (ui.clone(), id.clone());
        let _ = tokio::task::spawn_blocking(move || {
            stopping.jobs.stop_sending(&run_id, Duration::from_secs(15))
        })
        .await;
    }
    act(&ui, &id, Wanted::Run, &form, &["cancel"], None).await
}

pub async fn resend(State(ui): State<Shared>, Path(id): Path<String>, form: Fields) -> Response {
    let mut args = vec!["resend"];
    if form.get("failed").is_some() {
        args.push("--failed");
    }
    act(&ui, &id, Wanted::Any, &form, &args, None).await
}

/// `which`: `failed` (rows of undelivered batches) or `rejected` (rows receivers refused, with
/// their messages).
pub async fn export(State(ui): State<Shared>, Path(id): Path<String>, form: Fields) -> Response {
    let which: &[&str] = match form.get("which").map(String::as_str) {
        Some("failed") => &["--failed"],
        Some("rejected") => &["--rejected", "--with-errors"],
        Some("all") | None => &[],
        Some(other) => return bad_request(&format!("which={other}: failed, rejected or all")),
    };
    let mut args = vec!["export"];
    args.extend_from_slice(which);
    act(&ui, &id, Wanted::Any, &form, &args, Some("csv")).await
}

/// What an action's id must name.
#[derive(Clone, Copy, PartialEq)]
enum Wanted {
    Run,
    Any,
}

async fn act(
    ui: &Shared,
    id: &str,
    wanted: Wanted,
    form: &HashMap<String, String>,
    args: &[&str],
    file: Option<&str>,
) -> Response {
    if !has_csrf(ui, form) {
        return refused();
    }
    let owned = id.to_string();
    let run_id = match read(ui, move |store| store.identify(&owned)).await {
        Ok(Some(IdRef::Run)) => id.to_string(),
        Ok(Some(_)) if wanted == Wanted::Run => {
            return bad_request(&format!("{id} is not a run"));
        }
        Ok(Some(IdRef::Event { run_id } | IdRef::Batch { run_id, .. })) => run_id,
        Ok(None) => {
            return (StatusCode::NOT_FOUND, format!("no {id} in the log\n")).into_response()
        }
        Err(err) => return failed(&err),
    };
    match ui.jobs.start(&run_id, args, id, file) {
        Ok(job) => Redirect::to(&format!("/jobs/{}", job.id)).into_response(),
        Err(err) => failed(&err),
    }
}

/// Whether the form carries the dashboard's CSRF token.
fn has_csrf(ui: &Shared, form: &HashMap<String, String>) -> bool {
    form.get("csrf")
        .is_some_and(|given| ui.access.is_csrf(given))
}
