//! `pulse validate` and schema-driven push: casting, errors, events, --fail-on-invalid, input
//! structure and encodings.

use crate::support::server::TestServer;
use crate::support::{fixture, rows_of, stderr_of, Sandbox};

const SCHEMA: &str = r#"{
  "fields": [
    {"name": "id", "type": "integer", "constraints": {"required": true}},
    {"name": "email", "type": "string", "format": "email"},
    {"name": "age", "type": "integer", "constraints": {"minimum": 0}},
    {"name": "score", "type": "number", "decimalChar": ","},
    {"name": "active", "type": "boolean", "trueValues": ["yes"], "falseValues": ["no"]},
    {"name": "born", "type": "date", "format": "%d/%m/%Y"},
    {"name": "seen", "type": "datetime"},
    {"name": "code", "type": "string", "constraints": {"pattern": "[A-Z]{2}", "enum": ["SE", "US"]}}
  ],
  "primaryKey": "id",
  "missingValues": ["", "NA"]
}"#;

const CSV: &str = "id,email,age,score,active,born,seen,code
1,a@example.com,44,\"3,5\",yes,02/01/1980,2024-05-06T07:08:09Z,SE
2,bad-email,12.5,x,maybe,1980-01-02,yesterday,se
3,c@example.com,NA,,no,,,US
1,d@example.com,5,1,no,01/01/2000,2024-01-01T00:00:00Z,US
";

fn setup() -> (Sandbox, std::path::PathBuf, std::path::PathBuf) {
    let sandbox = Sandbox::new();
    let schema = sandbox.write("schema.json", SCHEMA);
    let csv = sandbox.write("people.csv", CSV);
    (sandbox, schema, csv)
}

