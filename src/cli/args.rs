//! The command-line surface as plain clap data: no I/O, no checks beyond what clap does.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::deliver::compress::BodyCompression;
use crate::deliver::settings::OnFailure;
use crate::payload::{Format, Method};
use crate::read::source::Encoding;
use crate::run::export::ExportFormat;
use crate::stage::SyncMode;

/// Push CSV data into webhooks: validated, signed, delivered in order, every attempt logged.
#[derive(Debug, Parser)]
#[command(name = "pulse", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
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
    /// Delete old runs with their payloads and attempts from the log
    #[command(after_help = PRUNE_EXAMPLES)]
    Prune(PruneArgs),
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
  pulse resume    # after exit 4 or 130: continue from the first undelivered batch";

const VALIDATE_EXAMPLES: &str = "\
Examples:
  pulse validate customers.csv --schema customers.schema.json
  pulse validate customers.csv --schema customers.schema.json --invalid-out bad.csv
  pulse validate - --schema customers.schema.json --json < export.csv";

const PRUNE_EXAMPLES: &str = "\
Examples:
  pulse prune --older-than 30d
  pulse prune --older-than 2026-01-01 --vacuum";

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

    /// With an id: every batch, not runs of delivered batches folded into one line
    #[arg(long)]
    pub all: bool,

    #[command(flatten)]
    pub log: LogDb,
}

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

    /// Print only errors
    #[arg(long, short)]
    pub quiet: bool,

    /// Print the final summary as JSON on stdout
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The run, event or batch id whose rows to write
    pub id: String,

    /// Only the rows of batches not delivered (failed, or never sent)
    #[arg(long)]
    pub failed: bool,

    /// csv: the file's columns, invalid cells as they were read; jsonl: the rows as stored
    #[arg(long, value_enum, default_value_t = ExportFormat::Csv)]
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

#[derive(Debug, Args)]
pub struct ResumeArgs {
    /// The run to continue [default: every unfinished run, oldest first per URL]
    pub run_id: Option<String>,

    /// Continue RUN_ID even though older runs to its URL are unfinished
    #[arg(long, requires = "run_id")]
    pub out_of_order: bool,

    /// Largest CSV record accepted when a run is staged again [default: as pushed]
    #[arg(long, value_name = "SIZE")]
    pub max_record_size: Option<String>,

    /// Largest request body when a run is staged again [default: as pushed]
    #[arg(long, value_name = "SIZE")]
    pub max_body_size: Option<String>,

    #[command(flatten)]
    pub delivery: DeliveryArgs,

    #[command(flatten)]
    pub log: LogDb,

    /// Print only errors
    #[arg(long, short)]
    pub quiet: bool,

    /// Print the final summary as JSON on stdout
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Delete runs started before this: an age (30d, 12h) or a date (2026-11-01)
    #[arg(long, value_name = "WHEN")]
    pub older_than: String,

    /// Compact the database file afterwards
    #[arg(long)]
    pub vacuum: bool,

    #[command(flatten)]
    pub log: LogDb,

    /// Print the result as JSON on stdout
    #[arg(long)]
    pub json: bool,
}

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

    #[command(flatten)]
    pub log: LogDb,

    /// Body layout (see PAYLOAD in `man pulse`)
    #[arg(long, value_enum, default_value_t = Format::Pulse)]
    pub format: Format,

    /// HTTP method; get sends one row per request as query parameters (formats pulse and valmi)
    #[arg(long, value_enum, default_value_t = Method::Post)]
    pub method: Method,

    /// Sync mode: tag rows with an operation, or mirror the file against the last delivery
    #[arg(long, value_enum, default_value_t = SyncMode::Append)]
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

    /// Print only errors
    #[arg(long, short)]
    pub quiet: bool,

    /// Print the final summary as JSON on stdout
    #[arg(long)]
    pub json: bool,
}

/// The input and how to read and check it. Shared by push and validate.
#[derive(Debug, Args)]
pub struct SourceArgs {
    /// CSV file (also gzip or zstd compressed) or spreadsheet (.xlsx, .xls, .ods), or - for stdin
    #[arg(value_name = "FILE|-")]
    pub input: String,

    /// Frictionless Table Schema (JSON) to validate rows against and cast values with
    #[arg(long, value_name = "FILE")]
    pub schema: Option<PathBuf>,

    /// Field delimiter (one ASCII character; \t for tab) [default: sniffed: an Excel sep= line,
    /// .tsv/.tab/.psv, else , ; tab or | from the first 64 KiB]
    #[arg(long, value_name = "C")]
    pub delimiter: Option<String>,

