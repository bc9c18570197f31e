//! `--template`, `--content-type` and `--nest`: bodies shaped for an API that is not a webhook,
//! rendered per batch from the stored rows, checked at staging, the same bytes on resume and
//! resend.

use std::sync::atomic::Ordering;

use serde_json::{json, Value};

use crate::receive::Receiver;
use crate::support::server::TestServer;
use crate::support::{signature_matches, stderr_of, wait_for, Sandbox};

const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
const CSV: &str = "id,name,address.city,address.zip\n1,\"Ada \"\"the\"\" Countess\",Oslo,0150\n2,back\\slash\ttab,Bergen,5003\n3,Zoë,Tromsø,9008\n";
const SCHEMA: &str = r#"{"fields": [{"name": "id", "type": "integer"}, {"name": "name"},
    {"name": "address.city"}, {"name": "address.zip"}]}"#;
/// A CRM's batch endpoint: `{"inputs":[{"properties":{...}}]}`.
const CRM: &str = r#"{"inputs": [
{%- for row in rows %}
  {"properties": {"id": {{ row.id }}, "name": {{ row.name }}, "city": {{ row.address.city }},
                  "line": {{ row.__row }}}}{% if not loop.last %},{% endif %}
{%- endfor %}
], "batch": {{ batch|tojson }}, "event": {{ event|tojson }}, "run": {{ run|tojson }},
   "team": {{ metadata.team }}}
"#;

fn push(sandbox: &Sandbox, url: &str, template: &str, args: &[&str]) -> assert_cmd::Command {
    let input = sandbox.write("people.csv", CSV);
    let schema = sandbox.write("schema.json", SCHEMA);
    let template = sandbox.write("body.j2", template);
    let mut cmd = sandbox.pulse();
    cmd.args(["push", input.to_str().unwrap(), "--url", url])
        .args(["--schema", schema.to_str().unwrap(), "--secret", SECRET])
        .args(["--template", template.to_str().unwrap()])
        .args(args);
    cmd
}

#[test]
fn a_template_shapes_each_batch_with_typed_values_and_its_context() {
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    let metadata = ["--metadata", r#"{"team":"crm"}"#];
    push(
        &sandbox,
        &server.url(),
        CRM,
        &[&["--nest", "--batch-size", "2"][..], &metadata].concat(),
    )
    .assert()
    .success();
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    let first = requests[0].json();
    assert_eq!(
        first["inputs"],
        json!([
            {"properties": {"id": 1, "name": "Ada \"the\" Countess", "city": "Oslo", "line": 2}},
            {"properties": {"id": 2, "name": "back\\slash\ttab", "city": "Bergen", "line": 3}},
        ])
    );
    let id = requests[0].header("webhook-id").unwrap();
    assert_eq!(
        first["batch"],
        json!({"id": id, "index": 1, "count": 2, "rows": 2})
    );
    assert_eq!(first["event"]["name"], "all");
    assert_eq!(first["event"]["total_rows"], 3);
    assert_eq!(first["run"]["source"], "people.csv");
    assert_eq!(first["run"]["total_rows"], 3);
    assert_eq!(first["run"]["id"], sandbox.last_run());
    assert_eq!(first["team"], "crm");
    assert_eq!(
        requests[1].json()["inputs"][0]["properties"]["city"],
        "Tromsø"
    );
    for request in &requests {
        assert_eq!(request.header("content-type"), Some("application/json"));
        let signed = signature_matches(
            SECRET,
            request.header("webhook-id").unwrap(),
            request.header("webhook-timestamp").unwrap(),
            &request.body,
            request.header("webhook-signature").unwrap(),
        );
        assert!(signed, "the rendered body is what is signed");
    }
}

#[test]
fn ndjson_and_other_content_types_go_as_rendered() {
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    let bulk =
        "{% for row in rows %}{\"index\":{\"_id\":{{ row.id }}}}\n{{ row|tojson }}\n{% endfor %}";
    push(
        &sandbox,
        &server.url(),
        bulk,
        &["--content-type", "application/x-ndjson"],
    )
    .assert()
    .success();
    let request = &server.requests()[0];
    assert_eq!(request.header("content-type"), Some("application/x-ndjson"));
    let lines: Vec<Value> = String::from_utf8(request.body.clone())
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 6);
    assert_eq!(lines[0], json!({"index": {"_id": 1}}));
    assert_eq!(
        lines[1]["address.city"], "Oslo",
        "not nested without --nest"
    );
    assert_eq!(lines[1]["__valid"], true);

    let form = "{% for row in rows %}name={{ row.name|urlencode }}&{% endfor %}";
    let content_type = "application/x-www-form-urlencoded";
    // Another template is another shape: the same file goes again without --force...
    push(
        &sandbox,
        &server.url(),
        form,
        &["--content-type", content_type],
    )
    .assert()
    .success();
    assert_eq!(server.requests().len(), 2);
    let request = server.requests().pop().unwrap();
    // ...and the same template again is the same run: nothing is sent.
    push(
        &sandbox,
        &server.url(),
        form,
        &["--content-type", content_type],
    )
    .assert()
    .success();
    assert_eq!(server.requests().len(), 2);
    assert_eq!(request.header("content-type"), Some(content_type));
    assert!(String::from_utf8(request.body)
        .unwrap()
        .starts_with("name=Ada%20%22the%22"));
}

