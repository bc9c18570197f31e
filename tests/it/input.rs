//! Inputs as they come (issue 22): sniffed dialects and Excel's `sep=` line, header options,
//! column shaping, encodings, compressed files and spreadsheets, through validate and push.

use crate::support::server::{Reply, TestServer};
use crate::support::{fixture, rows_of, stderr_of, Sandbox};

fn input(name: &str) -> std::path::PathBuf {
    fixture(&format!("input/{name}"))
}

/// Pushes `file` with `args` to a fresh server; the rows it received and pulse's stderr.
fn push_rows(file: &std::path::Path, args: &[&str]) -> (Vec<serde_json::Value>, String) {
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    let out = sandbox
        .push_unsigned(file, &server.url())
        .args(args)
        .assert()
        .success();
    (rows_of(&server.requests()), stderr_of(&out))
}

#[test]
fn a_semicolon_file_is_sniffed_and_said() {
    let (rows, stderr) = push_rows(&input("games_semicolon.csv"), &[]);
    assert_eq!(rows.len(), 40);
    assert_eq!(rows[0]["gameid"], "g001");
    assert_eq!(rows[0]["score"], "1,1", "decimal commas stay in their cell");
    assert!(
        stderr.contains("games_semicolon.csv: reading as ;-separated (by its content"),
        "{stderr}"
    );
    // --delimiter always wins.
    let (rows, stderr) = push_rows(&input("games_semicolon.csv"), &["--delimiter", ","]);
    assert!(rows[0].get("gameid;qtr;min;sec;team;score").is_some());
    assert!(!stderr.contains("reading as"), "{stderr}");
}

#[test]
fn excel_sep_line_is_honoured_and_skipped() {
    let (rows, stderr) = push_rows(&input("games_excel_sep.csv"), &[]);
    assert_eq!(rows.len(), 40);
    assert_eq!(rows[0]["gameid"], "g001");
    // The sep= line is line 1, the header line 2.
    assert_eq!(rows[0]["__row"], 3);
    assert_eq!(rows[39]["__row"], 42);
    assert!(
        !stderr.contains("reading as"),
        "named by the file: {stderr}"
    );
}

#[test]
fn tsv_by_extension() {
    let (rows, stderr) = push_rows(&input("games.tsv"), &[]);
    assert_eq!(rows[0]["team"], "SEA");
    assert!(
        stderr.contains("reading as tab-separated (by its extension"),
        "{stderr}"
    );
}

#[test]
fn quoted_delimiters_and_single_columns_are_not_misread() {
    let (rows, stderr) = push_rows(&input("quoted_delimiters.csv"), &[]);
    assert_eq!(rows[0]["note"], "a;b;c|1; and, more");
    assert!(!stderr.contains("reading as"), "{stderr}");
    let (rows, stderr) = push_rows(&input("single_column.csv"), &[]);
    assert_eq!(rows[0]["name"], "Smith; John|1\tjr");
    assert_eq!(
        rows[0].as_object().unwrap().len(),
        5,
        "one column: {}",
        rows[0]
    );
    assert!(!stderr.contains("reading as"), "{stderr}");
}

