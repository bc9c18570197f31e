//! The command line: clap types, and turning them into checked settings.

mod args;
pub(crate) mod settings;

pub use settings::command_line_secret_warnings;

pub use args::*;