#[test]
fn a_template_that_does_not_parse_is_a_usage_error_naming_its_line_and_nothing_is_staged() {
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    let out = push(
        &sandbox,
        &server.url(),
        "{\n  \"id\": {{ rows[0].id }\n}",
        &[],
    )
    .assert()
    .code(2);
    let stderr = stderr_of(&out);
    assert!(stderr.contains("--template "), "{stderr}");
    assert!(stderr.contains("body.j2: line 2, column"), "{stderr}");
    let errors = stderr
        .lines()
        .filter(|line| line.starts_with("error:"))
        .count();
    assert_eq!(errors, 1, "one line: {stderr}");
    assert!(server.requests().is_empty());
    let runs: Option<i64> = sandbox.query("SELECT count(*) FROM runs");
    assert!(matches!(runs, None | Some(0)), "nothing staged: {runs:?}");
}

#[test]
fn a_template_rendering_json_that_is_not_json_fails_its_run_at_staging_and_holds_up_nothing() {
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    // The name is written as JSON already: the quotes around it make two strings.
    let out = push(
        &sandbox,
        &server.url(),
        r#"{"name": "{{ rows[0].name }}"}"#,
        &[],
    )
    .assert()
    .code(2);
    let stderr = stderr_of(&out);
    assert!(stderr.contains("is not JSON"), "{stderr}");
    assert!(stderr.contains("body line 1, column"), "{stderr}");
    assert!(stderr.contains("nothing sent"), "{stderr}");
    assert!(server.requests().is_empty());
    let status: String = sandbox.query("SELECT status FROM runs").unwrap();
    assert_eq!(status, "input-error");

    // A misspelt column fails the same way, and a fixed template goes straight out.
    let out = push(&sandbox, &server.url(), "{{ rows[0].nmae }}", &[])
        .assert()
        .code(2);
    assert!(stderr_of(&out).contains("undefined"), "{}", stderr_of(&out));
    push(
        &sandbox,
        &server.url(),
        r#"{"name": {{ rows[0].name }}}"#,
        &[],
    )
    .assert()
    .success();
    assert_eq!(server.requests().len(), 1);
    assert_eq!(
        server.requests()[0].json(),
        json!({"name": "Ada \"the\" Countess"})
    );
}

