//! Sending a run's batches: the deliverer, request bodies built ahead, retry and status policy,
//! pacing (adaptive concurrency, throttle pauses, announced rate limits), `--rate`, body
//! compression, host name resolution, and OAuth2 bearer tokens.

mod adaptive;
mod answer;
mod attempt;
mod batch;
mod body_loader;
mod client;
mod compress;
mod deliverer;
mod dns;
mod exchange;
mod oauth2;
mod pacing;
mod rate;
mod rate_limit_headers;
mod request_headers;
mod retry;
mod settings;
mod token_endpoint;

pub use answer::AnswerRules;
pub use body_loader::write_batch_body;
pub use client::{check_client_files, download_builder};
pub use compress::{decode, BodyCompression};
pub use deliverer::*;
pub use rate::Rate;
pub use request_headers::*;
pub use retry::{parse_duration, parse_schedule, parse_status_list, RetryPolicy, StatusPolicy};
pub use settings::{auth_header, parse_headers, Concurrency, DeliverySettings, OnFailure};
pub use token_endpoint::{ClientAuth, OAuth2Settings};
