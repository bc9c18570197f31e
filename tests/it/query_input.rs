//! A database query as the input (issue 37, part 4): `pulse push sqlite:///x.db --query ...`
//! and `postgres://...`, typed by the query's result, through push, validate, the repeat check,
//! resume and mirror mode (reverse ETL: only changed rows are sent).

use serde_json::json;

use crate::support::server::{Reply, TestServer};
use crate::support::{rows_of, stderr_of, without_bookkeeping, Sandbox};

/// A SQLite database with a table `people` of three rows.
fn people_db(sandbox: &Sandbox) -> String {
    let path = sandbox.path("source.db");
    let db = rusqlite::Connection::open(&path).unwrap();
    db.execute_batch(
        "CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT, balance NUMERIC, active BOOLEAN, note TEXT);
         INSERT INTO people VALUES (1, 'Zoë, \"Z\"', 12.5, 1, NULL), (2, 'Bob', 3, 0, ''),
                                   (3, 'line
break', -0.25, 1, 'x');",
    )
    .unwrap();
    format!("sqlite://{}", path.display())
}

#[test]
fn a_sqlite_query_is_pushed_typed_by_its_columns() {
    let sandbox = Sandbox::new();
    let source = people_db(&sandbox);
    let server = TestServer::ok();
    sandbox
        .pulse()
        .args(["push", &source, "--url", &server.url(), "--no-sign"])
        .args([
            "--query",
            "SELECT id, name, balance, active, note, id * 2 AS twice FROM people ORDER BY id",
        ])
        .assert()
        .success();
    let rows = rows_of(&server.requests());
    assert_eq!(
        without_bookkeeping(&rows),
        vec![
            json!({"id": 1, "name": "Zoë, \"Z\"", "balance": 12.5, "active": true, "note": null, "twice": "2"}),
            json!({"id": 2, "name": "Bob", "balance": 3, "active": false, "note": "", "twice": "4"}),
            json!({"id": 3, "name": "line\nbreak", "balance": -0.25, "active": true, "note": "x", "twice": "6"}),
        ]
    );
    // schema infer and a dry run with --select and --rename read it too.
    let query = [
        "--query",
        "SELECT id, name, balance, active FROM people ORDER BY id",
    ];
    let schema = sandbox.stdout_of(&[&["schema", "infer", &source][..], &query[..]].concat());
    crate::support::assert_field_types(
        &schema,
        &[
            ("id", "integer"),
            ("name", "string"),
            ("balance", "number"),
            ("active", "boolean"),
        ],
    );
    let dry = sandbox.stdout_of(
        &[
            &[
                "push",
                &source,
                "--url",
                &server.url(),
                "--no-sign",
                "--dry-run",
            ][..],
            &query[..],
            &["--select", "name,id", "--rename", "name=label"][..],
        ]
        .concat(),
    );
    assert!(dry.contains(r#"{"label":"Bob","id":2,"#), "{dry}");
    assert_eq!(server.requests().len(), 1, "the dry run sent nothing");
    // The log names the database, and keeps the query for a resume.
    let log = sandbox.stdout_of(&["log"]);
    assert!(log.contains("sqlite://"), "{log}");
    let options: String = sandbox.query("SELECT options FROM runs").unwrap();
    assert!(options.contains("SELECT id, name"), "{options}");
}

#[test]
fn a_sqlite_query_is_validated_repeated_and_restaged() {
    let sandbox = Sandbox::new();
    let source = people_db(&sandbox);
    let query = sandbox.write("people.sql", "SELECT id, name FROM people ORDER BY id;\n");
    let schema = sandbox.write(
        "schema.json",
        r#"{"fields": [{"name": "id", "type": "integer", "constraints": {"maximum": 2}},
                       {"name": "name", "type": "string"}]}"#,
    );
    let out = sandbox
        .pulse()
        .args(["validate", &source, "--query-file", query.to_str().unwrap()])
        .args(["--schema", schema.to_str().unwrap()])
        .assert()
        .code(3);
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(stdout.contains("3 rows, 2 valid, 1 invalid"), "{stdout}");

    let refusing = TestServer::start(|_, _| Reply::status(500));
    let push = |url: &str| {
        let mut cmd = sandbox.pulse();
        cmd.args([
            "push",
            &source,
            "--url",
            url,
            "--no-sign",
            "--batch-size",
            "1",
        ])
        .args(["--retries", "0", "--query-file", query.to_str().unwrap()]);
        cmd
    };
    push(&refusing.url()).assert().code(4);
    sandbox.as_if_killed_while_staging();
    let server = TestServer::ok();
    sandbox.execute(&format!("UPDATE runs SET url = '{}'", server.url()));
    let run = sandbox.last_run();
    sandbox.pulse().args(["resume", &run]).assert().success();
    assert_eq!(
        rows_of(&server.requests()).len(),
        3,
        "restaged from the query"
    );
    // The same result again: nothing sent.
    let out = push(&server.url()).assert().success();
    assert!(
        stderr_of(&out).contains("unchanged since run"),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(server.requests().len(), 3);
}

#[test]
fn a_failing_query_and_a_missing_one_are_clear_errors() {
    let sandbox = Sandbox::new();
    let source = people_db(&sandbox);
    let out = sandbox
        .pulse()
        .args(["validate", &source, "--query", "SELECT nope FROM people"])
        .assert()
        .code(1);
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains("the query failed") && stderr.contains("no such column: nope"),
        "{stderr}"
    );
    let out = sandbox.pulse().args(["validate", &source]).assert().code(2);
    assert!(
        stderr_of(&out).contains("needs --query"),
        "{}",
        stderr_of(&out)
    );
    let csv = sandbox.write("a.csv", "a\n1\n");
    let out = sandbox
        .pulse()
        .args(["validate", csv.to_str().unwrap(), "--query", "SELECT 1"])
        .assert()
        .code(2);
    assert!(
        stderr_of(&out).contains("is not a database"),
        "{}",
        stderr_of(&out)
    );
}

/// Reverse ETL on PostgreSQL: a mirror of a query sends only what changed since the last run.
/// The query reads a table in the test's own log database (the `it_postgres` run).
#[test]
fn a_postgres_query_in_mirror_mode_sends_only_changed_rows() {
    let sandbox = Sandbox::new();
    let Some(url) = sandbox.postgres_url().map(str::to_string) else {
        return; // the SQLite log's run has no PostgreSQL server
    };
    sandbox.execute(
        "CREATE TABLE customers (id int PRIMARY KEY, name text, score numeric, vip boolean, tags jsonb);
         INSERT INTO customers VALUES (1, 'Ann', 1.50, true, '[\"a\"]'), (2, 'Bob', NULL, false, NULL),
                                      (3, 'Cy', 3, false, '{}');",
    );
    let server = TestServer::ok();
    let push = || {
        sandbox
            .pulse()
            .args(["push", &url, "--url", &server.url(), "--no-sign"])
            .args(["--query", "SELECT * FROM customers ORDER BY id"])
            .args(["--mode", "mirror", "--key", "id"])
            .assert()
            .success();
    };
    push();
    let rows = rows_of(&server.requests());
    assert_eq!(rows.len(), 3);
    assert_eq!(
        without_bookkeeping(&rows[..2]),
        vec![
            json!({"id": 1, "name": "Ann", "score": 1.50, "vip": true, "tags": ["a"], "__op": "upsert"}),
            json!({"id": 2, "name": "Bob", "score": null, "vip": false, "tags": null, "__op": "upsert"}),
        ]
    );
    sandbox.execute(
        "UPDATE customers SET score = 9 WHERE id = 2; DELETE FROM customers WHERE id = 3;",
    );
    push();
    let sent = rows_of(&server.requests());
    assert_eq!(
        without_bookkeeping(&sent[3..]),
        vec![
            json!({"id": 2, "name": "Bob", "score": 9, "vip": false, "tags": null, "__op": "upsert"}),
            json!({"id": "3", "__op": "delete"}),
        ]
    );
    // A failing query: the server's own message.
    let out = sandbox
        .pulse()
        .args(["validate", &url, "--query", "SELECT * FROM nowhere"])
        .assert()
        .code(1);
    assert!(
        stderr_of(&out).contains("relation \"nowhere\" does not exist"),
        "{}",
        stderr_of(&out)
    );
    // The log keeps the URL without a password.
    let source: String = sandbox.query("SELECT source FROM runs LIMIT 1").unwrap();
    assert!(source.starts_with("postgres"), "{source}");
}
