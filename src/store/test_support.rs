//! Helpers of the store's unit tests.

use anyhow::Result;

use super::{NewRun, Store};
use crate::payload::unpack;

/// `store` with run `run_1` and its event `evt_1`.
pub fn with_event(mut store: Store) -> Store {
    let run = NewRun {
        id: "run_1",
        source: "x.csv",
        source_size: None,
        url: "http://127.0.0.1/",
        options: "{}",
    };
    store
        .create_run(&run, &[("evt_1".to_string(), "all")])
        .unwrap();
    store
}

pub fn store_with_event() -> Store {
    with_event(Store::open_in_memory().unwrap())
}

pub fn file_store_with_event(dir: &tempfile::TempDir) -> Store {
    with_event(Store::open_file(&dir.path().join("log.db")).unwrap())
}

/// The JSON of a stored batch, appended to `out`.
pub fn load(store: &Store, batch_id: &str, out: &mut Vec<u8>) -> Result<()> {
    store.with_payload(batch_id, |blob, raw_len| unpack(blob, raw_len, out, 0))
}

/// Batches in the log.
pub fn batch_count(store: &Store) -> i64 {
    store
        .conn()
        .query_row("SELECT count(*) FROM batches", [], |r| r.get(0))
        .unwrap()
}
