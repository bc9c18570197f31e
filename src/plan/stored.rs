//! The run plan as a run keeps it (`runs.options`, JSON): flat, one key per option, so that the
//! store's queries read `shape` and `sync` directly and runs written by earlier releases load
//! as they are. This file is the only reader of their legacy fields (`signed` without
//! `signing`, a delimiter as a number, `iso88591`, a missing `max_body_size`). Never secrets:
//! no auth header value, no signing secret.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{DeliverPlan, MirrorPlan, ReadPlan, RunPlan, ShapePlan, SigningSource, ValidatePlan};
use crate::read::{parse_delimiter, CsvDialect, Encoding, Input, RemoteObject, TableShape};
use crate::stage::SyncMode;

/// The version written now. 1 (or none): the flat options of releases before the run plan,
/// which this one reads as they are.
const VERSION: u32 = 2;

/// `runs.options`: the sections' own fields flattened into one object, and beside them the
/// keys whose form predates the plan.
#[derive(Debug, Serialize, Deserialize)]
#[serde(default)]
struct StoredPlan {
    version: u32,
    #[serde(flatten)]
    shaping: ShapePlan,
    #[serde(flatten)]
    validate: ValidatePlan,
    #[serde(flatten)]
    deliver: DeliverPlan,
    /// Legacy: before `signing`, whether the run was signed (with the generated secret).
    #[serde(skip_serializing_if = "Option::is_none")]
    signed: Option<bool>,
    signing: Option<SigningSource>,
    /// Absolute; none for stdin and remote inputs (the run's `source` names those).
    source_path: Option<PathBuf>,
    /// A remote input's `ETag`, `Last-Modified` and length.
    #[serde(flatten)]
    remote: RemoteObject,
    /// A database input's SQL (`--query`).
    #[serde(skip_serializing_if = "Option::is_none")]
    query: Option<String>,
    /// Mirror mode's sync name (read by the store when the run is delivered).
    sync: Option<String>,
    key: Vec<String>,
    max_record_bytes: Option<u64>,
    /// Missing in runs staged before the limit existed: then there is none.
    max_body_bytes: Option<u64>,
    /// One character (a number in older runs).
    #[serde(
        deserialize_with = "lenient_delimiter",
        serialize_with = "delimiter_as_text"
    )]
    delimiter: u8,
    #[serde(
        deserialize_with = "lenient_encoding",
        serialize_with = "encoding_name"
    )]
    encoding: Encoding,
    #[serde(skip_serializing_if = "TableShape::is_default")]
    table: TableShape,
    /// The repeat check's hash of the payload shape (`run::repeat`).
    shape: Option<String>,
}

impl Default for StoredPlan {
    fn default() -> Self {
        StoredPlan {
            version: 1,
            shaping: ShapePlan::default(),
            validate: ValidatePlan::default(),
            deliver: DeliverPlan::default(),
            signed: None,
            signing: None,
            source_path: None,
            remote: RemoteObject::default(),
            query: None,
            sync: None,
            key: Vec::new(),
            max_record_bytes: None,
            max_body_bytes: None,
            delimiter: b',',
            encoding: Encoding::Utf8,
            table: TableShape::default(),
            shape: None,
        }
    }
}

impl RunPlan {
    /// The plan as the run keeps it. Paths are made absolute, to restage from any directory.
    pub fn to_json(&self) -> String {
        let absolute = |path: &Path| std::path::absolute(path).unwrap_or_else(|_| path.into());
        let (read, shape) = (&self.read, &self.shape);
        let mut validate = self.validate.clone();
        validate.schema = validate.schema.as_deref().map(absolute);
        let stored = StoredPlan {
            version: VERSION,
            shaping: shape.clone(),
            validate,
            deliver: self.deliver.clone(),
            signed: None,
            signing: Some(self.deliver.signing),
            source_path: match &read.input {
                Input::File(path) => Some(absolute(path)),
                _ => None,
            },
            remote: read.remote.clone(),
            query: match &read.input {
                Input::Database { query, .. } => Some(query.clone()),
                _ => None,
            },
            sync: shape.mirror.as_ref().map(|m| m.sync.clone()),
            key: shape
                .mirror
                .as_ref()
                .map(|m| m.key.clone())
                .unwrap_or_default(),
            max_record_bytes: Some(read.dialect.max_record_bytes),
            max_body_bytes: Some(shape.max_body_bytes),
            delimiter: read.dialect.delimiter.unwrap_or(b','),
            encoding: read.dialect.encoding,
            table: read.dialect.table.clone(),
            shape: self.repeat_shape.clone(),
        };
        serde_json::to_string(&stored).expect("a run plan serializes")
    }

