//! The delivery settings that push, resume and resend share, and the process knobs beside them.

use anyhow::Result;

use crate::cli::DeliveryArgs;
use crate::deliver::{
    auth_header, parse_duration, parse_headers, parse_schedule, parse_status_list, AnswerRules,
    DeliverySettings, OAuth2Settings, Rate, RetryPolicy, StatusPolicy,
};
use crate::exit::usage;
use crate::plan::Knobs;
use crate::sign::Signing;

use super::parse_secrets;

/// Retries when `--retries` is not given (or the schedule's length, if longer).
const DEFAULT_RETRIES: u32 = 5;

/// Checked settings for sending, from the flags shared by push, resend and resume.
pub fn delivery_settings(args: &DeliveryArgs) -> Result<DeliverySettings> {
    check_companions(args)?;
    let signing = if args.no_sign {
        Signing::Unsigned
    } else if args.secrets.iter().any(|s| !s.trim().is_empty()) {
        Signing::Secrets(parse_secrets(&args.secrets)?)
    } else {
        Signing::Generated { asymmetric: false }
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
    let outage_cooldown = parse_duration(&args.outage_cooldown)
        .map_err(|e| usage(format!("--outage-cooldown: {e}")))?;
    if timeout.is_zero() {
        return Err(usage("--timeout must be more than 0"));
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
    let mut headers = parse_headers(&args.headers)?;
    if let Some(name) = &args.auth_header_name {
        let value = args.auth_header_value.as_deref().unwrap_or_default();
        headers.push(auth_header(name, value)?);
    }
    let settings = DeliverySettings {
        signing,
        resign: args.resign,
        headers,
        header_lines: args.headers.clone(),
        auth_header_name: args.auth_header_name.clone(),
        auth_header_value: args.auth_header_value.clone(),
        url_password: args.url_password.clone(),
        oauth2: oauth2_settings(args)?,
        oauth2_client_secret: args.oauth2_client_secret.clone(),
        retry,
        statuses,
        timeout,
        outage_cooldown,
        concurrency: args.concurrency,
        rate,
        compress: args.compress,
        on_failure: args.on_failure,
        fail_on_rejected: args.fail_on_rejected,
        answers: AnswerRules::default(),
        cacert: args.cacert.clone(),
        client_cert: args.cert.clone(),
        client_key: args.cert_key.clone(),
        insecure: args.insecure,
    };
    settings.check_oauth2(None)?;
    Ok(settings)
}

/// Flags that mean nothing without another one. Checked here, on the parsed values, rather
/// than with clap's `requires`: clap does not count a value the config file gave (a flag's
/// default), so `--auth-header-name` on the command line with `auth_header_value` in
/// `pulse.toml` would be refused.
fn check_companions(args: &DeliveryArgs) -> Result<()> {
    let pairs = [
        (
            args.auth_header_name.is_some(),
            "--auth-header-name",
            args.auth_header_value.is_some(),
            "--auth-header-value",
        ),
        (
            args.oauth2_token_url.is_some(),
            "--oauth2-token-url",
            args.oauth2_client_id.is_some(),
            "--oauth2-client-id",
        ),
        (
            args.oauth2_client_id.is_some(),
            "--oauth2-client-id",
            args.oauth2_token_url.is_some(),
            "--oauth2-token-url",
        ),
        (
            args.oauth2_scope.is_some(),
            "--oauth2-scope",
            args.oauth2_token_url.is_some(),
            "--oauth2-token-url",
        ),
        (
            args.oauth2_audience.is_some(),
            "--oauth2-audience",
            args.oauth2_token_url.is_some(),
            "--oauth2-token-url",
        ),
        (
            args.oauth2_auth_style.is_some(),
            "--oauth2-auth-style",
            args.oauth2_token_url.is_some(),
            "--oauth2-token-url",
        ),
        (
            args.cert_key.is_some(),
            "--cert-key",
            args.cert.is_some(),
            "--cert",
        ),
    ];
    for (given, flag, companion_given, companion) in pairs {
        if given && !companion_given {
            return Err(usage(format!(
                "{flag} needs {companion} (a flag, its PULSE_ variable or the config file)"
            )));
        }
    }
    Ok(())
}

/// `--oauth2-*`: the token endpoint and the client's credentials, when a token URL is given.
fn oauth2_settings(args: &DeliveryArgs) -> Result<Option<OAuth2Settings>> {
    let (Some(url), Some(client_id)) = (&args.oauth2_token_url, &args.oauth2_client_id) else {
        return Ok(None);
    };
    let Some(client_secret) = &args.oauth2_client_secret else {
        return Err(usage(
            "--oauth2-token-url needs the client secret: give it with PULSE_OAUTH2_CLIENT_SECRET \
             (or --oauth2-client-secret)",
        ));
    };
    let token_url = oauth2_token_url(url)?;
    Ok(Some(OAuth2Settings {
        token_url,
        client_id: client_id.clone(),
        client_secret: client_secret.clone(),
        scope: args.oauth2_scope.clone(),
        audience: args.oauth2_audience.clone(),
        client_auth: args.oauth2_auth_style.unwrap_or_default(),
    }))
}

/// A token endpoint's URL: http or https, with no user or password (the client's credentials
/// have flags of their own; a run stores this URL).
fn oauth2_token_url(text: &str) -> Result<reqwest::Url> {
    let shown = crate::redact::shown_url(text);
    let url = reqwest::Url::parse(text.trim())
        .map_err(|e| usage(format!("--oauth2-token-url {shown:?}: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(usage(format!(
            "--oauth2-token-url {shown:?}: must be an http or https URL"
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(usage(format!(
            "--oauth2-token-url {shown:?}: give the client's credentials with --oauth2-client-id \
             and PULSE_OAUTH2_CLIENT_SECRET, not in the URL"
        )));
    }
    Ok(url)
}

/// How this process runs: `--quiet`, `--json` and `--deadline`.
pub fn knobs(quiet: bool, json: bool, deadline: Option<&str>) -> Result<Knobs> {
    let deadline = deadline
        .map(|text| parse_duration(text).map_err(|e| usage(format!("--deadline: {e}"))))
        .transpose()?;
    if deadline.is_some_and(|deadline| deadline.is_zero()) {
        return Err(usage("--deadline must be more than 0"));
    }
    Ok(Knobs {
        quiet,
        json,
        deadline,
    })
}
