//! The flags of `pulse metrics`.

use std::path::PathBuf;

use clap::Args;

use super::db::LogDb;

#[derive(Debug, Args)]
pub struct MetricsArgs {
    /// Write the metrics into FILE (whole: a temporary file renamed over it, for node_exporter's
    /// textfile collector) instead of stdout
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    #[command(flatten)]
    pub log: LogDb,
}
