//! `pulse validate`: check a CSV against a schema with no network and no log: a summary, the
//! errors (all of them with `--json`), and optionally the failing rows as CSV.

use anyhow::Result;

use crate::cli::settings::dialect;
use crate::cli::ValidateArgs;
use crate::read::source::Input;
use crate::run::validate::{validate, ValidateSettings};

pub fn run(args: &ValidateArgs) -> Result<()> {
    validate(ValidateSettings {
        input: Input::parse(&args.source.input),
        schema: args.source.schema.clone(),
        dialect: dialect(&args.source)?,
        invalid_out: args.invalid_out.clone(),
        max_errors: args.max_errors,
        json: args.json,
    })
}
