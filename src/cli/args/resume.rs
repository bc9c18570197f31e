//! The flags of `pulse resume`.

use clap::Args;

use super::db::LogDb;
use super::delivery::DeliveryArgs;

#[derive(Debug, Args)]
pub struct ResumeArgs {
    /// The run to continue [default: every unfinished run, oldest first per URL]
    pub run_id: Option<String>,

    /// Continue RUN_ID even though older runs to its URL are unfinished
    #[arg(long, requires = "run_id")]
    pub out_of_order: bool,

    /// Largest CSV record, spreadsheet row or .xlsx cell accepted when a run is staged again
    /// (at most 1GiB) [default: as pushed]
    #[arg(long, value_name = "SIZE")]
    pub max_record_size: Option<String>,

    /// Largest request body when a run is staged again [default: as pushed]
    #[arg(long, value_name = "SIZE")]
    pub max_body_size: Option<String>,

    #[command(flatten)]
    pub delivery: DeliveryArgs,

    /// A run stopped while staging a URL downloads it again with these
    #[command(flatten)]
    pub remote: super::input::RemoteArgs,

    #[command(flatten)]
    pub log: LogDb,

    /// The config file: its [defaults], and the destination of a run pushed with --to
    /// [default: ./pulse.toml, else $XDG_CONFIG_HOME/pulse/config.toml]
    #[arg(long, value_name = "FILE", env = "PULSE_CONFIG")]
    pub config: Option<std::path::PathBuf>,

    /// Print only errors
    #[arg(long, short)]
    pub quiet: bool,

    /// Print the final summary as JSON on stdout
    #[arg(long)]
    pub json: bool,
}
