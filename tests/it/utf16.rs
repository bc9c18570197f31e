//! UTF-16 recognised by its byte order mark is checked as UTF-8 is: a lone surrogate or an odd
//! byte at the end is an error naming the line and column, never a silent U+FFFD; naming the
//! encoding (`--encoding utf-16`) reads it with U+FFFD, as WHATWG decoding does.

use crate::support::server::TestServer;
use crate::support::{rows_of, stderr_of, Sandbox};

/// UTF-16 code units of `text`, with `bad` spliced in at each `\u{1}` in it.
fn units(text: &str, bad: u16) -> Vec<u16> {
    text.encode_utf16()
        .map(|unit| if unit == 1 { bad } else { unit })
        .collect()
}

/// `units` with a byte order mark, little- or big-endian.
fn utf16(units: &[u16], little_endian: bool) -> Vec<u8> {
    let bytes = |unit: &u16| {
        if little_endian {
            unit.to_le_bytes()
        } else {
            unit.to_be_bytes()
        }
    };
    bytes(&0xfeff)
        .into_iter()
        .chain(units.iter().flat_map(bytes))
        .collect()
}

const ORDERS: [(bool, &str); 2] = [(true, "UTF-16LE"), (false, "UTF-16BE")];

/// `pulse validate FILE`: its exit code and stderr.
fn validate(sandbox: &Sandbox, name: &str, bytes: &[u8], args: &[&str]) -> (i32, String) {
    let file = sandbox.write(name, bytes);
    let out = sandbox
        .pulse()
        .arg("validate")
        .arg(&file)
        .args(args)
        .assert();
    let code = out.get_output().status.code().unwrap_or(-1);
    (code, stderr_of(&out))
}

/// One line of error on stderr, besides the notice of how the file is read.
fn the_error(stderr: &str) -> &str {
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|line| !line.contains("by its byte order mark"))
        .collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    errors[0]
}

#[test]
fn a_lone_surrogate_is_an_error_naming_its_line_and_column() {
    let sandbox = Sandbox::new();
    // (text, where the bad unit is) for a lone high surrogate and a lone low one, in a row
    // and in the header.
    let cases = [
        (
            "id,name\n1,Zoë\n2,a\u{1}b\n3,c\n",
            0xd83d,
            "line 3, column 2",
        ),
        ("id,name\n1,x\n\u{1}2,y\n", 0xde00, "line 3, column 1"),
        ("id,na\u{1}me\n1,x\n", 0xd800, "line 1, column 2"),
        // A high surrogate before a line break, in a quoted cell over two lines.
        ("id,note\n1,\"one\ntwo\u{1}\"\n", 0xdbff, "line 2, column 2"),
    ];
    for (little_endian, name) in ORDERS {
        for (text, bad, at) in cases {
            let bytes = utf16(&units(text, bad), little_endian);
            let (code, stderr) = validate(&sandbox, "excel.txt", &bytes, &[]);
            assert_eq!(code, 1, "{name} {text:?}: {stderr}");
            let error = the_error(&stderr);
            assert!(
                error.contains(&format!("excel.txt: {at}: invalid {name}"))
                    && error.contains("--encoding utf-16"),
                "{name} {text:?}: {error}"
            );
        }
    }
}

#[test]
fn an_odd_byte_at_the_end_is_an_error_naming_its_line() {
    let sandbox = Sandbox::new();
    for (little_endian, name) in ORDERS {
        // The last row ends without a line break: the stray byte is in its last cell.
        let mut bytes = utf16(&units("id,name\n1,a\n2,b", 0), little_endian);
        bytes.push(b'!');
        let (code, stderr) = validate(&sandbox, "odd.csv", &bytes, &[]);
        assert_eq!(code, 1, "{name}: {stderr}");
        let error = the_error(&stderr);
        assert!(
            error.contains(&format!("odd.csv: line 3, column 2: invalid {name}")),
            "{error}"
        );
        // After a final line break, the stray byte is a line of its own.
        let mut bytes = utf16(&units("id,name\n1,a\n", 0), little_endian);
        bytes.push(0);
        let (code, stderr) = validate(&sandbox, "odd.csv", &bytes, &[]);
        assert_eq!(code, 1, "{name}: {stderr}");
        let error = the_error(&stderr);
        assert!(
            error.contains(&format!("odd.csv: line 3, column 1: invalid {name}")),
            "{error}"
        );
    }
}

#[test]
fn a_push_of_malformed_utf16_sends_nothing_and_naming_the_encoding_reads_it_as_whatwg_does() {
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    for (little_endian, name) in ORDERS {
        let mut bytes = utf16(&units("id,name\n1,a\u{1}b\n", 0xdc00), little_endian);
        bytes.push(b'z');
        let file = sandbox.write("people.csv", &bytes);
        let out = sandbox.push_unsigned(&file, &server.url()).assert().code(1);
        let stderr = stderr_of(&out);
        assert!(
            the_error(&stderr).contains(&format!("line 2, column 2: invalid {name}")),
            "{stderr}"
        );
        assert!(server.requests().is_empty(), "nothing sent");
        // Asked for, by a label of either order (the mark decides): U+FFFD in their place.
        for label in ["utf-16", "utf-16be"] {
            let sandbox = Sandbox::new();
            let server = TestServer::ok();
            sandbox
                .push_unsigned(&file, &server.url())
                .args(["--encoding", label])
                .assert()
                .success();
            let rows = rows_of(&server.requests());
            assert_eq!(rows.len(), 2, "{name} {label}");
            assert_eq!(rows[0]["name"], "a\u{fffd}b");
            assert_eq!(rows[1]["id"], "\u{fffd}");
        }
    }
}

#[test]
fn well_formed_utf16_with_pairs_is_read_whole() {
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    for (little_endian, _) in ORDERS {
        let bytes = utf16(
            &units("id,name\r\n1,😀 Zoë\r\n2,\"東京\r\nx\"\r\n", 0),
            little_endian,
        );
        let file = sandbox.write("ok.csv", &bytes);
        sandbox
            .push_unsigned(&file, &server.url())
            .assert()
            .success();
    }
    let rows = rows_of(&server.requests());
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[0]["name"], "😀 Zoë");
    assert_eq!(rows[3]["name"], "東京\r\nx");
}
