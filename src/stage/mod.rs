//! Rows to events to batches: the staging pass, the events rows go to, mirror mode.

mod batcher;
mod checked_rows;
mod event;
mod mirror;
mod pass;
mod sync_mode;

pub use checked_rows::{CheckedRow, CheckedRows};
pub use event::{new_event_id, EventKind};
pub use mirror::Mirror;
pub use pass::{stage, write_valid_cell, FirstInvalid, StageOptions, Staged};
pub use sync_mode::SyncMode;