#[test]
fn a_sniffed_delimiter_is_stored_for_resume_and_validate_sniffs_too() {
    let sandbox = Sandbox::new();
    let csv = sandbox.write("data.csv", "a;b\n1;2\n");
    sandbox
        .pulse()
        .args([
            "push",
            csv.to_str().unwrap(),
            "--url",
            "http://127.0.0.1:9/",
        ])
        .args(["--no-sign", "--retries", "0"])
        .assert()
        .code(4);
    let options: String = sandbox.query("SELECT options FROM runs").unwrap();
    assert!(options.contains(r#""delimiter":";""#), "{options}");
    let schema = sandbox.write(
        "s.json",
        r#"{"fields":[{"name":"a","type":"integer"},{"name":"b","type":"integer"}]}"#,
    );
    let out = sandbox
        .pulse()
        .args(["validate", csv.to_str().unwrap(), "--schema"])
        .arg(&schema)
        .assert()
        .success();
    assert!(stderr_of(&out).contains("reading as ;-separated"));
}

#[test]
fn excel_trailing_blank_columns_are_dropped_with_a_notice() {
    let (rows, stderr) = push_rows(&input("excel_trailing_columns.csv"), &[]);
    assert_eq!(rows.len(), 5);
    assert_eq!(
        rows[0],
        serde_json::json!({"id": "1", "name": "name 1", "__index": 1, "__row": 2,
            "__valid": true, "__errors": []})
    );
    assert!(
        stderr.contains("2 trailing columns with a blank header dropped (columns 3-4)"),
        "{stderr}"
    );
    // A blank header over data stays an error, naming the line and column; nothing is sent.
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    let out = sandbox
        .push_unsigned(&input("blank_header_over_data.csv"), &server.url())
        .assert()
        .code(1);
    assert!(
        stderr_of(&out).contains(
            "blank_header_over_data.csv: line 3, column 3: a value under a blank header name"
        ),
        "{}",
        stderr_of(&out)
    );
    assert!(server.requests().is_empty());
}

#[test]
fn no_header_with_named_or_generated_columns_through_validation_and_delivery() {
    let sandbox = Sandbox::new();
    let schema = sandbox.write(
        "s.json",
        r#"{"fields":[{"name":"n","type":"integer"},{"name":"sensor","type":"string"},
            {"name":"value","type":"number","constraints":{"maximum":12}}]}"#,
    );
    let file = input("no_header.csv");
    let out = sandbox
        .pulse()
        .args(["validate", file.to_str().unwrap(), "--no-header"])
        .args(["--columns", "n,sensor,value", "--schema"])
        .arg(&schema)
        .assert()
        .code(3);
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    // 1.5 * n > 12 for n = 9, 10: lines 9 and 10, the first row being line 1.
    assert!(stdout.contains("10 rows, 8 valid, 2 invalid"), "{stdout}");
    assert!(
        stdout.contains("line 9: value: \"13.5\" is above the maximum 12"),
        "{stdout}"
    );
    let server = TestServer::ok();
    sandbox
        .push_unsigned(&file, &server.url())
        .args(["--no-header", "--columns", "n,sensor,value", "--schema"])
        .arg(&schema)
        .assert()
        .success();
    let rows = rows_of(&server.requests());
    assert_eq!(rows.len(), 10);
    assert_eq!(rows[0]["n"], 1);
    assert_eq!(rows[0]["value"], 1.5);
    assert_eq!(rows[0]["__row"], 1);
    assert_eq!(rows[9]["__valid"], false);
    let options: String = sandbox.query("SELECT options FROM runs").unwrap();
    assert!(options.contains(r#""no_header":true"#), "{options}");

    let (rows, _) = push_rows(&file, &["--no-header"]);
    assert_eq!(rows[1]["column1"], "2");
    assert_eq!(rows[1]["column3"], "3.0");
}

#[test]
fn skip_lines_and_comment_rows() {
    let (rows, _) = push_rows(
        &input("report_with_notes.csv"),
        &["--skip-lines", "2", "--comment", "#"],
    );
    let got: Vec<(String, u64)> = rows
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_string(),
                r["__row"].as_u64().unwrap(),
            )
        })
        .collect();
    let want: Vec<(String, u64)> = [("1", 5), ("2", 6), ("3", 7), ("4", 9), ("5", 10)]
        .iter()
        .map(|&(id, line)| (id.to_string(), line))
        .collect();
    assert_eq!(got, want);
    assert_eq!(rows[0]["amount"], "100");
    let sandbox = Sandbox::new();
    let out = sandbox
        .pulse()
        .args(["validate", "-", "--comment", "##"])
        .write_stdin("a\n1\n")
        .assert()
        .code(2);
    assert!(stderr_of(&out).contains("--comment \"##\" must be one ASCII character"));
    let out = sandbox
        .pulse()
        .args(["validate", "-", "--columns", "a"])
        .write_stdin("1\n")
        .assert()
        .code(2);
    assert!(
        stderr_of(&out).contains("--no-header"),
        "{}",
        stderr_of(&out)
    );
}

