//! A reader whose first bytes can be looked at before they are read: for magic bytes, byte
//! order marks, an Excel `sep=` line, lines to skip and the sample the dialect is sniffed from.

use std::io::{self, Read};

/// A stream with a look-ahead buffer; once the buffer is drained, reads go straight through.
pub struct Peeked<R> {
    buf: Vec<u8>,
    pos: usize,
    inner: R,
    eof: bool,
    /// The last read brought fewer bytes than asked: a pipe with nothing more yet, maybe.
    short: bool,
}

impl<R: Read> Peeked<R> {
    pub fn new(inner: R) -> Peeked<R> {
        Peeked {
            buf: Vec::new(),
            pos: 0,
            inner,
            eof: false,
            short: false,
        }
    }

    /// The next bytes, at least `want` of them unless the stream ends first.
    pub fn peek(&mut self, want: usize) -> io::Result<&[u8]> {
        while self.buf.len() - self.pos < want && !self.eof {
            let missing = want - (self.buf.len() - self.pos);
            self.read_once(missing.max(8 * 1024))?;
        }
        Ok(&self.buf[self.pos..])
    }

    /// One read of up to `asked` bytes into the buffer; how many came (0 at the end).
    fn read_once(&mut self, asked: usize) -> io::Result<usize> {
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        let have = self.buf.len();
        self.buf.resize(have + asked, 0);
        let n = loop {
            match self.inner.read(&mut self.buf[have..]) {
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        match n {
            Ok(n) => {
                self.buf.truncate(have + n);
                self.eof = n == 0;
                self.short = n < asked;
                Ok(n)
            }
            Err(err) => {
                self.buf.truncate(have);
                Err(err)
            }
        }
    }

    /// Up to `max` next bytes without waiting on a slow stream: reads stop early once a read
    /// comes back short (a pipe with nothing more yet) and a whole line is there, so that a
    /// stream fed row by row is not held up until `max` bytes came.
    pub fn peek_available(&mut self, max: usize) -> io::Result<&[u8]> {
        loop {
            let have = self.buf.len() - self.pos;
            let line = memchr::memchr(b'\n', &self.buf[self.pos..]).is_some();
            if have >= max || self.eof || (self.short && line) {
                break;
            }
            self.read_once(max - have)?;
        }
        Ok(&self.buf[self.pos..])
    }

    /// Drops `n` bytes of what `peek` showed.
    pub fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.buf.len());
    }

    /// Whether `peek` has seen the end of the stream.
    pub fn at_eof(&self) -> bool {
        self.eof
    }

    /// Skips one line (its end included: LF, CRLF or a lone CR); false at the end of the input.
    /// What is skipped is dropped as it is read: a huge line is never held whole.
    pub fn skip_line(&mut self) -> io::Result<bool> {
        let mut seen = 0;
        loop {
            let eof = {
                self.peek(seen + 1)?;
                self.eof
            };
            let ahead = &self.buf[self.pos..];
            if ahead.is_empty() {
                return Ok(false);
            }
            match memchr::memchr2(b'\n', b'\r', &ahead[seen..]) {
                Some(at) => {
                    let end = seen + at;
                    if ahead[end] == b'\r' {
                        // A CR may be followed by the LF of a CRLF, in the next read.
                        let after = self.peek(end + 2)?;
                        let crlf = after.get(end + 1) == Some(&b'\n');
                        self.consume(end + 1 + usize::from(crlf));
                    } else {
                        self.consume(end + 1);
                    }
                    return Ok(true);
                }
                None if eof => {
                    let len = ahead.len();
                    self.consume(len);
                    return Ok(true);
                }
                None => {
                    // No line end in what is here: none of it is kept.
                    let len = ahead.len();
                    self.consume(len);
                    seen = 0;
                }
            }
        }
    }
}

impl<R: Read> Read for Peeked<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.pos < self.buf.len() {
            let n = out.len().min(self.buf.len() - self.pos);
            out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
            self.pos += n;
            if self.pos == self.buf.len() {
                // Drained: later reads go straight to the stream, without a copy.
                self.buf = Vec::new();
                self.pos = 0;
            }
            return Ok(n);
        }
        self.inner.read(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::read::one_byte::OneByte;

    #[test]
    fn peeks_then_reads_everything_once() {
        let mut peeked = Peeked::new(OneByte(b"hello world"));
        assert_eq!(peeked.peek(5).unwrap(), b"hello");
        peeked.consume(5);
        let mut rest = String::new();
        peeked.read_to_string(&mut rest).unwrap();
        assert_eq!(rest, " world");
    }

    #[test]
    fn a_slow_stream_is_not_waited_for_past_a_whole_line() {
        // OneByte comes back short on every read: the first line is enough.
        let mut peeked = Peeked::new(OneByte(b"a,b\n1,2\n"));
        assert_eq!(peeked.peek_available(1024).unwrap(), b"a,b\n");
        // A file-like reader fills the sample.
        let text = "a,b\n".repeat(10_000);
        let mut peeked = Peeked::new(text.as_bytes());
        assert_eq!(peeked.peek_available(20_000).unwrap().len(), 20_000);
    }

    #[test]
    fn a_huge_line_skipped_is_not_held() {
        let mut text = vec![b'x'; 4 << 20];
        text.extend_from_slice(b"\r\nnext\n");
        let mut peeked = Peeked::new(&text[..]);
        assert!(peeked.skip_line().unwrap());
        assert!(peeked.buf.capacity() < 1 << 20, "{}", peeked.buf.capacity());
        assert_eq!(peeked.peek(4).unwrap(), b"next\n");
    }

    #[test]
    fn skips_lines_of_every_ending() {
        let mut peeked = Peeked::new(OneByte(b"a\r\nb\rc\nd"));
        for _ in 0..3 {
            assert!(peeked.skip_line().unwrap());
        }
        assert_eq!(peeked.peek(10).unwrap(), b"d");
        assert!(peeked.skip_line().unwrap());
        assert!(!peeked.skip_line().unwrap());
    }
}
