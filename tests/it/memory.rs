//! Memory is bounded by the batch size, not by the file: unique checks, the primary key and
//! mirror state keep a bounded number of keys in memory and spill the rest to disk. The real
//! binary's peak RSS is measured at N and 4N rows (N past the in-memory key limit, so both
//! spill); what grows with the file shows as the difference.

use std::io::Write;
use std::path::Path;

use crate::support::server::TestServer;
use crate::support::{peak_rss_kib, Sandbox};

/// Rows of the smaller file; more than the 229,376 keys a key set keeps in memory.
const N: usize = 300_000;
/// Growth allowed from N to 4N rows. Keeping the extra 900k keys of each of the three key
/// sets in memory would take 14+ MiB per set at 16 bytes a key.
const SLACK_KIB: i64 = 8 * 1024;

const SCHEMA: &str = r#"{
  "fields": [
    {"name": "id", "type": "integer", "constraints": {"unique": true}},
    {"name": "email", "type": "string", "format": "email", "constraints": {"unique": true}},
    {"name": "note", "type": "string"}
  ],
  "primaryKey": ["email"]
}"#;

/// `rows` rows with distinct ids and emails (the emails in scrambled order, as real keys are).
fn write_csv(path: &Path, rows: usize) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(out, "id,email,note").unwrap();
    for i in 1..=rows as u64 {
        let scrambled = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 20;
        writeln!(out, "{i},u{scrambled:x}.{i}@example.com,\"note, {i}\"").unwrap();
    }
    out.flush().unwrap();
}

#[test]
fn peak_memory_does_not_grow_with_the_file() {
    let sandbox = Sandbox::new();
    let server = TestServer::sink();
    let url = server.url();
    let schema = sandbox.write("schema.json", SCHEMA);
    let schema = schema.to_str().unwrap();
    let mut peaks = Vec::new();
    for (name, rows) in [("small.csv", N), ("large.csv", 4 * N)] {
        let input = sandbox.path(name);
        write_csv(&input, rows);
        let input = input.to_str().unwrap();
        let validate = peak_rss_kib(&sandbox, &["validate", input, "--schema", schema]);
        assert_eq!(validate.0, 0, "validate {name}");
        // Mirror mode on top: a third key set, and the state stored and made current.
        let sync = format!("memory-{rows}");
        let push = peak_rss_kib(
            &sandbox,
            &[
                "push",
                input,
                "--url",
                &url,
                "--no-sign",
                "--quiet",
                "--schema",
                schema,
                "--mode",
                "mirror",
                "--sync",
                &sync,
            ],
        );
        assert_eq!(push.0, 0, "push {name}");
        eprintln!(
            "{rows} rows: validate peak {} KiB, push --mode mirror peak {} KiB",
            validate.1, push.1
        );
        peaks.push((validate.1, push.1));
    }
    let (small, large) = (peaks[0], peaks[1]);
    assert!(
        large.0 - small.0 <= SLACK_KIB,
        "validate grew from {} KiB to {} KiB",
        small.0,
        large.0
    );
    assert!(
        large.1 - small.1 <= SLACK_KIB,
        "push grew from {} KiB to {} KiB",
        small.1,
        large.1
    );
    let delivered =
        sandbox.query::<i64>("SELECT count(*) FROM sync_state WHERE sync = 'memory-1200000'");
    assert_eq!(
        delivered,
        Some(4 * N as i64),
        "the large file's state is current"
    );
}

/// With `--concurrency 8 --compress zstd`, memory holds eight bodies and their encoded copies
/// more than one at a time does: bounded by the batches in flight, not by the file. Compared
/// with a sequential push of the same file in the same test, against the largest body.
#[test]
fn batches_in_flight_add_their_bodies_and_no_more() {
    let sandbox = Sandbox::new();
    let server = TestServer::sink();
    let input = sandbox.path("d.csv");
    write_csv(&input, N);
    let input = input.to_str().unwrap();
    let url = server.url();
    let push = |extra: &[&str]| {
        let mut args = vec![
            "push",
            input,
            "--url",
            &url,
            "--no-sign",
            "--quiet",
            "--force",
        ];
        args.extend_from_slice(extra);
        let (code, peak) = peak_rss_kib(&sandbox, &args);
        assert_eq!(code, 0, "{extra:?}");
        peak
    };
    let one = push(&[]);
    let eight = push(&["--concurrency", "8", "--compress", "zstd"]);
    let largest_body_kib: i64 = sandbox
        .query::<i64>("SELECT max(raw_len) FROM payloads")
        .unwrap()
        / 1024;
    eprintln!("one in flight: {one} KiB; eight: {eight} KiB; largest body {largest_body_kib} KiB");
    // Eight bodies and their encoded copies (smaller), the encoders' contexts, and slack for
    // the allocator; holding the whole file's bodies would take several times more.
    let bound = 8 * 2 * largest_body_kib + 16 * 1024;
    assert!(
        eight - one <= bound,
        "eight in flight took {} KiB more than one; bound {bound} KiB",
        eight - one
    );
}

#[test]
fn a_wide_row_costs_a_few_hundred_bytes_a_column() {
    // 200,000 columns (2 MB of CSV): each column's validator entry held a schema field inline,
    // about 600 bytes even without a schema (a million columns took 835 MB).
    let columns = 200_000;
    let sandbox = Sandbox::new();
    let header: Vec<String> = (0..columns).map(|i| format!("c{i}")).collect();
    let input = sandbox.write(
        "wide.csv",
        format!("{}\n{}\n", header.join(","), vec!["1"; columns].join(",")),
    );
    let (code, peak) = peak_rss_kib(&sandbox, &["validate", input.to_str().unwrap()]);
    assert_eq!(code, 0);
    let per_column = peak * 1024 / columns as i64;
    assert!(
        per_column < 500,
        "{per_column} bytes a column ({peak} KiB at peak)"
    );
}
