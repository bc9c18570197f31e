//! Replays the fuzz targets' seeds and every crash input they found (`tests/fuzz_regressions/`)
//! through the targets' own checks, so a fixed bug stays fixed without a nightly toolchain.

use std::path::Path;

#[path = "../../fuzz/harness.rs"]
mod harness;

/// Runs every file of the target's seeds and regressions; fails naming each input that panics.
fn replay(target: &str, check: fn(&[u8])) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dirs = [
        root.join("fuzz/seeds").join(target),
        root.join("tests/fuzz_regressions").join(target),
    ];
    let mut files = Vec::new();
    for dir in &dirs {
        for entry in std::fs::read_dir(dir).unwrap() {
            files.push(entry.unwrap().path());
        }
    }
    files.sort();
    assert!(files.len() > 3, "no inputs for {target}");
    let failed: Vec<String> = files
        .iter()
        .filter(|path| {
            let data = std::fs::read(path).unwrap();
            std::panic::catch_unwind(|| check(&data)).is_err()
        })
        .map(|path| path.display().to_string())
        .collect();
    assert!(failed.is_empty(), "{target} fails on {failed:#?}");
}

#[test]
fn csv_rows_inputs() {
    replay("csv_rows", harness::csv_rows);
}

#[test]
fn schema_inputs() {
    replay("schema", harness::schema);
}

#[test]
fn payload_inputs() {
    replay("payload", harness::payload);
}
