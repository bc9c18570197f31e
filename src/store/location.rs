//! Where the log lives: a SQLite file (the default), or a PostgreSQL database named by a
//! `postgres://` connection string that many machines share.

use std::fmt;
use std::path::{Path, PathBuf};

/// The log's location, as `--db` or `PULSE_DB` name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    File(PathBuf),
    /// A connection string (URL or `key=value` form, as libpq takes it); it may hold a password,
    /// so it is only ever shown through `Display`, which masks it.
    Postgres(String),
}

impl Location {
    /// `--db`'s value: a `postgres://` or `postgresql://` URL names a PostgreSQL log, anything
    /// else a file.
    pub fn parse(text: PathBuf) -> Location {
        match text.to_str() {
            Some(url) if is_postgres_url(url) => Location::Postgres(url.to_string()),
            _ => Location::File(text),
        }
    }

    /// Whether the log may hold anything yet: a SQLite file exists; a database is assumed to.
    pub fn exists(&self) -> bool {
        match self {
            Location::File(path) => path.exists(),
            Location::Postgres(_) => true,
        }
    }

    /// The file of a SQLite log.
    pub fn file(&self) -> Option<&Path> {
        match self {
            Location::File(path) => Some(path),
            Location::Postgres(_) => None,
        }
    }
}

fn is_postgres_url(text: &str) -> bool {
    let lower = text.trim_start().to_ascii_lowercase();
    lower.starts_with("postgres://") || lower.starts_with("postgresql://")
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::File(path) => write!(f, "{}", path.display()),
            Location::Postgres(url) => f.write_str(&mask_password(url)),
        }
    }
}

/// The connection string with its password, if any, replaced by `***`: in a URL, the part
/// between `user:` and `@`; in a query parameter or `key=value` form, `password`'s value.
pub fn mask_password(url: &str) -> String {
    let mut shown = url.to_string();
    if let Some(scheme_end) = shown.find("://") {
        let rest = scheme_end + 3;
        let authority_end = shown[rest..]
            .find(['/', '?'])
            .map_or(shown.len(), |at| rest + at);
        if let Some(at) = shown[rest..authority_end].rfind('@') {
            let userinfo = rest..rest + at;
            if let Some(colon) = shown[userinfo.clone()].find(':') {
                shown.replace_range(rest + colon + 1..rest + at, "***");
            }
        }
    }
    mask_parameter(&shown, "password")
}

/// `name=value` (after `?`, `&` or a space, or at the start) with the value masked.
fn mask_parameter(text: &str, name: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(found) = find_parameter(rest, name) {
        let value_start = found + name.len() + 1;
        out.push_str(&rest[..value_start]);
        out.push_str("***");
        let value = &rest[value_start..];
        let end = if let Some(quoted) = value.strip_prefix('\'') {
            quoted.find('\'').map_or(value.len(), |i| i + 2)
        } else {
            value.find(['&', ' ']).unwrap_or(value.len())
        };
        rest = &value[end..];
    }
    out.push_str(rest);
    out
}

fn find_parameter(text: &str, name: &str) -> Option<usize> {
    let lower = text.to_ascii_lowercase();
    let key = format!("{name}=");
    let mut from = 0;
    while let Some(i) = lower[from..].find(&key) {
        let at = from + i;
        if at == 0 || matches!(text.as_bytes()[at - 1], b'?' | b'&' | b' ') {
            return Some(at);
        }
        from = at + key.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_postgres_url_names_a_database_anything_else_a_file() {
        let url = "postgres://u:p@127.0.0.1:5432/pulse";
        assert_eq!(
            Location::parse(url.into()),
            Location::Postgres(url.to_string())
        );
        assert!(matches!(
            Location::parse("POSTGRESQL://h/db".into()),
            Location::Postgres(_)
        ));
        assert_eq!(
            Location::parse("postgres.db".into()),
            Location::File("postgres.db".into())
        );
    }

    #[test]
    fn passwords_never_show() {
        for (url, shown) in [
            (
                "postgres://alice:s3cret@db:5432/pulse",
                "postgres://alice:***@db:5432/pulse",
            ),
            (
                "postgres://alice:p%40ss@db/pulse?sslmode=require",
                "postgres://alice:***@db/pulse?sslmode=require",
            ),
            ("postgres://alice@db/pulse", "postgres://alice@db/pulse"),
            (
                "postgres://db/pulse?user=a&password=s3cret&sslmode=disable",
                "postgres://db/pulse?user=a&password=***&sslmode=disable",
            ),
            (
                "postgres://db/pulse?password=s3cret",
                "postgres://db/pulse?password=***",
            ),
        ] {
            let location = Location::parse(url.into());
            assert_eq!(location.to_string(), shown, "{url}");
            assert!(!location.to_string().contains("s3cret"));
        }
    }
}
