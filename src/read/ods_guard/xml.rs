//! A small XML tokenizer for `content.xml`, in memory that does not depend on the part: it
//! holds one tag at a time, at most `limit` bytes, and hands text over as it streams by,
//! refusing a run of text longer than `limit` (calamine, through quick-xml, holds each tag and
//! each run of text whole).

use std::io::BufRead;

/// A piece of the XML.
pub enum Token<'a> {
    /// A start tag: its name and the bytes of its attributes; `empty` for `<a/>`.
    Start {
        name: &'a [u8],
        attributes: &'a [u8],
        empty: bool,
    },
    End {
        name: &'a [u8],
    },
    /// Some text (a run may come in several pieces): its bytes as written, and at least how
    /// many bytes it holds once its entities are read (`&amp;` is one).
    Text {
        raw: u64,
        least: u64,
    },
    /// A comment, a processing instruction, CDATA, a declaration.
    Other,
}

pub struct Tokens<R> {
    input: R,
    limit: u64,
    tag: Vec<u8>,
    /// The run of text being read: its length, and whether inside an entity.
    run: u64,
    in_entity: bool,
}

impl<R: BufRead> Tokens<R> {
    pub fn new(input: R, limit: u64) -> Tokens<R> {
        Tokens {
            input,
            limit,
            tag: Vec::new(),
            run: 0,
            in_entity: false,
        }
    }

    /// The next token, None at the end.
    pub fn next(&mut self) -> Result<Option<Token<'_>>, String> {
        let (taken, least, at_markup) = {
            let buf = self.input.fill_buf().map_err(|e| e.to_string())?;
            if buf.is_empty() {
                return Ok(None);
            }
            let end = memchr::memchr(b'<', buf).unwrap_or(buf.len());
            let text = &buf[..end];
            let least = if !self.in_entity && memchr::memchr(b'&', text).is_none() {
                text.len() as u64
            } else {
                let mut least = 0u64;
                for &b in text {
                    match (self.in_entity, b) {
                        (false, b'&') => {
                            self.in_entity = true;
                            least += 1;
                        }
                        (false, _) => least += 1,
                        (true, b';') => self.in_entity = false,
                        (true, _) => {}
                    }
                }
                least
            };
            (end, least, end < buf.len())
        };
        if taken > 0 {
            self.input.consume(taken);
            self.run += taken as u64;
            if self.run > self.limit {
                return Err(format!(
                    "a run of text of more than {} bytes; pulse reads no more at once \
                     (--max-record-size, or 1 MiB if that is less)",
                    self.limit
                ));
            }
            return Ok(Some(Token::Text {
                raw: taken as u64,
                least,
            }));
        }
        debug_assert!(at_markup);
        self.run = 0;
        self.in_entity = false;
        self.markup()?;
        Ok(Some(self.token()))
    }

    /// Reads markup from its `<` to its end into `tag`: a tag by the slice between quotes and
    /// `>`, a comment, a declaration or a processing instruction byte by byte.
    fn markup(&mut self) -> Result<(), String> {
        self.tag.clear();
        let mut quote: Option<u8> = None;
        let mut slow: Option<bool> = None;
        loop {
            let (taken, done) = {
                let buf = self.input.fill_buf().map_err(|e| e.to_string())?;
                if buf.is_empty() {
                    return Ok(());
                }
                let mut i = 0;
                let mut done = false;
                while i < buf.len() && !done {
                    if slow.is_none() && self.tag.len() >= 2 {
                        slow = Some(matches!(self.tag[1], b'!' | b'?'));
                    }
                    if slow != Some(false) {
                        self.tag.push(buf[i]);
                        done = ends(&self.tag, buf[i], &mut quote);
                        i += 1;
                        continue;
                    }
                    let rest = &buf[i..];
                    let found = match quote {
                        Some(q) => memchr::memchr(q, rest),
                        None => memchr::memchr3(b'>', b'"', b'\'', rest),
                    };
                    let Some(j) = found else {
                        self.tag.extend_from_slice(rest);
                        i = buf.len();
                        break;
                    };
                    self.tag.extend_from_slice(&rest[..=j]);
                    i += j + 1;
                    match (quote, rest[j]) {
                        (Some(_), _) => quote = None,
                        (None, b'>') => done = true,
                        (None, q) => quote = Some(q),
                    }
                }
                (i, done)
            };
            self.input.consume(taken);
            if self.tag.len() as u64 > self.limit {
                return Err(format!(
                    "a tag of more than {} bytes; pulse reads no more at once \
                     (--max-record-size, or 1 MiB if that is less)",
                    self.limit
                ));
            }
            if done {
                return Ok(());
            }
        }
    }

    fn token(&self) -> Token<'_> {
        let tag = &self.tag[..];
        if tag.len() < 2 || !tag.ends_with(b">") || matches!(tag[1], b'?' | b'!') {
            return Token::Other;
        }
        let inner = &tag[1..tag.len() - 1];
        if let Some(name) = inner.strip_prefix(b"/") {
            return Token::End {
                name: name.trim_ascii(),
            };
        }
        let (inner, empty) = match inner.strip_suffix(b"/") {
            Some(inner) => (inner, true),
            None => (inner, false),
        };
        let split = inner
            .iter()
            .position(|b| b.is_ascii_whitespace())
            .unwrap_or(inner.len());
        let (name, attributes) = inner.split_at(split);
        Token::Start {
            name,
            attributes,
            empty,
        }
    }
}

/// Whether `b`, just added to `tag` (markup from its `<`), ends it.
fn ends(tag: &[u8], b: u8, quote: &mut Option<u8>) -> bool {
    if tag.starts_with(b"<!--") {
        return tag.len() >= 7 && tag.ends_with(b"-->");
    }
    if tag.starts_with(b"<![CDATA[") {
        return tag.len() >= 12 && tag.ends_with(b"]]>");
    }
    if tag.starts_with(b"<?") {
        return tag.len() >= 4 && tag.ends_with(b"?>");
    }
    match (*quote, b) {
        (Some(q), b) if b == q => *quote = None,
        (Some(_), _) => {}
        (None, b'"' | b'\'') => *quote = Some(b),
        (None, b'>') => return !(b"<!--".starts_with(tag) || b"<![CDATA[".starts_with(tag)),
        (None, _) => {}
    }
    false
}

/// The value of the attribute `name` among `attributes`, as written (entities not read).
pub fn attribute<'a>(attributes: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    let mut rest = attributes;
    loop {
        rest = rest.trim_ascii_start();
        let eq = memchr::memchr(b'=', rest)?;
        let key = rest[..eq].trim_ascii();
        let after = rest[eq + 1..].trim_ascii_start();
        let quote = *after.first()?;
        if quote != b'"' && quote != b'\'' {
            return None;
        }
        let end = memchr::memchr(quote, &after[1..])?;
        let value = &after[1..1 + end];
        if key == name {
            return Some(value);
        }
        rest = &after[end + 2..];
    }
}

/// At least how many bytes `raw` (an attribute's value) holds once its entities are read.
pub fn least(raw: &[u8]) -> u64 {
    let mut least = 0;
    let mut in_entity = false;
    for &b in raw {
        match (in_entity, b) {
            (false, b'&') => {
                in_entity = true;
                least += 1;
            }
            (false, _) => least += 1,
            (true, b';') => in_entity = false,
            (true, _) => {}
        }
    }
    least
}
