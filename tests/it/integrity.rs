//! A payload damaged on disk is never sent: every read checks its checksum, and the error names
//! the batch (issue 19).

use crate::support::server::{Reply, TestServer};
use crate::support::{numbered_csv, stderr_of, Sandbox};

/// Flips one bit of the stored payload of batch `idx`; returns the batch's id.
fn damage_payload(sandbox: &Sandbox, idx: i64, byte_from_end: usize) -> String {
    let row = sandbox
        .rows(&format!(
            "SELECT b.id, p.data FROM batches b JOIN payloads p ON p.batch_id = b.id
             WHERE b.idx = {idx}"
        ))
        .remove(0);
    let id = row[0].as_str().unwrap().to_string();
    let mut data: Vec<u8> = serde_json::from_value(row[1].clone()).unwrap();
    let at = data.len() - 1 - byte_from_end;
    data[at] ^= 0x10;
    let hex: String = data.iter().map(|b| format!("{b:02x}")).collect();
    // A blob literal: x'..' in SQLite, '\x..' in PostgreSQL.
    let literal = if crate::support::on_postgres() {
        format!("'\\x{hex}'::bytea")
    } else {
        format!("x'{hex}'")
    };
    sandbox.execute(&format!(
        "UPDATE payloads SET data = {literal} WHERE batch_id = '{id}'"
    ));
    id
}

#[test]
fn a_damaged_payload_is_an_error_naming_its_batch_and_is_never_sent() {
    let sandbox = Sandbox::new();
    // Refuses the first request only: the push fails at batch 1, a resume gets through.
    let refusing = TestServer::start(|n, _| Reply::status(if n == 0 { 503 } else { 200 }));
    let input = sandbox.write("d.csv", numbered_csv(30));
    sandbox
        .push_unsigned(&input, &refusing.url())
        .args(["--batch-size", "10", "--retries", "0"])
        .assert()
        .code(4);
    let run: String = sandbox.query("SELECT id FROM runs").unwrap();
    let damaged = damage_payload(&sandbox, 2, 0);

    let receiver = TestServer::ok();
    for (what, args) in [
        ("resume", vec!["resume".to_string(), run.clone()]),
        (
            "resend",
            vec!["resend".into(), run.clone(), "--url".into(), receiver.url()],
        ),
    ] {
        let out = sandbox.pulse().args(&args).assert().code(1);
        let stderr = stderr_of(&out);
        assert!(
            stderr.contains(&damaged) && stderr.contains("damaged") && !stderr.contains("panicked"),
            "{what}: {stderr}"
        );
    }
    // Batch 1 may have gone out before batch 2 was read; batch 2 never did.
    for request in receiver.requests().iter().chain(refusing.requests().iter()) {
        assert_ne!(request.header("webhook-id"), Some(damaged.as_str()));
    }
    let delivered: i64 = sandbox
        .query("SELECT count(*) FROM batches WHERE status = 'delivered' AND idx >= 2")
        .unwrap();
    assert_eq!(delivered, 0, "nothing past the damage is marked delivered");
}