    /// Text encoding of the input: any WHATWG label (utf-8, windows-1252, iso-8859-2, utf-16le,
    /// shift_jis, ...; latin1 is ISO-8859-1). UTF-16 with a byte order mark is recognised
    #[arg(long, value_parser = Encoding::from_label, default_value = "utf-8", value_name = "LABEL")]
    pub encoding: Encoding,

    /// Largest CSV record accepted (e.g. 64MiB, 500KB)
    #[arg(long, default_value = "64MiB", value_name = "SIZE")]
    pub max_record_size: String,

    #[command(flatten)]
    pub table: TableArgs,
}

/// The input's header, lines and columns. Shared by push and validate.
#[derive(Debug, Args)]
pub struct TableArgs {
    /// The first row is data, not a header: columns named by --columns, else column1..N
    #[arg(long)]
    pub no_header: bool,

    /// Names of the columns of a file without a header (with --no-header), comma-separated
    #[arg(
        long,
        value_name = "NAME[,NAME]",
        value_delimiter = ',',
        requires = "no_header"
    )]
    pub columns: Vec<String>,

    /// Lines to skip before the header (a title, notes); an Excel sep= line counts as one
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub skip_lines: u64,

    /// Skip rows whose first cell starts with this character (e.g. '#')
    #[arg(long, value_name = "C")]
    pub comment: Option<String>,

    /// Keep only these columns, in this order (names as in the file), comma-separated
    #[arg(long, value_name = "COL[,COL]", value_delimiter = ',')]
    pub select: Vec<String>,

    /// Rename a column (OLD as in the file), before validation and payload; repeatable
    #[arg(long, value_name = "OLD=NEW")]
    pub rename: Vec<String>,

    /// The sheet of a spreadsheet (.xlsx, .xlsm, .xls, .ods) to read: a name or a 1-based
    /// position [default: the first]
    #[arg(long, value_name = "NAME|INDEX")]
    pub sheet: Option<String>,
}

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

/// How requests are made: signing, headers, retries, timeouts, TLS. Shared by every command
/// that sends.
#[derive(Debug, Args)]
pub struct DeliveryArgs {
    /// Signing secret (whsec_...); repeat for key rotation [default: generated per URL]
    #[arg(
        long = "secret",
        env = "PULSE_SECRET",
        value_name = "S",
        value_delimiter = ' ',
        hide_env_values = true
    )]
    pub secrets: Vec<String>,

    /// Send requests unsigned (PULSE_SECRET is then ignored)
    #[arg(long)]
    pub no_sign: bool,

    /// Extra request header, 'Name: value' (repeatable)
    #[arg(long = "header", value_name = "'NAME: VALUE'")]
    pub headers: Vec<String>,

    /// Header whose value is secret, e.g. Authorization (the name is logged, the value never)
    #[arg(long, value_name = "NAME", requires = "auth_header_value")]
    pub auth_header_name: Option<String>,

    /// Value of --auth-header-name
    #[arg(
        long,
        env = "PULSE_AUTH_HEADER_VALUE",
        value_name = "V",
        hide_env_values = true
    )]
    pub auth_header_value: Option<String>,

    /// Password of the URL's user, instead of writing it in the URL; never stored, so resume
    /// and resend need it again
    #[arg(
        long,
        env = "PULSE_URL_PASSWORD",
        value_name = "P",
        hide_env_values = true
    )]
    pub url_password: Option<String>,

    /// Retries per batch after the first try (0 disables) [default: the larger of 5 and the
    /// schedule's length]
    #[arg(long, value_name = "N")]
    pub retries: Option<u32>,

    /// Delays between retries; the last one repeats
    #[arg(long, default_value = "1s,5s,30s,2m,5m", value_name = "LIST")]
    pub retry_schedule: String,

    /// Longest Retry-After that is honoured
    #[arg(long, default_value = "10m", value_name = "DURATION")]
    pub max_retry_after: String,

    /// Per-request timeout, covering connect and the whole response
    #[arg(long, default_value = "30s", value_name = "DURATION")]
    pub timeout: String,

    /// Most batches in flight at once; above 1 the receiver gets a run's batches out of order
    /// (each body's index and count tell its place)
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub concurrency: usize,

    /// Most requests per period, retries included, evenly spaced: 10/s, 600/m, 5/10s
    #[arg(long, value_name = "RATE")]
    pub rate: Option<String>,

    /// Send POST bodies compressed (Content-Encoding); the signature covers the decoded body
    #[arg(long, value_enum, value_name = "CODEC")]
    pub compress: Option<BodyCompression>,

    /// Statuses that count as delivered besides 2xx, e.g. 409 or 409,422-423
    #[arg(long, value_name = "CODES")]
    pub success_on: Option<String>,

    /// Statuses that are retried besides 408, 429 and 5xx, e.g. 425 or 420-425
    #[arg(long, value_name = "CODES")]
    pub retry_on: Option<String>,

    /// A batch that fails for good stops the run, or is skipped: the run goes on and exit 4
    /// lists the failed batches at the end (`pulse resume` sends only those)
    #[arg(long, value_enum, default_value_t = OnFailure::Stop, value_name = "WHAT")]
    pub on_failure: OnFailure,

    /// Stop as on SIGTERM once this much time has passed (e.g. 10m): requests in flight are
    /// answered and recorded, exit 124, the run is resumable
    #[arg(long, value_name = "DURATION")]
    pub deadline: Option<String>,

    /// Trust this PEM CA certificate, besides the bundled roots and the operating system's
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,

    /// Client certificate (PEM) for servers that require one (mutual TLS)
    #[arg(long, value_name = "FILE")]
    pub cert: Option<PathBuf>,

    /// Private key (PEM) of --cert, unless the key is in the --cert file
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub cert_key: Option<PathBuf>,

    /// Do not verify TLS certificates (dangerous; prints a warning)
    #[arg(long)]
    pub insecure: bool,
}

