//! The command line: clap types, and turning them into checked settings.

mod args;
pub mod settings;

pub use args::*;
