//! Spreadsheets, from raw files or from worksheet XML packed into an `.xlsx` (see
//! `harness::sheet`).

#![no_main]

// Each target uses its own part of the shared harness.
#[allow(dead_code)]
#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::sheet(data));