#[derive(Debug, Args)]
pub struct ReceiveArgs {
    /// Port to listen on (0 picks a free one and prints it)
    #[arg(long, default_value_t = 8080)]
    pub port: u16,

    /// Address to bind
    #[arg(long, default_value = "127.0.0.1", value_name = "ADDR")]
    pub bind: String,

    /// Verify signatures with this secret (repeatable); a bad or missing signature gets 401
    #[arg(
        long = "secret",
        env = "PULSE_SECRET",
        value_name = "S",
        value_delimiter = ' ',
        hide_env_values = true
    )]
    pub secrets: Vec<String>,

    /// Append every received row to FILE as a JSON line
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Answer every request with this status instead of 200 (fault injection)
    #[arg(long, value_name = "CODE")]
    pub status: Option<u16>,

    /// Answer this fraction (0 to 1) of requests with --status, else 503 (fault injection)
    #[arg(long, default_value_t = 0.0, value_name = "P")]
    pub fail_rate: f64,

    /// Fail the first N deliveries of each webhook-id with --status, else 503
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub fail_first: u32,

    /// Retry-After header value sent with failures
    #[arg(long, value_name = "VALUE")]
    pub retry_after: Option<String>,

    /// Wait this long before answering each request
    #[arg(long, value_name = "DURATION")]
    pub delay: Option<String>,

    /// Close this fraction (0 to 1) of connections without answering
    #[arg(long, default_value_t = 0.0, value_name = "P")]
    pub drop_rate: f64,

    /// Seed for --fail-rate and --drop-rate, for repeatable runs
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,

    /// Print nothing per batch
    #[arg(long, short)]
    pub quiet: bool,
}

/// Where the log is: only the commands that open it take it.
#[derive(Debug, Args)]
pub struct LogDb {
    /// The delivery log: a SQLite file, or a shared PostgreSQL database as
    /// postgres://USER@HOST:PORT/DBNAME [default: $XDG_DATA_HOME/pulse/pulse.db]
    #[arg(
        long,
        env = "PULSE_DB",
        value_name = "PATH|URL",
        hide_env_values = true
    )]
    pub db: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Print a fresh whsec_ signing secret
    New,
    /// Print the secret pulse generated for a URL (when pushed without --secret)
    Show {
        /// The URL as given to `pulse push --url` (a password in it is ignored)
        url: String,

        #[command(flatten)]
        log: LogDb,
    },
}

#[derive(Debug, Subcommand)]
pub enum SchemaCommand {
    /// Infer a Table Schema from the data with frictionless' rules, ready for --schema
    #[command(after_help = SCHEMA_INFER_EXAMPLES)]
    Infer(InferArgs),
}

const SCHEMA_INFER_EXAMPLES: &str = "\
Examples:
  pulse schema infer customers.csv --output customers.schema.json
  pulse schema infer export.xlsx --sheet Orders --sample 1000";

#[derive(Debug, Args)]
pub struct InferArgs {
    /// CSV file or spreadsheet, or - for stdin
    #[arg(value_name = "FILE|-")]
    pub input: String,

    /// Rows to infer from, the header row included (as frictionless counts its sample)
    #[arg(long, value_name = "N", default_value_t = crate::schema::infer::DEFAULT_SAMPLE)]
    pub sample: usize,

    /// Write the schema to FILE instead of stdout
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Field delimiter (one ASCII character; \t for tab) [default: sniffed]
    #[arg(long, value_name = "C")]
    pub delimiter: Option<String>,

    /// Text encoding of the input: any WHATWG label [default: utf-8]
    #[arg(long, value_parser = Encoding::from_label, default_value = "utf-8", value_name = "LABEL")]
    pub encoding: Encoding,

    #[command(flatten)]
    pub table: TableArgs,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}

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
