//! A command's signer, resolved once at its start from what it was asked (`--secret`, none,
//! `--no-sign`) and what the log holds (the secret pulse generated for a URL); and the one
//! deliverer a run is sent with, by a push, a resume or a resend alike.

use anyhow::{Context, Result};

use crate::deliver::{AnswerRules, ClientAuth, Deliverer, DeliverySettings, OAuth2Settings};
use crate::exit::{usage, DeliveryError};
use crate::plan::{DeliverPlan, OAuth2Plan, SigningSource};
use crate::sign::{Signer, Signing, SigningSecret};
use crate::store::Store;

/// What the signer is for: it decides whether a secret may be generated, and whether a
/// stored run's own way of signing applies.
pub enum SignerFor<'a> {
    /// A new run: the secret for the URL is generated and stored if there is none yet.
    Push,
    /// A dry run: only reads the log, never generates a secret (then it signs nothing).
    DryRun,
    /// Sending a stored run again: with no secret given, signed as the run was.
    StoredRun {
        run_id: &'a str,
        plan: &'a DeliverPlan,
    },
}

/// The signer for requests to `url` (as the log shows it: password masked). `store` is the
/// log, or none when a dry run has no log yet.
pub fn resolve_signer(
    asked: &Signing,
    url: Option<&str>,
    store: Option<&Store>,
    purpose: SignerFor,
) -> Result<Signer> {
    let asymmetric = match (asked, &purpose) {
        (Signing::Secrets(secrets), _) => return Ok(Signer::new(secrets.clone())),
        (Signing::Unsigned, _) => return Ok(Signer::unsigned()),
        (Signing::Generated { .. }, SignerFor::StoredRun { run_id, plan }) => match plan.signing {
            SigningSource::None => return Ok(Signer::unsigned()),
            SigningSource::Generated => false,
            SigningSource::Given => {
                return Err(usage(format!(
                    "{run_id} was signed with a secret given on the command line, which is \
                     never stored: give it again with --secret or PULSE_SECRET (or --no-sign)"
                )))
            }
        },
        (Signing::Generated { asymmetric }, _) => *asymmetric,
    };
    let (Some(url), Some(store)) = (url, store) else {
        return Ok(Signer::unsigned());
    };
    if let Some(secret) = store.secret_for_url(url)? {
        let parsed = SigningSecret::parse(&secret)
            .map_err(anyhow::Error::msg)
            .context("the stored secret for this URL is damaged")?;
        if asymmetric && parsed.public_key().is_none() {
            return Err(usage(format!(
                "--asymmetric: pulse generated a whsec_ secret for {url} already, and keeps one \
                 per URL; give a whsk_ key with --secret or PULSE_SECRET (`pulse secret new \
                 --asymmetric`), or push without --asymmetric"
            )));
        }
        return Ok(Signer::new(vec![parsed]));
    }
    if matches!(purpose, SignerFor::DryRun) {
        return Ok(Signer::unsigned());
    }
    generate(url, store, asymmetric)
}

/// Generates the secret for `url` (a `whsk_` key when `asymmetric`) and keeps it in the log,
/// unless another process kept one first; says so once, on stderr.
fn generate(url: &str, store: &Store, asymmetric: bool) -> Result<Signer> {
    let (_, fresh) = match asymmetric {
        true => SigningSecret::generate_asymmetric(),
        false => SigningSecret::generate(),
    };
    let kept = store.keep_secret(url, &fresh)?;
    let key = SigningSecret::parse(&kept).map_err(anyhow::Error::msg)?;
    // Printed even under --quiet: the receiver needs it, and cron mails it. Said once:
    // `pulse secret show` prints it again.
    match (kept == fresh, key.public_key()) {
        (false, _) => {}
        (true, None) => crate::output::errln!(
            "pulse: generated signing secret for {url}: {kept}\n\
             pulse: it is stored in the log and reused for this URL; `pulse secret show \
             {url}` prints it again. Receivers verify webhook-signature with it \
             (Standard Webhooks; `pulse receive` reads it from PULSE_SECRET)"
        ),
        (true, Some(public)) => crate::output::errln!(
            "pulse: generated an Ed25519 signing key for {url}; its public key: {}\n\
             pulse: the signing key is stored in the log (never printed) and reused for this \
             URL; `pulse secret show {url}` prints the public key again. Receivers verify the \
             v1a webhook-signature with it (Standard Webhooks; `pulse receive` reads it from \
             --public-key or PULSE_PUBLIC_KEY)",
            public.text()
        ),
    }
    Ok(Signer::new(vec![key]))
}