#[test]
fn resume_after_sigkill_and_resend_send_the_bytes_the_template_rendered_first() {
    let sandbox = Sandbox::new();
    let (server, slow) = TestServer::slow(std::time::Duration::from_millis(300));
    let template = r#"{"ids": [{% for row in rows %}{{ row.id }}{% if not loop.last %},{% endif %}{% endfor %}], "batch": {{ batch.index }}}"#;
    let input = sandbox.write("people.csv", CSV);
    let body = sandbox.write("body.j2", template);
    let url = server.url();
    let args = [
        "push",
        input.to_str().unwrap(),
        "--url",
        &url,
        "--secret",
        SECRET,
    ];
    let args = [
        &args[..],
        &["--batch-size", "1", "--template", body.to_str().unwrap()],
    ]
    .concat();
    sandbox.kill_once(&args, "a first request", || !server.requests().is_empty());
    // The file changes: the run keeps the text it was pushed with.
    sandbox.write("body.j2", "{\"changed\": true}");
    slow.store(false, Ordering::SeqCst);
    sandbox
        .pulse()
        .env("PULSE_SECRET", SECRET)
        .arg("resume")
        .assert()
        .success();
    let run = sandbox.last_run();
    sandbox
        .pulse()
        .args(["resend", &run, "--secret", SECRET])
        .assert()
        .success();
    let requests = server.requests();
    let mut first_body: std::collections::HashMap<String, Vec<u8>> = Default::default();
    for request in &requests {
        let id = request.header("webhook-id").unwrap().to_string();
        let body = first_body.entry(id).or_insert(request.body.clone());
        assert_eq!(body, &request.body, "the same bytes under one webhook-id");
        assert!(request.json()["ids"].is_array(), "{:?}", request.json());
    }
    assert_eq!(first_body.len(), 3);
    assert!(requests.len() >= 6, "resend sent each batch again");
}

#[test]
fn nest_makes_dotted_columns_objects_in_the_pulse_format_and_refuses_clashes() {
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    let input = sandbox.write("people.csv", CSV);
    let schema = sandbox.write("schema.json", SCHEMA);
    sandbox
        .pulse()
        .args([
            "push",
            input.to_str().unwrap(),
            "--url",
            &server.url(),
            "--nest",
        ])
        .args(["--schema", schema.to_str().unwrap(), "--no-sign"])
        .assert()
        .success();
    let row = &server.requests()[0].json()["data"][0];
    assert_eq!(row["id"], 1, "typed by the schema");
    assert_eq!(row["address"], json!({"city": "Oslo", "zip": "0150"}));
    assert!(row.get("address.city").is_none());

    let clash = sandbox.write("clash.csv", "id,a,a.b\n1,2,3\n");
    let out = sandbox
        .pulse()
        .args([
            "push",
            clash.to_str().unwrap(),
            "--url",
            &server.url(),
            "--nest",
        ])
        .arg("--no-sign")
        .assert()
        .code(2);
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains("`a`") && stderr.contains("`a.b`"),
        "{stderr}"
    );
    assert_eq!(server.requests().len(), 1, "nothing more sent");
    let runs: i64 = sandbox.query("SELECT count(*) FROM runs").unwrap();
    assert_eq!(runs, 1, "the clash staged no run");
}

#[test]
fn template_flags_that_cannot_go_together_are_usage_errors() {
    let sandbox = Sandbox::new();
    let url = "http://127.0.0.1:9/";
    for (args, says) in [
        (&["--format", "impler"][..], "--template replaces --format"),
        (&["--method", "get"][..], "--method post"),
        (&["--content-type", "json"][..], "is not a media type"),
    ] {
        let out = push(&sandbox, url, "{}", args).assert().code(2);
        assert!(
            stderr_of(&out).contains(says),
            "{args:?}: {}",
            stderr_of(&out)
        );
    }
    let missing = sandbox
        .pulse()
        .args(["push", "people.csv", "--url", url, "--template", "nope.j2"])
        .assert()
        .code(2);
    assert!(stderr_of(&missing).contains("--template nope.j2: cannot read it"));
}

#[test]
fn dry_run_and_receive_show_the_rendered_bodies() {
    let sandbox = Sandbox::new();
    let out = push(
        &sandbox,
        "http://127.0.0.1:9/",
        r#"{"n": {{ rows|length }}}"#,
        &["--dry-run"],
    )
    .assert()
    .success();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(stdout.contains("\n{\"n\": 3}\n"), "{stdout}");

    let receiver = Receiver::start(&["--print-bodies"]);
    push(
        &sandbox,
        &receiver.url(),
        r#"{"n": {{ rows|length }}}"#,
        &[],
    )
    .assert()
    .success();
    wait_for("the body printed", || {
        receiver.lines().iter().any(|line| line == "{\"n\": 3}")
    });
}
