//! Spreadsheets bounded as CSV is (issue 31, item 5): hostile `.xlsx` files, written by the
//! tests down to the XML, are refused with the cell named, quickly and in little memory.

use std::time::{Duration, Instant};

use crate::support::server::TestServer;
use crate::support::xlsx::{write_xlsx, write_xlsx_parts};
use crate::support::{peak_rss_kib, stderr_of, Sandbox};

const HEADER: &str = r#"<row r="1"><c r="A1" t="inlineStr"><is><t>id</t></is></c></row>"#;

/// What pulse needs to read a small file: far less than any dense sheet would take.
const SMALL_RSS_KIB: i64 = 64 * 1024;

#[test]
fn references_past_excels_last_cell_are_errors_naming_the_cell() {
    let sandbox = Sandbox::new();
    for (name, row, words) in [
        (
            "far.xlsx",
            r#"<row r="2"><c r="ZZZZZZZZ99999999999"><v>1</v></c></row>"#,
            "cell ZZZZZZZZ99999999999 is beyond Excel's last cell, XFD1048576",
        ),
        (
            "zzzzz.xlsx",
            r#"<row r="2"><c r="ZZZZZ2"><v>1</v></c></row>"#,
            "cell ZZZZZ2 is beyond",
        ),
        (
            "xfe.xlsx",
            r#"<row r="2"><c r="XFE1"><v>1</v></c></row>"#,
            "cell XFE1 is beyond",
        ),
        (
            "a1048577.xlsx",
            r#"<row r="1048577"><c r="A1048577"><v>1</v></c></row>"#,
            "row 1048577 is beyond Excel's last row, 1048576",
        ),
        // Past 2^32: calamine's u32 would wrap it to row 1215752191.
        (
            "wraps.xlsx",
            r#"<row><c r="A99999999999"><v>1</v></c></row>"#,
            "cell A99999999999 is beyond",
        ),
        (
            "dimension.xlsx",
            r#"<row r="2"><c r="B2"><v>1</v></c></row>"#,
            "cell ZZZZ9 is beyond",
        ),
    ] {
        let file = sandbox.path(name);
        if name == "dimension.xlsx" {
            // The declared range sets every row's width.
            write_xlsx_parts(
                &file,
                |out| {
                    out.write_all(
                        format!(
                            r#"<worksheet><dimension ref="A1:ZZZZ9"/><sheetData>{HEADER}{row}</sheetData></worksheet>"#
                        )
                        .as_bytes(),
                    )
                },
                None,
            );
        } else {
            write_xlsx(&file, &format!("{HEADER}{row}"));
        }
        let started = Instant::now();
        let out = sandbox
            .pulse()
            .args(["validate", file.to_str().unwrap()])
            .assert()
            .code(1);
        let stderr = stderr_of(&out);
        assert!(
            stderr.contains(&format!("{name}: cannot read the spreadsheet"))
                && stderr.contains(words),
            "{name}: {stderr}"
        );
        assert!(started.elapsed() < Duration::from_secs(10), "{name}");
    }
    let far = sandbox.path("far.xlsx");
    let (code, peak) = peak_rss_kib(&sandbox, &["validate", far.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(peak < SMALL_RSS_KIB, "peak {peak} KiB");
    // Push refuses it before anything is staged or sent.
    let server = TestServer::ok();
    let out = sandbox.push_unsigned(&far, &server.url()).assert().code(1);
    assert!(stderr_of(&out).contains("ZZZZZZZZ99999999999"));
    assert!(server.requests().is_empty());
}

/// Cells without references past the last column, as calamine counts them, are refused too.
#[test]
fn counted_cells_past_the_last_column_are_an_error() {
    let sandbox = Sandbox::new();
    let file = sandbox.path("wide.xlsx");
    write_xlsx(
        &file,
        &format!(
            "{HEADER}<row r=\"2\">{}</row>",
            "<c><v>1</v></c>".repeat(16_385)
        ),
    );
    let out = sandbox
        .pulse()
        .args(["validate", file.to_str().unwrap()])
        .assert()
        .code(1);
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains("wide.xlsx (sheet \"Sheet1\"): cell XFE2 is beyond Excel's last cell"),
        "{stderr}"
    );
}

/// The last cell Excel has is read; the sheet is streamed, never laid out as 17 billion cells.
#[test]
fn the_last_cell_is_read_without_laying_out_the_sheet() {
    let sandbox = Sandbox::new();
    let file = sandbox.path("last.xlsx");
    write_xlsx(
        &file,
        &format!(r#"{HEADER}<row r="1048576"><c r="XFD1048576"><v>7</v></c></row>"#),
    );
    let out = sandbox
        .pulse()
        .args(["validate", file.to_str().unwrap()])
        .assert()
        .code(3);
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        stdout.contains("1 row, 0 valid, 1 invalid, 1048574 blank rows skipped")
            && stdout.contains("extra-cell         16383")
            && stdout.contains("row 1048576 (B1048576): column 2: extra cell \"\""),
        "{stdout}"
    );
    let (code, peak) = peak_rss_kib(&sandbox, &["validate", file.to_str().unwrap()]);
    assert_eq!(code, 3);
    assert!(peak < SMALL_RSS_KIB, "peak {peak} KiB");
}

/// A fuzzer's find: a reference naming an earlier place made row numbers go backwards.
#[test]
fn cells_out_of_order_are_an_error_naming_the_cell() {
    let sandbox = Sandbox::new();
    for (name, rows, words) in [
        (
            "back.xlsx",
            r#"<row r="5"><c r="A5"><v>5</v></c></row><row r="6"><c r="A2"><v>2</v></c></row>"#,
            "cell A2 comes after cell A5",
        ),
        (
            "rows.xlsx",
            r#"<row r="5"><c><v>5</v></c></row><row r="3"><c><v>3</v></c></row>"#,
            "cell A3 comes after cell A5",
        ),
        (
            "left.xlsx",
            r#"<row r="2"><c r="B2"><v>5</v></c><c r="A2"><v>2</v></c></row>"#,
            "cell A2 comes after cell B2",
        ),
        (
            "twice.xlsx",
            r#"<row r="2"><c r="A2"><v>5</v></c><c r="A2"><v>2</v></c></row>"#,
            "cell A2 comes after cell A2",
        ),
    ] {
        let file = sandbox.path(name);
        write_xlsx(&file, &format!("{HEADER}{rows}"));
        let out = sandbox
            .pulse()
            .args(["validate", file.to_str().unwrap()])
            .assert()
            .code(1);
        let stderr = stderr_of(&out);
        assert!(
            stderr.contains(&format!(
                "{name} (sheet \"Sheet1\"): {words}; pulse reads cells in order"
            )),
            "{name}: {stderr}"
        );
    }
}

#[test]
fn cells_and_rows_obey_max_record_size_before_they_are_whole() {
    let sandbox = Sandbox::new();
    let string = "x".repeat(10_000);
    let inline = sandbox.path("inline.xlsx");
    write_xlsx(
        &inline,
        &format!(
            r#"{HEADER}<row r="2"><c r="A2" t="inlineStr"><is><t>{string}</t></is></c></row>"#
        ),
    );
    let shared = sandbox.path("shared.xlsx");
    write_xlsx_parts(
        &shared,
        |out| {
            out.write_all(
                crate::support::xlsx::sheet_xml(&format!(
                    r#"{HEADER}<row r="2"><c r="A2" t="s"><v>1</v></c></row>"#
                ))
                .as_bytes(),
            )
        },
        Some(
            format!(r#"<sst uniqueCount="2"><si><t>a</t></si><si><t>{string}</t></si></sst>"#)
                .as_bytes(),
        ),
    );
    let wide = sandbox.path("wide.xlsx");
    write_xlsx(
        &wide,
        &format!(
            "{HEADER}<row r=\"2\">{}</row>",
            "<c><v>12345</v></c>".repeat(300)
        ),
    );
    for (file, code, words) in [
        (&inline, 0, "sheet \"Sheet1\": xl/worksheets/sheet1.xml: cell A2 is larger than --max-record-size (1024 bytes)"),
        (&shared, 0, "xl/sharedStrings.xml: shared string 2 is larger than --max-record-size (1024 bytes)"),
        (&wide, 3, "wide.xlsx (sheet \"Sheet1\"): row 2 is larger than --max-record-size (1024 bytes)"),
    ] {
        let out = sandbox
            .pulse()
            .args(["validate", file.to_str().unwrap(), "--max-record-size", "1KiB"])
            .assert()
            .code(1);
        let stderr = stderr_of(&out);
        assert!(stderr.contains(words), "{stderr}");
        // Under the default limit the same files are read.
        sandbox
            .pulse()
            .args(["validate", file.to_str().unwrap()])
            .assert()
            .code(code);
    }

    // 64 MiB in one inline string (64 KiB deflated), refused at 1 MiB without being held.
    let big = sandbox.path("big.xlsx");
    write_xlsx_parts(
        &big,
        |out| {
            out.write_all(br#"<worksheet><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>"#)?;
            let chunk = vec![b'x'; 1 << 20];
            for _ in 0..64 {
                out.write_all(&chunk)?;
            }
            out.write_all(b"</t></is></c></row></sheetData></worksheet>")
        },
        None,
    );
    let (code, peak) = peak_rss_kib(
        &sandbox,
        &[
            "validate",
            big.to_str().unwrap(),
            "--max-record-size",
            "1MiB",
        ],
    );
    assert_eq!(code, 1);
    assert!(peak < SMALL_RSS_KIB, "peak {peak} KiB");
}

/// calamine holds the shared strings whole: a table inflating past 100 times its compressed
/// size (a tiny file of millions of empty strings) is refused before calamine reads it.
#[test]
fn a_shared_string_table_inflating_like_a_zip_bomb_is_refused() {
    let sandbox = Sandbox::new();
    let file = sandbox.path("bomb.xlsx");
    let strings = format!(
        r#"<sst uniqueCount="1">{}</sst>"#,
        "<si/>".repeat(1_000_000)
    );
    write_xlsx_parts(
        &file,
        |out| out.write_all(crate::support::xlsx::sheet_xml(HEADER).as_bytes()),
        Some(strings.as_bytes()),
    );
    let out = sandbox
        .pulse()
        .args(["validate", file.to_str().unwrap()])
        .assert()
        .code(1);
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains("xl/sharedStrings.xml: inflates to more than")
            && stderr.contains("as a zip bomb does"),
        "{stderr}"
    );
}

#[test]
fn a_damaged_xls_that_makes_calamine_panic_is_an_error_naming_the_file_not_a_crash() {
    // Found by the `sheet` fuzz target: a compound file whose sectors run past its end. Made
    // calamine panic; now refused before calamine opens it (`read/xls_guard`).
    let found = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fuzz_regressions/sheet/xls-sectors-past-the-end"),
    )
    .unwrap();
    let sandbox = Sandbox::new();
    // The first byte is the fuzz target's choice of kind (2: `.xls`).
    let file = sandbox.write("damaged.xls", &found[1..]);
    let server = TestServer::ok();
    for args in [
        vec!["validate", file.to_str().unwrap()],
        vec![
            "push",
            file.to_str().unwrap(),
            "--url",
            &server.url(),
            "--no-sign",
        ],
    ] {
        let out = sandbox
            .pulse()
            .args(&args)
            .env("RUST_BACKTRACE", "1")
            .assert()
            .code(1);
        let stderr = stderr_of(&out);
        assert!(
            stderr.contains("damaged.xls")
                && stderr.contains("the FAT names sector 8, past the end of the file"),
            "{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
    assert!(server.requests().is_empty());
}
