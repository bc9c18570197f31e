//! Turns parsed flags into checked settings: defaults, environment, paths, and usage errors.

use std::path::PathBuf;

use anyhow::Result;

use super::{DeliveryArgs, PushArgs, SourceArgs};
use crate::deliver::rate::Rate;
use crate::deliver::retry::{
    parse_duration, parse_schedule, parse_status_list, RetryPolicy, StatusPolicy,
};
use crate::deliver::settings::{auth_header, parse_headers, DeliverySettings, Signing};
use crate::exit::usage;
use crate::payload::{BodyContext, Format, Method};
use crate::read::columns::TableShape;
use crate::read::source::{parse_delimiter, CsvDialect, Input};
use crate::run::push::PushSettings;
use crate::sign::SigningSecret;
use crate::stage::event::parse_events;
use crate::stage::SyncMode;

/// The log: `--db`/`PULSE_DB` (a file, or a `postgres://` URL), else
/// `$XDG_DATA_HOME/pulse/pulse.db`, else `~/.local/share/pulse/pulse.db`.
pub fn log_location(flag: Option<PathBuf>) -> Result<crate::store::Location> {
    if let Some(path) = flag {
        return Ok(crate::store::Location::parse(path));
    }
    let data_home = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".local/share")))
        .ok_or_else(|| usage("cannot find the log database: set --db, PULSE_DB or HOME"))?;
    Ok(crate::store::Location::File(
        data_home.join("pulse").join("pulse.db"),
    ))
}