#[test]
fn valid_rows_are_cast_and_invalid_rows_keep_their_text() {
    let (sandbox, schema, csv) = setup();
    let server = TestServer::ok();
    sandbox
        .pulse()
        .args([
            "push",
            csv.to_str().unwrap(),
            "--url",
            &server.url(),
            "--no-sign",
        ])
        .args(["--schema", schema.to_str().unwrap()])
        .assert()
        .success();
    let rows = rows_of(&server.requests());
    assert_eq!(rows.len(), 4);
    assert_eq!(
        rows[0],
        serde_json::json!({"id": 1, "email": "a@example.com", "age": 44, "score": 3.5,
            "active": true, "born": "1980-01-02", "seen": "2024-05-06T07:08:09Z", "code": "SE",
            "__index": 1, "__row": 2, "__valid": true, "__errors": []})
    );
    // Missing values are null in valid rows.
    assert_eq!(rows[2]["age"], serde_json::Value::Null);
    assert_eq!(rows[2]["active"], false);
    // Invalid rows keep every cell's original text and list their errors.
    assert_eq!(rows[1]["__valid"], false);
    assert_eq!(rows[1]["id"], "2");
    assert_eq!(rows[1]["age"], "12.5");
    let types: Vec<(&str, &str)> = rows[1]["__errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap(),
                e["fieldName"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        types,
        vec![
            ("type-error", "email"),
            ("type-error", "age"),
            ("type-error", "score"),
            ("type-error", "active"),
            ("type-error", "born"),
            ("type-error", "seen"),
            // "se" breaks both the pattern and the enum: frictionless reports each.
            ("constraint-error", "code"),
            ("constraint-error", "code"),
        ]
    );
    let age = &rows[1]["__errors"][1];
    assert_eq!(age["message"], "age: \"12.5\" is not an integer");
    assert_eq!(age["fieldNumber"], 3);
    assert_eq!(age["cell"], "12.5");
    // The repeated primary key.
    assert_eq!(rows[3]["__errors"][0]["type"], "primary-key");
}

#[test]
fn events_go_out_in_the_order_given_with_their_own_totals() {
    let (sandbox, schema, csv) = setup();
    let server = TestServer::ok();
    sandbox
        .pulse()
        .args([
            "push",
            csv.to_str().unwrap(),
            "--url",
            &server.url(),
            "--no-sign",
        ])
        .args([
            "--schema",
            schema.to_str().unwrap(),
            "--events",
            "invalid,validData,all",
        ])
        .args(["--batch-size", "1"])
        .assert()
        .success();
    let bodies: Vec<serde_json::Value> = server.requests().iter().map(|r| r.json()).collect();
    let names: Vec<&str> = bodies
        .iter()
        .map(|b| b["event_name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "invalidData",
            "invalidData",
            "validData",
            "validData",
            "all",
            "all",
            "all",
            "all"
        ]
    );
    assert_eq!(bodies[0]["totalRows"], 2);
    assert_eq!(bodies[0]["count"], 2);
    assert_eq!(bodies[2]["totalRows"], 2);
    assert_eq!(bodies[4]["count"], 4);
    let ids: std::collections::BTreeSet<&str> =
        bodies.iter().map(|b| b["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 3, "one id per event");
    assert!(bodies[..2].iter().all(|b| b["data"][0]["__valid"] == false));
}

#[test]
fn rows_shared_by_events_keep_their_numbers_in_each() {
    // Every third row invalid, every fifth spanning two lines: the events' rows follow each
    // other in `all` but not in `validData` or `invalidData`, and batches start over, cut by
    // row count or by size (a row that does not fit is moved to the next batch).
    let sandbox = Sandbox::new();
    let schema = sandbox.write(
        "schema.json",
        r#"{"fields": [{"name": "id", "type": "integer"}, {"name": "note"}]}"#,
    );
    let mut csv = String::from("id,note\n");
    let mut expected = Vec::new();
    let mut line = 2;
    for n in 1..=40u64 {
        let id = if n % 3 == 0 {
            format!("x{n}")
        } else {
            n.to_string()
        };
        let note = if n % 5 == 0 { "\"two\nlines\"" } else { "one" };
        csv.push_str(&format!("{id},{note}\n"));
        expected.push((n, line, n % 3 != 0));
        line += if n % 5 == 0 { 2 } else { 1 };
    }
    let csv = sandbox.write("mixed.csv", csv);
    for cut in [["--batch-size", "4"], ["--max-body-size", "2KiB"]] {
        let server = TestServer::ok();
        sandbox
            .pulse()
            .args(["push", csv.to_str().unwrap(), "--url", &server.url()])
            .args(["--schema", schema.to_str().unwrap()])
            .args(["--events", "all,valid,invalid", "--no-sign"])
            .args(cut)
            .assert()
            .success();
        let requests = server.requests();
        assert!(requests.len() > 5, "{cut:?}: {} batches", requests.len());
        for (event, takes) in [
            ("all", None),
            ("validData", Some(true)),
            ("invalidData", Some(false)),
        ] {
            let of_event: Vec<_> = requests
                .iter()
                .filter(|r| r.json()["event_name"] == event)
                .cloned()
                .collect();
            let numbers: Vec<(u64, u64)> = rows_of(&of_event)
                .iter()
                .map(|row| {
                    (
                        row["__index"].as_u64().unwrap(),
                        row["__row"].as_u64().unwrap(),
                    )
                })
                .collect();
            let wanted: Vec<(u64, u64)> = expected
                .iter()
                .filter(|(_, _, valid)| takes.is_none_or(|t| t == *valid))
                .map(|&(n, line, _)| (n, line))
                .collect();
            assert_eq!(numbers, wanted, "{event} {cut:?}");
        }
    }
}

#[test]
fn an_empty_event_sends_nothing_and_is_recorded() {
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    let out = sandbox
        .pulse()
        .args([
            "push",
            fixture("customers.csv").to_str().unwrap(),
            "--url",
            &server.url(),
        ])
        .args([
            "--schema",
            fixture("customers.schema.json").to_str().unwrap(),
        ])
        .args(["--events", "valid,invalid", "--no-sign", "--json"])
        .assert()
        .success();
    let summary: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(summary["events"][1]["name"], "invalidData");
    assert_eq!(summary["events"][1]["rows"], 0);
    assert_eq!(summary["events"][1]["batches"], 0);
    assert_eq!(server.requests().len(), 1);
    let events: i64 = sandbox
        .query("SELECT count(*) FROM events WHERE name = 'invalidData'")
        .unwrap();
    assert_eq!(events, 1);
}

#[test]
fn fail_on_invalid_sends_nothing_and_exits_3() {
    let (sandbox, schema, csv) = setup();
    let server = TestServer::ok();
    let out = sandbox
        .pulse()
        .args([
            "push",
            csv.to_str().unwrap(),
            "--url",
            &server.url(),
            "--no-sign",
        ])
        .args(["--schema", schema.to_str().unwrap(), "--fail-on-invalid"])
        .assert()
        .code(3);
    let stderr = stderr_of(&out);
    assert!(stderr.contains("2 invalid rows of 4"), "{stderr}");
    assert!(stderr.contains("line 3"), "{stderr}");
    assert!(server.requests().is_empty());
    // CI gets a JSON summary on stdout even when the file is refused.
    let out = sandbox
        .pulse()
        .args([
            "push",
            csv.to_str().unwrap(),
            "--url",
            &server.url(),
            "--no-sign",
            "--json",
        ])
        .args(["--schema", schema.to_str().unwrap(), "--fail-on-invalid"])
        .assert()
        .code(3);
    let summary: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(summary["status"], "invalid");
    assert_eq!(summary["rows"]["invalid"], 2);
    assert_eq!(summary["delivered"], 0);
    assert_eq!(summary["first_invalid"]["line"], 3);
    let status: String = sandbox.query("SELECT status FROM runs LIMIT 1").unwrap();
    let batches: i64 = sandbox.query("SELECT count(*) FROM batches").unwrap();
    assert_eq!((status.as_str(), batches), ("invalid", 0));
}

#[test]
fn validate_summarises_and_exits_by_validity() {
    let (sandbox, schema, csv) = setup();
    let invalid_out = sandbox.path("invalid.csv");
    let out = sandbox
        .pulse()
        .args([
            "validate",
            csv.to_str().unwrap(),
            "--schema",
            schema.to_str().unwrap(),
        ])
        .args(["--invalid-out", invalid_out.to_str().unwrap()])
        .assert()
        .code(3);
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(
        stdout.contains("4 rows, 2 valid, 2 invalid, 0 blank rows skipped"),
        "{stdout}"
    );
    assert!(
        stdout.contains("line 3: age: \"12.5\" is not an integer"),
        "{stdout}"
    );
    assert!(stdout.contains("primary-key"), "{stdout}");
    let mut reader = csv::Reader::from_path(&invalid_out).unwrap();
    assert_eq!(reader.headers().unwrap().iter().next_back(), Some("errors"));
    let failing: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(failing.len(), 2);
    assert_eq!(&failing[0][0], "2");
    assert!(failing[0][8].contains("is not an email address"));
    // No log was written.
    assert!(!sandbox.db().exists());
    // All valid: exit 0.
    sandbox
        .pulse()
        .args(["validate", fixture("customers.csv").to_str().unwrap()])
        .args([
            "--schema",
            fixture("customers.schema.json").to_str().unwrap(),
        ])
        .assert()
        .success();
}

#[test]
fn the_errors_by_field_table_stays_aligned_with_long_field_names() {
    let sandbox = Sandbox::new();
    let long = "customer_lifetime_value_in_euros_at_signup";
    let schema = sandbox.write(
        "s.json",
        format!(
            r#"{{"fields": [{{"name": "id", "type": "integer"}},
                {{"name": "{long}", "type": "number", "constraints": {{"minimum": 0}}}}]}}"#
        ),
    );
    let csv = sandbox.write("v.csv", format!("id,{long}\nx,-1\n"));
    let out = sandbox
        .pulse()
        .args(["validate", csv.to_str().unwrap()])
        .args(["--schema", schema.to_str().unwrap()])
        .assert()
        .code(3);
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let table: Vec<&str> = stdout
        .lines()
        .skip_while(|l| *l != "errors by field and type:")
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .collect();
    assert_eq!(table.len(), 2, "{stdout}");
    // Each column starts at the same place on every line, and is set off by a space.
    let starts = |line: &str| {
        let mut starts = Vec::new();
        let mut prev = ' ';
        for (i, c) in line.char_indices() {
            if c != ' ' && prev == ' ' {
                starts.push(i);
            }
            prev = c;
        }
        starts
    };
    assert_eq!(starts(table[0]).len(), 3, "{stdout}");
    assert_eq!(starts(table[0]), starts(table[1]), "{stdout}");
    assert!(
        table[0].contains(long) || table[1].contains(long),
        "{stdout}"
    );
    assert!(stdout.contains("first 2 errors:"), "{stdout}");
    // One error: "first 1 error".
    let one = sandbox.write("one.csv", format!("id,{long}\nx,1\n"));
    let out = sandbox
        .pulse()
        .args(["validate", one.to_str().unwrap()])
        .args(["--schema", schema.to_str().unwrap()])
        .assert()
        .code(3);
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(stdout.contains("first 1 error:\n"), "{stdout}");
}

