//! `pulse resend`: deliver an event (all its batches, in order), a single batch, or a whole run
//! again. Same `webhook-id`, fresh timestamp and signature; every attempt is logged against the
//! batch.

use anyhow::Result;

use crate::cli::settings::{delivery_settings, parse_url};
use crate::cli::ResendArgs;
use crate::run::resend::{resend, ResendSettings};
use crate::store::Location;

pub fn run(args: &ResendArgs, db: &Location) -> Result<()> {
    let settings = ResendSettings {
        id: args.id.clone(),
        url: args.url.as_deref().map(parse_url).transpose()?,
        failed: args.failed,
        delivery: delivery_settings(&args.delivery)?,
        quiet: args.quiet,
        json: args.json,
    };
    resend(settings, db)
}
