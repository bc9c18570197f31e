//! The run plan: the one typed description of a run, between the command line and the
//! engines. `cli/` builds it from flags; a run stores it with itself (`runs.options`, in the
//! form `stored.rs` reads and writes); resume, resend and restaging load it back. `run/`
//! derives from it the staging (`run::staging::staging_of`) and the delivery
//! (`run::signing::deliverer_for`), so a restaged run is staged exactly as its push staged it.
//!
//! A new staging, validation or delivery option is a field of one section here (with its
//! default for runs stored before it), set in `cli/settings/` from its flag, and read where it
//! is used: the run keeps it under its field's name and resume, resend and restaging get it
//! back with no more code. (A new way of reading the input is a field of `read::CsvDialect`,
//! which `stored.rs` maps key by key.) The process knobs
//! (quiet, json, deadline; a push's dry run and force) sit beside the plan, in `Knobs` and the
//! push request, never in it: they say how this process runs, not what the run is.

mod stored;

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::payload::BodyContext;
use crate::read::{CsvDialect, Input, RemoteObject};
use crate::stage::{EventKind, StageOptions, SyncMode};

/// What a run is: what it reads and how, how it validates, how it shapes its payloads, and
/// how it is delivered (what of that is kept: credentials never are).
#[derive(Debug, Clone)]
pub struct RunPlan {
    pub read: ReadPlan,
    pub validate: ValidatePlan,
    pub shape: ShapePlan,
    pub deliver: DeliverPlan,
    /// A hash of every option that shapes the payloads (`run::repeat`), set before the run is
    /// recorded: a later push of the same content and shape to the same URL is the same run.
    pub repeat_shape: Option<String>,
}

/// What to read, and how.
#[derive(Debug, Clone)]
pub struct ReadPlan {
    /// The input as given; the log keeps a file's absolute path, to restage it from anywhere.
    pub input: Input,
    /// How to read it. A push stores the delimiter it sniffed, so a restage reads the same.
    pub dialect: CsvDialect,
    /// What the download of a remote input told of it (`ETag`, `Last-Modified`, length),
    /// set by a push once it answered; empty for files and stdin.
    pub remote: RemoteObject,
}

impl ReadPlan {
    /// The input's size: a file's, or a download's announced length.
    pub fn source_size(&self) -> Option<u64> {
        self.input.size().or(self.remote.size)
    }
}

/// How rows are checked. Kept with the run key for key (`stored.rs`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ValidatePlan {
    /// The `--schema` file.
    pub schema: Option<PathBuf>,
    /// Refuse the whole run (send nothing) when a row is invalid.
    pub fail_on_invalid: bool,
}

/// How rows become events, batches and bodies. Kept with the run key for key (`stored.rs`),
/// but for the two fields whose stored form predates the plan.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ShapePlan {
    /// What the bodies carry besides the rows (format, method, template id, metadata, ...).
    pub body: BodyContext,
    /// The events, in delivery order.
    pub events: Vec<EventKind>,
    /// Rows per batch (1 for valmi and GET, which carry one row per request).
    pub batch_size: u64,
    /// Largest request body; batches are cut early to stay under it. Stored as
    /// `max_body_bytes`, missing in runs staged before the limit existed (`stored.rs`).
    #[serde(skip)]
    pub max_body_bytes: u64,
    pub mode: SyncMode,
    /// Set exactly in mirror mode; stored as `sync` and `key` (`stored.rs`).
    #[serde(skip)]
    pub mirror: Option<MirrorPlan>,
}

/// What runs stored before these options existed did.
impl Default for ShapePlan {
    fn default() -> Self {
        ShapePlan {
            body: BodyContext::default(),
            events: vec![EventKind::All],
            batch_size: 5000,
            max_body_bytes: u64::MAX,
            mode: SyncMode::Append,
            mirror: None,
        }
    }
}

/// Mirror mode: which delivered state rows are compared with, and what identifies a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirrorPlan {
    /// The sync's name (`--sync`, by default the URL and the file name).
    pub sync: String,
    /// `--key`, or the schema's primaryKey.
    pub key: Vec<String>,
}

/// How a run is delivered, as far as a later resume or resend must repeat it. The delivery
/// settings that a command may change (retries, timeouts, concurrency, TLS) are not part of
/// the run: each command gives its own (`deliver::DeliverySettings`). Kept with the run key
/// for key (`stored.rs`), but for `signing`, whose stored form predates the plan.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct DeliverPlan {
    #[serde(skip)]
    pub signing: SigningSource,
    /// Fingerprints of the secrets the run was signed with (never the secrets): a resume or
    /// resend to the run's URL with none of them is refused.
    pub secret_fingerprints: Vec<String>,
    /// The name of the auth header; its value is never kept.
    pub auth_header_name: Option<String>,
    /// `--header` lines as given (`Name: value`), sent again by resend and resume; not those
    /// of credential headers, whose names are in `credential_headers`.
    pub headers: Vec<String>,
    /// Names of the credential headers the run sent: their values are never kept, so resend
    /// and resume need the `--header` flags again.
    pub credential_headers: Vec<String>,
    /// `--success-if`: a jq expression a 2xx JSON answer must make true (`deliver::AnswerRules`).
    /// Left out of the stored JSON when unset; none in runs stored before it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub success_if: Option<String>,
    /// `--rejected-rows`: a jq expression yielding the rows a 2xx JSON answer refused. Left out
    /// of the stored JSON when unset; none in runs stored before it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejected_rows: Option<String>,
    /// `--oauth2-*`: where the run's bearer tokens come from, never the client secret (resume
    /// and resend need it again). Left out of the stored JSON when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oauth2: Option<OAuth2Plan>,
    /// `push --to NAME`: the config file's destination, whose credentials resume and resend
    /// read from the config again. Left out of the stored JSON when unset; none in runs stored
    /// before it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
}

/// The token endpoint a run fetched OAuth2 tokens from, and how: all but the client secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuth2Plan {
    pub token_url: String,
    pub client_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    /// `basic` or `form` (`--oauth2-auth-style`).
    pub auth_style: String,
}

/// How a run's requests were signed, so resend and resume sign the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SigningSource {
    /// With the secret pulse generated and stored for the URL.
    Generated,
    /// With `--secret`/`PULSE_SECRET`: it must be given again.
    Given,
    /// Unsigned (`--no-sign`).
    #[default]
    None,
}

/// How this process runs, whatever the run: beside the plan, never stored with it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Knobs {
    pub quiet: bool,
    /// A JSON summary on stdout.
    pub json: bool,
    /// `--deadline`: how long the whole command may run before it stops as on SIGTERM.
    pub deadline: Option<Duration>,
}

/// Room left in a request body for the envelope around the rows (ids, counts, metadata).
const ENVELOPE_BYTES: u64 = 1024;

impl RunPlan {
    /// How the staging pass cuts this run's rows into batches.
    pub fn stage_options(&self) -> StageOptions<'static> {
        let shape = &self.shape;
        let envelope = ENVELOPE_BYTES + shape.body.metadata.len() as u64;
        StageOptions {
            batch_size: shape.batch_size,
            max_batch_bytes: shape.max_body_bytes.saturating_sub(envelope),
            op: shape.mode.row_op(),
        }
    }

    /// Mirror mode's sync name and key columns.
    pub fn mirror(&self) -> Option<(&str, &[String])> {
        let mirror = self.shape.mirror.as_ref()?;
        Some((mirror.sync.as_str(), mirror.key.as_slice()))
    }
}
