//! The flags of `pulse export`.

use std::path::PathBuf;

use clap::Args;

use super::db::LogDb;
use crate::run::ExportFormat;

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The run, event or batch id whose rows to write
    pub id: String,

    /// Only the rows of batches not delivered (failed, or never sent)
    #[arg(long)]
    pub failed: bool,

    /// Only the rows a receiver refused in delivered batches (--rejected-rows), as they were
    /// staged: ready to fix and push
    #[arg(long, conflicts_with = "failed")]
    pub rejected: bool,

    /// With --rejected: add the receiver's message for each row (csv: a last column
    /// __receiver_error; jsonl: a field of that name)
    #[arg(long, requires = "rejected")]
    pub with_errors: bool,

    /// csv: the file's columns, invalid cells as they were read; jsonl: the rows as stored
    #[arg(long, value_enum, ignore_case = true, default_value_t = ExportFormat::Csv)]
    pub format: ExportFormat,

    /// Write to FILE instead of stdout
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,

    #[command(flatten)]
    pub log: LogDb,

    /// Print only errors
    #[arg(long, short)]
    pub quiet: bool,
}
