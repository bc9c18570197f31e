//! What `pulse push` is asked: the run's plan, where it goes, how it is sent, and the knobs.
//! Built by `cli/`, taken by a push and its dry run.

use crate::deliver::DeliverySettings;
use crate::plan::{Knobs, RunPlan};
use crate::schema::Schema;

/// What `pulse push` was asked: the run's plan, where it goes, and how this process runs.
pub struct PushRequest {
    pub run_id: String,
    pub plan: RunPlan,
    /// The plan's schema, read once where the flags were checked.
    pub schema: Option<Schema>,
    pub to: PushTo,
    /// How to send, from the flags: the run keeps only what resume and resend must repeat.
    pub delivery: DeliverySettings,
    /// Push even what an earlier run pushed already (see `run::repeat`).
    pub force: bool,
    /// `--replaces RUN`: the run whose failed rows this push carries (see `run::replace`).
    pub replaces: Option<String>,
    pub knobs: Knobs,
}

/// Where a push's requests go.
pub enum PushTo {
    /// Staged, then delivered to this URL.
    Url(reqwest::Url),
    /// `--dry-run`: the requests printed (the first `limit`), as they would go to the URL.
    DryRun {
        url: Option<reqwest::Url>,
        limit: Option<u64>,
    },
}

impl PushRequest {
    /// The URL given, if any.
    pub fn url(&self) -> Option<&reqwest::Url> {
        match &self.to {
            PushTo::Url(url) => Some(url),
            PushTo::DryRun { url, .. } => url.as_ref(),
        }
    }
}