#[test]
fn validate_json_lists_every_error_with_its_line() {
    let (sandbox, schema, csv) = setup();
    let out = sandbox
        .pulse()
        .args([
            "validate",
            csv.to_str().unwrap(),
            "--schema",
            schema.to_str().unwrap(),
            "--json",
        ])
        .assert()
        .code(3);
    let report: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(report["valid"], false);
    assert_eq!(report["rows"], 4);
    assert_eq!(report["invalid_rows"], 2);
    assert_eq!(report["error_count"], 9);
    assert_eq!(report["errors"].as_array().unwrap().len(), 9);
    assert_eq!(report["errors"][0]["line"], 3);
    assert_eq!(report["errors"][8]["type"], "primary-key");
    assert_eq!(report["errors"][8]["line"], 5);
}

#[test]
fn unreadable_input_exits_1_and_bad_schemas_exit_2() {
    let (sandbox, schema, _) = setup();
    sandbox
        .pulse()
        .args([
            "validate",
            "/nonexistent/x.csv",
            "--schema",
            schema.to_str().unwrap(),
        ])
        .assert()
        .code(1);
    let cases = [
        ("{\"fields\": [", "line 1"),
        ("[1, 2]", "schema.json"),
        (
            r#"{"fields": [{"name": "a", "type": "geopoint"}]}"#,
            "geopoint",
        ),
        (
            r#"{"fields": [{"name": "a", "constraints": {"foo": 1}}]}"#,
            "foo",
        ),
    ];
    for (text, words) in cases {
        let bad = sandbox.write("schema.json", text);
        let out = sandbox
            .pulse()
            .args(["validate", fixture("tricky.csv").to_str().unwrap()])
            .args(["--schema", bad.to_str().unwrap()])
            .assert()
            .code(2);
        let stderr = stderr_of(&out);
        assert!(
            stderr.contains("schema.json") && stderr.contains(words),
            "{text}: {stderr}"
        );
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    }
}