    /// The plan a run kept, whatever release stored it. `source` is the run's input as the log
    /// names it (for runs that kept no path). Damaged JSON is an error naming the run.
    pub fn load(run_id: &str, source: &str, json: &str) -> anyhow::Result<RunPlan> {
        let stored: StoredPlan = serde_json::from_str(json)
            .map_err(|e| anyhow::anyhow!("{run_id}: stored options are damaged ({e})"))?;
        let input = match stored.source_path {
            Some(path) => Input::File(path),
            None if source == Input::Stdin.label() => Input::Stdin,
            None if Input::parse(source).is_remote() => Input::from_label(source),
            None => Input::File(PathBuf::from(source)),
        };
        let input = match (input, stored.query) {
            (Input::Database { url, .. }, Some(query)) => Input::Database { url, query },
            (input, _) => input,
        };
        let mut deliver = stored.deliver;
        deliver.signing = match (stored.signing, stored.signed) {
            (Some(source), _) => source,
            (None, Some(true)) => SigningSource::Generated,
            (None, _) => SigningSource::None,
        };
        let mut shape = stored.shaping;
        shape.batch_size = shape.batch_size.max(1);
        shape.max_body_bytes = stored.max_body_bytes.unwrap_or(u64::MAX);
        shape.mirror = match (shape.mode, stored.sync) {
            (SyncMode::Mirror, Some(sync)) => Some(MirrorPlan {
                sync,
                key: stored.key,
            }),
            _ => None,
        };
        Ok(RunPlan {
            read: ReadPlan {
                input,
                dialect: CsvDialect {
                    delimiter: Some(stored.delimiter),
                    encoding: stored.encoding,
                    // Runs pushed before the ceiling may have stored more.
                    max_record_bytes: stored
                        .max_record_bytes
                        .unwrap_or(crate::read::DEFAULT_MAX_RECORD_BYTES)
                        .min(crate::read::MAX_RECORD_BYTES_CEILING),
                    table: stored.table,
                },
                remote: stored.remote,
            },
            validate: stored.validate,
            shape,
            deliver,
            repeat_shape: stored.shape,
        })
    }
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

fn encoding_name<S: serde::Serializer>(encoding: &Encoding, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&encoding.name())
}