/// Secret-carrying flags and the environment variable to use instead of each.
const SECRET_FLAGS: [(&str, &str, &str); 3] = [
    ("url_password", "--url-password", "PULSE_URL_PASSWORD"),
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
    if sub.ids().any(|given| given.as_str() == "headers") {
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

/// `--secret` values (or `PULSE_SECRET`'s, space-separated), blanks skipped.
pub fn parse_secrets(texts: &[String]) -> Result<Vec<SigningSecret>> {
    texts
        .iter()
        .filter(|s| !s.trim().is_empty())
        .map(|s| SigningSecret::parse(s).map_err(|e| usage(format!("--secret: {e}"))))
        .collect()
}

/// Retries when `--retries` is not given (or the schedule's length, if longer).
const DEFAULT_RETRIES: u32 = 5;

/// Checked settings for sending, from the flags shared by push, resend and resume.
pub fn delivery_settings(args: &DeliveryArgs) -> Result<DeliverySettings> {
    let signing = if args.no_sign {
        Signing::Unsigned
    } else if args.secrets.iter().any(|s| !s.trim().is_empty()) {
        Signing::Secrets(parse_secrets(&args.secrets)?)
    } else {
        Signing::Generated
    };
    let schedule = parse_schedule(&args.retry_schedule)
        .map_err(|e| usage(format!("--retry-schedule: {e}")))?;
    let retry = RetryPolicy {
        max_retries: args
            .retries
            .unwrap_or(DEFAULT_RETRIES.max(schedule.len() as u32)),
        schedule,
        max_retry_after: parse_duration(&args.max_retry_after)
            .map_err(|e| usage(format!("--max-retry-after: {e}")))?,
        jitter: 0.2,
    };
    let timeout = parse_duration(&args.timeout).map_err(|e| usage(format!("--timeout: {e}")))?;
    if timeout.is_zero() {
        return Err(usage("--timeout must be more than 0"));
    }
    if !(1..=MAX_CONCURRENCY).contains(&args.concurrency) {
        return Err(usage(format!(
            "--concurrency must be from 1 to {MAX_CONCURRENCY}"
        )));
    }
    let rate = args
        .rate
        .as_deref()
        .map(|text| Rate::parse(text).map_err(|e| usage(format!("--rate: {e}"))))
        .transpose()?;
    let codes = |flag: &str, text: &Option<String>| {
        text.as_deref()
            .map(|text| parse_status_list(text).map_err(|e| usage(format!("{flag}: {e}"))))
            .transpose()
            .map(Option::unwrap_or_default)
    };
    let statuses = StatusPolicy::new(
        codes("--success-on", &args.success_on)?,
        codes("--retry-on", &args.retry_on)?,
    )
    .map_err(usage)?;
    let deadline = args
        .deadline
        .as_deref()
        .map(|text| parse_duration(text).map_err(|e| usage(format!("--deadline: {e}"))))
        .transpose()?;
    let mut headers = parse_headers(&args.headers)?;
    if let Some(name) = &args.auth_header_name {
        let value = args.auth_header_value.as_deref().unwrap_or_default();
        headers.push(auth_header(name, value)?);
    }
    Ok(DeliverySettings {
        signing,
        headers,
        header_lines: args.headers.clone(),
        auth_header_name: args.auth_header_name.clone(),
        auth_header_value: args.auth_header_value.clone(),
        url_password: args.url_password.clone(),
        retry,
        statuses,
        timeout,
        concurrency: args.concurrency,
        rate,
        compress: args.compress,
        on_failure: args.on_failure,
        deadline,
        cacert: args.cacert.clone(),
        client_cert: args.cert.clone(),
        client_key: args.cert_key.clone(),
        insecure: args.insecure,
    })
}

/// Most requests in flight `--concurrency` allows: memory holds a body per request.
const MAX_CONCURRENCY: usize = 256;

/// Checked settings of `pulse push`.
pub fn push_settings(args: &PushArgs) -> Result<PushSettings> {
    if args.batch_size == 0 {
        return Err(usage("--batch-size must be at least 1"));
    }
    let input = Input::parse(&args.source.input);
    let template_id = args.template_id.clone().unwrap_or_else(|| match &input {
        Input::Stdin => "stdin".to_string(),
        Input::File(path) => path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "data".into()),
    });
    let url = args.url.as_deref().map(parse_url).transpose()?;
    let one_row_per_request = args.format == Format::Valmi || args.method == Method::Get;
    if args.method == Method::Get && !matches!(args.format, Format::Pulse | Format::Valmi) {
        return Err(usage("--method get works with --format pulse or valmi"));
    }
    if args.method == Method::Get && args.delivery.compress.is_some() {
        return Err(usage(
            "--compress needs a body: it works with --method post",
        ));
    }
    if args.mode != SyncMode::Mirror && (!args.key.is_empty() || args.sync.is_some()) {
        return Err(usage("--key and --sync only apply to --mode mirror"));
    }
    let file_name = match &input {
        Input::Stdin => "-".to_string(),
        Input::File(path) => path
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default(),
    };
    let sync_name = match (&args.sync, &url) {
        (Some(name), _) => name.clone(),
        (None, Some(url)) => format!("{} {file_name}", crate::redact::shown_url(url.as_str())),
        (None, None) if args.mode == SyncMode::Mirror => {
            return Err(usage(
                "a mirror dry run without --url needs --sync NAME: the sync to compare with",
            ))
        }
        (None, None) => String::new(),
    };
    // valmi and GET carry one row per request: each row is its own batch in the outbox.
    let batch_size = if one_row_per_request {
        1
    } else {
        args.batch_size
    };
    let run_id = format!("run_{}", ulid::Ulid::new());
    Ok(PushSettings {
        run_id: run_id.clone(),
        input,
        url,
        batch_size,
        events: parse_events(&args.events)?,
        schema: args.source.schema.clone(),
        fail_on_invalid: args.fail_on_invalid,
        delivery: delivery_settings(&args.delivery)?,
        body: BodyContext {
            template_id,
            user_id: args.user_id.clone(),
            metadata: parse_metadata(&args.metadata)?,
            format: args.format,
            method: args.method,
            mode: args.mode.name().to_string(),
            file_name,
            run_id,
            batch_size,
        },
        mode: args.mode,
        id_columns: args.key.clone(),
        sync_name,
        dialect: dialect(&args.source)?,
        max_body_bytes: parse_size(&args.max_body_size)
            .map_err(|e| usage(format!("--max-body-size: {e}")))?,
        dry_run: args.dry_run,
        // `pulse log --limit 0` lists all; so does this.
        dry_run_limit: args.limit.filter(|&n| n > 0),
        force: args.force,
        quiet: args.quiet,
        json: args.json,
    })
}

/// How to read the input.
pub fn dialect(args: &SourceArgs) -> Result<CsvDialect> {
    Ok(CsvDialect {
        delimiter: args.delimiter.as_deref().map(parse_delimiter).transpose()?,
        encoding: args.encoding,
        max_record_bytes: parse_size(&args.max_record_size)
            .map_err(|e| usage(format!("--max-record-size: {e}")))?,
        table: table_shape(&args.table)?,
    })
}

/// How `pulse schema infer` reads its input.
pub fn infer_dialect(args: &super::args::InferArgs) -> Result<CsvDialect> {
    Ok(CsvDialect {
        delimiter: args.delimiter.as_deref().map(parse_delimiter).transpose()?,
        encoding: args.encoding,
        table: table_shape(&args.table)?,
        ..CsvDialect::default()
    })
}

/// The input's header, lines and columns, checked.
fn table_shape(args: &super::args::TableArgs) -> Result<TableShape> {
    let comment = match args.comment.as_deref() {
        None => None,
        Some(text) if text.len() == 1 && text.is_ascii() && !matches!(text, "\"" | "\n" | "\r") => {
            Some(text.as_bytes()[0])
        }
        Some(text) => {
            return Err(usage(format!(
                "--comment {text:?} must be one ASCII character (e.g. '#')"
            )))
        }
    };
    if let Some(blank) = args.columns.iter().position(|name| name.trim().is_empty()) {
        return Err(usage(format!("--columns: name {} is blank", blank + 1)));
    }
    if let Some(blank) = args.select.iter().position(|name| name.trim().is_empty()) {
        return Err(usage(format!("--select: name {} is blank", blank + 1)));
    }
    let rename = args
        .rename
        .iter()
        .map(|pair| match pair.split_once('=') {
            Some((old, new)) if !old.is_empty() && !new.trim().is_empty() => {
                Ok((old.to_string(), new.to_string()))
            }
            _ => Err(usage(format!("--rename {pair:?} must be OLD=NEW"))),
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(TableShape {
        no_header: args.no_header,
        columns: args.columns.clone(),
        skip_lines: args.skip_lines,
        comment,
        select: args.select.clone(),
        rename,
        sheet: args.sheet.clone(),
    })
}

/// `64MiB`, `500KB`, `1024`: a byte count (decimal and binary units; at least 1 KiB).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (digits, unit) = trimmed.split_at(split);
    let number: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a size like 64MiB"))?;
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1000,
        "kib" | "k" => 1024,
        "mb" => 1000 * 1000,
        "mib" | "m" => 1024 * 1024,
        "gb" => 1000 * 1000 * 1000,
        "gib" | "g" => 1024 * 1024 * 1024,
        _ => {
            return Err(format!(
                "{text:?}: unknown unit (use B, KB, KiB, MB, MiB, GB or GiB)"
            ))
        }
    };
    let bytes = number
        .checked_mul(factor)
        .ok_or_else(|| format!("{text:?} is too large"))?;
    if bytes < 1024 {
        return Err(format!("{text:?} is below the minimum of 1KiB"));
    }
    Ok(bytes)
}

/// An absolute http(s) URL.
pub fn parse_url(text: &str) -> Result<reqwest::Url> {
    let url = reqwest::Url::parse(text)
        .map_err(|e| usage(format!("--url {text:?} is not a valid URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(usage(format!(
            "--url {text:?}: only http and https URLs are supported"
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(usage(format!("--url {text:?} has no host")));
    }
    Ok(url)
}

/// `--metadata` must be a JSON object; it is sent compact.
pub fn parse_metadata(text: &str) -> Result<String> {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(value @ serde_json::Value::Object(_)) => Ok(value.to_string()),
        Ok(_) => Err(usage(
            "--metadata must be a JSON object, like '{\"source\":\"crm\"}'",
        )),
        Err(e) => Err(usage(format!("--metadata is not valid JSON: {e}"))),
    }
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
    fn urls_must_be_http() {
        assert!(parse_url("http://127.0.0.1:8080/hook").is_ok());
        assert!(parse_url("ftp://example.com/").is_err());
        assert!(parse_url("not a url").is_err());
    }

    #[test]
    fn metadata_must_be_an_object() {
        assert_eq!(parse_metadata(r#"{ "a": 1 }"#).unwrap(), r#"{"a":1}"#);
        assert!(parse_metadata("[1]").is_err());
        assert!(parse_metadata("{").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("64MiB").unwrap(), 64 * 1024 * 1024);
        assert_eq!(parse_size("500KB").unwrap(), 500_000);
        assert_eq!(parse_size("2048").unwrap(), 2048);
        assert!(parse_size("12").is_err());
        assert!(parse_size("3 parsecs").is_err());
        assert!(parse_size("99999999999GiB").is_err());
    }

    #[test]
    fn db_path_prefers_the_flag() {
        let p = log_location(Some("/tmp/x.db".into())).unwrap();
        assert_eq!(p, crate::store::Location::File(PathBuf::from("/tmp/x.db")));
    }
}
