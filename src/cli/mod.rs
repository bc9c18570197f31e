//! The command line: clap types, and turning them into checked settings.

mod args;
mod settings;
mod usage;

pub use settings::{command_line_contradiction, command_line_secret_warnings};
pub use usage::{without_credentials, without_environment_flags};

pub use args::*;
pub use settings::{
    export_settings, infer_settings, log_location, log_settings, parse_secrets, parse_url,
    prune_settings, push_request, receive_settings, resend_settings, resume_settings,
    validate_settings, LogSettings, PruneSettings, ReceiveSettings,
};
