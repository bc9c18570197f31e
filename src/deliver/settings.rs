//! Checked delivery settings, shared by push, resend and resume: how requests are signed,
//! which headers go with them, retries, timeouts and trust. Built from flags by `cli::settings`.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use reqwest::header::{HeaderName, HeaderValue};

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use super::answer::AnswerRules;
use super::compress::BodyCompression;
use super::rate::Rate;
use super::retry::{RetryPolicy, StatusPolicy};
use super::token_endpoint::OAuth2Settings;
use crate::exit::usage;
use crate::redact::{is_credential_header, shown_header_name, Redactor, URL_PASSWORD_MASK};
use crate::sign::{Signing, SigningSecret};

/// What a password is percent-encoded with in a URL's userinfo: all but the unreserved.
const USERINFO: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A header to send with every request; `secret` ones are redacted in the log.
#[derive(Debug, Clone)]
pub struct ExtraHeader {
    pub name: HeaderName,
    pub value: HeaderValue,
    pub secret: bool,
}

/// What a batch that fails for good does to its run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum OnFailure {
    /// Stop the run (its later batches wait for `pulse resume`).
    #[default]
    Stop,
    /// Mark the batch failed and go on; the run ends with exit 4 listing the failed batches.
    Skip,
}

/// Checked settings for sending.
#[derive(Clone)]
pub struct DeliverySettings {
    pub signing: Signing,
    /// `--resign`: a stored run may go with a secret it was not signed with.
    pub resign: bool,
    /// `--header` values plus the auth header (marked secret).
    pub headers: Vec<ExtraHeader>,
    /// `--header` values as given (`Name: value`), stored with a run to be sent again.
    pub header_lines: Vec<String>,
    pub auth_header_name: Option<String>,
    /// `--auth-header-value`, kept for a stored run whose auth header name was stored.
    pub auth_header_value: Option<String>,
    /// `--url-password`: the password of the URL's user, never stored.
    pub url_password: Option<String>,
    /// `--oauth2-*`: a bearer token from a token endpoint in `Authorization` (its client secret
    /// never stored); a stored run's from its plan and the secret given now.
    pub oauth2: Option<OAuth2Settings>,
    /// `--oauth2-client-secret` or `PULSE_OAUTH2_CLIENT_SECRET`, kept for a stored run that
    /// fetched tokens.
    pub oauth2_client_secret: Option<String>,
    pub retry: RetryPolicy,
    /// `--success-on` and `--retry-on`.
    pub statuses: StatusPolicy,
    pub timeout: Duration,
    /// `--outage-cooldown`: how long after a whole schedule failed on a destination commands
    /// only probe it (`run::outage`); zero: never.
    pub outage_cooldown: Duration,
    /// Most batches in flight at once (1: strictly in order), or `auto`'s limit.
    pub concurrency: Concurrency,
    /// `--rate`: most requests per period, retries included.
    pub rate: Option<Rate>,
    pub compress: Option<BodyCompression>,
    pub on_failure: OnFailure,
    /// `--fail-on-rejected`: rows a receiver refused make the command's exit 5.
    pub fail_on_rejected: bool,
    /// `--success-if` and `--rejected-rows`, compiled: a push's from its flags, a stored run's
    /// from its plan (`run::signing`).
    pub answers: AnswerRules,
    pub cacert: Option<PathBuf>,
    /// `--cert` and `--cert-key`: a client certificate (PEM) for mutual TLS.
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    pub insecure: bool,
}

/// `--concurrency`: a fixed number of batches in flight, or `auto` (`adaptive.rs`) between 1
/// and MAX.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Concurrency {
    Fixed(usize),
    Auto { max: usize },
}

impl Default for Concurrency {
    fn default() -> Concurrency {
        Concurrency::Fixed(1)
    }
}

impl Concurrency {
    /// Most requests in flight either form allows: memory holds a body per request.
    pub const MOST: usize = 256;

    /// `N`, `auto` or `auto:MAX`, each from 1 to `MOST`.
    pub fn parse(text: &str) -> Result<Concurrency, String> {
        let text = text.trim();
        let number = |digits: &str, what: &str| match digits.trim().parse::<usize>() {
            Ok(n @ 1..=Concurrency::MOST) => Ok(n),
            _ => Err(format!(
                "{what} must be a number from 1 to {}, in {text:?} (N, auto or auto:MAX)",
                Concurrency::MOST
            )),
        };
        match text.strip_prefix("auto") {
            Some("") => Ok(Concurrency::Auto {
                max: super::adaptive::DEFAULT_MAX,
            }),
            Some(rest) => match rest.strip_prefix(':') {
                Some(max) => Ok(Concurrency::Auto {
                    max: number(max, "MAX")?,
                }),
                None => Err(format!("{text:?} is not N, auto or auto:MAX")),
            },
            None => Ok(Concurrency::Fixed(number(text, "N")?)),
        }
    }

    /// The most batches ever in flight at once.
    pub fn most(&self) -> usize {
        match *self {
            Concurrency::Fixed(n) => n,
            Concurrency::Auto { max } => max,
        }
    }
}

