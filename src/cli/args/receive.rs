//! The flags of `pulse receive`.

use std::path::PathBuf;

use clap::Args;

#[derive(Debug, Args)]
pub struct ReceiveArgs {
    /// Port to listen on (0 picks a free one and prints it)
    #[arg(long, default_value_t = 8080)]
    pub port: u16,

    /// Address to bind
    #[arg(long, default_value = "127.0.0.1", value_name = "ADDR")]
    pub bind: String,

    /// Verify v1 signatures with this whsec_ secret (repeatable; a whsk_ signing key verifies
    /// v1a with its public key); a bad or missing signature gets 401
    #[arg(
        long = "secret",
        env = "PULSE_SECRET",
        value_name = "S",
        value_delimiter = ' ',
        hide_env_values = true
    )]
    pub secrets: Vec<String>,

    /// Verify v1a (Ed25519) signatures with this whpk_ public key (repeatable); a bad or
    /// missing signature gets 401
    #[arg(
        long = "public-key",
        env = "PULSE_PUBLIC_KEY",
        value_name = "KEY",
        value_delimiter = ' '
    )]
    pub public_keys: Vec<String>,

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

    /// Print each body as received (decoded), after its line: what a --template rendered
    #[arg(long)]
    pub print_bodies: bool,

    /// The body of every 2xx answer [default: {"ok":true}], e.g. an API's per-item results
    #[arg(long, value_name = "TEXT")]
    pub answer: Option<String>,

    /// Print nothing per batch
    #[arg(long, short)]
    pub quiet: bool,
}
