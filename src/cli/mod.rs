//! The command line: clap types, the layers laid on them before they parse (`PULSE_*`
//! variables, the config file: `config/`), and turning them into checked settings.

mod args;
mod config;
mod settings;
mod usage;

pub use config::{
    check as check_config, command, effective, env_name, for_destination, is_credential, prepare,
    ConfigFile, Setting, Setup,
};
pub use settings::{command_line_contradiction, command_line_secret_warnings};
pub use usage::{without_credentials, without_environment_flags};

pub use args::*;
pub use settings::{
    export_settings, infer_settings, input_access, log_location, log_settings, parse_secrets,
    parse_url, prune_settings, push_request, receive_settings, resend_settings, resume_settings,
    validate_settings, LogSettings, PruneSettings, ReceiveSettings,
};
