//! Where the CSV comes from: stdin, a file, or a remote object (an HTTP(S) URL or an S3 key,
//! downloaded by `run::remote`), and what a download told of the object.

use serde::{Deserialize, Serialize};

/// Where the CSV comes from.
#[derive(Debug, Clone)]
pub enum Input {
    Stdin,
    File(std::path::PathBuf),
    /// `http://` or `https://`, as given (a password in it too: it is needed to download; the
    /// label and the log mask it).
    Url(String),
    /// `s3://bucket/key`.
    S3(String),
    /// A query's result: `postgres://` (or `postgresql://`) or `sqlite://` (`url`, a password
    /// in it too; the label and the log mask it) and the SQL (`--query`), kept with the run.
    Database {
        url: String,
        query: String,
    },
}

impl Input {
    pub fn parse(arg: &str) -> Input {
        let scheme = arg
            .split_once("://")
            .map(|(scheme, _)| scheme.to_ascii_lowercase());
        match scheme.as_deref() {
            _ if arg == "-" => Input::Stdin,
            Some("http" | "https") => Input::Url(arg.to_string()),
            Some("s3") => Input::S3(arg.to_string()),
            Some("postgres" | "postgresql" | "sqlite") => Input::Database {
                url: arg.to_string(),
                query: String::new(),
            },
            _ => Input::File(arg.into()),
        }
    }

    /// A remote input as the log names it (`label`): a masked password is no password (a
    /// resume sends the user name alone; `--input-header` gives it credentials).
    pub fn from_label(label: &str) -> Input {
        match Input::parse(label) {
            Input::Url(text) => match reqwest::Url::parse(&text) {
                Ok(mut url) if url.password() == Some(crate::redact::URL_PASSWORD_MASK) => {
                    let _ = url.set_password(None);
                    Input::Url(url.to_string())
                }
                _ => Input::Url(text),
            },
            Input::Database { url, query } => Input::Database {
                url: without_masked_password(&url),
                query,
            },
            input => input,
        }
    }

    /// How the input is named in messages and in the log: a URL's password masked.
    pub fn label(&self) -> String {
        match self {
            Input::Stdin => "<stdin>".to_string(),
            Input::File(path) => path.display().to_string(),
            Input::Url(url) => crate::redact::shown_input_url(url),
            Input::S3(url) => url.clone(),
            Input::Database { url, .. } => crate::redact::shown_url(url),
        }
    }

    /// The file's size, when it is a regular file.
    pub fn size(&self) -> Option<u64> {
        match self {
            Input::File(path) => std::fs::metadata(path).ok().map(|m| m.len()),
            _ => None,
        }
    }

    /// Downloaded (a URL or an S3 object) or queried, not opened.
    pub fn is_remote(&self) -> bool {
        matches!(self, Input::Url(_) | Input::S3(_) | Input::Database { .. })
    }

    /// The last path segment (a file's name, a URL's or key's last part), for the default
    /// template id and impler's `fileName`; none for stdin.
    pub fn file_name(&self) -> Option<String> {
        match self {
            Input::Stdin | Input::Database { .. } => None,
            Input::File(path) => path.file_name().map(|s| s.to_string_lossy().into_owned()),
            Input::Url(url) | Input::S3(url) => {
                let path = url.split(['?', '#']).next().unwrap_or_default();
                let after_host = path.split_once("://").map_or(path, |(_, rest)| rest);
                let (_, path) = after_host.split_once('/')?;
                path.rsplit('/')
                    .next()
                    .filter(|n| !n.is_empty())
                    .map(str::to_string)
            }
        }
    }
}

/// `url` without a password the log masked: resume takes it from `PGPASSWORD` or `~/.pgpass`.
fn without_masked_password(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) if parsed.password() == Some(crate::redact::URL_PASSWORD_MASK) => {
            let _ = parsed.set_password(None);
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

/// What a download (or a HEAD) told of a remote object; kept with the run for the repeat
/// check (an unchanged `ETag` is the same content, not downloaded again) and for a restage.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteObject {
    #[serde(rename = "source_etag", skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(
        rename = "source_last_modified",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_modified: Option<String>,
    /// The length announced (`Content-Length`, the object's size), when it was.
    #[serde(rename = "source_length", skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_remote_inputs() {
        assert!(matches!(Input::parse("-"), Input::Stdin));
        assert!(matches!(Input::parse("a.csv"), Input::File(_)));
        assert!(matches!(Input::parse("HTTPS://h/a.csv"), Input::Url(_)));
        assert!(matches!(Input::parse("s3://b/k.csv"), Input::S3(_)));
        let url = Input::parse("https://u:secret@h/x/export.csv?t=1");
        assert_eq!(url.file_name().as_deref(), Some("export.csv"));
        assert!(!url.label().contains("secret"));
        assert_eq!(
            Input::parse("s3://b/dir/k.tsv").file_name().as_deref(),
            Some("k.tsv")
        );
        assert_eq!(Input::parse("https://h").file_name(), None);
        let stored = Input::from_label(&url.label());
        assert!(matches!(stored, Input::Url(ref u) if u == "https://u@h/x/export.csv?t=1"));
    }
}
