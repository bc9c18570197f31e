//! The subcommands of `pulse secret`.

use clap::Subcommand;

use super::db::LogDb;

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
