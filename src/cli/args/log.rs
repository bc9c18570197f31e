//! The flags of `pulse log`.

use clap::Args;

use super::db::LogDb;

#[derive(Debug, Args)]
pub struct LogArgs {
    /// A run, event or batch id: show its events, batches and attempts
    pub id: Option<String>,

    /// Show the batches not delivered, each with its last status or error
    #[arg(long)]
    pub failed: bool,

    /// Most runs (or batches with --failed) to list; 0 for all
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub limit: u64,

    /// Only runs started since: a date (2026-11-01), an RFC 3339 time, or an age (2h, 7d)
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,

    /// One JSON object per line: run, event, batch and attempt lines (fields in README.md)
    #[arg(long)]
    pub json: bool,

    /// With an id: every batch, not runs of delivered batches folded into one line; with
    /// --failed: also the batches of runs that will never be sent (cancelled, refused as invalid)
    #[arg(long)]
    pub all: bool,

    #[command(flatten)]
    pub log: LogDb,
}