/// The deliverer that sends a stored run again (resume, resend): the command's settings with
/// the run's stored headers, signed as the run was. `own_url`: sending to the run's URL.
pub fn stored_run_deliverer(
    settings: DeliverySettings,
    run_id: &str,
    plan: &DeliverPlan,
    (url, own_url): (&reqwest::Url, bool),
    store: &Store,
) -> Result<Deliverer> {
    // Before the signer: a missing auth value fails before a secret is looked up.
    let settings = settings_for_stored_run(settings, run_id, plan)?;
    let shown = crate::redact::shown_url(url.as_str());
    let purpose = SignerFor::StoredRun { run_id, plan };
    let signer = resolve_signer(&settings.signing, Some(&shown), Some(store), purpose)?;
    deliverer_for(&settings, run_id, plan, (url, own_url), signer)
}

/// Delivery settings for sending a stored run again: its stored `--header` values (unless new
/// ones are given), its auth header name with the value given now, and its `--success-if` and
/// `--rejected-rows`.
fn settings_for_stored_run(
    mut settings: DeliverySettings,
    run_id: &str,
    plan: &DeliverPlan,
) -> Result<DeliverySettings> {
    settings.with_stored_auth_header(plan.auth_header_name.as_deref())?;
    settings.with_stored_headers(run_id, &plan.headers, &plan.credential_headers)?;
    if settings.oauth2.is_none()
        && let Some(stored) = &plan.oauth2
    {
        settings.oauth2 = Some(stored_oauth2(&settings, run_id, stored)?);
    }
    // The run's own expressions, never those of the command sending it (a push's flags are
    // its new run's).
    settings.answers =
        AnswerRules::compile(plan.success_if.as_deref(), plan.rejected_rows.as_deref())
            .with_context(|| format!("the answer expressions stored with {run_id}"))?;
    Ok(settings)
}

/// A stored run's token endpoint, with the client secret given now (it is never stored); the
/// `--oauth2-*` flags given now replace it.
fn stored_oauth2(
    settings: &DeliverySettings,
    run_id: &str,
    stored: &OAuth2Plan,
) -> Result<OAuth2Settings> {
    let client_secret = settings.oauth2_client_secret.clone().ok_or_else(|| {
        usage(format!(
            "{run_id} was sent with OAuth2 tokens from {}, whose client secret is never stored: \
             give it again with PULSE_OAUTH2_CLIENT_SECRET (or --oauth2-client-secret)",
            crate::redact::shown_url(&stored.token_url)
        ))
    })?;
    let damaged = || anyhow::anyhow!("{run_id}: the stored OAuth2 settings are damaged");
    Ok(OAuth2Settings {
        token_url: reqwest::Url::parse(&stored.token_url).map_err(|_| damaged())?,
        client_id: stored.client_id.clone(),
        client_secret,
        scope: stored.scope.clone(),
        audience: stored.audience.clone(),
        client_auth: ClientAuth::from_name(&stored.auth_style).ok_or_else(damaged)?,
    })
}

/// The deliverer that sends a run, by a push, a resume or a resend: with `signer`, which must
/// be one the run was signed with. `own_url`: sending to the run's URL, where answers change
/// batch status.
pub fn deliverer_for(
    settings: &DeliverySettings,
    run_id: &str,
    plan: &DeliverPlan,
    (url, own_url): (&reqwest::Url, bool),
    signer: Signer,
) -> Result<Deliverer> {
    settings.check_oauth2(Some(url))?;
    if own_url && !settings.resign {
        check_fingerprints(run_id, plan, &signer)?;
    }
    let deliverer = Deliverer::new(url.clone(), signer, settings)?;
    Ok(if own_url {
        deliverer
    } else {
        deliverer.without_status_updates()
    })
}

/// Refuses secrets none of which signed the run (by their stored fingerprints), unless
/// `--resign`: a receiver set up with the run's secret would answer 401 to every batch. The
/// run is left waiting (exit 4); the message names both ways on. Runs that stored no
/// fingerprints are not checked.
fn check_fingerprints(run_id: &str, plan: &DeliverPlan, signer: &Signer) -> Result<()> {
    let stored = &plan.secret_fingerprints;
    if stored.is_empty() || !signer.is_signing() {
        return Ok(());
    }
    if signer.fingerprints().iter().any(|f| stored.contains(f)) {
        return Ok(());
    }
    let which = match plan.signing {
        SigningSource::Generated => "the secret pulse generated for its URL",
        _ => "another secret",
    };
    Err(DeliveryError(format!(
        "{run_id} was not sent: it was signed with {which} (fingerprint {}), not the one given \
         now; `pulse resume {run_id} --resign` sends it signed with the secret given now (the \
         receiver's, if it was set up late), `pulse cancel {run_id}` drops it, or give the old \
         secret with --secret besides the new one",
        stored.join(", ")
    ))
    .into())
}
