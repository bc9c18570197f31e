//! What every request shares: the log's connection, the access tokens, the actions started,
//! the templates.

use std::sync::{Arc, Mutex};

use anyhow::{anyhow, Result};

use super::access::Access;
use super::jobs::Jobs;
use super::templates::Templates;
use crate::store::{Location, Store};

/// What every request shares.
pub struct Ui {
    /// One connection to the log, opened again after an error (a PostgreSQL restart).
    pub store: Mutex<Option<Store>>,
    pub db: Location,
    pub access: Access,
    pub jobs: Jobs,
    pub templates: Templates,
}

pub type Shared = Arc<Ui>;

/// Runs `read` on the log on a blocking thread; the connection is opened again on its next
/// use when a read fails (the database restarted, the file was replaced).
pub async fn read<T: Send + 'static>(
    ui: &Shared,
    read: impl FnOnce(&Store) -> Result<T> + Send + 'static,
) -> Result<T> {
    let ui = ui.clone();
    tokio::task::spawn_blocking(move || {
        // A read that panicked left the connection as it was: use it on (and open it again).
        let mut slot = ui.store.lock().unwrap_or_else(|poisoned| {
            let mut slot = poisoned.into_inner();
            *slot = None;
            slot
        });
        if slot.is_none() {
            *slot = Some(Store::open_to_read(&ui.db)?);
        }
        let store = slot.as_ref().expect("opened above");
        let result = read(store);
        if result.is_err() {
            *slot = None;
        }
        result
    })
    .await
    .map_err(|err| anyhow!("reading the log: {err}"))?
}
