//! JSON input (issue 37): a JSON array of objects and JSON lines, from a file or stdin, plain
//! or compressed, with nested values kept or flattened, through push, validate, schema infer,
//! resume and the repeat check.

use std::io::Write as _;

use serde_json::json;

use crate::support::server::{Reply, TestServer};
use crate::support::{rows_of, stderr_of, without_bookkeeping, Sandbox};

const PEOPLE: &str = r#"[
  {"id": 1, "name": "Zoë", "score": 2.50, "active": true, "note": null,
   "address": {"city": "Oslo", "zip": "0150"}, "tags": ["a", "b"]},
  {"id": 2, "name": "Bob \"B\"", "score": -1e3, "active": false, "note": "x",
   "address": {"zip": "00100", "city": "Rome"}, "tags": []}
]
"#;

#[test]
fn a_json_array_is_pushed_with_its_numbers_booleans_nulls_and_nested_values() {
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    let file = sandbox.write("people.json", PEOPLE);
    sandbox
        .push_unsigned(&file, &server.url())
        .assert()
        .success();
    let rows = rows_of(&server.requests());
    assert_eq!(
        without_bookkeeping(&rows),
        vec![
            json!({"id": 1, "name": "Zoë", "score": 2.50, "active": true, "note": null,
                   "address": {"city": "Oslo", "zip": "0150"}, "tags": ["a", "b"]}),
            json!({"id": 2, "name": "Bob \"B\"", "score": -1e3, "active": false, "note": "x",
                   "address": {"zip": "00100", "city": "Rome"}, "tags": []}),
        ]
    );
    // `__row` is the line each object starts on.
    assert_eq!(rows[0]["__row"], 2);
    assert_eq!(rows[1]["__row"], 4);
    // Numbers go out as written: 2.50 stays 2.50, not a float's 2.5.
    let body = String::from_utf8(server.requests()[0].body.clone()).unwrap();
    assert!(body.contains("\"score\":2.50,"), "{body}");
    assert!(body.contains("\"score\":-1e3,"), "{body}");
}

#[test]
fn nested_values_are_kept_or_flattened_and_a_schema_types_objects_and_arrays() {
    let sandbox = Sandbox::new();
    let lines =
        "{\"id\":1,\"address\":{\"city\":\"Oslo\",\"geo\":{\"lat\":59.9}},\"tags\":[\"a\"]}\n\
                 {\"id\":2,\"address\":[\"not\",\"an\",\"object\"],\"tags\":{}}\n";
    let file = sandbox.write("nested.jsonl", lines);
    let schema = sandbox.write(
        "schema.json",
        r#"{"fields": [{"name": "id", "type": "integer"},
                       {"name": "address", "type": "object", "constraints": {"minLength": 2}},
                       {"name": "tags", "type": "array", "constraints": {"maxLength": 3}}]}"#,
    );
    let server = TestServer::ok();
    sandbox
        .push_unsigned(&file, &server.url())
        .args(["--schema", schema.to_str().unwrap()])
        .assert()
        .success();
    let rows = rows_of(&server.requests());
    assert_eq!(
        rows[0]["address"],
        json!({"city": "Oslo", "geo": {"lat": 59.9}})
    );
    assert_eq!(rows[0]["__valid"], true);
    assert_eq!(rows[1]["__valid"], false);
    let errors = rows[1]["__errors"].as_array().unwrap();
    let fields: Vec<&str> = errors
        .iter()
        .map(|e| e["fieldName"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["address", "tags"], "{errors:?}");
    assert!(
        errors.iter().all(|e| e["type"] == "type-error"),
        "{errors:?}"
    );
    // An invalid row keeps the values as they were.
    assert_eq!(rows[1]["address"], json!(["not", "an", "object"]));

    // Flattened: dotted columns, which --nest turns back into objects.
    let flat = sandbox.write("flat.jsonl", &lines[..lines.find('\n').unwrap() + 1]);
    let server = TestServer::ok();
    sandbox
        .push_unsigned(&flat, &server.url())
        .args(["--flatten"])
        .assert()
        .success();
    let rows = rows_of(&server.requests());
    assert_eq!(
        without_bookkeeping(&rows),
        vec![json!({"id": 1, "address.city": "Oslo", "address.geo.lat": 59.9, "tags": ["a"]})]
    );
    let server = TestServer::ok();
    sandbox
        .push_unsigned(&flat, &server.url())
        .args([
            "--flatten",
            "--nest",
            "--rename",
            "address.city=address.town",
        ])
        .assert()
        .success();
    let rows = rows_of(&server.requests());
    assert_eq!(
        without_bookkeeping(&rows),
        vec![json!({"id": 1, "address": {"town": "Oslo", "geo": {"lat": 59.9}}, "tags": ["a"]})]
    );
}

