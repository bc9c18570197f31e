//! The flags of `pulse prune`.

use clap::Args;

use super::db::LogDb;

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Delete runs started before this: an age (30d, 12h) or a date (2026-11-01)
    #[arg(long, value_name = "WHEN")]
    pub older_than: String,

    /// Delete unfinished runs too (not yet delivered, failed or interrupted: runs `pulse
    /// resume` would still send); without it they are kept
    #[arg(long)]
    pub unfinished: bool,

    /// Compact the database file afterwards
    #[arg(long)]
    pub vacuum: bool,

    #[command(flatten)]
    pub log: LogDb,

    /// Print the result as JSON on stdout
    #[arg(long)]
    pub json: bool,
}
