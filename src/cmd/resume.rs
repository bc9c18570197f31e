//! `pulse resume`: continue a run that was interrupted, killed or failed, from its first
//! undelivered batch. A run stopped while staging is staged again from its file first, but only
//! when the file is unchanged.

use std::path::Path;

use anyhow::Result;

use crate::cli::settings::delivery_settings;
use crate::cli::ResumeArgs;
use crate::run::resume::{resume, ResumeSettings};

pub fn run(args: &ResumeArgs, db: &Path) -> Result<()> {
    // Flag mistakes are reported before anything is touched.
    let settings = ResumeSettings {
        run_id: args.run_id.clone(),
        delivery: delivery_settings(&args.delivery)?,
        quiet: args.quiet,
        json: args.json,
    };
    resume(settings, db)
}
