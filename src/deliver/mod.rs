//! Sending a run's batches: the deliverer, request bodies built ahead, retry and status policy,
//! rate limit, body compression, and host name resolution.

pub mod body_loader;
pub mod compress;
mod deliverer;
pub mod dns;
pub mod rate;
pub mod retry;
pub mod settings;

pub use deliverer::*;
