//! `pulse export`: write the rows of a run, event or batch back out of the log.

use anyhow::Result;

use crate::cli::ExportArgs;
use crate::run::export::{export, ExportSettings};
use crate::store::Location;

pub fn run(args: &ExportArgs, db: &Location) -> Result<()> {
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
