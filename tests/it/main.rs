//! Integration tests: the real `pulse` binary against real loopback servers and SQLite files.

mod formats;
mod push;
mod receive;
mod retry;
mod support;
mod tls;
mod validate;
