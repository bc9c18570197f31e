//! Vendor body formats, GET delivery with its signature, and sync modes including mirror.

use crate::support::server::{Reply, TestServer};
use crate::support::{signature_matches, Sandbox};

const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
const CSV: &str =
    "id,email,score\n1,a@example.com,10\n2,b+x@example.com,oops\n3,c@example.com,30\n";
const SCHEMA: &str = r#"{"fields": [{"name": "id", "type": "integer"}, {"name": "email"},
    {"name": "score", "type": "integer"}], "primaryKey": "id"}"#;

fn push(
    sandbox: &Sandbox,
    server: &TestServer,
    csv: &str,
    args: &[&str],
) -> assert_cmd::assert::Assert {
    let input = sandbox.write("people.csv", csv);
    let schema = sandbox.write("schema.json", SCHEMA);
    sandbox
        .pulse()
        .args(["push", input.to_str().unwrap(), "--url", &server.url()])
        .args(["--schema", schema.to_str().unwrap(), "--secret", SECRET])
        .args(args)
        .assert()
}

#[test]
fn impler_body() {
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    push(
        &sandbox,
        &server,
        CSV,
        &[
            "--format",
            "impler",
            "--batch-size",
            "2",
            "--metadata",
            r#"{"a":1}"#,
        ],
    )
    .success();
    let bodies: Vec<_> = server.requests().iter().map(|r| r.json()).collect();
    assert_eq!(bodies.len(), 2);
    let b = &bodies[1];
    assert_eq!(b["page"], 2);
    assert_eq!(b["totalPages"], 2);
    assert_eq!(b["fileName"], "people.csv");
    assert_eq!(b["template"], "people");
    assert!(b["uploadId"].as_str().unwrap().starts_with("run_"));
    assert_eq!(b["totalRecords"], 3);
    assert_eq!(b["chunkSize"], 2);
    assert_eq!(b["extra"], serde_json::json!({"a": 1}));
    assert_eq!(b["data"][0]["id"], 3);
}

#[test]
fn flatfile_body_splits_valid_and_invalid_rows() {
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    push(&sandbox, &server, CSV, &["--format", "flatfile"]).success();
    let request = &server.requests()[0];
    let b = request.json();
    assert_eq!(b["event"]["type"], "batch.upload");
    assert!(b["event"]["id"].as_str().unwrap().starts_with("evt_"));
    assert_eq!(
        b["event"]["sequence"],
        serde_json::json!({"count": 1, "index": 1})
    );
    assert_eq!(
        b["data"]["meta"]["batch"]["id"],
        request.header("webhook-id").unwrap()
    );
    assert_eq!(b["data"]["meta"]["schema"]["id"], "people");
    assert_eq!(b["data"]["meta"]["count"], 3);
    assert_eq!(b["data"]["validRows"].as_array().unwrap().len(), 2);
    assert_eq!(b["data"]["invalidRows"][0]["score"], "oops");
}

#[test]
fn valmi_sends_one_row_per_request_tagged_with_the_mode() {
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    push(
        &sandbox,
        &server,
        CSV,
        &["--format", "valmi", "--mode", "upsert", "--events", "valid"],
    )
    .success();
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    let b = requests[1].json();
    assert_eq!(
        b,
        serde_json::json!({
            "_message_id": requests[1].header("webhook-id").unwrap(),
            "_sync_mode": "upsert",
            "_type": "object",
            "payload": {"id": 3, "email": "c@example.com", "score": 30,
                        "_valmi_meta": {"_valmi_row_num": 3, "_valmi_sync_op": "upsert"}}
        })
    );
}

