//! Turns parsed flags into checked settings, for every command: defaults, environment, paths,
//! and usage errors, raised here where the flags are checked. `cmd/` only dispatches what this
//! builds: a push's run plan (`push.rs`), the other commands' settings (`commands.rs`), the
//! delivery settings they share (`delivery.rs`), and single values (`values.rs`).

mod commands;
mod delivery;
mod push;
mod values;

use std::path::PathBuf;

use anyhow::Result;

use crate::exit::usage;
use crate::sign::{PublicKey, SigningSecret};

pub use commands::{
    export_settings, infer_settings, input_access, log_settings, prune_settings, receive_settings,
    resend_settings, resume_settings, validate_settings, LogSettings, PruneSettings,
    ReceiveSettings,
};
pub use push::push_request;
pub use values::parse_url;

/// The log: `--db`/`PULSE_DB` (a file, or a `postgres://` URL), else
/// `$XDG_DATA_HOME/pulse/pulse.db`, else `~/.local/share/pulse/pulse.db`.
pub fn log_location(flag: Option<PathBuf>) -> Result<crate::store::Location> {
    if let Some(path) = flag {
        return Ok(crate::store::Location::parse(path));
    }
    let data_home = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute());
    let data_home = match data_home {
        Some(dir) => dir,
        None => {
            let home = std::env::var_os("HOME")
                .map(PathBuf::from)
                .ok_or_else(|| usage("cannot find the log database: set --db, PULSE_DB or HOME"))?;
            // A service user's HOME (/nonexistent) is no place to create a log in unasked.
            if !home.is_dir() {
                return Err(usage(format!(
                    "cannot find the log database: HOME {} is not a directory; set --db or \
                     PULSE_DB",
                    home.display()
                )));
            }
            home.join(".local/share")
        }
    };
    Ok(crate::store::Location::File(
        data_home.join("pulse").join("pulse.db"),
    ))
}

/// Secret-carrying flags and the environment variable to use instead of each.
const SECRET_FLAGS: [(&str, &str, &str); 4] = [
    ("url_password", "--url-password", "PULSE_URL_PASSWORD"),
    (
        "oauth2_client_secret",
        "--oauth2-client-secret",
        "PULSE_OAUTH2_CLIENT_SECRET",
    ),
    ("secrets", "--secret", "PULSE_SECRET"),
    (
        "auth_header_value",
        "--auth-header-value",
        "PULSE_AUTH_HEADER_VALUE",
    ),
];

/// Warnings for secrets given on the command line, where other local users can read them in
/// the process list and the shell keeps them in its history. Values from the environment are
/// fine; the warnings never quote a value.
pub fn command_line_secret_warnings(matches: &clap::ArgMatches) -> Vec<String> {
    let Some((_, sub)) = matches.subcommand() else {
        return Vec::new();
    };
    let mut warnings: Vec<String> = SECRET_FLAGS
        .iter()
        // `value_source` panics on an id the subcommand does not define; `ids` lists only
        // arguments that got a value.
        .filter(|(id, _, _)| sub.ids().any(|given| given.as_str() == *id))
        .filter(|(id, _, _)| sub.value_source(id) == Some(clap::parser::ValueSource::CommandLine))
        .map(|(_, flag, env)| {
            format!(
                "warning: {flag} on the command line can be read by other users (process list) \
                 and stays in shell history; set {env} instead"
            )
        })
        .collect();
    // `pulse secret public KEY`: a signing key as an argument.
    if let Some(("public", public)) = sub.subcommand()
        && public.ids().any(|given| given.as_str() == "keys")
        && public.value_source("keys") == Some(clap::parser::ValueSource::CommandLine)
    {
        warnings.push(
            "warning: KEY on the command line can be read by other users (process list) and \
             stays in shell history; set PULSE_SECRET instead"
                .to_string(),
        );
    }
    if sub.ids().any(|given| given.as_str() == "headers")
        && sub.value_source("headers") == Some(clap::parser::ValueSource::CommandLine)
    {
        let credentials = sub
            .get_many::<String>("headers")
            .into_iter()
            .flatten()
            .filter_map(|line| line.split_once(':').map(|(name, _)| name.trim()))
            .filter(|name| crate::redact::is_credential_header(name));
        for name in credentials {
            warnings.push(format!(
                "warning: --header {name} carries a credential: it can be read by other users \
                 (process list), and its value is never stored, so resume and resend need the \
                 --header flags again; --auth-header-name with PULSE_AUTH_HEADER_VALUE avoids both"
            ));
        }
    }
    warnings
}

/// Flags given together on the command line that contradict each other. `--no-sign` with
/// `--secret` is one; with `PULSE_SECRET` only in the environment (set for every push, say) it
/// is not: `--no-sign` wins, so clap's own conflict check, which counts the environment, is
/// not used for it.
pub fn command_line_contradiction(matches: &clap::ArgMatches) -> Option<&'static str> {
    let (_, sub) = matches.subcommand()?;
    let given = |id: &str| {
        sub.ids().any(|given| given.as_str() == id)
            && sub.value_source(id) == Some(clap::parser::ValueSource::CommandLine)
    };
    (given("no_sign") && given("secrets"))
        .then_some("--no-sign and --secret contradict each other: give one of them")
}

/// `--public-key` values (or `PULSE_PUBLIC_KEY`'s, space-separated), blanks skipped.
pub fn parse_public_keys(texts: &[String]) -> Result<Vec<PublicKey>> {
    texts
        .iter()
        .filter(|s| !s.trim().is_empty())
        .map(|s| PublicKey::parse(s).map_err(|e| usage(format!("--public-key: {e}"))))
        .collect()
}

/// `--secret` values (or `PULSE_SECRET`'s, space-separated), blanks skipped.
pub fn parse_secrets(texts: &[String]) -> Result<Vec<SigningSecret>> {
    texts
        .iter()
        .filter(|s| !s.trim().is_empty())
        .map(|s| SigningSecret::parse(s).map_err(|e| usage(format!("--secret: {e}"))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_on_the_command_line_are_warned_about_by_flag_never_by_value() {
        use clap::CommandFactory;
        let warnings = |args: &[&str]| {
            let matches = crate::cli::Cli::command()
                .try_get_matches_from(std::iter::once("pulse").chain(args.iter().copied()))
                .unwrap();
            command_line_secret_warnings(&matches)
        };
        let push = ["push", "d.csv", "--url", "http://127.0.0.1:9/"];
        let both = [
            &push[..],
            &["--secret", "whsec_c2VjcmV0", "--auth-header-name", "A"],
            &["--auth-header-value", "tok-value"],
        ]
        .concat();
        let given = warnings(&both);
        assert_eq!(given.len(), 2, "{given:?}");
        assert!(given[0].contains("--secret") && given[0].contains("PULSE_SECRET"));
        assert!(given[1].contains("--auth-header-value"));
        assert!(!given.concat().contains("c2VjcmV0") && !given.concat().contains("tok-value"));
        assert_eq!(
            warnings(&["receive", "--secret", "whsec_c2VjcmV0"]).len(),
            1
        );
        assert!(warnings(&push).is_empty());
        assert!(warnings(&["log"]).is_empty());
        assert!(warnings(&["secret", "new"]).is_empty());
    }

    #[test]
    fn db_path_prefers_the_flag() {
        let p = log_location(Some("/tmp/x.db".into())).unwrap();
        assert_eq!(p, crate::store::Location::File(PathBuf::from("/tmp/x.db")));
    }
}
