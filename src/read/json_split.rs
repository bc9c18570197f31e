//! JSON input cut into its objects, without parsing them: a JSON array of objects, or objects
//! one after another (JSON lines / NDJSON, pretty-printed or not). Each object's bytes are
//! found by counting brackets outside strings, so that it can be parsed on its own
//! (`json_rows.rs`, through serde_json) and memory holds one object at a time, at most
//! `--max-record-size` of it, whatever the input's size. Lines and byte offsets are counted
//! for messages and `__row`.

use std::io::{self, Read};

use anyhow::{bail, Result};

/// Bytes asked of the input at a time.
const READ_CHUNK: usize = 256 * 1024;

/// One object of the input.
pub struct Object<'a> {
    /// The line it starts on (1-based).
    pub line: u64,
    /// Its first byte's offset in the input (0-based).
    pub offset: u64,
    pub bytes: &'a [u8],
    /// Cut at its line break, not by its brackets (`recut` cuts it again by them).
    pub by_line: bool,
}

/// Where the reader stands between objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// Nothing read yet: `[` opens an array, anything else is JSON lines.
    Start,
    Lines,
    /// In an array: an object or `]` comes next (`comma`: an object must, after a comma).
    ArrayItem {
        comma: bool,
    },
    /// In an array, after an object: `,` or `]`.
    ArrayAfterItem,
    /// The array closed: only whitespace may follow.
    Closed,
}

/// The objects of a JSON input, one at a time.
pub struct JsonObjects<R> {
    inner: R,
    label: String,
    buf: Vec<u8>,
    /// The first byte not handed out yet, and the end of what was read, in `buf`.
    start: usize,
    end: usize,
    eof: bool,
    /// The line and input offset of `buf[start]`.
    line: u64,
    offset: u64,
    max_object_bytes: u64,
    layout: Layout,
    /// Objects handed out (for messages about an array's items).
    objects: u64,
    /// The length, lines and place of the object handed out last, for `recut`.
    last: (usize, u64),
}

impl<R: Read> JsonObjects<R> {
    /// `label` names the input in messages; an object over `max_object_bytes` is an error.
    pub fn new(inner: R, label: String, max_object_bytes: u64) -> JsonObjects<R> {
        JsonObjects {
            inner,
            label,
            buf: Vec::new(),
            start: 0,
            end: 0,
            eof: false,
            line: 1,
            offset: 0,
            max_object_bytes,
            layout: Layout::Start,
            objects: 0,
            last: (0, 0),
        }
    }