#[test]
fn gzipped_json_lines_on_stdin_are_read_by_their_first_bytes() {
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    let mut lines = String::new();
    for i in 1..=250 {
        lines.push_str(&format!("{{\"n\":{i},\"even\":{}}}\n", i % 2 == 0));
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(lines.as_bytes()).unwrap();
    let gz = gz.finish().unwrap();
    sandbox
        .pulse()
        .args([
            "push",
            "-",
            "--url",
            &server.url(),
            "--no-sign",
            "--batch-size",
            "100",
        ])
        .write_stdin(gz)
        .assert()
        .success();
    let rows = rows_of(&server.requests());
    assert_eq!(rows.len(), 250);
    assert_eq!(server.requests().len(), 3);
    assert_eq!(
        without_bookkeeping(&rows[249..]),
        vec![json!({"n": 250, "even": true})]
    );
    assert_eq!(rows[249]["__row"], 250);
}

#[test]
fn missing_keys_are_missing_cells_and_unknown_keys_extra_cells() {
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    let file = sandbox.write(
        "ragged.jsonl",
        "{\"a\":1,\"b\":2,\"c\":3}\n{\"c\":6,\"a\":4}\n{\"a\":7,\"b\":8,\"c\":9,\"d\":10}\n\n{\"a\":null,\"b\":null,\"c\":null}\n",
    );
    let out = sandbox
        .push_unsigned(&file, &server.url())
        .assert()
        .success();
    let rows = rows_of(&server.requests());
    assert_eq!(rows.len(), 3, "the all-null object is a blank row");
    assert_eq!(rows[0]["__valid"], true);
    assert_eq!(rows[1]["b"], serde_json::Value::Null);
    assert_eq!(rows[1]["__errors"][0]["type"], "missing-cell");
    assert_eq!(rows[1]["__errors"][0]["fieldName"], "b");
    assert_eq!(rows[2]["__extra"], json!([10]));
    assert_eq!(rows[2]["__errors"][0]["type"], "extra-cell");
    drop(out);
    let out = sandbox
        .pulse()
        .args(["validate", file.to_str().unwrap()])
        .assert()
        .code(3);
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(
        stdout.contains("3 rows, 1 valid, 2 invalid, 1 blank row skipped"),
        "{stdout}"
    );
    // --columns: the columns named, the first object a row like the others.
    let server = TestServer::ok();
    sandbox
        .push_unsigned(&file, &server.url())
        .args(["--columns", "c,a", "--events", "validData"])
        .assert()
        .success();
    let rows = rows_of(&server.requests());
    assert_eq!(
        without_bookkeeping(&rows),
        vec![json!({"c": 6, "a": 4})],
        "only the row with just c and a"
    );
}

#[test]
fn validate_and_schema_infer_read_json() {
    let sandbox = Sandbox::new();
    let file = sandbox.write(
        "typed.ndjson",
        "{\"id\":1,\"price\":1.5,\"ok\":true,\"when\":\"2024-01-02\",\"meta\":{\"k\":1},\"list\":[1],\"name\":\"a\"}\n\
         {\"id\":2,\"price\":2,\"ok\":false,\"when\":\"2024-02-03\",\"meta\":{},\"list\":[],\"name\":\"b\"}\n",
    );
    let schema = sandbox.stdout_of(&["schema", "infer", file.to_str().unwrap()]);
    crate::support::assert_field_types(
        &schema,
        &[
            ("id", "integer"),
            ("price", "number"),
            ("ok", "boolean"),
            ("when", "date"),
            ("meta", "object"),
            ("list", "array"),
            ("name", "string"),
        ],
    );
    let schema_file = sandbox.write("schema.json", &schema);
    sandbox
        .pulse()
        .args([
            "validate",
            file.to_str().unwrap(),
            "--schema",
            schema_file.to_str().unwrap(),
        ])
        .assert()
        .success();
    let bad = sandbox.write(
        "bad.jsonl",
        "{\"id\":1,\"price\":1.5,\"ok\":true,\"when\":\"2024-01-02\",\"meta\":{\"k\":1},\"list\":[1],\"name\":\"a\"}\n\
         {\"id\":\"x\",\"price\":2,\"ok\":false,\"when\":\"2024-02-03\",\"meta\":[],\"list\":[],\"name\":\"b\"}\n",
    );
    let out = sandbox
        .pulse()
        .args([
            "validate",
            bad.to_str().unwrap(),
            "--schema",
            schema_file.to_str().unwrap(),
        ])
        .assert()
        .code(3);
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(stdout.contains("line 2"), "{stdout}");
    assert!(stdout.contains("meta"), "{stdout}");
}

#[test]
fn a_json_run_is_restaged_resumed_and_recognised_as_a_repeat() {
    let sandbox = Sandbox::new();
    let mut lines = String::new();
    for i in 1..=5 {
        lines.push_str(&format!("{{\"id\":{i},\"name\":\"n{i}\"}}\n"));
    }
    let file = sandbox.write("d.jsonl", &lines);
    let refusing = TestServer::start(|_, _| Reply::status(500));
    sandbox
        .push_unsigned(&file, &refusing.url())
        .args(["--batch-size", "2", "--retries", "0"])
        .args(["--select", "name,id", "--rename", "name=label"])
        .assert()
        .code(4);
    sandbox.as_if_killed_while_staging();
    let server = TestServer::ok();
    sandbox.execute(&format!("UPDATE runs SET url = '{}'", server.url()));
    let run = sandbox.last_run();
    sandbox.pulse().args(["resume", &run]).assert().success();
    let rows = rows_of(&server.requests());
    assert_eq!(rows.len(), 5);
    assert_eq!(
        without_bookkeeping(&rows[4..]),
        vec![json!({"label": "n5", "id": 5})]
    );
    let out = sandbox
        .push_unsigned(&file, &server.url())
        .args([
            "--batch-size",
            "2",
            "--select",
            "name,id",
            "--rename",
            "name=label",
        ])
        .assert()
        .success();
    assert!(
        stderr_of(&out).contains("unchanged since run"),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(server.requests().len(), 3);
    let log = sandbox.stdout_of(&["log"]);
    assert!(log.contains("d.jsonl"), "{log}");
}

#[test]
fn input_format_overrides_the_name_and_csv_flags_are_refused_for_json() {
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    let file = sandbox.write("export.txt", "{\"a\":\"1\"}\n");
    sandbox
        .push_unsigned(&file, &server.url())
        .args(["--input-format", "jsonl"])
        .assert()
        .success();
    assert_eq!(
        without_bookkeeping(&rows_of(&server.requests())),
        vec![json!({"a": "1"})]
    );
    // Read as CSV when asked: one column named {"a":"1"}... which looks like JSON.
    let out = sandbox
        .pulse()
        .args(["validate", file.to_str().unwrap(), "--input-format", "csv"])
        .assert()
        .success();
    drop(out);
    let json = sandbox.write("a.json", "[{\"a\":1}]");
    let out = sandbox
        .pulse()
        .args(["validate", json.to_str().unwrap(), "--skip-lines", "1"])
        .assert()
        .code(2);
    assert!(
        stderr_of(&out).contains("--skip-lines: ") && stderr_of(&out).contains("is read as JSON"),
        "{}",
        stderr_of(&out)
    );
    let empty = sandbox.write("empty.json", "[]");
    let out = sandbox
        .pulse()
        .args(["validate", empty.to_str().unwrap()])
        .assert()
        .code(1);
    assert!(
        stderr_of(&out).contains("empty input (no JSON object"),
        "{}",
        stderr_of(&out)
    );
}
