//! The command line: clap types, and turning them into checked settings.

mod args;
pub(crate) mod settings;
mod usage;

pub use settings::{command_line_contradiction, command_line_secret_warnings};
pub use usage::without_environment_flags;

pub use args::*;
