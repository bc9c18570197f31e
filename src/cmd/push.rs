//! `pulse push`: stage the whole input into the outbox, then deliver it batch by batch.

use std::path::Path;

use anyhow::Result;

use crate::cli::settings::push_settings;
use crate::cli::PushArgs;

pub fn run(args: &PushArgs, db: &Path) -> Result<()> {
    crate::run::push::push(push_settings(args)?, db)
}
