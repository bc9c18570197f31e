//! The command-line surface as plain clap data: no I/O, no checks beyond what clap does. One
//! file per command; the flag groups several commands share (`input`, `delivery`, `db`) in
//! files of their own.

mod cancel;
mod config;
mod db;
mod delivery;
mod export;
mod input;
mod log;
mod metrics;
mod prune;
mod push;
mod receive;
mod resend;
mod resume;
mod schema;
mod secret;
mod ui;
mod validate;

pub use cancel::CancelArgs;
pub use config::ConfigCommand;
pub use db::LogDb;
pub use delivery::DeliveryArgs;
pub use export::ExportArgs;
pub use input::{RemoteArgs, SourceArgs, TableArgs};
pub use log::LogArgs;
pub use metrics::MetricsArgs;
pub use prune::PruneArgs;
pub use push::PushArgs;
pub use receive::ReceiveArgs;
pub use resend::ResendArgs;
pub use resume::ResumeArgs;
pub use schema::{InferArgs, SchemaCommand};
pub use secret::SecretCommand;
pub use ui::UiArgs;
pub use validate::ValidateArgs;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Push CSV data into webhooks: validated, signed, delivered in order, every attempt logged.
#[derive(Debug, Parser)]
#[command(name = "pulse", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// How messages on stderr are written: text, or json (one object per line: time, level,
    /// message, run_id, batch, http_status, ...) for log shippers [env: PULSE_LOG_FORMAT]
    #[arg(long, global = true, value_name = "FORMAT", value_parser = ["text", "json"])]
    pub log_format: Option<String>,
    /// The command line and config file it was parsed with (`cli::prepare`).
    #[arg(skip)]
    pub setup: crate::cli::config::Setup,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Stage a CSV file (or stdin) into the log, then deliver it as signed batches
    #[command(after_help = PUSH_EXAMPLES)]
    Push(Box<PushArgs>),
    /// Validate a CSV file against a schema, without sending or logging anything
    #[command(after_help = VALIDATE_EXAMPLES)]
    Validate(ValidateArgs),
    /// Show the delivery log: recent runs, or a run, event or batch with every attempt
    #[command(after_help = LOG_EXAMPLES)]
    Log(LogArgs),
    /// Deliver an event or a batch again: same webhook-id, fresh timestamp and signature
    #[command(after_help = RESEND_EXAMPLES)]
    Resend(ResendArgs),
    /// Write the rows of a run, event or batch (or only its undelivered batches) as CSV or JSON lines
    #[command(after_help = EXPORT_EXAMPLES)]
    Export(ExportArgs),
    /// Continue a run that was interrupted, killed or failed, from its first undelivered batch
    #[command(after_help = RESUME_EXAMPLES)]
    Resume(ResumeArgs),
    /// Cancel a run: it is never resumed and holds up no later run to its URL
    Cancel(CancelArgs),
    /// Delete old finished runs with their payloads and attempts from the log (unfinished ones
    /// too with --unfinished)
    #[command(after_help = PRUNE_EXAMPLES)]
    Prune(PruneArgs),
    /// Print the log's state as Prometheus metrics: runs by status and, per destination, the
    /// backlog, the oldest unfinished run, failed batches and the last delivery
    Metrics(MetricsArgs),
    /// Serve a web dashboard over the log: runs, batches, attempts, charts, and the actions
    /// resume, cancel, resend and export
    #[command(after_help = UI_EXAMPLES)]
    Ui(UiArgs),
    /// Run a local webhook receiver that verifies signatures and prints each batch
    #[command(after_help = RECEIVE_EXAMPLES)]
    Receive(ReceiveArgs),
    /// Signing secrets
    Secret {
        #[command(subcommand)]
        command: SecretCommand,
    },
    /// Table Schemas
    Schema {
        #[command(subcommand)]
        command: SchemaCommand,
    },
    /// The config file: destinations and defaults for push (see CONFIG in `man pulse`)
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Print a shell completion script
    #[command(after_help = COMPLETIONS_EXAMPLES)]
    Completions {
        /// The shell to complete for
        shell: clap_complete::Shell,
    },
    /// Write the man page(s) into a directory (used to regenerate man/)
    #[command(hide = true)]
    Man {
        /// Directory to write pulse.1 into
        #[arg(default_value = "man")]
        dir: PathBuf,
    },
}

const PUSH_EXAMPLES: &str = "\
Examples:
  pulse push customers.csv --url https://api.example.com/hooks/import
  pulse push customers.csv --url http://127.0.0.1:8080/ --batch-size 1000 --json
  PULSE_SECRET=whsec_... pulse push - --url https://example.com/hook < export.csv
  pulse push customers.csv --schema customers.schema.json --events valid,invalid --url URL
  pulse push customers.csv --schema customers.schema.json --fail-on-invalid --json --url URL
  pulse push customers.csv --mode mirror --key id --url https://example.com/sync
  pulse push customers.csv --format valmi --method get --url https://example.com/row
  pulse resume    # after exit 4, 130 or 143: continue from the first undelivered batch";

const VALIDATE_EXAMPLES: &str = "\
Examples:
  pulse validate customers.csv --schema customers.schema.json
  pulse validate customers.csv --schema customers.schema.json --invalid-out bad.csv
  pulse validate - --schema customers.schema.json --json < export.csv";

const UI_EXAMPLES: &str = "\
Examples:
  pulse ui                        # prints the address to open, with its access token
  pulse ui --port 9000 --db postgres://pulse@db.internal/pulse
  PULSE_UI_TOKEN=... pulse ui --bind 0.0.0.0   # beyond loopback: a token of your own";

const PRUNE_EXAMPLES: &str = "\
Examples:
  pulse prune --older-than 30d
  pulse prune --older-than 2026-01-01 --vacuum
  pulse prune --older-than 90d --unfinished";

const RECEIVE_EXAMPLES: &str = "\
Examples:
  PULSE_SECRET=whsec_... pulse receive --port 8080 --out rows.jsonl
  pulse receive --port 0 --fail-first 1 --retry-after 1";

const COMPLETIONS_EXAMPLES: &str = "\
Examples:
  pulse completions bash > ~/.local/share/bash-completion/completions/pulse
  pulse completions zsh > \"${fpath[1]}/_pulse\"
  pulse completions fish > ~/.config/fish/completions/pulse.fish";

const LOG_EXAMPLES: &str = "\
Examples:
  pulse log
  pulse log --failed --since 7d
  pulse log run_01J... --json";

const RESEND_EXAMPLES: &str = "\
Examples:
  pulse resend evt_01J...
  pulse resend evt_01J... --failed
  pulse resend msg_01J... --url http://127.0.0.1:8080/";

const EXPORT_EXAMPLES: &str = "\
Examples:
  pulse export run_01J... --failed --output failed.csv   # a dead-letter file to fix and push again
  pulse export evt_01J... --format jsonl";

const RESUME_EXAMPLES: &str = "\
Examples:
  pulse resume
  pulse resume run_01J... --auth-header-value \"$TOKEN\"";

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
        crate::cli::command().debug_assert();
    }
}