#[test]
fn ragged_rows_are_invalid_rows_not_crashes() {
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    let csv = sandbox.write("r.csv", "a,b,c\n1,2\n1,2,3,4\n1,2,3\n");
    sandbox
        .pulse()
        .args([
            "push",
            csv.to_str().unwrap(),
            "--url",
            &server.url(),
            "--no-sign",
        ])
        .args(["--events", "invalid"])
        .assert()
        .success();
    let rows = rows_of(&server.requests());
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["__errors"][0]["type"], "missing-cell");
    assert_eq!(rows[0]["c"], serde_json::Value::Null);
    assert_eq!(rows[1]["__errors"][0]["type"], "extra-cell");
    assert_eq!(rows[1]["__extra"], serde_json::json!(["4"]));
}

#[test]
fn bad_headers_and_bad_utf8_are_clear_errors() {
    let sandbox = Sandbox::new();
    for (name, bytes, words) in [
        (
            "dup.csv",
            b"a,b,a\n1,2,3\n".to_vec(),
            "duplicate header name \"a\" in columns 1 and 3",
        ),
        (
            "blank.csv",
            b"a,,c\n1,2,3\n".to_vec(),
            "column 2 has a blank header name",
        ),
        (
            "latin.csv",
            b"name\nok\nZo\xeb\n".to_vec(),
            "line 3, column 1: invalid UTF-8",
        ),
    ] {
        let path = sandbox.write(name, bytes);
        let out = sandbox
            .pulse()
            .args(["validate", path.to_str().unwrap()])
            .assert()
            .code(1);
        let stderr = stderr_of(&out);
        assert!(stderr.contains(name) && stderr.contains(words), "{stderr}");
    }
}

#[test]
fn latin1_and_windows_1252_are_decoded_on_request() {
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    let path = sandbox.write("latin.csv", b"name,price\nZo\xeb,\x80 5\n");
    for (encoding, price) in [("latin1", "\u{80} 5"), ("windows-1252", "€ 5")] {
        sandbox
            .pulse()
            .args([
                "push",
                path.to_str().unwrap(),
                "--url",
                &server.url(),
                "--no-sign",
            ])
            .args(["--encoding", encoding])
            .assert()
            .success();
        let rows = rows_of(&server.requests());
        let row = rows.last().unwrap();
        assert_eq!(row["name"], "Zoë");
        assert_eq!(row["price"], price, "{encoding}");
    }
}

#[test]
fn blank_rows_by_missing_values_are_skipped_and_counted() {
    let sandbox = Sandbox::new();
    let schema = sandbox.write(
        "s.json",
        r#"{"fields": [{"name": "a"}, {"name": "b"}], "missingValues": ["", "NA"]}"#,
    );
    let csv = sandbox.write("b.csv", "a,b\n1,2\nNA,NA\n,\n\n3,4\n");
    let out = sandbox
        .pulse()
        .args([
            "validate",
            csv.to_str().unwrap(),
            "--schema",
            schema.to_str().unwrap(),
        ])
        .assert()
        .success();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(
        stdout.contains("2 rows, 2 valid, 0 invalid, 3 blank rows skipped"),
        "{stdout}"
    );
}

