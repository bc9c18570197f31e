//! What the config layer calls a flag: its `PULSE_*` variable, whether it is a credential.

use clap::Arg;

/// The environment variable of a long flag: `--batch-size` is `PULSE_BATCH_SIZE`.
pub fn env_name(long: &str) -> String {
    format!("PULSE_{}", long.to_ascii_uppercase().replace('-', "_"))
}

/// Whether a flag's value is a credential: never printed, never a literal in a file others can
/// read. Those whose variable hides its value (`--secret`, `--auth-header-value`,
/// `--url-password`), and any whose name says so (`--oauth2-client-secret`); not `--db`, whose
/// URL is shown with its password masked.
pub fn is_credential(arg: &Arg) -> bool {
    let id = arg.get_id().as_str();
    id != "db"
        && (arg.is_hide_env_values_set()
            || ["secret", "password", "token"]
                .iter()
                .any(|word| id.contains(word)))
}

/// A config key's flag: by its long name with `_` (`batch_size`, `header`) or its field name
/// (`headers`, `secrets`). Positional arguments are no keys.
pub fn arg_for_key<'c>(command: &'c clap::Command, key: &str) -> Option<&'c Arg> {
    command.get_arguments().find(|arg| {
        !arg.is_positional()
            && (arg.get_id().as_str() == key
                || arg
                    .get_long()
                    .is_some_and(|long| long.replace('-', "_") == key))
    })
}

/// The key a flag is shown under: its long name with `_`.
pub fn key_of(arg: &Arg) -> String {
    arg.get_long()
        .map(|long| long.replace('-', "_"))
        .unwrap_or_else(|| arg.get_id().to_string())
}
