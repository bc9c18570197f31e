//! The usage line after a command-line mistake. clap lists the flags it saw as if the command
//! needed them, flags set through the environment (`PULSE_SECRET`, `PULSE_DB`, ...) included:
//! `Usage: pulse push --secret <S> --url <URL> <FILE|->` reads as if `--secret` were required.
//! Those are taken out again, unless they were on the command line too.

use std::ffi::OsString;

use clap::error::{ContextKind, ContextValue};

/// Flags that take their value from an environment variable, as the usage line shows them.
const ENVIRONMENT_FLAGS: [(&str, &str); 5] = [
    ("--db", "<PATH|URL>"),
    ("--oauth2-client-secret", "<S>"),
    ("--secret", "<S>"),
    ("--auth-header-value", "<V>"),
    ("--url-password", "<P>"),
];

/// `err` with the flags that came only from the environment taken out of its usage line.
pub fn without_environment_flags(mut err: clap::Error, args: &[OsString]) -> clap::Error {
    let Some(ContextValue::StyledStr(usage)) = err.get(ContextKind::Usage) else {
        return err;
    };
    // The text as styled (with its colour codes, if any), so the rest keeps its looks.
    let mut text = usage.ansi().to_string();
    for (flag, value) in ENVIRONMENT_FLAGS {
        let given = args.iter().any(|arg| {
            let arg = arg.to_string_lossy();
            arg == flag || arg.starts_with(&format!("{flag}="))
        });
        if !given {
            text = remove_flag(&text, flag, value);
        }
    }
    err.insert(
        ContextKind::Usage,
        ContextValue::StyledStr(clap::builder::StyledStr::from(text)),
    );
    err
}

/// `err` with the password of any URL it repeats from the command line masked (a stray
/// `http://user:password@...`, its `--url` forgotten, would be echoed into CI logs), and any
/// `whsec_` or `whsk_` secret it repeats redacted.
pub fn without_credentials(mut err: clap::Error) -> clap::Error {
    let shown = |text: &String| {
        if text.contains("whsec_") || text.contains("whsk_") {
            // A signing secret or key where clap expected none (`pulse secret new whsk_...`).
            crate::redact::REDACTED.to_string()
        } else if text.contains('@') {
            crate::redact::shown_url(text)
        } else {
            text.clone()
        }
    };
    let masked: Vec<(ContextKind, ContextValue)> = err
        .context()
        .filter_map(|(kind, value)| {
            let masked = match value {
                ContextValue::String(text) => ContextValue::String(shown(text)),
                ContextValue::Strings(texts) => {
                    ContextValue::Strings(texts.iter().map(shown).collect())
                }
                _ => return None,
            };
            (masked != *value).then_some((kind, masked))
        })
        .collect();
    for (kind, value) in masked {
        err.insert(kind, value);
    }
    err
}

/// `text` without ` FLAG VALUE` (each part possibly wrapped in colour codes).
fn remove_flag(text: &str, flag: &str, value: &str) -> String {
    let style = r"(?:\x1b\[[0-9;]*m)*";
    let pattern = format!(
        r" {style}{}{style} {style}{}{style}",
        regex::escape(flag),
        regex::escape(value)
    );
    let re = regex::Regex::new(&pattern).expect("a valid pattern");
    re.replace_all(text, "").into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn flags_from_the_environment_leave_the_usage_line() {
        let usage = "Usage: pulse push --secret <S> --db <PATH|URL> --url <URL> <FILE|->";
        let once = remove_flag(usage, "--secret", "<S>");
        assert_eq!(
            remove_flag(&once, "--db", "<PATH|URL>"),
            "Usage: pulse push --url <URL> <FILE|->"
        );
        let styled = "pulse push \x1b[1m--secret\x1b[0m \x1b[4m<S>\x1b[0m \x1b[1m--url\x1b[0m";
        assert_eq!(
            remove_flag(styled, "--secret", "<S>"),
            "pulse push \x1b[1m--url\x1b[0m"
        );
    }

    #[test]
    fn a_url_clap_repeats_has_its_password_masked() {
        let args = [
            "pulse",
            "push",
            "d.csv",
            "http://u:pw-sentinel@example.com/",
        ];
        let err = crate::cli::Cli::command()
            .try_get_matches_from(args)
            .unwrap_err();
        let shown = without_credentials(err).render().to_string();
        assert!(!shown.contains("pw-sentinel"), "{shown}");
        assert!(shown.contains("http://u:***@example.com/"), "{shown}");
    }

    #[test]
    fn a_secret_clap_repeats_is_redacted() {
        for secret in ["whsk_c2VudGluZWwta2V5", "whsec_c2VudGluZWwta2V5"] {
            let err = crate::cli::Cli::command()
                .try_get_matches_from(["pulse", "secret", "new", secret])
                .unwrap_err();
            let shown = without_credentials(err).render().to_string();
            assert!(!shown.contains("c2VudGluZWwta2V5"), "{shown}");
        }
    }

    #[test]
    fn a_flag_given_on_the_command_line_stays() {
        let args: Vec<OsString> = ["pulse", "push", "d.csv", "--secret", "whsec_x", "--bogus"]
            .iter()
            .map(OsString::from)
            .collect();
        let err = crate::cli::Cli::command()
            .try_get_matches_from(&args)
            .unwrap_err();
        let err = without_environment_flags(err, &args);
        let Some(ContextValue::StyledStr(usage)) = err.get(ContextKind::Usage) else {
            panic!("no usage in {err}");
        };
        assert!(usage.to_string().contains("--secret <S>"), "{usage}");
    }
}
