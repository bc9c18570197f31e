//! What pulse prints and stores in place of a credential: URL passwords, the values of
//! credential headers, and any credential a receiver echoes back, in whatever form it echoes
//! it (raw, percent-encoded or decoded, JSON- or HTML-escaped, inside a Basic token).

use std::borrow::Cow;
use std::sync::OnceLock;

use base64::Engine;
use percent_encoding::percent_decode_str;

/// What stands in for a credential.
pub const REDACTED: &str = "[redacted]";

/// The placeholder a stored URL has for its password.
pub const URL_PASSWORD_MASK: &str = "***";

/// The environment variables a proxy (and its credentials) is taken from, as the HTTP client
/// reads them.
pub const PROXY_VARIABLES: [&str; 6] = [
    "ALL_PROXY",
    "all_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
];

/// A URL as pulse prints and stores it: a password in it is masked, since nothing secret is
/// printed or stored. Text that is no URL with a host (a mistyped `--url`) is masked as text:
/// whatever stands between the first `:` after the scheme and the last `@`.
pub fn shown_url(text: &str) -> String {
    match reqwest::Url::parse(text) {
        Ok(mut url) if url.has_host() && url.password().is_some() => {
            let _ = url.set_password(Some(URL_PASSWORD_MASK));
            url.to_string()
        }
        Ok(url) if url.has_host() => text.to_string(),
        _ => masked_as_text(text),
    }
}

/// A URL as the log keeps an input's (`pulse push https://...`): its password masked as
/// `shown_url` does, and the values of query parameters that carry credentials too (a
/// presigned URL's `X-Amz-Signature`, `token=`, `sig=`, `key=`, ...).
pub fn shown_input_url(text: &str) -> String {
    let shown = shown_url(text);
    let Ok(mut url) = reqwest::Url::parse(&shown) else {
        return shown;
    };
    let credential = |name: &str| {
        let name = name.to_ascii_lowercase();
        name.starts_with("x-amz-") && !matches!(name.as_str(), "x-amz-date" | "x-amz-expires")
            || [
                "token",
                "sig",
                "signature",
                "key",
                "apikey",
                "secret",
                "password",
                "auth",
            ]
            .iter()
            .any(|word| {
                name == *word
                    || name.ends_with(&format!("_{word}"))
                    || name.ends_with(&format!("-{word}"))
            })
    };
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect();
    if !pairs.iter().any(|(name, _)| credential(name)) {
        return shown;
    }
    url.query_pairs_mut()
        .clear()
        .extend_pairs(pairs.iter().map(|(name, value)| {
            let value = if credential(name) {
                URL_PASSWORD_MASK
            } else {
                value.as_str()
            };
            (name.as_str(), value)
        }));
    url.to_string()
}

/// `scheme://user:password@rest` (or `user:password@rest`) with the password masked, for text
/// no URL parser takes.
fn masked_as_text(text: &str) -> String {
    let start = text.find("://").map_or(0, |at| at + 3);
    let Some(at) = text[start..].rfind('@').map(|at| start + at) else {
        return text.to_string();
    };
    match text[start..at].find(':') {
        Some(colon) => format!(
            "{}{URL_PASSWORD_MASK}{}",
            &text[..start + colon + 1],
            &text[at..]
        ),
        None => text.to_string(),
    }
}

/// A header name as an error message may show it: the name pulse was given may be a
/// credential by mistake (`--header "Authorization Bearer TOKEN"`), so only what reads as a
/// name (up to the first character a header name cannot hold) is shown, then `…`.
pub fn shown_header_name(name: &str) -> String {
    let name = name.trim();
    let valid = name
        .find(|c: char| !(c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)))
        .unwrap_or(name.len());
    match (&name[..valid], valid == name.len()) {
        (whole, true) => whole.to_string(),
        ("", false) => "<redacted>".to_string(),
        (start, false) => format!("{start}…"),
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
/// that they are neither stored nor printed. Each credential is found in any of the forms it
/// takes on the wire or in an echo: every character may be written as itself, percent-encoded
/// (either case), JSON-escaped (`\"`, `\\`, `\/`, `\u0041`), HTML-escaped, or `+` for a space.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    needles: Vec<String>,
    /// The needles as one pattern, made on first use.
    pattern: OnceLock<Option<regex::Regex>>,
}

