//! pulse's clap definition with the layers laid on: `PULSE_*` variables and config values as
//! defaults.

use anyhow::Result;
use clap::builder::Resettable::Reset;
use clap::{Args, Command, CommandFactory};

use super::file::{ConfigFile, Entry};
use super::names::{env_name, is_credential};
use crate::cli::args::DeliveryArgs;

/// The commands whose flags the config file and the environment set.
pub const PUSH: &str = "push";
pub const DELIVERING: [&str; 2] = ["resume", "resend"];

/// pulse's command line with a `PULSE_<FLAG>` variable for every flag of `push`, and for the
/// delivery flags of `resume` and `resend` (`--url` of resend is no delivery flag: it sends
/// elsewhere). Flags that had a variable keep it.
pub fn command() -> Command {
    let delivery = delivery_ids();
    let mut command =
        crate::cli::Cli::command().mut_subcommand(PUSH, |push| with_env_names(push, &|_| true));
    for name in DELIVERING {
        command = command.mut_subcommand(name, |sub| {
            with_env_names(sub, &|id| delivery.iter().any(|own| own == id))
        });
    }
    command
}

/// The ids of the delivery flags (`DeliveryArgs`) and `--db`: what a resume or resend takes
/// from the config.
pub fn delivery_ids() -> Vec<String> {
    DeliveryArgs::augment_args(Command::new("delivery"))
        .get_arguments()
        .map(|arg| arg.get_id().to_string())
        .chain(["db".to_string()])
        .collect()
}

fn with_env_names(command: Command, take: &dyn Fn(&str) -> bool) -> Command {
    command.mut_args(|arg| {
        if arg.get_env().is_some() || arg.is_positional() || !take(arg.get_id().as_str()) {
            return arg;
        }
        let Some(long) = arg.get_long() else {
            return arg;
        };
        let name = env_name(long);
        let hide = is_credential(&arg);
        arg.env(name).hide_env_values(hide)
    })
}

/// Each entry's resolved values, by flag id.
pub fn resolved(
    config: &ConfigFile,
    entries: &[Entry],
    push: &Command,
) -> Result<Vec<(String, Vec<String>)>> {
    entries
        .iter()
        .map(|entry| Ok((entry.id.clone(), config.resolve(entry, push)?)))
        .collect()
}

/// `command` with each value as its flag's default, when `take` takes the flag and the
/// command has it. A flag that clap requires is no longer required once the config gives it.
pub fn with_defaults(
    mut command: Command,
    values: &[(String, Vec<String>)],
    take: &dyn Fn(&str) -> bool,
) -> Command {
    for (id, values) in values {
        let present = command.get_arguments().any(|arg| arg.get_id() == id);
        if !present || !take(id) {
            continue;
        }
        let values = values.clone();
        command = command.mut_arg(id, move |arg| {
            arg.default_values(values)
                .required(false)
                .required_unless_present(Reset)
        });
    }
    command
}

/// The flags a resume or resend takes from the config: the delivery flags, not resend's `--url`.
pub fn takes_for(sub: &str, id: &str, delivery: &[String]) -> bool {
    delivery.iter().any(|own| own == id) && !(sub == "resend" && id == "url")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Walks clap's definition: a flag added to push later gets its variable too.
    #[test]
    fn every_push_flag_is_reachable_through_a_pulse_variable() {
        let whole = command();
        let push = whole.find_subcommand(PUSH).expect("push");
        let mut flags = 0;
        for arg in push.get_arguments().filter(|arg| !arg.is_positional()) {
            let long = arg.get_long().expect("every push flag has a long name");
            let env = arg
                .get_env()
                .unwrap_or_else(|| panic!("--{long} has no variable"));
            let env = env.to_string_lossy();
            assert!(env.starts_with("PULSE_"), "--{long}: {env}");
            if !["secrets"].contains(&arg.get_id().as_str()) {
                assert_eq!(env, env_name(long), "--{long}");
            }
            if is_credential(arg) {
                assert!(arg.is_hide_env_values_set(), "--{long} shows its value");
            }
            flags += 1;
        }
        assert!(flags > 50, "{flags}");
        for sub in DELIVERING {
            let sub = whole.find_subcommand(sub).unwrap();
            let retries = sub
                .get_arguments()
                .find(|a| a.get_id() == "retries")
                .unwrap();
            assert_eq!(retries.get_env().unwrap(), "PULSE_RETRIES");
            if let Some(url) = sub.get_arguments().find(|a| a.get_id() == "url") {
                assert!(url.get_env().is_none(), "resend --url sends elsewhere");
            }
        }
    }
}
