//! Sending a run's batches: the deliverer, request bodies built ahead, retry and status policy,
//! rate limit, body compression, and host name resolution.

mod attempt;
mod batch;
pub mod body_loader;
mod client;
pub mod compress;
mod deliverer;
pub mod dns;
mod exchange;
pub mod rate;
mod request_headers;
pub mod retry;
pub mod settings;

pub use deliverer::*;
pub use request_headers::*;
