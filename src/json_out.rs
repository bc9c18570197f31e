//! Allocation-free JSON text writing into byte buffers, for the per-cell hot path.

/// Appends `s` to `out` as a JSON string literal (with quotes).
///
/// Only `"`, `\` and control characters need escaping in JSON; everything else, including
/// non-ASCII UTF-8, is copied verbatim. Eight bytes are checked at a time (SWAR), so plain text
/// costs a few instructions per word and one bulk copy per run.
pub fn write_json_string(out: &mut Vec<u8>, s: &str) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    write_json_string_body(out, s);
    out.push(b'"');
}

/// Appends `s` escaped for a JSON string literal, without the quotes around it.
pub fn write_json_string_body(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        if i + 8 <= bytes.len() {
            let word = u64::from_le_bytes(bytes[i..i + 8].try_into().expect("8 bytes"));
            if !needs_escape(word) {
                i += 8;
                continue;
            }
        }
        let b = bytes[i];
        if let Some(escape) = escape_for(b) {
            put(out, &bytes[start..i]);
            write_escape(out, b, escape);
            start = i + 1;
        }
        i += 1;
    }
    put(out, &bytes[start..]);
}

/// As `write_json_string`, into any text sink (a template's output): plain runs are written
/// whole, split only at the ASCII bytes that need escaping.
pub fn write_json_string_to(out: &mut impl std::fmt::Write, s: &str) -> std::fmt::Result {
    out.write_char('"')?;
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        if i + 8 <= bytes.len() {
            let word = u64::from_le_bytes(bytes[i..i + 8].try_into().expect("8 bytes"));
            if !needs_escape(word) {
                i += 8;
                continue;
            }
        }
        let b = bytes[i];
        if let Some(escape) = escape_for(b) {
            // `b` is ASCII: `start..i` lies on character boundaries.
            out.write_str(&s[start..i])?;
            let mut escaped = Vec::with_capacity(6);
            write_escape(&mut escaped, b, escape);
            out.write_str(std::str::from_utf8(&escaped).expect("escapes are ASCII"))?;
            start = i + 1;
        }
        i += 1;
    }
    out.write_str(&s[start..])?;
    out.write_char('"')
}