impl std::fmt::Display for Concurrency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Concurrency::Fixed(n) => write!(f, "{n}"),
            Concurrency::Auto { max } => write!(f, "auto:{max}"),
        }
    }
}

impl DeliverySettings {
    /// Adds the auth header of a stored run, its value given again (values are never stored).
    /// A missing value is an error, not an unauthenticated request.
    pub fn with_stored_auth_header(&mut self, stored_name: Option<&str>) -> Result<()> {
        if self.auth_header_name.is_some() {
            return Ok(());
        }
        if let Some(name) = stored_name {
            let value = self.auth_header_value.as_deref().ok_or_else(|| {
                usage(format!(
                    "this run sent the auth header {name:?}: give its value with --auth-header-value or PULSE_AUTH_HEADER_VALUE"
                ))
            })?;
            let header = auth_header(name, value)?;
            self.headers.push(header);
            self.auth_header_name = Some(name.to_string());
        }
        Ok(())
    }

    /// Adds a stored run's `--header` lines, unless headers were given now. A run that sent
    /// credential headers (`credentials`, their names: values are never stored) needs its
    /// `--header` flags given again.
    pub fn with_stored_headers(
        &mut self,
        run_id: &str,
        lines: &[String],
        credentials: &[String],
    ) -> Result<()> {
        if !self.header_lines.is_empty() {
            return Ok(());
        }
        if !credentials.is_empty() {
            return Err(usage(format!(
                "{run_id} sent the credential header(s) {}, whose values are never stored: give \
                 the run's --header flags again",
                credentials.join(", ")
            )));
        }
        self.headers.extend(parse_headers(lines)?);
        Ok(())
    }

    /// `--header` lines whose values may be stored, and the names of those that carry a
    /// credential (stored by name only).
    pub fn storable_headers(&self) -> (Vec<String>, Vec<String>) {
        let mut plain = Vec::new();
        let mut credentials = Vec::new();
        for line in &self.header_lines {
            let name = line
                .split_once(':')
                .map_or(line.as_str(), |(name, _)| name)
                .trim();
            if is_credential_header(name) {
                credentials.push(name.to_string());
            } else {
                plain.push(line.clone());
            }
        }
        (plain, credentials)
    }

    /// `url` with the password given by `--url-password`, if any: for a push, instead of one
    /// written in the URL.
    pub fn url_with_password(&self, mut url: reqwest::Url) -> Result<reqwest::Url> {
        if let Some(password) = &self.url_password {
            if url.username().is_empty() {
                return Err(usage(
                    "--url-password needs a user in the URL (https://user@host/...)",
                ));
            }
            // Taken as written: a `%` in it is a `%`, not the start of an escape.
            let encoded = utf8_percent_encode(password, USERINFO).to_string();
            url.set_password(Some(&encoded))
                .map_err(|()| usage("--url-password cannot be set on this URL"))?;
        }
        Ok(url)
    }

    /// A stored run's URL made whole again: its password, masked in the log, given again by
    /// `--url-password`.
    pub fn stored_url(&self, run_id: &str, stored: &str) -> Result<reqwest::Url> {
        let url = reqwest::Url::parse(stored)
            .map_err(|e| anyhow::anyhow!("{run_id}: stored URL {stored:?} is damaged ({e})"))?;
        if url.password() != Some(URL_PASSWORD_MASK) {
            return Ok(url);
        }
        if self.url_password.is_none() {
            return Err(usage(format!(
                "{run_id} was pushed to a URL with a password, which is never stored: give it \
                 with --url-password or PULSE_URL_PASSWORD"
            )));
        }
        self.url_with_password(url)
    }

    /// Refuses a second source of `Authorization` beside OAuth2's bearer token: the auth header
    /// (`--auth-header-name`, or a stored run's), a credential `--header Authorization`, or a
    /// user in the URL (sent as Basic; checked once the URL is known).
    pub fn check_oauth2(&self, url: Option<&reqwest::Url>) -> Result<()> {
        if self.oauth2.is_none() {
            return Ok(());
        }
        let clash = if self.auth_header_name.is_some() {
            Some("--auth-header-name/--auth-header-value")
        } else if self
            .headers
            .iter()
            .any(|h| h.name == reqwest::header::AUTHORIZATION)
        {
            Some("--header Authorization")
        } else if url.is_some_and(|url| !url.username().is_empty()) {
            Some("a user in the URL")
        } else {
            None
        };
        match clash {
            Some(other) => Err(usage(format!(
                "--oauth2-token-url sends a bearer token in Authorization: it cannot be given                  with {other}"
            ))),
            None => Ok(()),
        }
    }