#[test]
fn get_puts_the_row_in_the_query_and_signs_it() {
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    let input = sandbox.write("people.csv", CSV);
    let url = format!("{}?source=crm", server.url());
    sandbox
        .pulse()
        .args([
            "push",
            input.to_str().unwrap(),
            "--url",
            &url,
            "--secret",
            SECRET,
        ])
        .args(["--format", "valmi", "--method", "get"])
        .assert()
        .success();
    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    let r = &requests[1];
    assert_eq!(r.method, "GET");
    assert!(r.body.is_empty());
    let query = r.path.split_once('?').unwrap().1;
    assert_eq!(
        query,
        "source=crm&id=2&email=b%2Bx%40example.com&score=oops&_valmi_meta__valmi_row_num=2&_valmi_meta__valmi_sync_op=append"
    );
    assert!(signature_matches(
        SECRET,
        r.header("webhook-id").unwrap(),
        r.header("webhook-timestamp").unwrap(),
        query.as_bytes(),
        r.header("webhook-signature").unwrap()
    ));
    // pulse format with GET: one row per request too.
    let server = TestServer::ok();
    sandbox
        .push_unsigned(&input, &server.url())
        .args(["--method", "get"])
        .assert()
        .success();
    let first = &server.requests()[0];
    assert_eq!(
        first.path,
        "/hook?id=1&email=a%40example.com&score=10&__index=1&__row=2&__valid=true"
    );
}

#[test]
fn get_is_refused_for_batch_formats() {
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    push(
        &sandbox,
        &server,
        CSV,
        &["--format", "impler", "--method", "get"],
    )
    .code(2);
}

#[test]
fn tagging_modes_set_op_on_every_row() {
    for mode in ["upsert", "create", "delete"] {
        let sandbox = Sandbox::new();
        let server = TestServer::ok();
        push(&sandbox, &server, CSV, &["--mode", mode]).success();
        let rows = crate::support::rows_of(&server.requests());
        assert!(rows.iter().all(|r| r["__op"] == mode), "{mode}");
    }
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    push(&sandbox, &server, CSV, &[]).success();
    assert!(crate::support::rows_of(&server.requests())
        .iter()
        .all(|r| r.get("__op").is_none()));
}

fn sent_ops(server: &TestServer) -> Vec<(String, String)> {
    crate::support::rows_of(&server.requests())
        .iter()
        .map(|r| (r["id"].to_string(), r["__op"].as_str().unwrap().to_string()))
        .collect()
}

