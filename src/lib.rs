//! pulse as a library: the modules behind the `pulse` binary. Its public face is small: what
//! `main` needs to parse and dispatch, and `fuzzing` for the fuzz targets; everything else is
//! crate-private. ARCHITECTURE.md maps the modules.

pub mod cli;
pub mod cmd;
pub mod exit;
pub mod fuzzing;
pub mod memory;
pub mod metrics;
pub mod output;
pub mod telemetry;

pub(crate) mod deliver;
pub(crate) mod json_out;
pub(crate) mod payload;
pub(crate) mod plan;
pub(crate) mod plural;
pub(crate) mod progress;
pub(crate) mod read;
pub(crate) mod redact;
pub(crate) mod run;
pub(crate) mod schema;
pub(crate) mod sign;
pub(crate) mod signals;
pub(crate) mod stage;
pub(crate) mod store;
pub(crate) mod time_text;
pub(crate) mod ui;

#[cfg(test)]
mod tidy;
