//! `pulse secret new`: a fresh Standard Webhooks signing secret; `pulse secret show URL`: the
//! one pulse generated for a URL and keeps in the log (printed once at the first push, which is
//! easy to lose in cron mail).

use anyhow::{bail, Result};

use crate::cli::parse_url;
use crate::redact::shown_url;
use crate::sign::SigningSecret;
use crate::store::{Location, Store};

pub fn new() {
    let (_, text) = SigningSecret::generate();
    crate::output::outln!("{text}");
}

pub fn show(url: &str, db: &Location) -> Result<()> {
    let url = parse_url(url)?;
    let key = shown_url(url.as_str());
    let store = Store::open_to_read(db)?;
    match store.secret_for_url(&key)? {
        Some(secret) => {
            crate::output::outln!("{secret}");
            Ok(())
        }
        None => bail!(
            "no signing secret was generated for {key} in the log {} (pushes with --secret or \
             PULSE_SECRET keep none)",
            db
        ),
    }
}
