//! The flags of `pulse ui`.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::Args;

use super::db::LogDb;

#[derive(Debug, Args)]
pub struct UiArgs {
    /// The address to listen on; anything but loopback needs --token
    #[arg(long, value_name = "ADDRESS", default_value = "127.0.0.1")]
    pub bind: IpAddr,

    /// The port to listen on (0: any free port, printed)
    #[arg(long, value_name = "PORT", default_value_t = 8484)]
    pub port: u16,

    /// The access token every request needs (at least 16 characters: letters, digits, ._~+/=-)
    /// [default: a random one, printed in the address to open]
    #[arg(
        long,
        env = "PULSE_UI_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,

    /// The config file the actions (resume, resend) read, as the CLI does
    #[arg(long, value_name = "FILE", env = "PULSE_CONFIG")]
    pub config: Option<PathBuf>,

    #[command(flatten)]
    pub log: LogDb,
}