#[test]
fn a_huge_enum_keeps_messages_the_log_and_stderr_small() {
    // 100,000 allowed values and 2,000 invalid rows (6 KB of CSV): every message once listed the
    // whole enum, an 835 MB log and 15.8 MB on stderr.
    let sandbox = Sandbox::new();
    let members: Vec<String> = (0..100_000).map(|i| format!("\"v{i}\"")).collect();
    let schema = format!(
        r#"{{"fields": [{{"name": "a", "constraints": {{"enum": [{}]}}}}]}}"#,
        members.join(",")
    );
    let schema = sandbox.write("enum.json", schema);
    let csv = sandbox.write("d.csv", format!("a\n{}", "nope\n".repeat(2_000)));
    let server = TestServer::ok();
    let out = sandbox
        .pulse()
        .args([
            "push",
            csv.to_str().unwrap(),
            "--url",
            &server.url(),
            "--no-sign",
        ])
        .args(["--schema", schema.to_str().unwrap()])
        .assert()
        .success();
    let stderr = stderr_of(&out);
    assert!(stderr.len() < 20_000, "{} bytes on stderr", stderr.len());
    let rows = rows_of(&server.requests());
    let message = rows[0]["__errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("is not one of the 100000 allowed values [v0, v1, v2, v3, v4, ...]"),
        "{message}"
    );
    let sent: usize = server.requests().iter().map(|r| r.body.len()).sum();
    assert!(sent < 2_000_000, "{sent} bytes sent");
    if !crate::support::on_postgres() {
        let log = std::fs::metadata(sandbox.db()).unwrap().len();
        assert!(log < 4_000_000, "the log is {log} bytes");
    }
}

/// Issue 31, item 6: a row whose only values lie past the header was skipped as blank (data
/// lost, exit 0); it is an `extra-cell` error, and a row empty past the header too stays blank.
#[test]
fn a_row_with_values_only_past_the_header_is_invalid_not_skipped() {
    let sandbox = Sandbox::new();
    let csv = sandbox.write("orphan.csv", "id,name\n,,ORPHAN\n,,\n");
    let out = sandbox
        .pulse()
        .args(["validate", csv.to_str().unwrap()])
        .assert()
        .code(3);
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        stdout.contains("1 row, 0 valid, 1 invalid, 1 blank row skipped")
            && stdout.contains("line 2: column 3: extra cell \"ORPHAN\""),
        "{stdout}"
    );
}

/// The same in a spreadsheet: a row whose only value lies past the header's columns.
#[test]
fn a_row_with_values_only_past_the_header_is_invalid_not_skipped_in_a_spreadsheet_too() {
    let sandbox = Sandbox::new();
    let file = sandbox.path("orphan.xlsx");
    crate::support::xlsx::write_xlsx(
        &file,
        r#"<row r="1"><c r="A1" t="inlineStr"><is><t>id</t></is></c><c r="B1" t="inlineStr"><is><t>name</t></is></c></row><row r="2"><c r="C2" t="inlineStr"><is><t>ORPHAN</t></is></c></row><row r="3"><c r="A3" s="1"/><c r="B3" s="1"/></row><row r="4"><c r="A4"><v>1</v></c><c r="B4" t="inlineStr"><is><t>a</t></is></c></row>"#,
    );
    let out = sandbox
        .pulse()
        .args(["validate", file.to_str().unwrap()])
        .assert()
        .code(3);
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        stdout.contains("2 rows, 1 valid, 1 invalid, 1 blank row skipped")
            && stdout.contains("row 2 (C2): column 3: extra cell \"ORPHAN\""),
        "{stdout}"
    );
}

/// Issue 32, item 7: on a `;` file with `#` comment lines the sniffer cannot tell; it reads
/// with a comma, as before, but says it guessed and what to give.
#[test]
fn a_doubtful_delimiter_guess_is_said() {
    let sandbox = Sandbox::new();
    let csv = sandbox.write(
        "strange.csv",
        "# exported 2024-01-02\n# by the shop\nid;name\n1;a\n2;b\n3;c\n",
    );
    let out = sandbox
        .pulse()
        .args(["validate", csv.to_str().unwrap()])
        .assert();
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains("a guess")
            && stderr.contains("--comment '#'")
            && stderr.contains("--delimiter"),
        "{stderr}"
    );
    let out = sandbox
        .pulse()
        .args(["validate", csv.to_str().unwrap(), "--comment", "#"])
        .assert()
        .success();
    assert!(!stderr_of(&out).contains("a guess"));
}
