//! pulse as a library: the modules behind the `pulse` binary, also used by the fuzz targets.

pub mod body_loader;
pub mod cli;
pub mod cmd;
pub mod config;
pub mod csv_source;
pub mod deliver;
pub mod event;
pub mod exit;
pub mod json_out;
pub mod keyset;
pub mod mirror;
pub mod payload;
pub mod progress;
pub mod read_ahead;
pub mod resolve;
pub mod retry;
pub mod rows;
pub mod run_lock;
pub mod run_options;
pub mod runner;
pub mod schema;
pub mod sign;
pub mod signals;
pub mod stage;
pub mod store;
pub mod when;
