//! The flags of `pulse cancel`.

use clap::Args;

use super::db::LogDb;

/// `pulse cancel` flags.
#[derive(Debug, Args)]
pub struct CancelArgs {
    /// The run to cancel
    pub run_id: String,

    #[command(flatten)]
    pub log: LogDb,

    /// Print only errors
    #[arg(long, short)]
    pub quiet: bool,

    /// Print the run's summary as JSON on stdout
    #[arg(long)]
    pub json: bool,
}
