//! String formats `email`, `uri` and `uuid`, checked the way frictionless-py's helpers do.
//!
//! frictionless delegates to python-validators (`email`, `uuid`) and rfc3986 (`uri`); the
//! rules below are those libraries' rules, not the RFCs', so the same cells are refused.

use std::sync::OnceLock;

use regex::Regex;

/// python-validators `email()` with its defaults: one `@`, a dot-atom or quoted local part of
/// at most 64 characters, and a domain name (no IP literal, no bare host) of at most 253.
pub fn is_email(value: &str) -> bool {
    static LOCAL: OnceLock<Regex> = OnceLock::new();
    static DOMAIN: OnceLock<Regex> = OnceLock::new();
    // Exactly one `@`.
    let Some(at) = memchr::memchr(b'@', value.as_bytes()) else {
        return false;
    };
    if memchr::memchr(b'@', &value.as_bytes()[at + 1..]).is_some() {
        return false;
    }
    let (local, domain) = (&value[..at], &value[at + 1..]);
    if (local.len() > 64 && local.chars().count() > 64)
        || (domain.len() > 253 && domain.chars().count() > 253)
    {
        return false;
    }
    // Python's `$` also matches before a final newline, hence `\n?\z`.
    let local_re = LOCAL.get_or_init(|| {
        let ext = r"\x{0100}-\x{017F}\x{0180}-\x{024F}\x{00A0}-\x{00FF}";
        Regex::new(&format!(
            r#"(?i)\A(?:[{ext}]|[{ext}0-9a-z!#$%&'*+/=?^_`{{}}|~\-]+(?:\.[{ext}0-9a-z!#$%&'*+/=?^_`{{}}|~\-]+)*\n?\z|"(?:[{ext}\x01-\x08\x0B\x0C\x0E-\x1F!#-\[\]-\x7F]|\\[\x09.])*")\n?\z"#
        ))
        .expect("email local-part pattern is valid")
    });
    // Most addresses are plain dot-atoms at plain host names: decided without the regexes,
    // which stay the reference for everything else.
    (is_plain_dot_atom(local) || local_re.is_match(local))
        && is_domain(domain, DOMAIN.get_or_init(domain_regex))
}

/// A local part the pattern certainly accepts: ASCII atoms of the allowed characters joined by
/// single dots.
fn is_plain_dot_atom(local: &str) -> bool {
    const ALLOWED: &[u8] = b"!#$%&'*+/=?^_`{|}~-";
    // Split as bytes: `.` is ASCII, and byte slices split without a string searcher.
    !local.is_empty()
        && local.as_bytes().split(|&b| b == b'.').all(|atom| {
            !atom.is_empty()
                && atom
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || ALLOWED.contains(b))
        })
}

/// A domain the pattern certainly accepts: two or more labels of letters, digits and inner
/// hyphens, at most 63 long, the last one 2+ long and ending in a letter.
fn is_plain_domain(domain: &str) -> bool {
    let label_ok = |b: &[u8]| {
        (1..=63).contains(&b.len())
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
    };
    // One pass over the labels, no list of them: this runs for every e-mail cell.
    let mut labels = 0;
    let mut last: &[u8] = b"";
    for label in domain.as_bytes().split(|&b| b == b'.') {
        if !label_ok(label) {
            return false;
        }
        labels += 1;
        last = label;
    }
    labels >= 2 && last.len() >= 2 && last[last.len() - 1].is_ascii_alphabetic()
}

fn domain_regex() -> Regex {
    Regex::new(
        r"(?i)\A(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9][a-z0-9-]{0,61}[a-z]\n?\z",
    )
    .expect("domain pattern is valid")
}

/// python-validators `domain()`: internationalized names are IDNA-encoded there; pulse
/// only accepts ASCII names (a deliberate, documented narrowing).
fn is_domain(domain: &str, pattern: &Regex) -> bool {
    if domain.is_empty() || !domain.is_ascii() || domain.trim_end_matches('.').len() > 253 {
        return false;
    }
    // ASCII by now: a byte at a time.
    if domain.bytes().any(|b| char::from(b).is_whitespace()) || domain.contains("__") {
        return false;
    }
    is_plain_domain(domain) || pattern.is_match(domain)
}

/// rfc3986 `uri_reference()` + a validator requiring a scheme: the only test is that the text
/// starts with `scheme:` where scheme is `[A-Za-z][A-Za-z0-9+.-]*`.
pub fn is_uri(value: &str) -> bool {
    let bytes = value.as_bytes();
    if !bytes.first().is_some_and(u8::is_ascii_alphabetic) {
        return false;
    }
    for &b in &bytes[1..] {
        match b {
            b':' => return true,
            b'+' | b'.' | b'-' => {}
            _ if b.is_ascii_alphanumeric() => {}
            _ => return false,
        }
    }
    false
}

