//! What a run records about how it was pushed (`runs.options`, JSON): enough to rebuild every
//! body, restage the input and send again. Read leniently: runs written by other pulse versions
//! may lack fields or carry more.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::payload::BodyContext;
use crate::read::columns::TableShape;
use crate::read::source::{parse_delimiter, CsvDialect, Encoding};
use crate::stage::SyncMode;

/// How a run's requests were signed, so resend and resume sign the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SigningSource {
    /// With the secret pulse generated and stored for the URL.
    Generated,
    /// With `--secret`/`PULSE_SECRET`: it must be given again.
    Given,
    /// Unsigned (`--no-sign`).
    None,
}

/// The stored options of a run. Never secrets: no auth header value, no signing secret.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct RunOptions {
    pub body: BodyContext,
    pub batch_size: u64,
    /// Event names in delivery order (`all`, `validData`, `invalidData`).
    pub events: Vec<String>,
    /// The name of the secret header; its value is never stored.
    pub auth_header_name: Option<String>,
    pub signed: bool,
    /// Missing in runs written before it existed: then `signed` decides.
    pub signing: Option<SigningSource>,
    /// Fingerprints of the secrets the run was signed with (never the secrets): a resume or
    /// resend to the run's URL with none of them is refused.
    pub secret_fingerprints: Vec<String>,
    /// `--header` values as given (`Name: value`), sent again by resend and resume; not
    /// those of credential headers, whose names are in `credential_headers`.
    pub headers: Vec<String>,
    /// Names of the credential headers the run sent (`Authorization`, `X-Api-Key`, ...):
    /// their values are never stored, so resend and resume need the `--header` flags again.
    pub credential_headers: Vec<String>,
    /// Absolute path of the input file, to restage it from any directory; none for stdin.
    pub source_path: Option<PathBuf>,
    /// The `--schema` file, absolute.
    pub schema: Option<PathBuf>,
    /// Refuse the run (send nothing) when a row is invalid.
    pub fail_on_invalid: bool,
    /// The sync mode's name (`append`, `upsert`, `create`, `delete`, `mirror`).
    pub mode: String,
    /// Mirror mode: the sync's name (read by the store when the run is delivered) and the
    /// columns that identify a row (`--key`).
    pub sync: Option<String>,
    #[serde(rename = "key")]
    pub id_columns: Vec<String>,
    /// `--max-record-size` and `--max-body-size`, in bytes.
    pub max_record_bytes: Option<u64>,
    pub max_body_bytes: Option<u64>,
    /// The CSV delimiter, stored as a one-character string (a number is accepted too).
    #[serde(
        deserialize_with = "lenient_delimiter",
        serialize_with = "delimiter_as_text"
    )]
    pub delimiter: u8,
    /// The input encoding's name; checked only when the input is read again.
    pub encoding: String,
    /// The input's header, lines and columns (`--no-header`, `--select`, ...).
    #[serde(skip_serializing_if = "TableShape::is_default")]
    pub table: TableShape,
    /// A hash of every option that shapes the payloads (see `run::repeat`): a later push of the
    /// same content with the same shape to the same URL is the same run.
    pub shape: Option<String>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            body: BodyContext::default(),
            batch_size: 5000,
            events: vec!["all".into()],
            auth_header_name: None,
            signed: false,
            signing: None,
            secret_fingerprints: Vec::new(),
            headers: Vec::new(),
            credential_headers: Vec::new(),
            source_path: None,
            schema: None,
            fail_on_invalid: false,
            mode: "append".into(),
            sync: None,
            id_columns: Vec::new(),
            max_record_bytes: None,
            max_body_bytes: None,
            delimiter: b',',
            encoding: "utf8".into(),
            table: TableShape::default(),
            shape: None,
        }
    }
}

