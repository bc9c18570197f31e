//! `.xls` and `.ods` bounded as `.xlsx` is (issue 31): files written by the tests down to the
//! records and the XML, refused before calamine lays them out, with the cell named, quickly
//! and in little memory; ordinary files still read.

use crate::support::server::TestServer;
use crate::support::xls::{compound, dimensions, label, number, workbook_stream, xls};
use crate::support::{peak_rss_kib, rows_of, stderr_of, Sandbox};

/// What pulse needs to read a small file: far less than any dense sheet would take.
const SMALL_RSS_KIB: i64 = 64 * 1024;

/// Runs `pulse validate FILE`: exit 1, one line naming the file and saying `words`; in little
/// memory; and `push` sends nothing.
fn refused(sandbox: &Sandbox, name: &str, bytes: &[u8], words: &str) {
    let file = sandbox.write(name, bytes);
    let out = sandbox
        .pulse()
        .args(["validate", file.to_str().unwrap()])
        .assert()
        .code(1);
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains(&format!("{name}: cannot read the spreadsheet")) && stderr.contains(words),
        "{name}: {stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let (code, peak) = peak_rss_kib(sandbox, &["validate", file.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(peak < SMALL_RSS_KIB, "{name}: peak {peak} KiB");
    let server = TestServer::ok();
    sandbox.push_unsigned(&file, &server.url()).assert().code(1);
    assert!(server.requests().is_empty());
}

#[test]
fn an_xls_is_read_cell_by_cell() {
    let sandbox = Sandbox::new();
    let file = sandbox.write(
        "people.xls",
        xls(&[
            dimensions(0, 3, 0, 2),
            label(0, 0, "id"),
            label(0, 1, "name"),
            number(1, 0, 1.0),
            label(1, 1, "ann"),
            number(2, 0, 2.5),
            label(2, 1, "bob"),
        ]),
    );
    let server = TestServer::ok();
    sandbox
        .push_unsigned(&file, &server.url())
        .assert()
        .success();
    let rows: Vec<(String, String)> = rows_of(&server.requests())
        .iter()
        .map(|row| (row["id"].to_string(), row["name"].to_string()))
        .collect();
    assert_eq!(
        rows,
        [("\"1\"", "\"ann\""), ("\"2.5\"", "\"bob\"")].map(|(a, b)| (a.into(), b.into()))
    );
}

#[test]
fn xls_cells_past_iv65536_are_errors_naming_the_cell() {
    let sandbox = Sandbox::new();
    refused(
        &sandbox,
        "wide.xls",
        &xls(&[label(0, 0, "id"), number(1, 299, 1.0)]),
        "cell KN2 is beyond Excel 97's last cell, IV65536",
    );
    refused(
        &sandbox,
        "dimensions.xls",
        &xls(&[dimensions(0, 70_000, 0, 2), label(0, 0, "id")]),
        "its DIMENSIONS record reaches cell B70000, beyond Excel 97's last cell",
    );
}

/// Two cells far apart: calamine would lay out 65,536 × 256 cells (512 MiB) from a 5 KB file.
#[test]
fn an_xls_whose_grid_would_be_huge_is_refused_in_little_memory() {
    let sandbox = Sandbox::new();
    refused(
        &sandbox,
        "far.xls",
        &xls(&[label(0, 0, "id"), number(65_535, 255, 1.0)]),
        "sheet \"Sheet1\": its cells span A1:IV65536: calamine would lay its sheets out in",
    );
    // A DIMENSIONS record claiming the whole sheet: calamine reserves room for every cell.
    refused(
        &sandbox,
        "claims.xls",
        &xls(&[dimensions(0, 65_536, 0, 256), label(0, 0, "id")]),
        "sheet \"Sheet1\": its DIMENSIONS record declares A1:IV65536: calamine would lay",
    );
}

/// Chains that loop made calamine read without end (the fuzz target's 5.6 KB file took 2 GiB).
#[test]
fn an_xls_whose_sector_chain_loops_is_an_error_naming_the_file() {
    let sandbox = Sandbox::new();
    let mut file = compound(&workbook_stream(&[label(0, 0, "id")]));
    // The FAT is sector 0 (file offset 512), the stream sectors 2 to 9: 9 goes back to 2.
    let entry = 512 + 4 * 9;
    file[entry..entry + 4].copy_from_slice(&2u32.to_le_bytes());
    // Its declared length, larger than the chain, so calamine would follow the loop.
    let len_at = 1024 + 128 + 120;
    file[len_at..len_at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    refused(
        &sandbox,
        "loop.xls",
        &file,
        "the Workbook stream goes back to sector 2: its chain loops",
    );
    let found = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fuzz_regressions/sheet/xls-directory-chain-takes-2-gib"),
    )
    .unwrap();
    // The first byte is the fuzz target's choice of kind (2: `.xls`).
    refused(
        &sandbox,
        "fuzzed.xls",
        &found[1..],
        "the directory goes back to sector 0: its chain loops",
    );
}

/// A cell with a value, as LibreOffice writes it.
fn text_cell(text: &str) -> String {
    format!(
        r#"<table:table-cell office:value-type="string" calcext:value-type="string"><text:p>{text}</text:p></table:table-cell>"#
    )
}

fn float_cell(value: &str) -> String {
    format!(
        r#"<table:table-cell office:value-type="float" office:value="{value}" calcext:value-type="float"><text:p>{value}</text:p></table:table-cell>"#
    )
}

