//! What the config layer needs of the command line before clap parses it: the command, and
//! `--config` and `--to` if given.

use std::ffi::OsString;
use std::path::PathBuf;

#[derive(Debug, Default)]
pub struct Seen {
    /// The first word that is no flag: the command.
    pub command: Option<String>,
    pub config: Option<PathBuf>,
    pub to: Option<String>,
}

/// Reads `argv` (program name first) as far as `--`.
pub fn scan(argv: &[OsString]) -> Seen {
    let mut seen = Seen::default();
    let mut words = argv
        .iter()
        .skip(1)
        .map(|word| word.to_string_lossy().into_owned());
    while let Some(word) = words.next() {
        if word == "--" {
            break;
        }
        if seen.command.is_none() && !word.starts_with('-') {
            seen.command = Some(word);
            continue;
        }
        let value = |flag: &str, words: &mut dyn Iterator<Item = String>| {
            if word == flag {
                words.next()
            } else {
                word.strip_prefix(flag)
                    .and_then(|rest| rest.strip_prefix('='))
                    .map(str::to_string)
            }
        };
        if let Some(path) = value("--config", &mut words) {
            seen.config = Some(PathBuf::from(path));
        } else if let Some(name) = value("--to", &mut words) {
            seen.to = Some(name);
        }
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(words: &[&str]) -> Seen {
        let argv: Vec<OsString> = words.iter().map(OsString::from).collect();
        scan(&argv)
    }

    #[test]
    fn the_command_and_both_flags_in_either_form_are_found() {
        let found = seen(&["pulse", "push", "a.csv", "--to", "crm", "--config=p.toml"]);
        assert_eq!(found.command.as_deref(), Some("push"));
        assert_eq!(found.to.as_deref(), Some("crm"));
        assert_eq!(found.config, Some(PathBuf::from("p.toml")));
        let found = seen(&["pulse", "push", "--", "--to", "x"]);
        assert_eq!(found.to, None);
    }
}
