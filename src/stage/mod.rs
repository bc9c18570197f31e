//! Rows to events to batches: the staging pass, the events rows go to, mirror mode.

mod batcher;
pub mod checked_rows;
pub mod event;
pub mod mirror;
mod pass;
mod sync_mode;

pub use pass::{stage, FirstInvalid, StageOptions, Staged};
pub use sync_mode::SyncMode;
