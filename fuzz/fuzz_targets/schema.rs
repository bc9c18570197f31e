//! The schema loader (see `harness::schema`).

#![no_main]

// Each target uses its own part of the shared harness.
#[allow(dead_code)]
#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::schema(data));
