//! Inputs as they come (issue 22): sniffed dialects and Excel's `sep=` line, header options,
//! column shaping, encodings, compressed files and spreadsheets, through validate and push.

use crate::support::server::TestServer;
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
