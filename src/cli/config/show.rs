//! `pulse config show` and `check`: the settings a push would run with and where each comes
//! from, credentials masked; the whole file resolved and checked.

use std::collections::HashMap;
use std::ffi::OsString;

use anyhow::Result;
use clap::builder::Resettable::Reset;
use clap::parser::ValueSource;

use super::file::ConfigFile;
use super::layering::{command, resolved, with_defaults, PUSH};
use super::names::{is_credential, key_of};
use crate::exit::usage;
use crate::redact::{shown_url, REDACTED};

/// One effective setting of a push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// The key as a config file writes it (`batch_size`).
    pub key: String,
    /// Its values, credentials masked.
    pub values: Vec<String>,
    /// `flag`, `environment (PULSE_X)`, `FILE:LINE` or `default`.
    pub origin: String,
}

/// The settings `pulse push ... --to to EXTRA` would run with, where each came from.
pub fn effective(
    config: Option<&ConfigFile>,
    to: Option<&str>,
    extra: &[OsString],
) -> Result<Vec<Setting>> {
    let mut whole = command();
    let push = whole.find_subcommand(PUSH).cloned().unwrap_or_default();
    let mut origins: HashMap<String, String> = HashMap::new();
    match (config, to) {
        (Some(config), _) => {
            let entries = config.layered(to)?;
            for entry in &entries {
                origins.insert(entry.id.clone(), config.origin(entry));
            }
            let values = resolved(config, &entries, &push)?;
            whole = whole.mut_subcommand(PUSH, |c| with_defaults(c, &values, &|_| true));
        }
        (None, Some(name)) => {
            return Err(usage(format!("--to {name}: no config file")));
        }
        (None, None) => {}
    }
    let push = whole
        .find_subcommand(PUSH)
        .cloned()
        .unwrap_or_default()
        .no_binary_name(true)
        .mut_args(|arg| arg.required(false).required_unless_present(Reset));
    let mut words: Vec<OsString> = extra.to_vec();
    if let Some(name) = to {
        words.extend([OsString::from("--to"), OsString::from(name)]);
    }
    let matches = push
        .clone()
        .try_get_matches_from(words)
        .map_err(|err| usage(crate::cli::without_credentials(err).render().to_string()))?;
    let mut settings = Vec::new();
    for arg in push.get_arguments().filter(|arg| !arg.is_positional()) {
        let id = arg.get_id().as_str();
        let Some(raw) = matches.try_get_raw(id).ok().flatten() else {
            continue;
        };
        let origin = match matches.value_source(id) {
            Some(ValueSource::CommandLine) => "flag".to_string(),
            Some(ValueSource::EnvVariable) => format!(
                "environment ({})",
                arg.get_env()
                    .map(|e| e.to_string_lossy())
                    .unwrap_or_default()
            ),
            _ => origins
                .get(id)
                .cloned()
                .unwrap_or_else(|| "default".to_string()),
        };
        let values = raw
            .map(|value| masked(arg, &value.to_string_lossy()))
            .collect();
        settings.push(Setting {
            key: key_of(arg),
            values,
            origin,
        });
    }
    Ok(settings)
}

/// A value as `config show` prints it: a credential masked, a URL's password masked, a
/// credential header's value masked.
fn masked(arg: &clap::Arg, value: &str) -> String {
    let id = arg.get_id().as_str();
    if is_credential(arg) {
        return REDACTED.to_string();
    }
    match id {
        "url" | "db" => shown_url(value),
        "headers" => match value.split_once(':') {
            Some((name, _)) if crate::redact::is_credential_header(name) => {
                format!("{name}: {REDACTED}")
            }
            _ => value.to_string(),
        },
        _ => value.to_string(),
    }
}

/// Resolves and checks every value of the file, and every destination's URL; the
/// destinations' names.
pub fn check(config: &ConfigFile) -> Result<Vec<String>> {
    let push = command().find_subcommand(PUSH).cloned().unwrap_or_default();
    resolved(config, &config.layered(None)?, &push)?;
    for name in config.destinations.keys() {
        resolved(config, &config.layered(Some(name))?, &push)?;
    }
    Ok(config.destinations.keys().cloned().collect())
}