    /// The next object, or None at the end of the input.
    pub fn next_object(&mut self) -> Result<Option<Object<'_>>> {
        loop {
            let Some(byte) = self.next_nonblank()? else {
                return match self.layout {
                    Layout::Start | Layout::Lines | Layout::Closed => Ok(None),
                    _ => bail!(
                        "{}: line {}: the JSON array is never closed with ] (is the file cut short?)",
                        self.label,
                        self.line
                    ),
                };
            };
            match (self.layout, byte) {
                (Layout::Start, b'[') => {
                    self.consume(1);
                    self.layout = Layout::ArrayItem { comma: false };
                }
                (Layout::Start | Layout::Lines, b'{') => {
                    self.layout = Layout::Lines;
                    if let Some(len) = self.line_object()? {
                        return Ok(Some(self.hand_out(len, true)));
                    }
                    return self.take_object();
                }
                (Layout::ArrayItem { .. }, b'{') => {
                    self.layout = Layout::ArrayAfterItem;
                    return self.take_object();
                }
                (Layout::ArrayItem { comma: false }, b']') | (Layout::ArrayAfterItem, b']') => {
                    self.consume(1);
                    self.layout = Layout::Closed;
                }
                (Layout::ArrayAfterItem, b',') => {
                    self.consume(1);
                    self.layout = Layout::ArrayItem { comma: true };
                }
                (Layout::ArrayAfterItem, _) => {
                    return Err(self.error_here("expected , or ] after an object of the array"));
                }
                (Layout::Closed, _) => {
                    return Err(self.error_here("text after the end of the JSON array"));
                }
                (Layout::ArrayItem { comma: true }, b']') => {
                    return Err(self.error_here("a comma before ] (JSON allows none)"));
                }
                (layout, byte) => {
                    let what = what_starts_with(byte);
                    let message = if layout == Layout::Start || layout == Layout::Lines {
                        format!("{what}, where each row is a JSON object {{...}}")
                    } else {
                        format!(
                            "item {} of the array is {what}, where each row is a JSON object {{...}}",
                            self.objects + 1
                        )
                    };
                    return Err(self.error_here(&message));
                }
            }
        }
    }

    /// An error at the next byte, naming its line and offset.
    fn error_here(&self, message: &str) -> anyhow::Error {
        anyhow::anyhow!(
            "{}: line {}, byte {}: {message}",
            self.label,
            self.line,
            self.offset + 1
        )
    }

    /// Skips whitespace (counting lines) and peeks at the next byte; None at the end.
    fn next_nonblank(&mut self) -> Result<Option<u8>> {
        loop {
            while self.start < self.end {
                match self.buf[self.start] {
                    b'\n' => self.line += 1,
                    b' ' | b'\t' | b'\r' => {}
                    byte => return Ok(Some(byte)),
                }
                self.start += 1;
                self.offset += 1;
            }
            if self.eof || self.fill()? == 0 {
                return Ok(None);
            }
        }
    }

    fn consume(&mut self, n: usize) {
        self.start += n;
        self.offset += n as u64;
    }

    /// The object handed out last cut again by its brackets: its line was no whole object
    /// (`{"a": {"b": 1}` on a line of its own ends with `}` too).
    pub fn recut(&mut self) -> Result<Option<Object<'_>>> {
        let (len, lines) = self.last;
        self.start -= len;
        self.offset -= len as u64;
        self.line -= lines;
        self.objects -= 1;
        self.take_object()
    }

    /// JSON lines' common case, found with one `memchr`: the object is its line, which ends
    /// with `}` before its line break (JSON strings hold no raw line break). Its length; None
    /// when the line does not end so, or is longer than the record limit (the brackets tell).
    fn line_object(&mut self) -> Result<Option<usize>> {
        loop {
            let ahead = &self.buf[self.start..self.end];
            let line = match memchr::memchr(b'\n', ahead) {
                Some(at) => &ahead[..at],
                None if self.eof => ahead,
                None if ahead.len() as u64 > self.max_object_bytes => return Ok(None),
                None => {
                    self.fill()?;
                    continue;
                }
            };
            let len = line.len()
                - line
                    .iter()
                    .rev()
                    .take_while(|b| matches!(b, b' ' | b'\t' | b'\r'))
                    .count();
            let whole = len > 0 && line[len - 1] == b'}' && len as u64 <= self.max_object_bytes;
            return Ok(whole.then_some(len));
        }
    }

    /// Hands out the `len` bytes at `buf[start]` as an object.
    fn hand_out(&mut self, len: usize, by_line: bool) -> Object<'_> {
        let bytes = &self.buf[self.start..self.start + len];
        let lines = if by_line {
            0
        } else {
            memchr::memchr_iter(b'\n', bytes).count() as u64
        };
        let object = Object {
            line: self.line,
            offset: self.offset,
            bytes,
            by_line,
        };
        self.last = (len, lines);
        self.line += lines;
        self.start += len;
        self.offset += len as u64;
        self.objects += 1;
        object
    }

    /// Hands out the object starting at `buf[start]` (a `{`), reading more until its end.
    fn take_object(&mut self) -> Result<Option<Object<'_>>> {
        let mut scan = Scan::default();
        let mut scanned = 0;
        let len = loop {
            if let Some(len) = scan.find_end(&self.buf[self.start + scanned..self.end]) {
                break len;
            }
            scanned = self.end - self.start;
            if scanned as u64 > self.max_object_bytes {
                bail!(
                    "{}: line {}: a JSON object is larger than --max-record-size ({} bytes); raise the limit if the file is right",
                    self.label,
                    self.line,
                    self.max_object_bytes
                );
            }
            if self.eof || self.fill()? == 0 {
                bail!(
                    "{}: line {}, byte {}: this JSON object never ends (is the file cut short?)",
                    self.label,
                    self.line,
                    self.offset + 1
                );
            }
        };
        if len as u64 > self.max_object_bytes {
            bail!(
                "{}: line {}: a JSON object is larger than --max-record-size ({} bytes); raise the limit if the file is right",
                self.label,
                self.line,
                self.max_object_bytes
            );
        }
        Ok(Some(self.hand_out(len, false)))
    }

    /// Reads more input after what is held; returns how many bytes came (0 at the end).
    fn fill(&mut self) -> Result<usize> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.buf.len() - self.end < READ_CHUNK {
            // Grows with the object being read; a large one's buffer is let go of after it.
            self.buf.resize(self.end + READ_CHUNK, 0);
        } else if self.buf.len() > 4 * READ_CHUNK && self.end < READ_CHUNK {
            self.buf.truncate(2 * READ_CHUNK);
            self.buf.shrink_to_fit();
        }
        let n = loop {
            match self.inner.read(&mut self.buf[self.end..]) {
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => {
                    return Err(
                        anyhow::Error::new(err).context(format!("{}: cannot read", self.label))
                    )
                }
                Ok(n) => break n,
            }
        };
        self.end += n;
        self.eof = n == 0;
        Ok(n)
    }
}

/// What a JSON value starting with `byte` is, for messages.
fn what_starts_with(byte: u8) -> String {
    match byte {
        b'[' => "an array".into(),
        b'"' => "a string".into(),
        b'-' | b'0'..=b'9' => "a number".into(),
        b't' | b'f' => "a boolean".into(),
        b'n' => "null".into(),
        byte if byte.is_ascii_graphic() => format!("not JSON (it starts with {:?})", byte as char),
        byte => format!("not JSON (it starts with byte 0x{byte:02x})"),
    }
}