#[test]
fn select_and_rename_shape_columns_before_validation_and_payload() {
    let sandbox = Sandbox::new();
    let csv = sandbox.write(
        "people.csv",
        "Customer ID,Full Name,Secret,Age\n1,Ann,x,44\n2,Bob,y,old\n",
    );
    let schema = sandbox.write(
        "s.json",
        r#"{"fields":[{"name":"age","type":"integer"},{"name":"id","type":"integer"}]}"#,
    );
    let shaping = [
        "--select",
        "Age,Customer ID",
        "--rename",
        "Customer ID=id",
        "--rename",
        "Age=age",
    ];
    let out = sandbox
        .pulse()
        .args(["validate", csv.to_str().unwrap(), "--schema"])
        .arg(&schema)
        .args(shaping)
        .assert()
        .code(3);
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(stdout.contains("line 3: age: \"old\""), "{stdout}");
    let server = TestServer::ok();
    sandbox
        .push_unsigned(&csv, &server.url())
        .arg("--schema")
        .arg(&schema)
        .args(shaping)
        .assert()
        .success();
    let rows = rows_of(&server.requests());
    assert_eq!(
        rows[0],
        serde_json::json!({"age": 44, "id": 1, "__index": 1, "__row": 2, "__valid": true,
            "__errors": []})
    );
    assert_eq!(rows[1]["__errors"][0]["fieldName"], "age");
    // Errors name the column as the file has it.
    for (args, words) in [
        (vec!["--select", "Name"], "--select: the input has no column \"Name\" (its columns: Customer ID, Full Name, Secret, Age)"),
        (vec!["--rename", "id=x"], "--rename id=x: the input has no column \"id\""),
        (vec!["--rename", "Age"], "--rename \"Age\" must be OLD=NEW"),
        (vec!["--select", "Age", "--rename", "Secret=s"], "column \"Secret\" is not among --select"),
    ] {
        let out = sandbox
            .pulse()
            .args(["validate", csv.to_str().unwrap()])
            .args(args)
            .assert()
            .code(2);
        assert!(stderr_of(&out).contains(words), "{}", stderr_of(&out));
    }
}

