//! `pulse push`: stage the whole input into the outbox, then deliver it batch by batch.

use anyhow::Result;

use crate::cli::settings::push_settings;
use crate::cli::PushArgs;
use crate::store::Location;

pub fn run(args: &PushArgs, db: &Location) -> Result<()> {
    crate::run::push::push(push_settings(args)?, db)
}
