//! Signing secrets of a run: the ones given, or the one pulse generated and stored for the URL;
//! and a deliverer that sends a stored run again, signed and authenticated as it was first sent.

use anyhow::{Context, Result};

use super::options::{RunOptions, SigningSource};
use crate::deliver::settings::{DeliverySettings, Signing};
use crate::deliver::Deliverer;
use crate::exit::usage;
use crate::sign::SigningSecret;
use crate::store::Store;

/// The secrets to sign with: the given secrets, none, or the stored/generated one for the URL.
pub fn signing_secrets(signing: &Signing, url: &str, store: &Store) -> Result<Vec<SigningSecret>> {
    match signing {
        Signing::Secrets(secrets) => Ok(secrets.clone()),
        Signing::Unsigned => Ok(Vec::new()),
        Signing::Generated => {
            if let Some(secret) = store.secret_for_url(url)? {
                let parsed = SigningSecret::parse(&secret)
                    .map_err(anyhow::Error::msg)
                    .context("the stored secret for this URL is damaged")?;
                return Ok(vec![parsed]);
            }
            let (_, fresh) = SigningSecret::generate();
            let kept = store.keep_secret(url, &fresh)?;
            if kept == fresh {
                // Printed even under --quiet: the receiver needs it, and cron mails it. Said
                // once: `pulse secret show` prints it again.
                eprintln!(
                    "pulse: generated signing secret for {url}: {kept}\n\
                     pulse: it is stored in the log and reused for this URL; `pulse secret show \
                     {url}` prints it again. Receivers verify webhook-signature with it \
                     (Standard Webhooks; `pulse receive` reads it from PULSE_SECRET)"
                );
            }
            Ok(vec![
                SigningSecret::parse(&kept).map_err(anyhow::Error::msg)?
            ])
        }
    }
}

/// A deliverer that sends a stored run the way it was first sent: its stored `--header` values
/// (unless new ones are given), its auth header name with the value given again, and signed
/// as before. `own_url`: sending to the run's URL, where answers change batch status.
pub fn stored_run_deliverer(
    mut settings: DeliverySettings,
    run_id: &str,
    options: &RunOptions,
    url: &reqwest::Url,
    own_url: bool,
    store: &Store,
) -> Result<Deliverer> {
    settings.with_stored_auth_header(options.auth_header_name.as_deref())?;
    settings.with_stored_headers(run_id, &options.headers, &options.credential_headers)?;
    let shown = crate::redact::shown_url(url.as_str());
    let secrets = stored_run_secrets(&settings.signing, run_id, options, &shown, store)?;
    if own_url {
        check_fingerprints(run_id, options, &secrets)?;
    }
    let deliverer = Deliverer::new(url.clone(), secrets, &settings)?;
    Ok(if own_url {
        deliverer
    } else {
        deliverer.without_status_updates()
    })
}

/// Refuses secrets none of which signed the run (by their stored fingerprints): the receiver
/// would answer 401 to every batch. Runs that stored no fingerprints are not checked.
fn check_fingerprints(run_id: &str, options: &RunOptions, secrets: &[SigningSecret]) -> Result<()> {
    let stored = &options.secret_fingerprints;
    if stored.is_empty() || secrets.is_empty() {
        return Ok(());
    }
    if secrets.iter().any(|s| stored.contains(&s.fingerprint())) {
        return Ok(());
    }
    Err(usage(format!(
        "{run_id} was signed with another secret (fingerprint {}): give that one with --secret \
         or PULSE_SECRET (several may be given, for rotation)",
        stored.join(", ")
    )))
}

/// Secrets for sending a stored run again: the ones given now, else as the run was signed.
fn stored_run_secrets(
    signing: &Signing,
    run_id: &str,
    options: &RunOptions,
    url: &str,
    store: &Store,
) -> Result<Vec<SigningSecret>> {
    if !matches!(signing, Signing::Generated) {
        return signing_secrets(signing, url, store);
    }
    match options.signing_source() {
        SigningSource::None => Ok(Vec::new()),
        SigningSource::Generated => signing_secrets(signing, url, store),
        SigningSource::Given => Err(usage(format!(
            "{run_id} was signed with a secret given on the command line, which is never \
             stored: give it again with --secret or PULSE_SECRET (or --no-sign)"
        ))),
    }
}
