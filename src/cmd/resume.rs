//! `pulse resume`: continue a run that was interrupted, killed or failed, from its first
//! undelivered batch. A run stopped while staging is staged again from its file first, but only
//! when the file is unchanged.

use anyhow::Result;

use crate::cli::settings::{delivery_settings, parse_size};
use crate::cli::ResumeArgs;
use crate::exit::usage;
use crate::run::resume::{resume, ResumeSettings};
use crate::store::Location;

pub fn run(args: &ResumeArgs, db: &Location) -> Result<()> {
    // Flag mistakes are reported before anything is touched.
    let size = |flag: &str, text: &Option<String>| {
        text.as_deref()
            .map(|text| parse_size(text).map_err(|e| usage(format!("{flag}: {e}"))))
            .transpose()
    };
    let settings = ResumeSettings {
        run_id: args.run_id.clone(),
        out_of_order: args.out_of_order,
        max_record_bytes: size("--max-record-size", &args.max_record_size)?,
        max_body_bytes: size("--max-body-size", &args.max_body_size)?,
        delivery: delivery_settings(&args.delivery)?,
        quiet: args.quiet,
        json: args.json,
    };
    resume(settings, db)
}
