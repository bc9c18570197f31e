//! Runs stored by earlier releases: their options (`runs.options`), written before the run
//! plan existed, still load, restage and deliver exactly as they were pushed.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::support::server::{Reply, TestServer};
use crate::support::{signature_matches, stderr_of, Sandbox};

/// `runs.options` exactly as the release before the run plan (a2d3452) wrote it for
/// `PULSE_AUTH_HEADER_VALUE=tok pulse push in.csv --url URL --delimiter ';' --encoding latin1
/// --events valid,invalid --batch-size 2 --auth-header-name X-Key --header "X-Tenant: 7"
/// --mode upsert`, with its run id, path and secret fingerprint left as {RUN}, {PATH}, {FP}.
const BEFORE_THE_RUN_PLAN: &str = r#"{"body":{"template_id":"in","user_id":null,"metadata":"{}","format":"pulse","method":"post","mode":"upsert","file_name":"in.csv","run_id":"{RUN}","batch_size":2},"batch_size":2,"events":["validData","invalidData"],"auth_header_name":"X-Key","signed":true,"signing":"generated","secret_fingerprints":["{FP}"],"headers":["X-Tenant: 7"],"credential_headers":[],"source_path":"{PATH}","schema":null,"fail_on_invalid":false,"mode":"upsert","sync":null,"key":[],"max_record_bytes":67108864,"max_body_bytes":67108864,"delimiter":";","encoding":"latin1","shape":"e6db3ab8dd49a9e9e06ba6a3289bdd69"}"#;

#[test]
fn a_run_stored_before_the_run_plan_is_restaged_and_delivered_as_it_was_pushed() {
    let sandbox = Sandbox::new();
    // Refuses until told otherwise: the push stays undelivered, as a killed one would.
    let accepting = Arc::new(AtomicBool::new(false));
    let open = accepting.clone();
    let server = TestServer::start(move |_, _| match open.load(Ordering::SeqCst) {
        true => Reply::status(200),
        false => Reply::status(500),
    });
    // Latin-1: "é" is one byte, 0xE9.
    let input = sandbox.write("in.csv", b"id;name\n1;Ada\n2;Ren\xe9\n3;Cy\n");
    let push = |extra: &[&str]| {
        let mut command = sandbox.pulse();
        command
            .args(["push", input.to_str().unwrap(), "--url", &server.url()])
            .args([
                "--delimiter",
                ";",
                "--encoding",
                "latin1",
                "--mode",
                "upsert",
            ])
            .args(["--events", "valid,invalid", "--batch-size", "2"])
            .args(["--auth-header-name", "X-Key", "--header", "X-Tenant: 7"])
            .args(["--retries", "0"])
            .args(extra)
            .env("PULSE_AUTH_HEADER_VALUE", "tok");
        command
    };
    push(&[]).assert().code(4);
    let run = sandbox.last_run();
    let stored: serde_json::Value =
        serde_json::from_str(&sandbox.texts("SELECT options FROM runs")[0]).unwrap();
    let fingerprint = stored["secret_fingerprints"][0]
        .as_str()
        .unwrap()
        .to_string();
    let old = BEFORE_THE_RUN_PLAN
        .replace("{RUN}", &run)
        .replace("{FP}", &fingerprint)
        .replace("{PATH}", stored["source_path"].as_str().unwrap());
    sandbox.execute(&format!(
        "UPDATE runs SET options = '{}'",
        old.replace('\'', "''")
    ));
    // Stopped while staging: resume must read the file again as the old options say.
    sandbox.as_if_killed_while_staging();
    let refused = server.requests().len();
    accepting.store(true, Ordering::SeqCst);
    let out = sandbox
        .pulse()
        .args(["resume", &run])
        .env("PULSE_AUTH_HEADER_VALUE", "tok")
        .assert()
        .success();
    assert!(stderr_of(&out).contains("staging"), "{}", stderr_of(&out));

    let secret = sandbox.stdout_of(&["secret", "show", &server.url()]);
    let delivered: Vec<_> = server
        .requests()
        .into_iter()
        .skip(refused)
        .filter(|r| r.json()["event_name"] == "validData")
        .collect();
    let rows: Vec<serde_json::Value> = delivered
        .iter()
        .flat_map(|r| r.json()["data"].as_array().unwrap().clone())
        .collect();
    let names: Vec<&str> = rows.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Ada", "René", "Cy"], "read with ; as latin1");
    assert!(rows.iter().all(|r| r["__op"] == "upsert"));
    assert_eq!(delivered.len(), 2, "batches of 2");
    for request in &delivered {
        assert_eq!(request.header("x-key"), Some("tok"));
        assert_eq!(request.header("x-tenant"), Some("7"));
        let (id, ts) = (
            request.header("webhook-id"),
            request.header("webhook-timestamp"),
        );
        assert!(signature_matches(
            secret.trim(),
            id.unwrap(),
            ts.unwrap(),
            &request.body,
            request.header("webhook-signature").unwrap()
        ));
    }
    // The same file pushed again is the same run (the shape hash is unchanged): nothing sent.
    let before = server.requests().len();
    let again = push(&[]).assert().success();
    assert!(
        stderr_of(&again).contains("unchanged"),
        "{}",
        stderr_of(&again)
    );
    assert_eq!(server.requests().len(), before);
}