#[test]
fn utf16_by_byte_order_mark_and_any_whatwg_label() {
    // Excel's "Unicode Text": UTF-16LE with a BOM, tab-separated, sniffed after decoding.
    let (rows, stderr) = push_rows(&input("unicode_text_utf16le.txt"), &[]);
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["name"], "Zoë");
    assert_eq!(rows[2]["city"], "東京");
    assert_eq!(rows[2]["__row"], 4);
    assert!(
        stderr.contains("reading as UTF-16LE (by its byte order mark)"),
        "{stderr}"
    );
    assert!(stderr.contains("reading as tab-separated"), "{stderr}");
    let (rows, _) = push_rows(&input("people_utf16be.csv"), &["--encoding", "utf-16le"]);
    assert_eq!(
        rows[1]["city"], "Łódź",
        "the byte order mark wins over the label"
    );
    let (rows, _) = push_rows(
        &input("japanese_shift_jis.csv"),
        &["--encoding", "shift_jis"],
    );
    assert_eq!(rows[0]["名前"], "山田");
    assert_eq!(rows[1]["都市"], "大阪");
    let (rows, _) = push_rows(
        &input("polish_iso_8859_2.csv"),
        &["--encoding", "ISO-8859-2"],
    );
    assert_eq!(rows[0]["imię"], "Łukasz");
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    sandbox
        .push_unsigned(&input("japanese_shift_jis.csv"), &server.url())
        .args(["--encoding", "sjis"])
        .assert()
        .success();
    let options: String = sandbox.query("SELECT options FROM runs").unwrap();
    assert!(options.contains(r#""encoding":"shift_jis""#), "{options}");
    // Without the label: an error naming the line and column, with the hint.
    let out = sandbox
        .pulse()
        .args(["validate"])
        .arg(input("japanese_shift_jis.csv"))
        .assert()
        .code(1);
    assert!(
        stderr_of(&out)
            .contains("line 1, column 1: invalid UTF-8 (use --encoding with the file's encoding"),
        "{}",
        stderr_of(&out)
    );
    let out = sandbox
        .pulse()
        .args(["validate", "-", "--encoding", "klingon"])
        .write_stdin("a\n")
        .assert()
        .code(2);
    assert!(stderr_of(&out).contains("\"klingon\" is not an encoding label"));
}

#[test]
fn gzip_and_zstd_by_magic_bytes_from_files_and_stdin() {
    let (plain, _) = push_rows(&fixture("customers.csv"), &[]);
    assert_eq!(plain.len(), 120);
    for name in ["customers.csv.gz", "customers.csv.zst"] {
        let (rows, _) = push_rows(&input(name), &[]);
        assert_eq!(rows, plain, "{name}");
    }
    // The name does not matter, stdin neither.
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    sandbox
        .pulse()
        .args(["push", "-", "--url", &server.url(), "--no-sign"])
        .pipe_stdin(input("customers.csv.zst"))
        .unwrap()
        .assert()
        .success();
    assert_eq!(rows_of(&server.requests()), plain);
    // Sniffed from the decompressed text.
    let (rows, stderr) = push_rows(&input("games_semicolon.csv.gz"), &[]);
    assert_eq!(rows[0]["gameid"], "g001");
    assert!(stderr.contains("reading as ;-separated"), "{stderr}");
    // A damaged file is a clear error, and nothing is sent.
    let gz = std::fs::read(input("customers.csv.gz")).unwrap();
    let cut = sandbox.write("cut.csv.gz", &gz[..gz.len() / 2]);
    let out = sandbox
        .pulse()
        .args(["validate"])
        .arg(&cut)
        .assert()
        .code(1);
    assert!(
        stderr_of(&out).contains("cut.csv.gz: cannot read")
            && stderr_of(&out).contains("not valid gzip data (incomplete deflate stream)"),
        "{}",
        stderr_of(&out)
    );
}

#[test]
fn compressed_input_and_spreadsheets_are_resumed_and_recognised_as_a_repeat_by_what_was_read() {
    for (fixture_name, batch_size, total, batches) in [
        ("customers.csv.gz", "50", 120, 3),
        ("people.xlsx", "1", 3, 3),
    ] {
        let sandbox = Sandbox::new();
        let file = sandbox.path(&format!("copy-{fixture_name}"));
        std::fs::copy(input(fixture_name), &file).unwrap();
        let refusing = TestServer::start(|_, _| crate::support::server::Reply::status(500));
        sandbox
            .push_unsigned(&file, &refusing.url())
            .args(["--batch-size", batch_size, "--retries", "0"])
            .assert()
            .code(4);
        let size: i64 = sandbox.query("SELECT source_size FROM runs").unwrap();
        assert_eq!(size as u64, std::fs::metadata(&file).unwrap().len());
        sandbox.as_if_killed_while_staging();
        let server = TestServer::ok();
        sandbox.execute(&format!("UPDATE runs SET url = '{}'", server.url()));
        let run = sandbox.last_run();
        sandbox.pulse().args(["resume", &run]).assert().success();
        let rows = rows_of(&server.requests());
        assert_eq!(rows.len(), total, "{fixture_name}");
        assert_eq!(rows[total - 1]["__index"], total as u64, "{fixture_name}");
        // The same file again to the same URL: nothing is sent.
        let out = sandbox
            .push_unsigned(&file, &server.url())
            .args(["--batch-size", batch_size])
            .assert()
            .success();
        assert!(
            stderr_of(&out).contains("unchanged since run"),
            "{fixture_name}: {}",
            stderr_of(&out)
        );
        assert_eq!(server.requests().len(), batches, "{fixture_name}");
    }
}

/// What a CSV export of the fixture spreadsheets' first sheet holds (see fixtures/input/make.py).
fn people_sheet_rows() -> Vec<serde_json::Value> {
    vec![
        serde_json::json!({"id": "1", "name": "Zoë", "amount": "1234.5", "ratio": "0.1",
            "joined": "2024-01-02", "seen_at": "2024-01-02T03:04:05", "active": "true",
            "note": "a, \"quoted\" note"}),
        serde_json::json!({"id": "2", "name": "Łukasz", "amount": "7", "ratio": "0.3",
            "joined": "1999-12-31", "seen_at": "2000-02-29T23:59:00", "active": "false",
            "note": ""}),
        serde_json::json!({"id": "3", "name": "山田", "amount": "-0.5", "ratio": "0.0000001",
            "joined": "", "seen_at": "", "active": "true", "note": "line\nbreak"}),
    ]
}

#[test]
fn spreadsheets_read_as_their_csv_export() {
    for name in ["people.xlsx", "people.xls", "people.ods"] {
        let (rows, _) = push_rows(&input(name), &[]);
        assert_eq!(
            crate::support::without_bookkeeping(&rows),
            people_sheet_rows(),
            "{name}"
        );
        // Row numbers are the sheet's.
        assert_eq!(rows[2]["__row"], 4, "{name}");
        let (rows, _) = push_rows(&input(name), &["--sheet", "Notes"]);
        assert_eq!(
            crate::support::without_bookkeeping(&rows),
            [serde_json::json!({"note": "the second sheet"})]
        );
        let (rows, _) = push_rows(&input(name), &["--sheet", "2"]);
        assert_eq!(rows[0]["note"], "the second sheet");
    }
}

#[test]
fn spreadsheets_validate_cast_and_shape_like_csv() {
    let sandbox = Sandbox::new();
    let schema = sandbox.write(
        "s.json",
        r#"{"fields":[{"name":"id","type":"integer"},{"name":"amount","type":"number",
            "constraints":{"minimum":0}},{"name":"joined","type":"date"},
            {"name":"seen_at","type":"datetime"},{"name":"active","type":"boolean"}]}"#,
    );
    let file = input("people.xlsx");
    let out = sandbox
        .pulse()
        .args(["validate", file.to_str().unwrap(), "--schema"])
        .arg(&schema)
        .args(["--select", "id,amount,joined,seen_at,active"])
        .assert()
        .code(3);
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(stdout.contains("3 rows, 2 valid, 1 invalid"), "{stdout}");
    // Errors name the sheet, the row and the cell as the sheet names them.
    assert!(
        stdout.contains("people.xlsx (sheet \"Data\"): 3 rows"),
        "{stdout}"
    );
    assert!(stdout.contains("row 4 (C4): amount: \"-0.5\""), "{stdout}");
    let out = sandbox
        .pulse()
        .args(["validate", file.to_str().unwrap(), "--json", "--schema"])
        .arg(&schema)
        .args(["--select", "id,amount,joined,seen_at,active"])
        .assert()
        .code(3);
    let report: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(report["errors"][0]["cell_ref"], "C4");
    assert_eq!(report["errors"][0]["line"], 4);
    let server = TestServer::ok();
    sandbox
        .push_unsigned(&file, &server.url())
        .arg("--schema")
        .arg(&schema)
        .args(["--select", "id,amount,joined,seen_at,active"])
        .assert()
        .success();
    let rows = rows_of(&server.requests());
    assert_eq!(
        rows[0],
        serde_json::json!({"id": 1, "amount": 1234.5, "joined": "2024-01-02",
            "seen_at": "2024-01-02T03:04:05", "active": true, "__index": 1, "__row": 2,
            "__valid": true, "__errors": []})
    );
    // The same workbook again: nothing is sent.
    let out = sandbox
        .push_unsigned(&file, &server.url())
        .arg("--schema")
        .arg(&schema)
        .args(["--select", "id,amount,joined,seen_at,active"])
        .assert()
        .success();
    assert!(stderr_of(&out).contains("unchanged since run"));
    // Errors name the sheet.
    for (args, code, words) in [
        (
            vec!["--sheet", "Nope"],
            2,
            "--sheet Nope: the workbook has no such sheet (its sheets: Data, Notes)",
        ),
        (
            vec!["--select", "id", "--rename", "x=y"],
            2,
            "the input has no column \"x\"",
        ),
    ] {
        let out = sandbox
            .pulse()
            .args(["validate", file.to_str().unwrap()])
            .args(args)
            .assert()
            .code(code);
        assert!(stderr_of(&out).contains(words), "{}", stderr_of(&out));
    }
    let out = sandbox
        .pulse()
        .args(["validate"])
        .arg(input("blank_header_over_data.xlsx"))
        .assert()
        .code(1);
    assert!(
        stderr_of(&out).contains(
            "blank_header_over_data.xlsx (sheet \"Sheet\"): row 3, column 3 (C3): a value under a blank header name"
        ),
        "{}",
        stderr_of(&out)
    );
    let bad = sandbox.write("bad.xlsx", "id,name\n1,a\n");
    let out = sandbox
        .pulse()
        .args(["validate"])
        .arg(&bad)
        .assert()
        .code(1);
    assert!(
        stderr_of(&out).contains("bad.xlsx: cannot read the spreadsheet"),
        "{}",
        stderr_of(&out)
    );
    let out = sandbox
        .pulse()
        .args(["validate", "-"])
        .pipe_stdin(&file)
        .unwrap()
        .assert()
        .code(1);
    assert!(stderr_of(&out).contains("spreadsheets are read from a file named .xlsx"));
    let out = sandbox
        .pulse()
        .args(["validate", "-", "--sheet", "1"])
        .write_stdin("a\n1\n")
        .assert()
        .code(2);
    assert!(stderr_of(&out).contains("<stdin> is not a spreadsheet"));
}

