//! Replays the fuzz targets' seeds and every crash input they found (`tests/fuzz_regressions/`)
//! through the targets' own checks, so a fixed bug stays fixed without a nightly toolchain.

use std::path::Path;

#[path = "../../fuzz/harness.rs"]
pub mod harness;

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

#[test]
fn sheet_inputs() {
    replay("sheet", harness::sheet);
}

/// The sheet target's packing makes a spreadsheet pulse reads (else the fuzzer would only
/// ever reach the zip reader's refusals).
#[test]
fn the_sheet_target_packs_xml_into_a_readable_xlsx() {
    let sandbox = crate::support::Sandbox::new();
    let sheet = br#"<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row><row r="3"><c r="A3"><v>7</v></c><c r="B3" t="inlineStr"><is><t>ann</t></is></c></row></sheetData></worksheet>"#;
    let strings = br#"<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>id</t></si><si><t>name</t></si></sst>"#;
    let file = sandbox.write("packed.xlsx", harness::xlsx_around(sheet, strings));
    let out = sandbox
        .pulse()
        .args(["validate", file.to_str().unwrap(), "--json"])
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(stdout.contains("\"rows\":1"), "{stdout}");
}