impl Redactor {
    /// Shorter strings are not searched for: they would redact ordinary words.
    const SHORTEST: usize = 4;

    /// A credential, as sent.
    pub fn add(&mut self, credential: &str) {
        let credential = credential.trim();
        if credential.chars().count() >= Redactor::SHORTEST
            && !self.needles.iter().any(|n| n == credential)
        {
            self.needles.push(credential.to_string());
            // Longest first, so that a credential containing another is replaced whole.
            self.needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
            self.pattern = OnceLock::new();
        }
    }

    /// The value of a credential header: whole, its token after the scheme (`Bearer <token>`),
    /// the user and password inside a Basic token, and a cookie's values.
    pub fn add_header_value(&mut self, value: &str) {
        self.add(value);
        if let Some((scheme, token)) = value.trim().split_once(' ') {
            self.add(token);
            let decoded = base64::engine::general_purpose::STANDARD.decode(token.trim());
            if let (true, Ok(decoded)) = (scheme.eq_ignore_ascii_case("basic"), decoded) {
                let decoded = String::from_utf8_lossy(&decoded).into_owned();
                self.add(&decoded);
                if let Some((_, password)) = decoded.split_once(':') {
                    self.add(password);
                }
            }
        }
        for pair in value.split(';') {
            if let Some((_, cookie)) = pair.split_once('=') {
                self.add(cookie);
            }
        }
    }

    /// The user and password of a URL as written in it (percent-encoded): the password as
    /// written and decoded, and the Basic token of every `user:password` form (what the HTTP
    /// client sends is the decoded one). Without a password, `user_is_secret` says whether the
    /// user alone is a credential (a proxy's may be a token).
    pub fn add_userinfo(&mut self, user: &str, password: Option<&str>, user_is_secret: bool) {
        let decode = |text: &str| percent_decode_str(text).decode_utf8_lossy().into_owned();
        let users = [user.to_string(), decode(user)];
        let passwords = match password {
            Some(password) => [password.to_string(), decode(password)],
            None if user_is_secret => {
                users.iter().for_each(|user| self.add(user));
                [String::new(), String::new()]
            }
            None => return,
        };
        for password in &passwords {
            self.add(password);
            for user in &users {
                let pair = format!("{user}:{password}");
                use base64::engine::general_purpose::{
                    STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD,
                };
                for engine in [STANDARD, URL_SAFE] {
                    self.add(&engine.encode(&pair));
                }
                // Unpadded too, as some write it.
                for engine in [STANDARD_NO_PAD, URL_SAFE_NO_PAD] {
                    self.add(&engine.encode(&pair));
                }
            }
        }
    }

    /// The credentials of every proxy the environment names (`lookup` reads a variable):
    /// the HTTP client sends them in `Proxy-Authorization`.
    pub fn add_proxies(&mut self, lookup: impl Fn(&str) -> Option<String>) {
        for name in PROXY_VARIABLES {
            let Some(proxy) = lookup(name) else { continue };
            let start = proxy.find("://").map_or(0, |at| at + 3);
            let authority = proxy[start..].split(['/', '?', '#']).next().unwrap_or("");
            if let Some((userinfo, _)) = authority.rsplit_once('@') {
                match userinfo.split_once(':') {
                    Some((user, password)) => self.add_userinfo(user, Some(password), true),
                    None => self.add_userinfo(userinfo, None, true),
                }
            }
        }
    }

    pub fn redact<'t>(&self, text: &'t str) -> Cow<'t, str> {
        if let Some(pattern) = self.pattern() {
            return pattern.replace_all(text, regex::NoExpand(REDACTED));
        }
        // No pattern (none needed, or too large to build): each credential as sent.
        let mut text = Cow::Borrowed(text);
        for needle in &self.needles {
            if text.contains(needle.as_str()) {
                text = Cow::Owned(text.replace(needle.as_str(), REDACTED));
            }
        }
        text
    }

    /// At most the first `limit` bytes of `text`, redacted, with no credential cut in two at
    /// the end: a credential that starts before `limit` is taken whole (and redacted). `text`
    /// should run on past `limit` by the longest credential's length.
    pub fn redact_prefix(&self, text: &str, limit: usize) -> String {
        let mut cut = floor_char_boundary(text, limit);
        if let Some(pattern) = self.pattern()
            && let Some(found) = pattern
                .find_iter(text)
                .find(|found| found.start() < cut && found.end() > cut)
        {
            cut = found.end();
        }
        self.redact(&text[..cut]).into_owned()
    }

    fn pattern(&self) -> Option<&regex::Regex> {
        self.pattern
            .get_or_init(|| {
                let alternatives: Vec<String> = self.needles.iter().map(|n| any_form(n)).collect();
                if alternatives.is_empty() {
                    return None;
                }
                // The needles are escaped: a failure is a size limit (`redact` then looks for
                // each credential as sent).
                regex::RegexBuilder::new(&alternatives.join("|"))
                    .size_limit(64 << 20)
                    .build()
                    .ok()
            })
            .as_ref()
    }
}