/// The bracket count of an object being scanned, kept across reads.
#[derive(Default)]
struct Scan {
    depth: u32,
    in_string: bool,
    escaped: bool,
    /// Bytes scanned so far (the offset of `bytes[0]` in the object).
    seen: usize,
}

impl Scan {
    /// Scans on through `bytes` (what follows the bytes scanned before); returns the object's
    /// length once its closing bracket is found.
    fn find_end(&mut self, bytes: &[u8]) -> Option<usize> {
        let mut i = 0;
        while i < bytes.len() {
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                    i += 1;
                    continue;
                }
                // Strings are most of a row: jump to their next quote or backslash.
                match memchr::memchr2(b'"', b'\\', &bytes[i..]) {
                    Some(at) => {
                        i += at;
                        if bytes[i] == b'\\' {
                            self.escaped = true;
                        } else {
                            self.in_string = false;
                        }
                        i += 1;
                    }
                    None => i = bytes.len(),
                }
                continue;
            }
            match bytes[i] {
                b'"' => self.in_string = true,
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' => {
                    self.depth = self.depth.saturating_sub(1);
                    if self.depth == 0 {
                        return Some(self.seen + i + 1);
                    }
                }
                _ => {}
            }
            i += 1;
        }
        self.seen += bytes.len();
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::one_byte::OneByte;

    /// Every object's (line, offset, text), read whole and one byte at a time (the two must
    /// agree), or the first error.
    fn objects(input: &str) -> Result<Vec<(u64, u64, String)>, String> {
        let whole = read_all(io::Cursor::new(input.as_bytes()));
        let bytewise = read_all(OneByte(input.as_bytes()));
        assert_eq!(whole, bytewise, "{input:?}");
        whole
    }

    fn read_all<R: Read>(reader: R) -> Result<Vec<(u64, u64, String)>, String> {
        let mut objects = JsonObjects::new(reader, "in.json".into(), 1000);
        let mut found = Vec::new();
        loop {
            match objects.next_object() {
                Ok(Some(o)) => found.push((
                    o.line,
                    o.offset,
                    String::from_utf8(o.bytes.to_vec()).unwrap(),
                )),
                Ok(None) => return Ok(found),
                Err(err) => return Err(err.to_string()),
            }
        }
    }

    #[test]
    fn json_lines_are_cut_into_objects_with_their_lines_and_offsets() {
        let found = objects("{\"a\":1}\n\n{\"a\":\"}{\\\"\"}\r\n  {\"b\":{\"c\":[1,{}]}}").unwrap();
        assert_eq!(
            found,
            vec![
                (1, 0, "{\"a\":1}".into()),
                (3, 9, "{\"a\":\"}{\\\"\"}".into()),
                (4, 25, "{\"b\":{\"c\":[1,{}]}}".into()),
            ]
        );
    }

    #[test]
    fn an_array_of_objects_pretty_printed_is_cut_into_its_objects() {
        let found = objects("[\n  {\n    \"a\": 1\n  },\n  {\"a\": 2}\n]\n").unwrap();
        assert_eq!(
            found,
            vec![
                (2, 4, "{\n    \"a\": 1\n  }".into()),
                (5, 24, "{\"a\": 2}".into())
            ]
        );
        assert_eq!(objects("[]").unwrap(), vec![]);
        assert_eq!(objects(" [ ] \n").unwrap(), vec![]);
    }

    #[test]
    fn what_is_not_an_object_is_an_error_naming_its_line_and_byte() {
        let cases = [
            (
                "{\"a\":1}\n[1,2]\n",
                "line 2, byte 9: an array, where each row",
            ),
            ("{\"a\":1}\n42\n", "line 2, byte 9: a number"),
            (
                "[{\"a\":1},\n\"x\"]",
                "line 2, byte 11: item 2 of the array is a string",
            ),
            ("[{\"a\":1} {\"a\":2}]", "line 1, byte 10: expected , or ]"),
            ("[{\"a\":1},]", "line 1, byte 10: a comma before ]"),
            ("[{\"a\":1}] x", "line 1, byte 11: text after the end"),
            ("[{\"a\":1},\n", "line 2: the JSON array is never closed"),
            (
                "{\"a\":\n\"1}\n",
                "line 1, byte 1: this JSON object never ends",
            ),
            ("\u{7}", "not JSON (it starts with byte 0x07)"),
        ];
        for (input, expected) in cases {
            let err = objects(input).unwrap_err();
            assert!(err.starts_with("in.json: "), "{err}");
            assert!(err.contains(expected), "{input:?}: {err}");
        }
    }

    #[test]
    fn an_object_over_the_limit_is_refused_before_it_is_read_whole() {
        let big = format!("{{\"a\":\"{}\"}}", "x".repeat(5000));
        let err = objects(&big).unwrap_err();
        assert!(
            err.contains("line 1: a JSON object is larger than --max-record-size (1000 bytes)"),
            "{err}"
        );
    }
}
