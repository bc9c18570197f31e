//! `pulse push --dry-run`: the input staged into a scratch log (a file, so that memory stays
//! bounded as in a push), then each request printed as it would be sent: request line,
//! headers (signature included, credentials redacted) and body. Nothing is sent, and the real
//! log is only read (for a mirror's last state and the secret generated for the URL).

use std::io::Write;

use anyhow::{Context, Result};

use super::push_request::{PushRequest, PushTo};
use super::signing::{resolve_signer, SignerFor};
use super::staging::{open_rows, stage_new_run};
use crate::deliver::{shown_value, write_batch_body, RequestHeaders};
use crate::payload::Method;
use crate::plural::count;
use crate::progress::Progress;
use crate::read::ByteCounter;
use crate::redact::shown_url;
use crate::schema::Schema;
use crate::sign::{Signer, Signing};
use crate::stage::Staged;
use crate::store::{Location, Store};

/// The request line's stand-in for the URL when none was given.
const NO_URL: &str = "<url>";

/// Stages the input as a push would, into a scratch log, and prints the requests.
pub fn dry_run(
    request: &PushRequest,
    schema: Option<&Schema>,
    db: &Location,
    progress: &Progress,
) -> Result<()> {
    // Removed when dropped, at the end of the dry run: declared before the store, so dropped
    // after it, once its connection is closed (removed under an open connection, the file
    // leaves its -wal and -shm behind).
    let scratch = tempfile::Builder::new()
        .prefix("pulse-dry-run-")
        .suffix(".db")
        .tempfile()
        .context("cannot create a scratch database for --dry-run")?
        .into_temp_path();
    let mut store = Store::open_scratch(&scratch)?;
    let mut plan = request.plan.clone();
    if let (Some((sync, _)), true) = (plan.mirror(), db.exists()) {
        // Compared with the real last delivered state, read from the real log.
        store.import_sync_state(&Store::open_to_read(db)?, sync)?;
    }
    let url = request.url().map(|url| shown_url(url.as_str()));
    let signer = dry_signer(&request.delivery.signing, url.as_deref(), db)?;
    plan.deliver.secret_fingerprints = signer.fingerprints();
    let counter = ByteCounter::default();
    let quiet = request.knobs.quiet;
    let (mut rows, _delimiter, _remote) = open_rows(&plan, schema, &counter, quiet)?;
    let staged = stage_new_run(
        &mut store,
        (&request.run_id, url.as_deref().unwrap_or_default()),
        &plan,
        (&mut rows, &counter),
        (progress, request.knobs.json),
    )?;
    progress.finish();
    let printed = print_requests(&store, request, &staged, &signer)?;
    if !quiet {
        let batches: u64 = staged.events.iter().map(|e| e.batch_count).sum();
        let destination = match &url {
            Some(url) => format!("would go to {url}"),
            None => format!("would go to the push's --url (shown as {NO_URL})"),
        };
        let shown = match printed {
            _ if printed == batches => String::new(),
            1 => " (the first shown)".to_string(),
            n => format!(" (the first {n} shown)"),
        };
        // The body printed is what is signed; on the wire it would be encoded (push refuses
        // --compress with GET, which has no body).
        let destination = match request.delivery.compress {
            Some(codec) => format!(
                "{destination} ({}-encoded; bodies shown decoded, as signed)",
                codec.name()
            ),
            _ => destination,
        };
        crate::output::errln!(
            "pulse: dry run: {} in {}{shown} {destination}; nothing sent, nothing logged",
            count(staged.counts.total, "row", "rows"),
            count(batches, "batch", "batches"),
        );
    }
    Ok(())
}

/// The signer the push would sign with. The secret pulse generates for a URL is used if the
/// log has it already; a dry run never generates one.
fn dry_signer(asked: &Signing, url: Option<&str>, db: &Location) -> Result<Signer> {
    let log = match matches!(asked, Signing::Generated { .. }) && url.is_some() && db.exists() {
        true => Some(Store::open_to_read(db)?),
        false => None,
    };
    resolve_signer(asked, url, log.as_ref(), SignerFor::DryRun)
}

/// Shown in place of the signature when there is no secret to sign with yet.
fn missing_signature(request: &PushRequest, signer: &Signer) -> Option<&'static str> {
    match (&request.delivery.signing, request.url()) {
        _ if signer.is_signing() => None,
        (Signing::Generated { .. }, Some(_)) => {
            Some("(none yet: the first push generates a secret for this URL)")
        }
        (Signing::Generated { .. }, None) => {
            Some("(no secret: give --secret or PULSE_SECRET to see the signature)")
        }
        _ => None,
    }
}

/// Prints the requests of every batch in order, up to the limit; returns how many.
fn print_requests(
    store: &Store,
    request: &PushRequest,
    staged: &Staged,
    signer: &Signer,
) -> Result<u64> {
    let missing = missing_signature(request, signer);
    // `--oauth2-*`: `Authorization: Bearer [redacted]`, with no token fetched.
    let oauth2 = request.delivery.oauth2.is_some();
    let body_context = &request.plan.shape.body;
    let mut out = crate::output::stdout();
    let url = request.url().map(|url| shown_url(url.as_str()));
    let url = url.as_deref().unwrap_or(NO_URL);
    // For GET the URL's own query goes first, as the deliverer sends (and signs) it.
    let own_query = request.url().and_then(|url| url.query());
    let limit = match request.to {
        PushTo::DryRun { limit, .. } => limit.unwrap_or(u64::MAX),
        PushTo::Url(_) => u64::MAX,
    };
    let mut printed = 0;
    let mut body = Vec::new();
    'events: for event in &staged.events {
        for batch in store.batches_of_event(&event.id)? {
            if printed == limit {
                break 'events;
            }
            body.clear();
            if let (Method::Get, Some(own)) = (body_context.method, own_query) {
                body.extend_from_slice(own.as_bytes());
                body.push(b'&');
            }
            write_batch_body(store, body_context, event, &batch, &mut body)?;
            let signature = signer.sign_now(&batch.id, &body);
            match body_context.method {
                Method::Post => writeln!(out, "POST {url}")?,
                Method::Get => {
                    let base = url.split('?').next().unwrap_or(url);
                    writeln!(out, "GET {base}?{}", String::from_utf8_lossy(&body))?;
                }
            }
            let planned = RequestHeaders {
                method: body_context.method,
                content_type: body_context.content_type(),
                compress: request.delivery.compress,
                extra: &request.delivery.headers,
                // No token is fetched: its place is shown.
                bearer: oauth2.then_some(crate::redact::REDACTED),
                // A dry run sends nothing, so no request joins a trace.
                trace: None,
            };
            let headers = planned.list(&batch.id, signature.as_ref())?;
            for (name, value, secret) in &headers {
                let placeholder = oauth2 && name == reqwest::header::AUTHORIZATION;
                writeln!(
                    out,
                    "{name}: {}",
                    shown_value(value, *secret && !placeholder)
                )?;
                if name == "webhook-id"
                    && let Some(missing) = missing
                {
                    writeln!(out, "webhook-signature: {missing}")?;
                }
            }
            writeln!(out)?;
            if body_context.method == Method::Post {
                out.write_all(&body)?;
                writeln!(out)?;
                writeln!(out)?;
            }
            printed += 1;
        }
    }
    out.flush()?;
    Ok(printed)
}
