//! The CSV reader with validation (see `harness::csv_rows`).

#![no_main]

// Each target uses its own part of the shared harness.
#[allow(dead_code)]
#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::csv_rows(data));
