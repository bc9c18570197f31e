//! Sending a run's batches: the deliverer, request bodies built ahead, retry policy, and host
//! name resolution.

pub mod body_loader;
mod deliverer;
pub mod dns;
pub mod retry;
pub mod settings;

pub use deliverer::*;
