//! A reader that hands out one byte per read, for tests of code that must not assume a read
//! fills its buffer (look-ahead, CRLF split across reads).

use std::io::{self, Read};

pub struct OneByte<'a>(pub &'a [u8]);

impl Read for OneByte<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some((&first, rest)) = self.0.split_first() else {
            return Ok(0);
        };
        buf[0] = first;
        self.0 = rest;
        Ok(1)
    }
}