    /// Every credential these settings send, to redact wherever a receiver echoes one back:
    /// the credential headers' values, the URL's user and password, the signing secrets, the
    /// OAuth2 client secret (the tokens are added as they come), and the credentials of the
    /// proxies the HTTP client takes from the environment.
    pub fn redactor(&self, url: &reqwest::Url, secrets: &[SigningSecret]) -> Redactor {
        let mut redactor = Redactor::default();
        if let Some(oauth2) = &self.oauth2 {
            redactor.add(&oauth2.client_secret);
            if let Some(basic) = super::token_endpoint::basic_header(oauth2) {
                redactor.add_header_value(basic.to_str().unwrap_or_default());
            }
        }
        for header in self.headers.iter().filter(|h| h.secret) {
            if let Ok(value) = header.value.to_str() {
                redactor.add_header_value(value);
            }
        }
        if let Some(password) = url.password() {
            redactor.add_userinfo(url.username(), Some(password), false);
        }
        for secret in secrets {
            for text in secret.texts() {
                redactor.add(&text);
            }
        }
        redactor.add_proxies(|name| std::env::var(name).ok());
        redactor
    }
}

/// Headers pulse sets itself: the signature's, and those that frame the body. Given with
/// `--header` they would replace the signature or the body's framing, or make a deduplicating
/// receiver drop batches under one id.
const RESERVED: [&str; 8] = [
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "content-type",
    "content-encoding",
    "content-length",
    "transfer-encoding",
    "host",
];

/// Refuses a header pulse owns, naming the flag that gave it.
fn not_reserved(name: HeaderName, flag: &str) -> Result<HeaderName> {
    if RESERVED.contains(&name.as_str()) {
        return Err(usage(format!(
            "{flag} {:?}: pulse sets this header itself; it cannot be given",
            name.as_str()
        )));
    }
    Ok(name)
}

/// The auth header, its value marked sensitive.
pub fn auth_header(name: &str, value: &str) -> Result<ExtraHeader> {
    let name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| {
        usage(format!(
            "--auth-header-name {:?} is not a header name",
            shown_header_name(name)
        ))
    })?;
    let name = not_reserved(name, "--auth-header-name")?;
    let mut value = HeaderValue::from_str(value.trim())
        .map_err(|_| usage("--auth-header-value is not a valid header value"))?;
    value.set_sensitive(true);
    Ok(ExtraHeader {
        name,
        value,
        secret: true,
    })
}

/// `Name: value` pairs; values may contain `:`. A malformed one is never echoed whole: it may
/// hold a credential (`--header "Authorization Bearer TOKEN"`), and errors land in CI logs.
pub fn parse_headers(items: &[String]) -> Result<Vec<ExtraHeader>> {
    items
        .iter()
        .map(|item| {
            let (name, value) = item.split_once(':').ok_or_else(|| {
                usage(
                    "--header must look like 'Name: value': one has no ':' (not shown, as it may \
                     hold a credential)",
                )
            })?;
            let name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| {
                usage(format!(
                    "--header {:?}: invalid header name (the rest of it is not shown)",
                    shown_header_name(name)
                ))
            })?;
            let name = not_reserved(name, "--header")?;
            let value = HeaderValue::from_str(value.trim()).map_err(|_| {
                usage(format!(
                    "--header {:?}: invalid header value",
                    name.as_str()
                ))
            })?;
            let secret = is_credential_header(name.as_str());
            let mut value = value;
            value.set_sensitive(secret);
            Ok(ExtraHeader {
                name,
                value,
                secret,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrency_is_a_number_auto_or_auto_with_a_max() {
        assert_eq!(Concurrency::parse("1"), Ok(Concurrency::Fixed(1)));
        assert_eq!(Concurrency::parse("256"), Ok(Concurrency::Fixed(256)));
        assert_eq!(
            Concurrency::parse("auto"),
            Ok(Concurrency::Auto { max: 64 })
        );
        assert_eq!(
            Concurrency::parse("auto:8"),
            Ok(Concurrency::Auto { max: 8 })
        );
        for bad in [
            "0", "257", "-1", "x", "auto:0", "auto:x", "auto:", "auto8", "auto:300", "",
        ] {
            assert!(Concurrency::parse(bad).is_err(), "{bad}");
        }
        assert!(Concurrency::parse("auto:0").unwrap_err().contains("MAX"));
        for text in ["7", "auto:64", "auto:3"] {
            let parsed = Concurrency::parse(text).unwrap();
            assert_eq!(Concurrency::parse(&parsed.to_string()), Ok(parsed));
        }
    }

    #[test]
    fn header_values_may_hold_colons() {
        let h = parse_headers(&["X-Time: 12:30:00".into()]).unwrap();
        assert_eq!(h[0].value, "12:30:00");
        assert!(parse_headers(&["NoColon".into()]).is_err());
    }

    #[test]
    fn headers_pulse_sets_itself_are_refused_in_any_case() {
        for name in RESERVED {
            for given in [name.to_string(), name.to_ascii_uppercase()] {
                let err = parse_headers(&[format!("{given}: x")])
                    .unwrap_err()
                    .to_string();
                assert!(err.contains(name) && err.contains("--header"), "{err}");
                assert!(auth_header(&given, "v").is_err());
            }
        }
        assert!(parse_headers(&["X-Webhook-Id: ok".into()]).is_ok());
    }
}
