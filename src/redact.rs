//! What pulse prints and stores in place of a credential: URL passwords, the values of
//! credential headers, and any credential a receiver echoes back.

use std::borrow::Cow;

/// What stands in for a credential.
pub const REDACTED: &str = "[redacted]";

/// The placeholder a stored URL has for its password.
pub const URL_PASSWORD_MASK: &str = "***";

/// A URL as pulse prints and stores it: a password in it is masked, since nothing secret is
/// printed or stored.
pub fn shown_url(text: &str) -> String {
    match reqwest::Url::parse(text) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some(URL_PASSWORD_MASK));
            url.to_string()
        }
        _ => text.to_string(),
    }
}

/// Whether a header's value is a credential by its name: `Authorization`,
/// `Proxy-Authorization`, `Cookie`, and names ending in `-key`, `-token`, `-secret` or
/// `-password` (`X-Api-Key`, `X-Auth-Token`, ...).
pub fn is_credential_header(name: &str) -> bool {
    let name = name.trim().to_ascii_lowercase();
    matches!(
        name.as_str(),
        "authorization" | "proxy-authorization" | "cookie"
    ) || ["-key", "-token", "-secret", "-password"]
        .iter()
        .any(|end| name.ends_with(end))
}

/// Replaces known credentials in text a receiver sent back (it may echo request headers), so
/// that they are neither stored nor printed.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    needles: Vec<String>,
}

impl Redactor {
    /// Shorter strings are not searched for: they would redact ordinary words.
    const SHORTEST: usize = 4;

    pub fn add(&mut self, credential: &str) {
        let credential = credential.trim();
        if credential.len() >= Redactor::SHORTEST && !self.needles.iter().any(|n| n == credential) {
            self.needles.push(credential.to_string());
            // Longest first, so that a credential containing another is replaced whole.
            self.needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
        }
    }

    pub fn redact<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let mut text = Cow::Borrowed(text);
        for needle in &self.needles {
            if text.contains(needle.as_str()) {
                text = Cow::Owned(text.replace(needle.as_str(), REDACTED));
            }
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_in_urls_are_masked() {
        assert_eq!(
            shown_url("https://user:pw@example.com/hook"),
            "https://user:***@example.com/hook"
        );
        assert_eq!(shown_url("http://127.0.0.1:8/h"), "http://127.0.0.1:8/h");
    }

    #[test]
    fn credential_headers_are_known_by_name() {
        for name in [
            "Authorization",
            "proxy-authorization",
            "Cookie",
            "X-Api-Key",
            "x-auth-token",
            "Client-Secret",
        ] {
            assert!(is_credential_header(name), "{name}");
        }
        for name in ["X-Request-Id", "Accept", "X-Keyboard", "Token-Type"] {
            assert!(!is_credential_header(name), "{name}");
        }
    }

    #[test]
    fn echoed_credentials_are_replaced_longest_first() {
        let mut redactor = Redactor::default();
        redactor.add("abc");
        redactor.add("tok-123");
        redactor.add("Bearer tok-123");
        let echoed = r#"{"Authorization":"Bearer tok-123","X":"tok-123","y":"abc"}"#;
        assert_eq!(
            redactor.redact(echoed),
            r#"{"Authorization":"[redacted]","X":"[redacted]","y":"abc"}"#
        );
    }
}