/// python-validators `uuid()`, i.e. Python's `UUID(text)`: `urn:` and `uuid:` are removed,
/// braces stripped from the ends, dashes removed anywhere, and 32 hex digits must remain.
pub fn is_uuid(value: &str) -> bool {
    if value.is_empty() {
        return false;
    }
    let mut buf = [0u8; 32];
    let mut len = 0;
    let trimmed = strip_uuid_affixes(value);
    for b in trimmed.bytes().filter(|&b| b != b'-') {
        if len == buf.len() {
            return false;
        }
        buf[len] = b;
        len += 1;
    }
    // `int(hex, 16)` follows; for exactly 32 characters that means hex digits, allowing a
    // leading sign and single underscores like any Python int literal.
    if len != 32 {
        return false;
    }
    let digits = match buf[0] {
        b'+' | b'-' => &buf[1..],
        _ => &buf[..],
    };
    let mut prev_underscore = true;
    for &b in digits {
        match b {
            b'_' if !prev_underscore => prev_underscore = true,
            _ if b.is_ascii_hexdigit() => prev_underscore = false,
            _ => return false,
        }
    }
    !prev_underscore
}

fn strip_uuid_affixes(value: &str) -> &str {
    // Python removes every occurrence; they only ever appear as a prefix in real data, and a
    // value with them elsewhere cannot leave 32 hex digits in the positions that remain.
    let mut s = value;
    for prefix in ["urn:", "uuid:"] {
        s = s.strip_prefix(prefix).unwrap_or(s);
    }
    s.trim_matches(|c| c == '{' || c == '}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        for ok in [
            "a@example.com",
            "first.last+tag@sub.example.org",
            "\"q.d\"@x.io",
            "é@x.io",
        ] {
            assert!(is_email(ok), "{ok}");
        }
        for bad in [
            "",
            "a@b",
            "a@@b.com",
            "a@b.c0",
            "a b@x.io",
            "a@x..io",
            "a@1.2.3.4",
            ".a@x.io",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
    }

    #[test]
    fn uris() {
        for ok in [
            "https://example.com",
            "mailto:a@b.c",
            "urn:isbn:0451450523",
            "x+y.z-w:",
        ] {
            assert!(is_uri(ok), "{ok}");
        }
        for bad in [
            "",
            "example.com",
            "//example.com/a",
            "1http://x",
            "ht tp://x",
        ] {
            assert!(!is_uri(bad), "{bad}");
        }
    }

    #[test]
    fn uuids() {
        for ok in [
            "2bc1c94f-0deb-43e9-92a1-4775189ec9f8",
            "2BC1C94F0DEB43E992A14775189EC9F8",
            "{2bc1c94f-0deb-43e9-92a1-4775189ec9f8}",
            "urn:uuid:2bc1c94f-0deb-43e9-92a1-4775189ec9f8",
        ] {
            assert!(is_uuid(ok), "{ok}");
        }
        for bad in [
            "",
            "2bc1c94f-0deb-43e9-92a1",
            "2bc1c94g-0deb-43e9-92a1-4775189ec9f8",
            "x",
        ] {
            assert!(!is_uuid(bad), "{bad}");
        }
    }
}

#[cfg(test)]
mod fast_path_tests {
    use super::*;

    /// The shortcuts may only accept what the reference patterns accept.
    #[test]
    fn shortcuts_never_accept_what_the_patterns_refuse() {
        let samples = [
            "a",
            "a.b",
            ".a",
            "a.",
            "a..b",
            "a+b",
            "a_b-c",
            "x!#$%&'*+/=?^_`{|}~-",
            "é",
            "a b",
            "\"q\"",
            "a\n",
            "ab.c-d",
            "-a",
            "a-",
            "a.-b",
            "1.2",
            "a.b1",
            "a.1",
            "xn--p1ai.com",
            "a_b.com",
            "a.b.c.de",
            "aa",
            "a.b.",
            "",
            ".",
        ];
        let local_re = Regex::new(
            r#"(?i)\A(?:[0-9a-z!#$%&'*+/=?^_`{}|~\-]+(?:\.[0-9a-z!#$%&'*+/=?^_`{}|~\-]+)*\n?\z)"#,
        )
        .unwrap();
        let domain_re = domain_regex();
        for s in samples {
            if is_plain_dot_atom(s) {
                assert!(local_re.is_match(s), "local {s:?}");
            }
            if is_plain_domain(s) {
                assert!(domain_re.is_match(s), "domain {s:?}");
            }
        }
        assert!(is_email("first.last+tag@mail.example.com"));
        assert!(!is_email("first..last@example.com"));
        assert!(!is_email("a@b"));
    }
}
