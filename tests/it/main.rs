//! Integration tests: the real `pulse` binary against real loopback servers and SQLite files.

mod bad_input;
mod cli;
mod concurrency;
mod disk;
mod dry_run;
mod formats;
mod fuzz_regressions;
mod integrity;
mod log;
mod memory;
mod prune;
mod push;
mod readme;
mod receive;
mod receivers;
mod resend;
mod resume;
mod retry;
mod secrets;
mod summary;
mod support;
mod terminal;
mod tls;
mod unattended;
mod validate;