/// The largest char boundary of `text` at or below `at`.
fn floor_char_boundary(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// A pattern matching `needle` with each character in any of the forms of an echo.
fn any_form(needle: &str) -> String {
    let mut pattern = String::from("(?:");
    for c in needle.chars() {
        pattern.push_str("(?:");
        pattern.push_str(&regex::escape(c.encode_utf8(&mut [0; 4])));
        let mut utf8 = [0; 4];
        pattern.push('|');
        for byte in c.encode_utf8(&mut utf8).bytes() {
            pattern.push('%');
            pattern.push_str(&hex_pattern(u32::from(byte), 2));
        }
        let mut utf16 = [0; 2];
        pattern.push('|');
        for unit in c.encode_utf16(&mut utf16) {
            pattern.push_str(r"\\u");
            pattern.push_str(&hex_pattern(u32::from(*unit), 4));
        }
        for escaped in escapes(c) {
            pattern.push('|');
            pattern.push_str(&regex::escape(escaped));
        }
        pattern.push(')');
    }
    pattern.push(')');
    pattern
}

/// `value` in `digits` hex digits, either case.
fn hex_pattern(value: u32, digits: usize) -> String {
    format!("{value:0digits$x}")
        .chars()
        .map(|d| match d {
            'a'..='f' => format!("[{d}{}]", d.to_ascii_uppercase()),
            d => d.to_string(),
        })
        .collect()
}

/// The short escapes of a character: JSON's (once, and once more for JSON inside a JSON
/// string), HTML's, and a form's `+` for a space.
fn escapes(c: char) -> &'static [&'static str] {
    match c {
        '"' => &[r#"\""#, r#"\\\""#, "&quot;", "&#34;", "&#x22;"],
        '\\' => &[r"\\", r"\\\\", "&#92;", "&#x5c;", "&#x5C;"],
        '/' => &[r"\/", "&#47;", "&#x2f;", "&#x2F;"],
        '&' => &["&amp;", "&#38;", "&#x26;"],
        '<' => &["&lt;", "&#60;", "&#x3c;", "&#x3C;"],
        '>' => &["&gt;", "&#62;", "&#x3e;", "&#x3E;"],
        '\'' => &["&#39;", "&#x27;", "&apos;"],
        ' ' => &["+"],
        _ => &[],
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn an_input_urls_credential_parameters_are_masked() {
        assert_eq!(
            shown_input_url("https://u:pw@h.example/e.csv?X-Amz-Signature=abc&X-Amz-Date=20261205&page=2&access_token=t"),
            "https://u:***@h.example/e.csv?X-Amz-Signature=***&X-Amz-Date=20261205&page=2&access_token=***"
        );
        assert_eq!(
            shown_input_url("https://h.example/e.csv?page=2"),
            "https://h.example/e.csv?page=2"
        );
    }

    use super::*;

    #[test]
    fn passwords_in_urls_are_masked() {
        assert_eq!(
            shown_url("https://user:pw@example.com/hook"),
            "https://user:***@example.com/hook"
        );
        assert_eq!(shown_url("http://127.0.0.1:8/h"), "http://127.0.0.1:8/h");
        assert_eq!(shown_url("http://bob@h/x"), "http://bob@h/x");
    }

    #[test]
    fn passwords_in_what_is_no_url_are_masked_as_text() {
        for (given, shown) in [
            ("http://carol:PW@[::1", "http://carol:***@[::1"),
            ("carol:PW@example.com", "carol:***@example.com"),
            ("http://u:pa/ss@h/x", "http://u:***@h/x"),
            ("http://u:p@w@[h", "http://u:***@[h"),
            ("not a url", "not a url"),
            ("http://bob@[::1", "http://bob@[::1"),
        ] {
            assert_eq!(shown_url(given), shown, "{given}");
        }
    }

    #[test]
    fn header_names_in_messages_stop_where_a_name_cannot_go_on() {
        assert_eq!(shown_header_name("X-Api-Key"), "X-Api-Key");
        assert_eq!(
            shown_header_name("Authorization Bearer TOK"),
            "Authorization…"
        );
        assert_eq!(shown_header_name(" TOK"), "TOK");
        assert_eq!(shown_header_name("\"TOK"), "<redacted>");
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
        assert!(matches!(redactor.redact("nothing"), Cow::Borrowed(_)));
        assert_eq!(Redactor::default().redact("tok-123"), "tok-123");
    }

    #[test]
    fn a_credential_is_found_in_every_form_an_echo_gives_it() {
        let mut redactor = Redactor::default();
        redactor.add_header_value(r#"Bearer QQ"RR\SS/TT é"#);
        for echoed in [
            r#"QQ"RR\SS/TT é"#,
            r#"QQ\"RR\\SS\/TT \u00e9"#,
            r#"QQ\\\"RR\\\\SS/TT é"#,
            "QQ%22RR%5cSS%2FTT+%C3%A9",
            r#"\u0051\u0051\u0022RR\u005CSS/TT%20\u00E9"#,
            "QQ&quot;RR&#92;SS&#x2F;TT é",
        ] {
            let shown = redactor.redact(echoed);
            assert_eq!(shown, REDACTED, "{echoed}");
        }
        assert_eq!(redactor.redact("qq\"rr\\ss/tt é"), "qq\"rr\\ss/tt é");
    }

    #[test]
    fn url_credentials_are_found_decoded_encoded_and_in_basic_tokens() {
        let mut redactor = Redactor::default();
        redactor.add_userinfo("al%69ce", Some("P%40ss%3Aw0rd"), false);
        let b64 = |text: &str| base64::engine::general_purpose::STANDARD.encode(text);
        for echoed in [
            "P@ss:w0rd".to_string(),
            "P%40ss%3Aw0rd".to_string(),
            "P%40ss%3aw0rd".to_string(),
            b64("alice:P@ss:w0rd"),
            b64("al%69ce:P%40ss%3Aw0rd"),
            b64("alice:P%40ss%3Aw0rd"),
        ] {
            let shown = redactor.redact(&echoed);
            assert!(shown.starts_with(REDACTED), "{echoed}: {shown}");
            assert!(shown
                .trim_start_matches(REDACTED)
                .trim_matches('=')
                .is_empty());
        }
        assert_eq!(redactor.redact("alice"), "alice", "a user is no credential");
        let mut basic = Redactor::default();
        basic.add_header_value(&format!("Basic {}", b64("bob:hunter2")));
        assert_eq!(
            basic.redact("password hunter2 for bob"),
            "password [redacted] for bob"
        );
    }

    #[test]
    fn proxy_credentials_come_from_every_proxy_variable() {
        let b64 = |text: &str| base64::engine::general_purpose::STANDARD.encode(text);
        for name in PROXY_VARIABLES {
            let mut redactor = Redactor::default();
            redactor.add_proxies(|asked| {
                (asked == name).then(|| "http://pu:px%2Fpass@127.0.0.1:3128".to_string())
            });
            let echoed = format!("x px/pass {} px%2Fpass y", b64("pu:px/pass"));
            let shown = redactor.redact(&echoed);
            assert!(!shown.contains("pass"), "{name}: {shown}");
        }
        let mut user_only = Redactor::default();
        user_only.add_proxies(|asked| (asked == "https_proxy").then(|| "tok3n@proxy:8".into()));
        assert_eq!(
            user_only.redact(&format!("tok3n {}", b64("tok3n:"))),
            "[redacted] [redacted]"
        );
    }

    #[test]
    fn a_prefix_never_ends_in_half_a_credential() {
        let mut redactor = Redactor::default();
        redactor.add("secret-token");
        let text = "0123456789 secret-token and more";
        assert_eq!(redactor.redact_prefix(text, 15), "0123456789 [redacted]");
        assert_eq!(redactor.redact_prefix(text, 8), "01234567");
        assert_eq!(redactor.redact_prefix("ééé", 3), "é");
    }
}