/// Whether `bytes` can go between JSON quotes as they are: no `"`, `\\` or control byte. One
/// pass over a whole record costs less than looking cell by cell.
pub fn is_plain_json_text(bytes: &[u8]) -> bool {
    let mut words = bytes.chunks_exact(8);
    let plain_words = words
        .by_ref()
        .all(|w| !needs_escape(u64::from_le_bytes(w.try_into().expect("8 bytes"))));
    plain_words && words.remainder().iter().all(|&b| escape_for(b).is_none())
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Whether any byte of `word` is `"`, `\\` or below 0x20 (false positives are fine: the bytes
/// are then checked one by one).
#[inline]
fn needs_escape(word: u64) -> bool {
    let has_zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS;
    let control = word.wrapping_sub(ONES * 0x20) & !word & HIGHS;
    (control | has_zero(word ^ (ONES * b'"' as u64)) | has_zero(word ^ (ONES * b'\\' as u64))) != 0
}

/// The short escape of a byte, `Some(b"")` for control bytes written as `\u00XX`, or None.
#[inline]
fn escape_for(b: u8) -> Option<&'static [u8]> {
    match b {
        b'"' => Some(b"\\\""),
        b'\\' => Some(b"\\\\"),
        b'\n' => Some(b"\\n"),
        b'\r' => Some(b"\\r"),
        b'\t' => Some(b"\\t"),
        0x08 => Some(b"\\b"),
        0x0c => Some(b"\\f"),
        0x00..=0x1f => Some(b""),
        _ => None,
    }
}

fn write_escape(out: &mut Vec<u8>, b: u8, escape: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    if escape.is_empty() {
        out.extend_from_slice(b"\\u00");
        out.push(HEX[(b >> 4) as usize]);
        out.push(HEX[(b & 0xf) as usize]);
    } else {
        out.extend_from_slice(escape);
    }
}

/// Appends `bytes`, inline when short: rows are made of many short copies (cells, tokens), and
/// `extend_from_slice` calls `memcpy` for each, which cost more than the copying. Up to 16
/// bytes are copied as two overlapping words.
#[inline(always)]
pub fn put(out: &mut Vec<u8>, bytes: &[u8]) {
    let len = bytes.len();
    if len > 16 || out.capacity() - out.len() < 16 {
        out.extend_from_slice(bytes);
        return;
    }
    let at = out.len();
    // SAFETY: 16 bytes of spare capacity were checked above and at most `len <= 16` bytes are
    // written; every read stays within `bytes`.
    unsafe {
        let src = bytes.as_ptr();
        let dst = out.as_mut_ptr().add(at);
        if len >= 8 {
            let head = std::ptr::read_unaligned(src as *const u64);
            let tail = std::ptr::read_unaligned(src.add(len - 8) as *const u64);
            std::ptr::write_unaligned(dst as *mut u64, head);
            std::ptr::write_unaligned(dst.add(len - 8) as *mut u64, tail);
        } else if len >= 4 {
            let head = std::ptr::read_unaligned(src as *const u32);
            let tail = std::ptr::read_unaligned(src.add(len - 4) as *const u32);
            std::ptr::write_unaligned(dst as *mut u32, head);
            std::ptr::write_unaligned(dst.add(len - 4) as *mut u32, tail);
        } else {
            for i in 0..len {
                *dst.add(i) = *src.add(i);
            }
        }
        out.set_len(at + len);
    }
}

/// Appends an unsigned integer in decimal.
pub fn write_u64(out: &mut Vec<u8>, n: u64) {
    let mut buf = itoa::Buffer::new();
    put(out, buf.format(n).as_bytes());
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
    fn short_and_long_copies_append_exactly() {
        let source: Vec<u8> = (0..40u8).collect();
        for room in [0, 15, 16, 64] {
            for len in 0..=source.len() {
                let mut out = Vec::with_capacity(3 + room);
                out.extend_from_slice(b"abc");
                put(&mut out, &source[..len]);
                assert_eq!(&out[..3], b"abc");
                assert_eq!(&out[3..], &source[..len], "len {len}, room {room}");
            }
        }
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
    fn escapes_found_at_every_offset_of_a_word() {
        for len in 0..20 {
            for at in 0..len {
                for special in ['"', '\\', '\n', '\u{1}', '\u{1f}'] {
                    let mut text: String = "abcdefghijklmnopqrst"[..len].to_string();
                    text.replace_range(at..at + 1, &special.to_string());
                    let parsed: String = serde_json::from_str(&json(&text)).unwrap();
                    assert_eq!(parsed, text);
                }
            }
        }
        // Bytes at and above 0x80 never need escaping and must not confuse the word check.
        let text = "ÿÿÿÿ€€€€\u{7f}é\"";
        let parsed: String = serde_json::from_str(&json(text)).unwrap();
        assert_eq!(parsed, text);
    }

    #[test]
    fn plain_text_is_told_from_text_to_escape() {
        assert!(is_plain_json_text(b""));
        assert!(is_plain_json_text(
            "Zoë → 東京, 12.50 ÿÿÿÿ€€€€\u{7f}".as_bytes()
        ));
        for len in 1..20 {
            for at in 0..len {
                for special in [b'"', b'\\', b'\n', 0, 0x1f] {
                    let mut text = b"abcdefghijklmnopqrst"[..len].to_vec();
                    text[at] = special;
                    assert!(!is_plain_json_text(&text), "{text:?}");
                }
            }
        }
    }

    #[test]
    fn text_sinks_get_what_byte_buffers_get() {
        for s in [
            "",
            "plain words here",
            "q\"b\\s\u{1}\n\t€ and more after",
            "東京\u{1f}x",
        ] {
            let mut text = String::new();
            write_json_string_to(&mut text, s).unwrap();
            assert_eq!(text, json(s));
        }
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