#[test]
fn a_compressed_stream_on_stdin_is_staged_as_it_comes() {
    use std::io::Write;
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    let mut child = sandbox.spawn_with(
        &[
            "push",
            "-",
            "--url",
            &server.url(),
            "--no-sign",
            "--batch-size",
            "2",
        ],
        &[],
        std::process::Stdio::piped(),
    );
    let mut stdin = child.stdin.take().unwrap();
    let member = |text: &str| {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), Default::default());
        gz.write_all(text.as_bytes()).unwrap();
        gz.finish().unwrap()
    };
    // One gzip member with a header and five rows; the stream stays open.
    stdin
        .write_all(&member("id,name\n1,a\n2,b\n3,c\n4,d\n5,e\n"))
        .unwrap();
    stdin.flush().unwrap();
    crate::support::wait_for("two batches staged before the stream ends", || {
        sandbox
            .query::<i64>("SELECT count(*) FROM batches")
            .unwrap_or(0)
            >= 2
    });
    stdin.write_all(&member("6,f\n")).unwrap();
    drop(stdin);
    let (code, _, stderr) = crate::support::finish(child);
    assert_eq!(code, Some(0), "{stderr}");
    let ids: Vec<String> = rows_of(&server.requests())
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, ["1", "2", "3", "4", "5", "6"]);
}

