//! The flags of `pulse validate`.

use std::path::PathBuf;

use clap::Args;

use super::input::SourceArgs;

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub source: SourceArgs,

    /// Print the report as JSON on stdout
    #[arg(long)]
    pub json: bool,

    /// Write the failing rows to FILE as CSV, with an added `errors` column
    #[arg(long, value_name = "FILE")]
    pub invalid_out: Option<PathBuf>,

    /// How many errors to list in the human summary
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub max_errors: usize,
}
