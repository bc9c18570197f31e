//! One request to an OAuth2 token endpoint (RFC 6749 section 4.4.2) and what its answer means:
//! a form POST with `grant_type=client_credentials`, the client authenticated by HTTP Basic or in
//! the form, sent with the deliverer's own HTTP client (its TLS settings, timeout, DNS; redirects
//! not followed). Building the request and reading the answer are pure and tested here.

use std::time::Duration;

use base64::Engine;
use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use reqwest::Client;

use super::exchange::network_error_text;

/// How the client authenticates to the token endpoint (`--oauth2-auth-style`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ClientAuth {
    /// HTTP Basic: the id and secret, each form-urlencoded, as user and password
    /// (RFC 6749 section 2.3.1).
    #[default]
    Basic,
    /// `client_id` and `client_secret` in the form body.
    Form,
}

impl ClientAuth {
    /// The name a run keeps it by (the flag's value).
    pub fn name(self) -> &'static str {
        match self {
            ClientAuth::Basic => "basic",
            ClientAuth::Form => "form",
        }
    }

    pub fn from_name(name: &str) -> Option<ClientAuth> {
        match name {
            "basic" => Some(ClientAuth::Basic),
            "form" => Some(ClientAuth::Form),
            _ => None,
        }
    }
}

/// Where and how a deliverer gets its tokens. The client secret is never stored: a run keeps the
/// rest (`plan::OAuth2Plan`), and resume and resend need the secret again.
#[derive(Clone)]
pub struct OAuth2Settings {
    pub token_url: reqwest::Url,
    pub client_id: String,
    pub client_secret: String,
    pub scope: Option<String>,
    pub audience: Option<String>,
    pub client_auth: ClientAuth,
}

/// What is read of a token endpoint's answer: a token answer is small.
const MOST_ANSWER_BYTES: usize = 64 << 10;

/// A token the endpoint issued.
#[derive(Debug, PartialEq)]
pub(super) struct Issued {
    pub access_token: String,
    pub expires_in: Option<Duration>,
}

/// Asks the token endpoint for a token. The error says what went wrong in a few words, after
/// "the OAuth2 token endpoint URL", and may quote the endpoint: the caller redacts it.
pub(super) async fn fetch(client: &Client, settings: &OAuth2Settings) -> Result<Issued, String> {
    let mut request = client
        .post(settings.token_url.clone())
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(ACCEPT, "application/json")
        .body(form(settings));
    if let Some(basic) = basic_header(settings) {
        request = request.header(AUTHORIZATION, basic);
    }
    let mut response = request
        .send()
        .await
        .map_err(|err| format!("could not be reached: {}", network_error_text(&err)))?;
    let status = response.status().as_u16();
    let mut body = Vec::new();
    while body.len() < MOST_ANSWER_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) => break,
            Err(err) => {
                return Err(format!(
                    "answered HTTP {status}, then: {}",
                    network_error_text(&err)
                ))
            }
        }
    }
    read_answer(status, &body)
}