impl RunOptions {
    /// Reads stored options; damaged JSON is an error naming the run.
    pub fn parse(run_id: &str, json: &str) -> anyhow::Result<RunOptions> {
        serde_json::from_str(json)
            .map_err(|e| anyhow::anyhow!("{run_id}: stored options are damaged ({e})"))
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("options serialize")
    }

    pub fn signing_source(&self) -> SigningSource {
        match self.signing {
            Some(source) => source,
            None if self.signed => SigningSource::Generated,
            None => SigningSource::None,
        }
    }

    /// How to read the input again, as it was read the first time.
    pub fn dialect(&self) -> anyhow::Result<CsvDialect> {
        let encoding = match self.encoding.as_str() {
            "" => Encoding::Utf8,
            // Stored by pulse before WHATWG labels: ISO-8859-1 as `latin1` decodes it.
            name if name.eq_ignore_ascii_case("iso88591") => Encoding::Latin1,
            name => Encoding::from_label(name).map_err(|_| {
                anyhow::anyhow!("the stored input encoding {:?} is unknown", self.encoding)
            })?,
        };
        Ok(CsvDialect {
            delimiter: Some(self.delimiter),
            encoding,
            max_record_bytes: self
                .max_record_bytes
                .unwrap_or(crate::read::source::DEFAULT_MAX_RECORD_BYTES),
            table: self.table.clone(),
        })
    }

    pub fn sync_mode(&self) -> anyhow::Result<SyncMode> {
        SyncMode::from_name(&self.mode)
            .ok_or_else(|| anyhow::anyhow!("the stored sync mode {:?} is unknown", self.mode))
    }
}

/// The name pulse stores for an encoding.
pub fn encoding_name(encoding: Encoding) -> String {
    encoding.name()
}

fn delimiter_as_text<S: serde::Serializer>(byte: &u8, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&(*byte as char).to_string())
}

fn lenient_delimiter<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u8, D::Error> {
    use serde::de::Error;
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::Number(n) => n
            .as_u64()
            .and_then(|n| u8::try_from(n).ok())
            .ok_or_else(|| D::Error::custom("delimiter out of range")),
        serde_json::Value::String(text) => {
            parse_delimiter(&text).map_err(|_| D::Error::custom(format!("delimiter {text:?}")))
        }
        _ => Err(D::Error::custom("delimiter must be a string")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_and_foreign_fields_are_read_leniently() {
        let json = r#"{"batch_size":10,"body":{"template_id":"t","user_id":null,"metadata":"{}"},
            "events":["all"],"auth_header_name":"Authorization","signed":true,
            "schema":"s.json","mode":"mirror","sync":"x","key":["id"],"unknown":1}"#;
        let options = RunOptions::parse("run_1", json).unwrap();
        assert_eq!(options.batch_size, 10);
        assert_eq!(options.body.template_id, "t");
        assert_eq!(options.signing_source(), SigningSource::Generated);
        assert_eq!(options.delimiter, b',');
        assert_eq!(options.dialect().unwrap().encoding, Encoding::Utf8);
        assert_eq!(options.sync_mode().unwrap(), SyncMode::Mirror);
        assert_eq!(options.schema, Some(PathBuf::from("s.json")));
        let other = RunOptions::parse("r", r#"{"delimiter":59,"encoding":"windows-1252"}"#);
        let other = other.unwrap();
        assert_eq!(other.delimiter, b';');
        assert_eq!(other.dialect().unwrap().encoding, Encoding::Windows1252);
        assert!(RunOptions::parse("run_1", "{").is_err());
    }

    #[test]
    fn round_trips() {
        let options = RunOptions {
            delimiter: b';',
            signing: Some(SigningSource::Given),
            ..RunOptions::default()
        };
        let back = RunOptions::parse("r", &options.to_json()).unwrap();
        assert_eq!(back.delimiter, b';');
        assert!(options.to_json().contains(r#""delimiter":";""#));
        assert_eq!(encoding_name(Encoding::Latin1), "latin1");
        assert_eq!(back.signing_source(), SigningSource::Given);
    }
}
