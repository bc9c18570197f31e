//! Integration tests: the real `pulse` binary against real loopback servers and SQLite files.

mod bad_input;
mod concurrency;
mod disk;
mod formats;
mod fuzz_regressions;
mod infer;
mod input;
mod integrity;
mod log;
mod memory;
mod prune;
mod push;
mod readme;
mod receive;
mod resend;
mod resume;
mod retry;
mod secrets;
mod summary;
mod support;
mod tls;
mod unattended;
mod validate;
