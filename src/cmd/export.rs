//! `pulse export`: write the rows of a run, event or batch back out of the log.

use std::path::Path;

use anyhow::Result;

use crate::cli::ExportArgs;
use crate::run::export::{export, ExportSettings};

pub fn run(args: &ExportArgs, db: &Path) -> Result<()> {
    export(
        ExportSettings {
            id: args.id.clone(),
            failed: args.failed,
            format: args.format,
            output: args.output.clone(),
            quiet: args.quiet,
        },
        db,
    )
    .map(|_| ())
}
