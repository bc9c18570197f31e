//! Allocation-free JSON text writing into byte buffers, for the per-cell hot path.

/// Appends `s` to `out` as a JSON string literal (with quotes).
///
/// Only `"`, `\` and control characters need escaping in JSON; everything else, including
/// non-ASCII UTF-8, is copied verbatim in runs, so typical cells cost one `extend`.
pub fn write_json_string(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0x00..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        if escape.is_empty() {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[(b >> 4) as usize]);
            out.push(HEX[(b & 0xf) as usize]);
        } else {
            out.extend_from_slice(escape);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Appends an unsigned integer in decimal.
pub fn write_u64(out: &mut Vec<u8>, n: u64) {
    let mut buf = itoa::Buffer::new();
    out.extend_from_slice(buf.format(n).as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(s: &str) -> String {
        let mut out = Vec::new();
        write_json_string(&mut out, s);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn plain_text_is_quoted() {
        assert_eq!(json("Christy"), "\"Christy\"");
        assert_eq!(json(""), "\"\"");
        assert_eq!(json("Zoë → 東京"), "\"Zoë → 東京\"");
    }

    #[test]
    fn specials_are_escaped() {
        assert_eq!(json("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(json("l1\nl2\r\t"), r#""l1\nl2\r\t""#);
        assert_eq!(json("\u{1}\u{8}\u{c}\u{1f}"), r#""\u0001\b\f\u001f""#);
    }

    #[test]
    fn output_agrees_with_serde_json() {
        let samples = ["", "x", "\"", "\\\\", "\u{0}\u{7f}é", "tab\there", "🦀\n"];
        for sample in samples {
            let parsed: String = serde_json::from_str(&json(sample)).unwrap();
            assert_eq!(parsed, sample);
        }
    }
}
