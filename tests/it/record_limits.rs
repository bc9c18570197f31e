//! `--max-record-size` is exact (a record one byte over is refused, naming its line), has a
//! ceiling of 1 GiB, and a large record is held about once in memory.

use crate::support::server::TestServer;
use crate::support::{peak_rss_kib, stderr_of, Sandbox};

/// `pulse validate FILE ARGS`: its exit code and stderr.
fn validate(sandbox: &Sandbox, file: &std::path::Path, args: &[&str]) -> (i32, String) {
    let out = sandbox
        .pulse()
        .arg("validate")
        .arg(file)
        .args(args)
        .assert();
    let code = out.get_output().status.code().unwrap_or(-1);
    (code, stderr_of(&out))
}

/// A CSV whose record on line 3 is `size` bytes, line break excluded: plain, or quoted over
/// two lines with CRLF line breaks.
fn with_record_of(size: usize, quoted: bool) -> String {
    if quoted {
        // `2,"` + cell + `"`: the cell holds a CRLF.
        let cell = format!("{}\r\n{}", "q".repeat(10), "q".repeat(size - 4 - 12));
        format!("id,blob\r\n1,small\r\n2,\"{cell}\"\r\n3,after\r\n")
    } else {
        format!("id,blob\n1,small\n2,{}\n3,after\n", "p".repeat(size - 2))
    }
}

#[test]
fn a_record_one_byte_over_the_limit_is_refused_naming_its_line() {
    let sandbox = Sandbox::new();
    for quoted in [false, true] {
        for limit in [2048, 300 * 1024] {
            let limit_flag = limit.to_string();
            let args = ["--max-record-size", limit_flag.as_str()];
            let at_limit = sandbox.write("at.csv", with_record_of(limit, quoted));
            let (code, stderr) = validate(&sandbox, &at_limit, &args);
            assert_eq!(code, 0, "{limit} bytes, quoted {quoted}: {stderr}");
            let over = sandbox.write("over.csv", with_record_of(limit + 1, quoted));
            let (code, stderr) = validate(&sandbox, &over, &args);
            assert_eq!(code, 1, "{limit} + 1 bytes, quoted {quoted}: {stderr}");
            assert_eq!(
                stderr.trim_end(),
                format!(
                    "error: {}: line 3: a record is larger than --max-record-size ({limit} \
                     bytes); raise the limit if the file is right",
                    over.display()
                ),
                "quoted {quoted}"
            );
        }
    }
}

#[test]
fn the_line_counts_lines_skipped_and_an_open_quote_is_pointed_at() {
    let sandbox = Sandbox::new();
    let input = sandbox.write(
        "titled.csv",
        format!("Export of today\nid,blob\n1,x\n2,{}\n", "y".repeat(5000)),
    );
    let (code, stderr) = validate(
        &sandbox,
        &input,
        &["--skip-lines", "1", "--max-record-size", "2KiB"],
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr
            .contains("titled.csv: line 4: a record is larger than --max-record-size (2048 bytes)"),
        "{stderr}"
    );
    // A quote never closed swallows the rest of the file.
    let mut csv = String::from("id,note\n1,\"open\n");
    for i in 0..200 {
        csv.push_str(&format!("{i},a row of the rest of the file\n"));
    }
    let input = sandbox.write("open.csv", csv);
    let (code, stderr) = validate(&sandbox, &input, &["--max-record-size", "4KiB"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("open.csv: line 2: a record is larger than --max-record-size (4096 bytes); a quoted field opens on line 2 and is still open"),
        "{stderr}"
    );
    // Not larger, only open at the end: said as it was, on the line of the file (the lines
    // skipped counted, as they were not before).
    let input = sandbox.write("cut.csv", "Export of today\nid,note\n1,x\n2,\"cut sho");
    let (code, stderr) = validate(&sandbox, &input, &["--skip-lines", "1"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("cut.csv: line 4: a quoted field opens here and is never closed"),
        "{stderr}"
    );
}

#[test]
fn the_limit_has_a_ceiling_of_one_gib() {
    let sandbox = Sandbox::new();
    let input = sandbox.write("small.csv", "id\n1\n");
    let (code, stderr) = validate(&sandbox, &input, &["--max-record-size", "1GiB"]);
    assert_eq!(code, 0, "{stderr}");
    for above in ["1025MiB", "100GiB"] {
        let (code, stderr) = validate(&sandbox, &input, &["--max-record-size", above]);
        assert_eq!(code, 2, "{above}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "--max-record-size: \"{above}\" is above the ceiling of 1GiB"
            )),
            "{stderr}"
        );
    }
    let server = TestServer::ok();
    let out = sandbox
        .push_unsigned(&input, &server.url())
        .args(["--max-record-size", "2GiB"])
        .assert()
        .code(2);
    assert!(stderr_of(&out).contains("above the ceiling of 1GiB"));
    let out = sandbox
        .pulse()
        .args(["resume", "--max-record-size", "2GiB"])
        .assert()
        .code(2);
    assert!(stderr_of(&out).contains("above the ceiling of 1GiB"));
    assert!(server.requests().is_empty());
}

#[test]
fn a_large_record_is_held_about_once() {
    // Just past a power of two, where a buffer that doubles takes twice the record (and the
    // record was copied out of it: 105 MiB at peak).
    let size = (33 << 20) + 1;
    let sandbox = Sandbox::new();
    let input = sandbox.write(
        "large.csv",
        format!("id,blob\n1,small\n2,\"{}\"\n3,after\n", "z".repeat(size)),
    );
    let (code, peak) = peak_rss_kib(
        &sandbox,
        &[
            "validate",
            input.to_str().unwrap(),
            "--max-record-size",
            "40MiB",
        ],
    );
    assert_eq!(code, 0);
    // The process itself takes 7-14 MiB.
    let record_kib = size as i64 / 1024;
    assert!(
        peak < record_kib * 3 / 2 + 20 * 1024,
        "validate: {peak} KiB at peak, for a record of {record_kib} KiB"
    );
}
