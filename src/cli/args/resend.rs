//! The flags of `pulse resend`.

use clap::Args;

use super::db::LogDb;
use super::delivery::DeliveryArgs;

#[derive(Debug, Args)]
pub struct ResendArgs {
    /// The event, batch or run id to deliver again
    pub id: String,

    /// Only the batches never delivered
    #[arg(long)]
    pub failed: bool,

    /// Send to this URL instead of the run's (batch status is then left as it is)
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,

    #[command(flatten)]
    pub delivery: DeliveryArgs,

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