fn lenient_encoding<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Encoding, D::Error> {
    use serde::de::Error;
    let name = String::deserialize(d)?;
    match name.as_str() {
        "" => Ok(Encoding::Utf8),
        // Stored by pulse before WHATWG labels: ISO-8859-1 as `latin1` decodes it.
        name if name.eq_ignore_ascii_case("iso88591") => Ok(Encoding::Latin1),
        name => Encoding::from_label(name).map_err(|_| {
            D::Error::custom(format!("the stored input encoding {name:?} is unknown"))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stage::EventKind;

    #[test]
    fn runs_of_earlier_releases_load_with_their_legacy_fields() {
        let json = r#"{"batch_size":10,"body":{"template_id":"t","user_id":null,"metadata":"{}"},
            "events":["all"],"auth_header_name":"Authorization","signed":true,
            "schema":"s.json","mode":"mirror","sync":"x","key":["id"],"unknown":1}"#;
        let plan = RunPlan::load("run_1", "a.csv", json).unwrap();
        assert_eq!(plan.shape.batch_size, 10);
        assert_eq!(plan.shape.body.template_id, "t");
        assert_eq!(plan.deliver.signing, SigningSource::Generated);
        assert_eq!(plan.read.dialect.delimiter, Some(b','));
        assert_eq!(plan.read.dialect.encoding, Encoding::Utf8);
        assert_eq!(plan.shape.mode, SyncMode::Mirror);
        assert_eq!(plan.mirror(), Some(("x", &["id".to_string()][..])));
        assert_eq!(
            plan.shape.max_body_bytes,
            u64::MAX,
            "no limit before there was one"
        );
        assert_eq!(plan.validate.schema, Some(PathBuf::from("s.json")));
        assert!(matches!(plan.read.input, Input::File(ref p) if p == Path::new("a.csv")));
        let other = r#"{"delimiter":59,"encoding":"windows-1252","batch_size":0}"#;
        let other = RunPlan::load("r", "<stdin>", other).unwrap();
        assert_eq!(other.read.dialect.delimiter, Some(b';'));
        assert_eq!(other.read.dialect.encoding, Encoding::Windows1252);
        assert_eq!(other.shape.batch_size, 1);
        assert!(matches!(other.read.input, Input::Stdin));
        let latin = RunPlan::load("r", "x", r#"{"encoding":"iso88591"}"#).unwrap();
        assert_eq!(latin.read.dialect.encoding, Encoding::Latin1);
        assert!(RunPlan::load("run_1", "x", "{").is_err());
        assert!(RunPlan::load("run_1", "x", r#"{"mode":"sideways"}"#).is_err());
    }

    #[test]
    fn a_plan_round_trips_in_the_keys_earlier_releases_wrote() {
        let mut plan = RunPlan::load("r", "a.csv", "{}").unwrap();
        plan.read.dialect.delimiter = Some(b';');
        plan.deliver.signing = SigningSource::Given;
        plan.shape.events = vec![EventKind::Valid, EventKind::Invalid];
        let json = plan.to_json();
        for key in [
            r#""version":2"#,
            r#""delimiter":";""#,
            r#""signing":"given""#,
            r#""events":["validData","invalidData"]"#,
            r#""mode":"append""#,
            r#""encoding":"utf8""#,
        ] {
            assert!(json.contains(key), "{key} in {json}");
        }
        assert!(!json.contains("signed"), "{json}");
        let back = RunPlan::load("r", "a.csv", &json).unwrap();
        assert_eq!(back.read.dialect.delimiter, Some(b';'));
        assert_eq!(back.deliver.signing, SigningSource::Given);
        assert_eq!(back.shape.events, plan.shape.events);
    }

    #[test]
    fn an_oauth2_plan_round_trips_without_a_secret_and_older_runs_have_none() {
        let mut plan = RunPlan::load("r", "a.csv", "{}").unwrap();
        assert_eq!(plan.deliver.oauth2, None);
        assert!(!plan.to_json().contains("oauth2"), "left out when unset");
        plan.deliver.oauth2 = Some(super::super::OAuth2Plan {
            token_url: "https://auth.example/token".into(),
            client_id: "pulse".into(),
            scope: Some("events".into()),
            audience: None,
            auth_style: "form".into(),
        });
        let json = plan.to_json();
        assert!(
            json.contains(r#""oauth2":{"token_url":"https://auth.example/token","client_id":"pulse","scope":"events","auth_style":"form"}"#),
            "{json}"
        );
        let back = RunPlan::load("r", "a.csv", &json).unwrap();
        assert_eq!(back.deliver.oauth2, plan.deliver.oauth2);
    }

    #[test]
    fn a_stored_plan_stages_exactly_as_the_push_did() {
        let mut pushed = RunPlan::load("r", "a.csv", "{}").unwrap();
        pushed.shape.batch_size = 777;
        pushed.shape.max_body_bytes = 64 * 1024;
        pushed.shape.body.metadata = r#"{"source":"crm"}"#.into();
        pushed.shape.mode = SyncMode::Mirror;
        pushed.shape.mirror = Some(MirrorPlan {
            sync: "s".into(),
            key: vec!["id".into()],
        });
        pushed.read.dialect.max_record_bytes = 4096;
        pushed.read.dialect.table.select = vec!["id".into()];
        let restaged = RunPlan::load("r", "a.csv", &pushed.to_json()).unwrap();
        let (a, b) = (pushed.stage_options(), restaged.stage_options());
        assert_eq!(
            (a.batch_size, a.max_batch_bytes, a.op),
            (777, 64 * 1024 - 1040, None)
        );
        assert_eq!(
            (b.batch_size, b.max_batch_bytes, b.op),
            (a.batch_size, a.max_batch_bytes, a.op)
        );
        assert_eq!(restaged.mirror(), pushed.mirror());
        assert_eq!(restaged.read.dialect.max_record_bytes, 4096);
        assert_eq!(restaged.read.dialect.table.select, ["id"]);
        // A limit stored before the ceiling existed is read as the ceiling.
        pushed.read.dialect.max_record_bytes = 100 << 30;
        let restaged = RunPlan::load("r", "a.csv", &pushed.to_json()).unwrap();
        assert_eq!(restaged.read.dialect.max_record_bytes, 1 << 30);
    }
}
