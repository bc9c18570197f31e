//! `pulse ui`: a web dashboard over the delivery log. An axum server on a current-thread tokio
//! runtime renders pages on the server (MiniJinja templates, SVG charts) from the same store
//! queries `pulse log` reads, so every page works without JavaScript; a few lines of script
//! only refresh the part of a page that changes while a run is delivered.
//!
//! Every request needs the access token (`auth`); actions are POSTs checked against
//! cross-site requests, and each runs the `pulse` binary itself with the CLI's command
//! (`jobs`): the same code, the environment and config file `pulse ui` was started with.

mod access;
mod actions;
mod auth;
mod charts;
mod jobs;
mod pages;
mod respond;
mod rows;
mod state;
mod templates;
mod views;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use state::{Shared, Ui};
use std::time::Duration;

use anyhow::{Context, Result};
use axum::routing::{get, post};
use axum::Router;

use crate::exit::usage;
use crate::store::{Location, Store};

/// What `pulse ui` was asked.
pub struct UiSettings {
    pub bind: IpAddr,
    pub port: u16,
    /// `--token` or `PULSE_UI_TOKEN`; None: a random one, printed.
    pub token: Option<String>,
    /// `--config` or `PULSE_CONFIG`, passed on to the actions.
    pub config: Option<PathBuf>,
}

/// The shortest access token accepted from the user.
const MIN_TOKEN_CHARS: usize = 16;

/// Serves the dashboard until Ctrl-C or SIGTERM.
pub fn run(settings: UiSettings, db: &Location) -> Result<()> {
    let given = settings.token.is_some();
    let token = match settings.token {
        Some(token) if token.chars().count() < MIN_TOKEN_CHARS => {
            return Err(usage(format!(
                "--token (or PULSE_UI_TOKEN) must be at least {MIN_TOKEN_CHARS} characters"
            )));
        }
        Some(token) if !access::is_plain_token(&token) => {
            return Err(usage(
                "--token (or PULSE_UI_TOKEN) may hold only letters, digits and ._~+/=-",
            ));
        }
        Some(token) => token,
        None if !settings.bind.is_loopback() => {
            return Err(usage(format!(
                "--bind {}: beyond loopback pulse ui needs a token of your own: set --token or \
                 PULSE_UI_TOKEN",
                settings.bind
            )));
        }
        None => access::random_token(),
    };
    let store = Store::open_to_read(db)?;
    let listener = std::net::TcpListener::bind(SocketAddr::new(settings.bind, settings.port))
        .with_context(|| {
            format!(
                "--port {}: cannot listen on {}",
                settings.port, settings.bind
            )
        })?;
    let address = listener.local_addr()?;
    let ui = Arc::new(Ui {
        store: Mutex::new(Some(store)),
        db: db.clone(),
        access: access::Access::new(token.clone(), address.port()),
        jobs: jobs::Jobs::new(db.clone(), settings.config)?,
        templates: templates::Templates::new()?,
    });
    let shown = if given {
        "<the token of --token or PULSE_UI_TOKEN>".to_string()
    } else {
        token
    };
    let host = match address.ip() {
        IpAddr::V6(ip) => format!("[{ip}]"),
        ip => ip.to_string(),
    };
    crate::output::errln!(
        "pulse ui: open http://{host}:{}/?token={shown} (Ctrl-C stops)",
        address.port()
    );
    crate::signals::install(None);
    serve(listener, ui)
}

fn serve(listener: std::net::TcpListener, ui: Shared) -> Result<()> {
    listener.set_nonblocking(true)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        axum::serve(listener, router(ui))
            .with_graceful_shutdown(stopped())
            .await
            .context("serving the dashboard")
    })?;
    crate::output::errln!("pulse ui: stopped");
    Ok(())
}

/// Resolves when a signal asks pulse to stop.
async fn stopped() {
    while !crate::signals::interrupted() {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn router(ui: Shared) -> Router {
    Router::new()
        .route("/", get(pages::runs))
        .route("/runs/{id}", get(pages::run))
        .route("/outages", get(pages::outages))
        .route("/jobs/{n}", get(pages::job))
        .route("/jobs/{n}/file", get(pages::job_file))
        .route("/runs/{id}/resume", post(actions::resume))
        .route("/runs/{id}/cancel", post(actions::cancel))
        .route("/runs/{id}/export", post(actions::export))
        .route("/resend/{id}", post(actions::resend))
        .route("/assets/{name}", get(pages::asset))
        .layer(axum::middleware::from_fn_with_state(
            ui.clone(),
            auth::require_token,
        ))
        .with_state(ui)
}
