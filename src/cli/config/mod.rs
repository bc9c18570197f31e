//! Settings from outside the command line: every flag of `push` (and the delivery flags of
//! `resume` and `resend`) from a `PULSE_<FLAG>` variable, and the config file's `[defaults]`
//! and `[destinations.NAME]` tables.
//!
//! Both are laid onto clap's own definition before it parses, so clap does every check and the
//! precedence falls out of it: a flag on the command line, else its variable (clap's `env`),
//! else the config's value (set as the flag's default: the destination's over `[defaults]`'),
//! else the built-in default.

mod file;
mod layering;
mod names;
mod scan;
mod show;

use std::ffi::OsString;
use std::sync::Arc;

use anyhow::Result;
use clap::Command;

pub use file::ConfigFile;
pub use layering::command;
pub use names::{env_name, is_credential};
pub use show::{check, effective, Setting};

use crate::exit::usage;
use layering::{delivery_ids, resolved, takes_for, with_defaults, DELIVERING, PUSH};

/// What the command line was prepared with: kept for commands that parse it again (`resume`
/// and `resend` for a run's destination) and for `pulse config`.
#[derive(Debug, Clone, Default)]
pub struct Setup {
    pub argv: Vec<OsString>,
    pub config: Option<Arc<ConfigFile>>,
}

/// The command to parse `argv` with: [`command`], with the config file's values for the
/// command as its flags' defaults (a push's `--to` destination over `[defaults]`; for resume
/// and resend, `[defaults]`' delivery flags). A config file that is not TOML, an unknown key
/// or destination, a destination without a URL, an unset `${VAR}`: usage errors, before
/// anything is read.
pub fn prepare(argv: &[OsString]) -> Result<(Command, Setup)> {
    let mut command = command();
    let mut setup = Setup {
        argv: argv.to_vec(),
        config: None,
    };
    let seen = scan::scan(argv);
    let Some(sub) = seen.command.as_deref() else {
        return Ok((command, setup));
    };
    if sub != PUSH && sub != "config" && !DELIVERING.contains(&sub) {
        return Ok((command, setup));
    }
    let to = match sub {
        PUSH | "config" => seen.to.or_else(|| non_empty_var("PULSE_TO")),
        _ => None,
    };
    let push = command
        .find_subcommand(PUSH)
        .cloned()
        .unwrap_or_else(|| Command::new(PUSH));
    let Some(path) = file::find(seen.config)? else {
        if let Some(name) = to {
            return Err(usage(format!(
                "--to {name}: no config file (--config, PULSE_CONFIG, ./pulse.toml, \
                 $XDG_CONFIG_HOME/pulse/config.toml)"
            )));
        }
        return Ok((command, setup));
    };
    let config = file::load(&path, &push)?;
    match sub {
        PUSH => {
            let entries = config.layered(to.as_deref())?;
            let values = resolved(&config, &entries, &push)?;
            command = command.mut_subcommand(PUSH, |c| with_defaults(c, &values, &|_| true));
        }
        "config" => {}
        _ => {
            let delivery = delivery_ids();
            let take = |id: &str| takes_for(sub, id, &delivery);
            let entries: Vec<_> = (config.layered(None)?.into_iter())
                .filter(|entry| take(&entry.id))
                .collect();
            let values = resolved(&config, &entries, &push)?;
            command = command.mut_subcommand(sub, |c| with_defaults(c, &values, &take));
        }
    }
    setup.config = Some(Arc::new(config));
    Ok((command, setup))
}

/// The command a run pushed `--to name` is resumed or resent with: `sub`'s delivery flags from
/// `[defaults]` and the destination (flags and variables still first).
pub fn for_destination(setup: &Setup, sub: &str, name: &str) -> Result<clap::ArgMatches> {
    let Some(config) = setup.config.as_deref() else {
        return Err(usage(format!(
            "the run was pushed --to {name}, and no config file is found to read it from \
             (--config, PULSE_CONFIG, ./pulse.toml, $XDG_CONFIG_HOME/pulse/config.toml)"
        )));
    };
    let command = command();
    let push = command
        .find_subcommand(PUSH)
        .cloned()
        .unwrap_or_else(|| Command::new(PUSH));
    let delivery = delivery_ids();
    let take = |id: &str| takes_for(sub, id, &delivery);
    let entries: Vec<_> = config
        .layered(Some(name))?
        .into_iter()
        .filter(|entry| take(&entry.id))
        .collect();
    let values = resolved(config, &entries, &push)?;
    let command = command.mut_subcommand(sub, |c| with_defaults(c, &values, &take));
    command
        .try_get_matches_from(&setup.argv)
        .map_err(|err| usage(crate::cli::without_credentials(err).render().to_string()))
}

fn non_empty_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}
