//! The subcommands of `pulse config`.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the settings a push would run with and where each comes from (flag, environment,
    /// FILE:LINE, default), credentials masked; push flags after -- count as given
    Show {
        /// The destination ([destinations.NAME]) of `pulse push --to NAME`
        #[arg(long, value_name = "NAME", env = "PULSE_TO")]
        to: Option<String>,

        /// The config file [default: ./pulse.toml, else $XDG_CONFIG_HOME/pulse/config.toml]
        #[arg(long, value_name = "FILE", env = "PULSE_CONFIG")]
        config: Option<PathBuf>,

        /// Print the settings as JSON
        #[arg(long)]
        json: bool,

        /// Flags of `pulse push`, as if given to it
        #[arg(last = true, value_name = "PUSH FLAGS")]
        push_flags: Vec<OsString>,
    },
    /// Check the config file: every key a flag of push, every value one it accepts, every
    /// ${VARIABLE} set, every destination with a URL; errors name the file, line and column
    Check {
        /// The config file [default: ./pulse.toml, else $XDG_CONFIG_HOME/pulse/config.toml]
        #[arg(long, value_name = "FILE", env = "PULSE_CONFIG")]
        config: Option<PathBuf>,
    },
}
