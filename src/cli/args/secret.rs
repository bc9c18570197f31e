//! The subcommands of `pulse secret`.

use clap::Subcommand;

use super::db::LogDb;

#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Print a fresh whsec_ signing secret (v1), or with --asymmetric a whsk_ signing key (v1a)
    New {
        /// An Ed25519 signing key (whsk_); `pulse secret public` prints its whpk_ public key
        #[arg(long)]
        asymmetric: bool,
    },
    /// Print the whpk_ public key of a whsk_ signing key: what receivers verify v1a with
    Public {
        /// The whsk_ signing key (space-separated keys: each whsk_ one's, in order)
        #[arg(
            value_name = "KEY",
            env = "PULSE_SECRET",
            value_delimiter = ' ',
            hide_env_values = true,
            required = true
        )]
        keys: Vec<String>,
    },
    /// Print the secret pulse generated for a URL (when pushed without --secret); for a whsk_
    /// signing key, its whpk_ public key (the signing key never leaves the log)
    Show {
        /// The URL as given to `pulse push --url` (a password in it is ignored)
        url: String,

        #[command(flatten)]
        log: LogDb,
    },
}
