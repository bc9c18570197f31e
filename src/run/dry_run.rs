//! `pulse push --dry-run`: the input staged into a scratch log (a file, so that memory stays
//! bounded as in a push), then each request printed as it would be sent: request line,
//! headers (signature included, credentials redacted) and body. Nothing is sent, and the real
//! log is only read (for a mirror's last state and the secret generated for the URL).

use std::io::Write;

use anyhow::{Context, Result};

use super::push::{open_rows, run_options, stage_new_run, PushSettings};
use crate::deliver::body_loader::{sign_now, write_batch_body};
use crate::deliver::settings::Signing;
use crate::deliver::{shown_value, RequestHeaders};
use crate::payload::Method;
use crate::plural::count;
use crate::progress::Progress;
use crate::read::source::ByteCounter;
use crate::redact::shown_url;
use crate::schema::Schema;
use crate::sign::SigningSecret;
use crate::stage::{Staged, SyncMode};
use crate::store::{Location, Store};

/// The request line's stand-in for the URL when none was given.
const NO_URL: &str = "<url>";

/// Stages the input as a push would, into a scratch log, and prints the requests.
pub fn dry_run(
    config: &PushSettings,
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
    let mut store = Store::open_file(&scratch)?;
    if config.mode == SyncMode::Mirror && db.exists() {
        // Compared with the real last delivered state, read from the real log.
        store.import_sync_state(&Store::open_to_read(db)?, &config.sync_name)?;
    }
    let signing = signing(config, db)?;
    let counter = ByteCounter::default();
    let (mut rows, _delimiter) = open_rows(config, schema, &counter)?;
    let options = run_options(config, &signing.secrets);
    let staged = stage_new_run(
        &mut store,
        config,
        &options,
        (&mut rows, &counter),
        progress,
    )?;
    progress.finish();
    let printed = print_requests(&store, config, &staged, &signing)?;
    if !config.quiet {
        let batches: u64 = staged.events.iter().map(|e| e.batch_count).sum();
        let destination = match &config.url {
            Some(url) => format!("would go to {}", shown_url(url.as_str())),
            None => format!("would go to the push's --url (shown as {NO_URL})"),
        };
        let shown = match printed {
            _ if printed == batches => String::new(),
            1 => " (the first shown)".to_string(),
            n => format!(" (the first {n} shown)"),
        };
        // The body printed is what is signed; on the wire it would be encoded (push refuses
        // --compress with GET, which has no body).
        let destination = match config.delivery.compress {
            Some(codec) => format!(
                "{destination} ({}-encoded; bodies shown decoded, as signed)",
                codec.name()
            ),
            _ => destination,
        };
        eprintln!(
            "pulse: dry run: {} in {}{shown} {destination}; nothing sent, nothing logged",
            count(staged.counts.total, "row", "rows"),
            count(batches, "batch", "batches"),
        );
    }
    Ok(())
}

/// How a dry run signs: as the push would, or why it cannot show the signature.
struct DrySigning {
    secrets: Vec<SigningSecret>,
    /// Shown in place of the signature when there is no secret to sign with yet.
    missing: Option<&'static str>,
}

/// The secrets the push would sign with. The secret pulse generates for a URL is used if the
/// log has it already; a dry run never generates one.
fn signing(config: &PushSettings, db: &Location) -> Result<DrySigning> {
    let stored = |url: &reqwest::Url| -> Result<Option<SigningSecret>> {
        if !db.exists() {
            return Ok(None);
        }
        let secret = Store::open_to_read(db)?.secret_for_url(&shown_url(url.as_str()))?;
        secret
            .map(|text| SigningSecret::parse(&text).map_err(anyhow::Error::msg))
            .transpose()
            .context("the stored secret for this URL is damaged")
    };
    let (secrets, missing) = match (&config.delivery.signing, &config.url) {
        (Signing::Secrets(secrets), _) => (secrets.clone(), None),
        (Signing::Unsigned, _) => (Vec::new(), None),
        (Signing::Generated, Some(url)) => match stored(url)? {
            Some(secret) => (vec![secret], None),
            None => (
                Vec::new(),
                Some("(none yet: the first push generates a secret for this URL)"),
            ),
        },
        (Signing::Generated, None) => (
            Vec::new(),
            Some("(no secret: give --secret or PULSE_SECRET to see the signature)"),
        ),
    };
    Ok(DrySigning { secrets, missing })
}

/// Prints the requests of every batch in order, up to the limit; returns how many.
fn print_requests(
    store: &Store,
    config: &PushSettings,
    staged: &Staged,
    signing: &DrySigning,
) -> Result<u64> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let url = config.url.as_ref().map(|url| shown_url(url.as_str()));
    let url = url.as_deref().unwrap_or(NO_URL);
    // For GET the URL's own query goes first, as the deliverer sends (and signs) it.
    let own_query = config.url.as_ref().and_then(|url| url.query());
    let limit = config.dry_run_limit.unwrap_or(u64::MAX);
    let mut printed = 0;
    let mut body = Vec::new();
    'events: for event in &staged.events {
        for batch in store.batches_of_event(&event.id)? {
            if printed == limit {
                break 'events;
            }
            body.clear();
            if let (Method::Get, Some(own)) = (config.body.method, own_query) {
                body.extend_from_slice(own.as_bytes());
                body.push(b'&');
            }
            write_batch_body(store, &config.body, event, &batch, &mut body)?;
            let signature = sign_now(&signing.secrets, &batch.id, &body);
            match config.body.method {
                Method::Post => writeln!(out, "POST {url}")?,
                Method::Get => {
                    let base = url.split('?').next().unwrap_or(url);
                    writeln!(out, "GET {base}?{}", String::from_utf8_lossy(&body))?;
                }
            }
            let planned = RequestHeaders {
                method: config.body.method,
                compress: config.delivery.compress,
                extra: &config.delivery.headers,
            };
            let headers = planned.list(&batch.id, signature.as_ref())?;
            for (name, value, secret) in &headers {
                writeln!(out, "{name}: {}", shown_value(value, *secret))?;
                if name == "webhook-id" {
                    if let Some(missing) = signing.missing {
                        writeln!(out, "webhook-signature: {missing}")?;
                    }
                }
            }
            writeln!(out)?;
            if config.body.method == Method::Post {
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