#[test]
fn backslash_escaped_quotes_are_read_with_escape_and_kept_for_resume() {
    // The csv crate's `strange.csv`, as MySQL's `INTO OUTFILE ... ENCLOSED BY '"'` writes it:
    // `\"` inside quotes is a quote; a field spans two lines; the last line has no quotes.
    let sandbox = Sandbox::new();
    let csv = sandbox.write(
        "strange.csv",
        "name;year\n\"\\\"Hacksaw\\\" Jim Duggan\";1987\n\"Bret \\\"Hit Man\\\"\nHart\";1984\n\
         \"C:\\\\temp\";2000\nplain \\ text;2001\n",
    );
    let args = ["--delimiter", ";", "--escape", "\\"];
    let (rows, _) = push_rows(&csv, &args);
    let names: Vec<&str> = rows.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "\"Hacksaw\" Jim Duggan",
            "Bret \"Hit Man\"\nHart",
            "C:\\temp",
            "plain \\ text"
        ]
    );
    assert_eq!(
        rows[2]["__row"], 5,
        "line numbers count the line inside the quotes"
    );
    // Without --escape the quotes are read as RFC 4180 has them: the file is not what it says.
    let out = sandbox
        .pulse()
        .args(["validate", csv.to_str().unwrap(), "--delimiter", ";"])
        .assert();
    assert_ne!(out.get_output().status.code(), Some(0));

    // Stored with the run: a resume reads the file the same way.
    let server = TestServer::start(|n, _| Reply::status(if n == 0 { 503 } else { 200 }));
    sandbox
        .push_unsigned(&csv, &server.url())
        .args(args)
        .args(["--retries", "0"])
        .assert()
        .code(4);
    let run = sandbox.last_run();
    sandbox.pulse().args(["resume", &run]).assert().success();
    assert_eq!(rows_of(&server.requests()[1..]), rows);

    // An escape that is the delimiter, a quote or two characters is a usage error.
    for bad in [";", "\"", "ab"] {
        let out = sandbox
            .pulse()
            .args([
                "validate",
                csv.to_str().unwrap(),
                "--delimiter",
                ";",
                "--escape",
                bad,
            ])
            .assert()
            .code(2);
        assert!(stderr_of(&out).contains("--escape"), "{}", stderr_of(&out));
    }
}
