//! How requests are made: the flag group every command that sends shares.

use std::path::PathBuf;

use clap::Args;

use crate::deliver::{BodyCompression, ClientAuth, Concurrency, OnFailure};

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

    /// Sign stored runs sent now (resumed, or delivered first by a push) with the secret given
    /// now, not the one they were signed with: after a secret was set up late or replaced
    #[arg(long)]
    pub resign: bool,

    /// Extra request header, 'Name: value' (repeatable)
    #[arg(long = "header", value_name = "'NAME: VALUE'")]
    pub headers: Vec<String>,

    /// Header whose value is secret, e.g. Authorization (the name is logged, the value never)
    #[arg(long, value_name = "NAME")]
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

    /// OAuth2 client credentials: fetch a bearer token from this token endpoint and send it in
    /// Authorization (kept in memory only, renewed before it expires and once after a 401)
    #[arg(long, value_name = "URL")]
    pub oauth2_token_url: Option<String>,

    /// The OAuth2 client id (stored with the run)
    #[arg(long, value_name = "ID")]
    pub oauth2_client_id: Option<String>,

    /// The OAuth2 client secret; never stored, so resume and resend need it again
    #[arg(
        long,
        env = "PULSE_OAUTH2_CLIENT_SECRET",
        value_name = "S",
        hide_env_values = true
    )]
    pub oauth2_client_secret: Option<String>,

    /// Scope asked for with the token (space-separated)
    #[arg(long, value_name = "SCOPE")]
    pub oauth2_scope: Option<String>,

    /// Audience asked for with the token (Auth0 and others)
    #[arg(long, value_name = "AUD")]
    pub oauth2_audience: Option<String>,

    /// How the client authenticates to the token endpoint: HTTP Basic, or id and secret in the
    /// form [default: basic]
    #[arg(long, value_enum, ignore_case = true, value_name = "STYLE")]
    pub oauth2_auth_style: Option<ClientAuth>,

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

    /// Most batches in flight at once (1 to 256); above 1 the receiver gets a run's batches out
    /// of order (each body's index and count tell its place). `auto` or `auto:MAX` adapts the
    /// number to the receiver's answers, from 1 up to MAX (default 64): one more while its
    /// answers stay as fast, a tenth fewer on 429, 502, 503, 504, timeouts and slower answers
    #[arg(long, default_value = "1", value_name = "N|auto[:MAX]", value_parser = Concurrency::parse)]
    pub concurrency: Concurrency,

    /// Most requests per period, retries included, evenly spaced: 10/s, 600/m, 5/10s
    #[arg(long, value_name = "RATE")]
    pub rate: Option<String>,

    /// Send POST bodies compressed (Content-Encoding); the signature covers the decoded body
    #[arg(long, value_enum, ignore_case = true, value_name = "CODEC")]
    pub compress: Option<BodyCompression>,

    /// Statuses that count as delivered besides 2xx, e.g. 409 or 409,422-423
    #[arg(long, value_name = "CODES")]
    pub success_on: Option<String>,

    /// Statuses that are retried besides 408, 429 and 5xx, e.g. 425 or 420-425
    #[arg(long, value_name = "CODES")]
    pub retry_on: Option<String>,

    /// A batch that fails for good stops the run, or is skipped: the run goes on and exit 4
    /// lists the failed batches at the end (`pulse resume` sends only those)
    #[arg(long, value_enum, ignore_case = true, default_value_t = OnFailure::Stop, value_name = "WHAT")]
    pub on_failure: OnFailure,

    /// Exit 5 when a receiver refused rows of delivered batches (--rejected-rows), instead of 0
    /// with a warning
    #[arg(long)]
    pub fail_on_rejected: bool,

    /// How long a destination found down (no answer or 5xx through the whole retry schedule)
    /// gets one probe request per command instead of the schedule; 0 turns this off
    #[arg(long, default_value = "1h", value_name = "DURATION")]
    pub outage_cooldown: String,

    /// Stop as on SIGTERM once this much time has passed (e.g. 10m): requests in flight are
    /// answered and recorded, exit 124, the run is resumable
    #[arg(long, value_name = "DURATION")]
    pub deadline: Option<String>,

    /// Keep this run's metrics in FILE in Prometheus' text format, for node_exporter's textfile
    /// collector: written whole (a temporary file renamed over it) every 2 seconds and at the end
    #[arg(long, value_name = "FILE")]
    pub metrics_file: Option<PathBuf>,

    /// Send this run's metrics to a Prometheus Pushgateway at the end (PUT URL/metrics/job/pulse)
    #[arg(long, value_name = "URL")]
    pub push_gateway: Option<String>,

    /// Trust this PEM CA certificate, besides the bundled roots and the operating system's
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,

    /// Client certificate (PEM) for servers that require one (mutual TLS)
    #[arg(long, value_name = "FILE")]
    pub cert: Option<PathBuf>,

    /// Private key (PEM) of --cert, unless the key is in the --cert file
    #[arg(long, value_name = "FILE")]
    pub cert_key: Option<PathBuf>,

    /// Do not verify TLS certificates (dangerous; prints a warning)
    #[arg(long)]
    pub insecure: bool,
}
