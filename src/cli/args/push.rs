//! The flags of `pulse push`.

use clap::Args;

use super::db::LogDb;
use super::delivery::DeliveryArgs;
use super::input::SourceArgs;
use crate::payload::{Format, Method};
use crate::stage::SyncMode;

#[derive(Debug, Args)]
pub struct PushArgs {
    #[command(flatten)]
    pub source: SourceArgs,

    /// Which events to send, in this order: all, valid (validData), invalid (invalidData)
    #[arg(long, default_value = "all", value_name = "LIST")]
    pub events: String,

    /// Send nothing and exit 3 when any row is invalid
    #[arg(long)]
    pub fail_on_invalid: bool,

    /// When pulse generates the URL's signing key (no --secret), make it a whsk_ Ed25519 key
    /// (v1a signatures): receivers verify with its public key, which cannot sign
    #[arg(long)]
    pub asymmetric: bool,

    /// Push to this destination of the config file ([destinations.NAME]): its settings under
    /// the flags and variables given; the run keeps the name, so resume and resend read its
    /// credentials from the config again (see CONFIG in `man pulse`)
    #[arg(long, value_name = "NAME")]
    pub to: Option<String>,

    /// The config file [default: ./pulse.toml, else $XDG_CONFIG_HOME/pulse/config.toml]
    #[arg(long, value_name = "FILE", env = "PULSE_CONFIG")]
    pub config: Option<std::path::PathBuf>,

    /// Webhook URL (http or https); a dry run does without it
    #[arg(long, value_name = "URL", required_unless_present = "dry_run")]
    pub url: Option<String>,

    /// Rows per batch (one request each)
    #[arg(long, default_value_t = 5000, value_name = "N")]
    pub batch_size: u64,

    /// Largest request body: a batch that would be larger is cut early
    #[arg(long, default_value = "64MiB", value_name = "SIZE")]
    pub max_body_size: String,

    /// Value of templateId in the payload [default: the file name without extension]
    #[arg(long, value_name = "ID")]
    pub template_id: Option<String>,

    /// Value of user.id in the payload [default: user is null]
    #[arg(long, value_name = "ID")]
    pub user_id: Option<String>,

    /// JSON object sent as metadata in every batch
    #[arg(long, default_value = "{}", value_name = "JSON")]
    pub metadata: String,

    #[command(flatten)]
    pub delivery: DeliveryArgs,

    /// A jq expression a 2xx answer (JSON) must make true, e.g. '.ok'; false, null, no value,
    /// an error or an answer that is not JSON fail the batch, not retried (see ANSWERS in `man
    /// pulse`)
    #[arg(long, value_name = "EXPR")]
    pub success_if: Option<String>,

    /// A jq expression yielding the rows a 2xx answer (JSON) refused: their 1-based positions in
    /// the batch, or {position, error} objects; the batch is delivered and the rows recorded
    /// (`pulse export RUN --rejected`)
    #[arg(long, value_name = "EXPR")]
    pub rejected_rows: Option<String>,

    #[command(flatten)]
    pub log: LogDb,

    /// Body layout (see PAYLOAD in `man pulse`)
    #[arg(long, value_enum, ignore_case = true, default_value_t = Format::Pulse)]
    pub format: Format,

    /// Render each request body from this MiniJinja template instead of a --format (see
    /// TEMPLATES in `man pulse`): `rows`, `batch`, `event`, `run`, `metadata`
    #[arg(long, value_name = "FILE")]
    pub template: Option<std::path::PathBuf>,

    /// Content-Type of the bodies (with --template: NDJSON, a form, XML, ...); JSON types are
    /// checked to be JSON [default: application/json]
    #[arg(long, value_name = "TYPE")]
    pub content_type: Option<String>,

    /// Columns with dotted names become nested objects: address.city -> {"address":{"city":..}}
    #[arg(long)]
    pub nest: bool,

    /// HTTP method; get sends one row per request as query parameters (formats pulse and valmi)
    #[arg(long, value_enum, ignore_case = true, default_value_t = Method::Post)]
    pub method: Method,

    /// Sync mode: tag rows with an operation, or mirror the file against the last delivery
    #[arg(long, value_enum, ignore_case = true, default_value_t = SyncMode::Append)]
    pub mode: SyncMode,

    /// Key column(s) for --mode mirror, comma-separated [default: the schema's primaryKey]
    #[arg(long, value_name = "COL[,COL]", value_delimiter = ',')]
    pub key: Vec<String>,

    /// Name of the mirrored data set [default: derived from the URL and the file name]
    #[arg(long, value_name = "NAME")]
    pub sync: Option<String>,

    /// Stage and print each request that would be sent (request line, headers with the
    /// signature, body), without sending or logging anything
    #[arg(long)]
    pub dry_run: bool,

    /// With --dry-run: print only the first N requests (0: all); the summary counts them all
    #[arg(long, value_name = "N", requires = "dry_run")]
    pub limit: Option<u64>,

    /// Push even when the same input was pushed before with the same options to the same URL
    /// (otherwise: delivered, nothing is sent; unfinished, that run is continued)
    #[arg(long)]
    pub force: bool,

    /// This push carries the fixed rows of RUN (`pulse export RUN --failed`): RUN is cancelled
    /// once this run is staged, so this one does not wait behind it
    #[arg(long, value_name = "RUN")]
    pub replaces: Option<String>,

    /// Print only errors
    #[arg(long, short)]
    pub quiet: bool,

    /// Print the final summary as JSON on stdout
    #[arg(long)]
    pub json: bool,
}