/// LibreOffice ends every row with its empty cells to column XFD, and every sheet with its
/// empty rows to row 1,048,576: calamine lays out neither, and neither is counted.
#[test]
fn a_libreoffice_ods_with_empty_repeats_to_the_sheets_edge_is_read() {
    let sandbox = Sandbox::new();
    let file = sandbox.path("people.ods");
    let edge = r#"<table:table-cell table:number-columns-repeated="16382"/>"#;
    let row = |cells: String| {
        format!(r#"<table:table-row table:style-name="ro1">{cells}{edge}</table:table-row>"#)
    };
    let rows = [
        row(text_cell("id") + &text_cell("name")),
        row(float_cell("1") + &text_cell("ann")),
        // Two empty rows between, which calamine does lay out.
        r#"<table:table-row table:style-name="ro1" table:number-rows-repeated="2"><table:table-cell table:number-columns-repeated="16384"/></table:table-row>"#.to_string(),
        row(float_cell("2") + &text_cell("bob &amp; co")),
        r#"<table:table-row table:style-name="ro1" table:number-rows-repeated="1048571"><table:table-cell table:number-columns-repeated="16384"/></table:table-row>"#.to_string(),
    ];
    crate::support::ods::write_ods(&file, &rows.concat());
    let server = TestServer::ok();
    sandbox
        .push_unsigned(&file, &server.url())
        .assert()
        .success();
    let rows: Vec<(String, String, i64)> = rows_of(&server.requests())
        .iter()
        .map(|row| {
            (
                row["id"].to_string(),
                row["name"].to_string(),
                row["__row"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [("\"1\"", "\"ann\"", 2), ("\"2\"", "\"bob & co\"", 5)].map(|(a, b, n)| (
            a.into(),
            b.into(),
            n
        ))
    );
    let (code, peak) = peak_rss_kib(&sandbox, &["validate", file.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(peak < SMALL_RSS_KIB, "peak {peak} KiB");
}

fn ods(sandbox: &Sandbox, name: &str, rows: &str) -> Vec<u8> {
    let file = sandbox.path(&format!("{name}.written"));
    crate::support::ods::write_ods(&file, rows);
    std::fs::read(file).unwrap()
}

#[test]
fn ods_cells_past_xfd1048576_are_errors_naming_the_cell() {
    let sandbox = Sandbox::new();
    let header = format!("<table:table-row>{}</table:table-row>", text_cell("id"));
    let wide = format!(
        r#"{header}<table:table-row><table:table-cell table:number-columns-repeated="16384"/>{}</table:table-row>"#,
        float_cell("1")
    );
    refused(
        &sandbox,
        "wide.ods",
        &ods(&sandbox, "wide", &wide),
        "cell XFE2 is beyond Excel's last cell, XFD1048576",
    );
    let deep = format!(
        r#"{header}<table:table-row table:number-rows-repeated="1048575"><table:table-cell/></table:table-row><table:table-row>{}</table:table-row>"#,
        float_cell("1")
    );
    refused(
        &sandbox,
        "deep.ods",
        &ods(&sandbox, "deep", &deep),
        "cell A1048577 is beyond Excel's last cell",
    );
}

/// Repeats that calamine would lay out as billions of cells, from a file of a few hundred
/// bytes (an 808-byte one took 6.2 GB before).
#[test]
fn an_ods_whose_repeats_would_make_a_huge_grid_is_refused_in_little_memory() {
    let sandbox = Sandbox::new();
    let header = format!("<table:table-row>{}</table:table-row>", text_cell("id"));
    let repeated = format!(
        r#"{header}<table:table-row table:number-rows-repeated="1000000"><table:table-cell office:value-type="float" office:value="1" table:number-columns-repeated="16384"/></table:table-row>"#
    );
    refused(
        &sandbox,
        "repeats.ods",
        &ods(&sandbox, "repeats", &repeated),
        "sheet \"Sheet1\": its cells span A1:XFD1000001: calamine would lay its sheets out in",
    );
    let far = format!(
        r#"{header}<table:table-row table:number-rows-repeated="1048574"><table:table-cell/></table:table-row><table:table-row><table:table-cell table:number-columns-repeated="16383"/>{}</table:table-row>"#,
        float_cell("1")
    );
    refused(
        &sandbox,
        "far.ods",
        &ods(&sandbox, "far", &far),
        "its cells span A1:XFD1048576: calamine would lay",
    );
}

/// A cell's spaces (`<text:s text:c>`) and a repeated cell's copies count before calamine
/// makes them.
#[test]
fn ods_cells_and_rows_obey_max_record_size_before_calamine_makes_them() {
    let sandbox = Sandbox::new();
    let spaces = r#"<table:table-row><table:table-cell office:value-type="string"><text:p>a<text:s text:c="100000000"/></text:p></table:table-cell></table:table-row>"#;
    refused(
        &sandbox,
        "spaces.ods",
        &ods(&sandbox, "spaces", spaces),
        "cell A1 is larger than --max-record-size (67108864 bytes)",
    );
    let text = "x".repeat(5000);
    let copies = format!(
        r#"<table:table-row><table:table-cell office:value-type="string" office:string-value="{text}" table:number-columns-repeated="16000"/></table:table-row>"#
    );
    refused(
        &sandbox,
        "copies.ods",
        &ods(&sandbox, "copies", &copies),
        "row 1 is larger than --max-record-size (67108864 bytes)",
    );
}
