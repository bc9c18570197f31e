//! `pulse secret new`: a fresh Standard Webhooks signing secret (`--asymmetric`: an Ed25519
//! signing key); `pulse secret public`: a signing key's public key; `pulse secret show URL`: the
//! one pulse generated for a URL and keeps in the log (printed once at the first push, which is
//! easy to lose in cron mail), or a generated signing key's public key.

use anyhow::{bail, Result};

use crate::cli::parse_url;
use crate::exit::usage;
use crate::redact::shown_url;
use crate::sign::SigningSecret;
use crate::store::{Location, Store};

pub fn new(asymmetric: bool) {
    let (_, text) = match asymmetric {
        true => SigningSecret::generate_asymmetric(),
        false => SigningSecret::generate(),
    };
    crate::output::outln!("{text}");
}

/// Prints the public key of each `whsk_` key in `keys` (`whsec_` secrets have none); a usage
/// error, never repeating a key, when one is malformed or none is a `whsk_` key.
pub fn public(keys: &[String]) -> Result<()> {
    let mut printed = 0;
    for text in keys.iter().filter(|k| !k.trim().is_empty()) {
        let key = SigningSecret::parse(text).map_err(|e| usage(format!("KEY: {e}")))?;
        if let Some(public) = key.public_key() {
            crate::output::outln!("{}", public.text());
            printed += 1;
        }
    }
    if printed == 0 {
        return Err(usage(
            "KEY: no whsk_ signing key given (a whsec_ secret has no public key: receivers \
             verify v1 with the secret itself); `pulse secret new --asymmetric` makes one",
        ));
    }
    Ok(())
}

pub fn show(url: &str, db: &Location) -> Result<()> {
    let url = parse_url(url)?;
    let key = shown_url(url.as_str());
    let store = Store::open_to_read(db)?;
    match store.secret_for_url(&key)? {
        Some(secret) => {
            // A generated signing key stays in the log: its public key is what receivers need.
            let public = SigningSecret::parse(&secret)
                .ok()
                .and_then(|key| key.public_key());
            match public {
                Some(public) => crate::output::outln!("{}", public.text()),
                None => crate::output::outln!("{secret}"),
            }
            Ok(())
        }
        None => bail!(
            "no signing secret was generated for {key} in the log {} (pushes with --secret or \
             PULSE_SECRET keep none)",
            db
        ),
    }
}