#[test]
fn mirror_sends_only_changes_and_deletes_and_survives_a_failed_run() {
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    let first = "id,email,score\n1,a@x.io,10\n2,b@x.io,20\n3,c@x.io,30\n";
    push(
        &sandbox,
        &server,
        first,
        &["--mode", "mirror", "--sync", "people"],
    )
    .success();
    assert_eq!(
        sent_ops(&server),
        [("1", "upsert"), ("2", "upsert"), ("3", "upsert")]
            .map(|(a, b)| (a.to_string(), b.to_string()))
    );

    // Second file: 2 changed, 3 gone, 4 new. The receiver fails, so the run fails...
    let second = "id,email,score\n1,a@x.io,10\n2,b@x.io,21\n4,d@x.io,40\n";
    let failing = TestServer::start(|_, _| Reply::status(500));
    push(
        &sandbox,
        &failing,
        second,
        &["--mode", "mirror", "--sync", "people", "--retries", "0"],
    )
    .code(4);
    // ...and a fresh push of the same file still sees the old state: nothing was lost.
    let server2 = TestServer::ok();
    let out = push(
        &sandbox,
        &server2,
        second,
        &["--mode", "mirror", "--sync", "people", "--json"],
    )
    .success();
    let summary: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(summary["rows"]["unchanged"], 1);
    assert_eq!(summary["rows"]["deleted"], 1);
    let ops = sent_ops(&server2);
    assert_eq!(
        ops,
        [("2", "upsert"), ("4", "upsert"), ("3", "delete")]
            .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    let rows = crate::support::rows_of(&server2.requests());
    assert_eq!(
        rows[2],
        serde_json::json!({"id": 3, "__index": null, "__row": null,
        "__op": "delete", "__valid": true, "__errors": []})
    );

    // Third, identical push: nothing changed, nothing sent.
    let server3 = TestServer::ok();
    push(
        &sandbox,
        &server3,
        second,
        &["--mode", "mirror", "--sync", "people"],
    )
    .success();
    assert!(server3.requests().is_empty());
}

#[test]
fn mirror_deletes_stay_within_the_body_limit() {
    let sandbox = Sandbox::new();
    // Long keys, so that a few delete rows fill a body.
    let key = |i: usize| format!("k{i:0>300}");
    let mut first = String::from("id,note\n");
    for i in 1..=30 {
        first.push_str(&format!("{},n\n", key(i)));
    }
    let args = [
        "--mode",
        "mirror",
        "--key",
        "id",
        "--sync",
        "wide",
        "--max-body-size",
        "4KiB",
        "--batch-size",
        "1000",
    ];
    let push = |csv: &str, server: &TestServer| {
        let input = sandbox.write("wide.csv", csv);
        sandbox
            .push_unsigned(&input, &server.url())
            .args(args)
            .assert()
            .success();
    };
    push(&first, &TestServer::ok());
    // All thirty gone but one, whose changed row nearly fills a body of its own.
    let server = TestServer::ok();
    push(
        &format!("id,note\n{},{}\n", key(1), "m".repeat(2400)),
        &server,
    );
    let requests = server.requests();
    assert!(
        requests.iter().all(|r| r.body.len() <= 4096),
        "bodies of {:?} bytes",
        requests.iter().map(|r| r.body.len()).collect::<Vec<_>>()
    );
    let ops: Vec<String> = crate::support::rows_of(&requests)
        .iter()
        .map(|r| r["__op"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ops.len(), 30);
    assert_eq!(ops.iter().filter(|op| *op == "delete").count(), 29);
}

#[test]
fn mirror_needs_a_key_and_flags_duplicate_keys() {
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    let input = sandbox.write("k.csv", "code,name\nA,x\nB,y\nA,z\n");
    sandbox
        .push_unsigned(&input, &server.url())
        .args(["--mode", "mirror"])
        .assert()
        .code(2);
    sandbox
        .push_unsigned(&input, &server.url())
        .args(["--mode", "mirror", "--key", "code"])
        .assert()
        .success();
    let rows = crate::support::rows_of(&server.requests());
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[2]["__valid"], false);
    assert_eq!(rows[2]["__errors"][0]["type"], "primary-key");
}

#[test]
fn a_dry_run_mirror_compares_with_the_real_state() {
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    push(
        &sandbox,
        &server,
        "id,email,score\n1,a,1\n2,b,2\n",
        &["--mode", "mirror", "--sync", "s"],
    )
    .success();
    let out = push(
        &sandbox,
        &server,
        "id,email,score\n1,a,1\n4,d,4\n",
        &["--mode", "mirror", "--sync", "s", "--dry-run"],
    )
    .success();
    // Each request is printed with its headers; its body is the line that holds JSON.
    let bodies: Vec<serde_json::Value> = String::from_utf8(out.get_output().stdout.clone())
        .unwrap()
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let ops: Vec<(String, String)> = bodies
        .iter()
        .flat_map(|b| b["data"].as_array().unwrap().clone())
        .map(|r| (r["id"].to_string(), r["__op"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(
        ops,
        [("4", "upsert"), ("2", "delete")].map(|(a, b)| (a.to_string(), b.to_string()))
    );
    assert_eq!(server.requests().len(), 1, "the dry run sent nothing");
    // ...and changed nothing: a real push now sends the same.
    let server2 = TestServer::ok();
    push(
        &sandbox,
        &server2,
        "id,email,score\n1,a,1\n4,d,4\n",
        &["--mode", "mirror", "--sync", "s"],
    )
    .success();
    assert_eq!(sent_ops(&server2).len(), 2);
}
