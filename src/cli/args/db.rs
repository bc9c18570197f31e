//! Where the log is (`--db`): the flag group every command that opens the log shares.

use std::path::PathBuf;

use clap::Args;

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
