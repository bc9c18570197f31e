//! pulse as a library: the modules behind the `pulse` binary, also used by the fuzz targets.

pub mod cli;
pub mod cmd;
pub mod deliver;
pub mod exit;
pub mod json_out;
pub mod memory;
pub mod payload;
pub mod progress;
pub mod read;
pub mod redact;
pub mod run;
pub mod schema;
pub mod sign;
pub mod signals;
pub mod stage;
pub mod store;
pub mod time_text;