/// `text` as application/x-www-form-urlencoded writes it.
fn form_encoded(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// The form body of a token request.
pub(super) fn form(settings: &OAuth2Settings) -> String {
    let mut pairs = vec![("grant_type", "client_credentials")];
    if let Some(scope) = &settings.scope {
        pairs.push(("scope", scope));
    }
    if let Some(audience) = &settings.audience {
        pairs.push(("audience", audience));
    }
    if settings.client_auth == ClientAuth::Form {
        pairs.push(("client_id", &settings.client_id));
        pairs.push(("client_secret", &settings.client_secret));
    }
    let pairs: Vec<String> = pairs
        .into_iter()
        .map(|(name, value)| format!("{name}={}", form_encoded(value)))
        .collect();
    pairs.join("&")
}

/// The `Authorization: Basic` value of a token request (`--oauth2-auth-style basic`): the id and
/// secret each form-urlencoded first (RFC 6749 section 2.3.1), marked sensitive.
pub(super) fn basic_header(settings: &OAuth2Settings) -> Option<HeaderValue> {
    if settings.client_auth != ClientAuth::Basic {
        return None;
    }
    let pair = format!(
        "{}:{}",
        form_encoded(&settings.client_id),
        form_encoded(&settings.client_secret)
    );
    let token = base64::engine::general_purpose::STANDARD.encode(pair);
    let mut value = HeaderValue::from_str(&format!("Basic {token}")).ok()?;
    value.set_sensitive(true);
    Some(value)
}

/// What a token endpoint's answer (`status`, `body`) means: the token it issued, or why not,
/// in a few words. A refusal names the endpoint's `error` and `error_description`.
pub(super) fn read_answer(status: u16, body: &[u8]) -> Result<Issued, String> {
    let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let field = |name: &str| {
        json.as_ref()
            .and_then(|json| json.get(name))
            .and_then(|value| value.as_str())
            .map(str::to_string)
    };
    if !(200..300).contains(&status) {
        if let Some(error) = field("error") {
            let mut text = format!("refused the client credentials: {}", one_line(&error));
            if let Some(description) = field("error_description") {
                text.push_str(&format!(" ({})", one_line(&description)));
            }
            return Err(text);
        }
        let mut text = format!("answered HTTP {status}");
        if (300..400).contains(&status) {
            text.push_str(" (redirects are not followed)");
        }
        let snippet = one_line(&String::from_utf8_lossy(body));
        if !snippet.is_empty() {
            text.push_str(&format!(": {snippet}"));
        }
        return Err(text);
    }
    let Some(token) = field("access_token").filter(|token| !token.is_empty()) else {
        return Err(format!(
            "answered HTTP {status} without an access_token (a JSON object with one is expected)"
        ));
    };
    if let Some(kind) = field("token_type")
        && !kind.eq_ignore_ascii_case("bearer")
    {
        return Err(format!(
            "issued a token of type {:?}: pulse sends Bearer tokens only",
            one_line(&kind)
        ));
    }
    if HeaderValue::from_str(&format!("Bearer {token}")).is_err() {
        return Err("issued an access_token that cannot go in a header".into());
    }
    let expires_in = json
        .as_ref()
        .and_then(|json| json.get("expires_in"))
        .and_then(|value| match value {
            serde_json::Value::Number(n) => n.as_f64(),
            // Some endpoints send it as a string.
            serde_json::Value::String(s) => s.trim().parse().ok(),
            _ => None,
        })
        .filter(|seconds| seconds.is_finite() && *seconds >= 0.0)
        .map(|seconds| Duration::from_secs_f64(seconds.min(1e9)));
    Ok(Issued {
        access_token: token,
        expires_in,
    })
}

/// At most 200 characters of `text` on one line.
fn one_line(text: &str) -> String {
    let short: String = text.trim().chars().take(200).collect();
    short.replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(client_auth: ClientAuth) -> OAuth2Settings {
        OAuth2Settings {
            token_url: reqwest::Url::parse("https://auth.example/token").unwrap(),
            client_id: "my app".into(),
            client_secret: "s3cr:t+/=".into(),
            scope: Some("events:write read".into()),
            audience: Some("https://api.example/".into()),
            client_auth,
        }
    }

    #[test]
    fn basic_client_auth_encodes_id_and_secret_before_base64() {
        let basic = settings(ClientAuth::Basic);
        assert_eq!(
            form(&basic),
            "grant_type=client_credentials&scope=events%3Awrite+read\
             &audience=https%3A%2F%2Fapi.example%2F"
        );
        let header = basic_header(&basic).unwrap();
        assert!(header.is_sensitive());
        let token = header.to_str().unwrap().strip_prefix("Basic ").unwrap();
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(token)
            .unwrap();
        assert_eq!(decoded, b"my+app:s3cr%3At%2B%2F%3D");
    }

    #[test]
    fn form_client_auth_puts_id_and_secret_in_the_body() {
        let mut form_auth = settings(ClientAuth::Form);
        form_auth.scope = None;
        form_auth.audience = None;
        assert_eq!(basic_header(&form_auth), None);
        assert_eq!(
            form(&form_auth),
            "grant_type=client_credentials&client_id=my+app&client_secret=s3cr%3At%2B%2F%3D"
        );
    }

    #[test]
    fn a_token_answer_gives_the_token_and_its_life() {
        let issued = read_answer(
            200,
            br#"{"access_token":"tok-1","token_type":"bearer","expires_in":1}"#,
        )
        .unwrap();
        assert_eq!(issued.access_token, "tok-1");
        assert_eq!(issued.expires_in, Some(Duration::from_secs(1)));
        let text = read_answer(200, br#"{"access_token":"t","expires_in":"3600"}"#).unwrap();
        assert_eq!(text.expires_in, Some(Duration::from_secs(3600)));
        let lasting = read_answer(200, br#"{"access_token":"t","expires_in":-5}"#).unwrap();
        assert_eq!(lasting.expires_in, None);
    }

    #[test]
    fn a_refusal_says_the_endpoints_error_and_description() {
        let err = read_answer(
            401,
            br#"{"error":"invalid_client","error_description":"Client authentication failed"}"#,
        )
        .unwrap_err();
        assert_eq!(
            err,
            "refused the client credentials: invalid_client (Client authentication failed)"
        );
        let bare = read_answer(400, br#"{"error":"invalid_scope"}"#).unwrap_err();
        assert_eq!(bare, "refused the client credentials: invalid_scope");
        let page = read_answer(502, b"<h1>Bad\ngateway</h1>").unwrap_err();
        assert_eq!(page, "answered HTTP 502: <h1>Bad gateway</h1>");
        let moved = read_answer(302, b"").unwrap_err();
        assert_eq!(moved, "answered HTTP 302 (redirects are not followed)");
    }

    #[test]
    fn answers_without_a_usable_bearer_token_are_errors() {
        for body in [&b"{}"[..], b"not json", br#"{"access_token":""}"#] {
            let err = read_answer(200, body).unwrap_err();
            assert!(err.contains("without an access_token"), "{err}");
        }
        let mac = read_answer(200, br#"{"access_token":"t","token_type":"mac"}"#).unwrap_err();
        assert!(mac.contains("\"mac\""), "{mac}");
        let broken = read_answer(200, b"{\"access_token\":\"a\\nb\"}");
        assert!(broken.is_err());
    }

    #[test]
    fn auth_styles_round_trip_by_name() {
        for style in [ClientAuth::Basic, ClientAuth::Form] {
            assert_eq!(ClientAuth::from_name(style.name()), Some(style));
        }
        assert_eq!(ClientAuth::from_name("digest"), None);
    }
}
