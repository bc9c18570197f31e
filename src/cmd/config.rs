//! `pulse config show` and `pulse config check`.

use anyhow::Result;

use crate::cli::{ConfigCommand, Setting, Setup};
use crate::exit::usage;
use crate::output::outln;

pub fn run(command: &ConfigCommand, setup: &Setup) -> Result<()> {
    match command {
        ConfigCommand::Show {
            to,
            json,
            push_flags,
            ..
        } => {
            let settings =
                crate::cli::effective(setup.config.as_deref(), to.as_deref(), push_flags)?;
            let file = setup
                .config
                .as_deref()
                .map(|c| c.path.display().to_string());
            if *json {
                outln!("{}", as_json(file.as_deref(), to.as_deref(), &settings));
            } else {
                outln!("# config file: {}", file.as_deref().unwrap_or("none"));
                if let Some(name) = to {
                    outln!("# destination: {name}");
                }
                for setting in &settings {
                    outln!(
                        "{} = {}  # {}",
                        setting.key,
                        shown(&setting.values),
                        setting.origin
                    );
                }
            }
            Ok(())
        }
        ConfigCommand::Check { .. } => {
            let Some(config) = setup.config.as_deref() else {
                return Err(usage(
                    "no config file: --config FILE, PULSE_CONFIG, ./pulse.toml or \
                     $XDG_CONFIG_HOME/pulse/config.toml",
                ));
            };
            let names = crate::cli::check_config(config)?;
            let destinations = if names.is_empty() {
                "no destinations".to_string()
            } else {
                format!("destinations: {}", names.join(", "))
            };
            outln!("{}: ok ({destinations})", config.path.display());
            Ok(())
        }
    }
}

/// Values as TOML writes them: one string, or an array.
fn shown(values: &[String]) -> String {
    let quoted: Vec<String> = values
        .iter()
        .map(|value| serde_json::Value::String(value.clone()).to_string())
        .collect();
    match quoted.as_slice() {
        [one] => one.clone(),
        many => format!("[{}]", many.join(", ")),
    }
}

fn as_json(file: Option<&str>, to: Option<&str>, settings: &[Setting]) -> serde_json::Value {
    let settings: Vec<serde_json::Value> = settings
        .iter()
        .map(|setting| {
            serde_json::json!({
                "key": setting.key,
                "value": match setting.values.as_slice() {
                    [one] => serde_json::Value::String(one.clone()),
                    many => serde_json::json!(many),
                },
                "origin": setting.origin,
            })
        })
        .collect();
    serde_json::json!({"config": file, "destination": to, "settings": settings})
}
