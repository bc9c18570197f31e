//! Integration tests: the real `pulse` binary against real loopback servers and SQLite files.

mod log;
mod prune;
mod push;
mod receive;
mod resend;
mod resume;
mod support;
