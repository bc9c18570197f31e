//! The shared-string table (SST) of an `.xls`, walked as calamine's `parse_sst` reads it, for
//! the length of each string (in characters) and nothing else: a LABELSST cell is a copy of
//! one, so its cost is its string's.

use super::bytes::{u16_at, u32_at};

/// The length in characters of each string of the SST record `data` (its CONTINUE records
/// `cont`), up to where calamine would fail.
pub fn lengths(data: &[u8], cont: &[&[u8]]) -> Vec<u16> {
    let mut reader = Reader {
        data: data.get(8..).unwrap_or_default(),
        cont,
    };
    let mut lengths = Vec::new();
    if data.len() < 8 {
        return lengths;
    }
    while !reader.data.is_empty() || reader.next_record() {
        match reader.string() {
            Some(cch) => lengths.push(cch),
            None => break,
        }
    }
    lengths
}

struct Reader<'a, 'b> {
    data: &'a [u8],
    cont: &'b [&'a [u8]],
}

impl Reader<'_, '_> {
    fn next_record(&mut self) -> bool {
        match self.cont.split_first() {
            Some((first, rest)) => {
                self.data = first;
                self.cont = rest;
                true
            }
            None => false,
        }
    }

    /// One `XLUnicodeRichExtendedString`: its length, or None where calamine fails.
    fn string(&mut self) -> Option<u16> {
        if self.data.is_empty() {
            return Some(0);
        }
        if self.data.len() < 3 {
            return None;
        }
        let cch = u16_at(self.data, 0);
        let flags = self.data[2];
        self.data = &self.data[3..];
        let mut runs = 0u64;
        if flags & 0x8 != 0 {
            runs = u64::from(u16_at(self.data.get(..2)?, 0));
            self.data = &self.data[2..];
        }
        let mut ext = 0u64;
        if flags & 0x4 != 0 {
            // calamine reads it as an i32: a negative one fails.
            ext = u64::try_from(u32_at(self.data.get(..4)?, 0) as i32).ok()?;
            self.data = &self.data[4..];
        }
        self.chars(usize::from(cch), flags & 1 != 0)?;
        self.skip(runs * 4 + ext)?;
        Some(cch)
    }

    fn chars(&mut self, mut len: usize, mut wide: bool) -> Option<()> {
        while len > 0 {
            let taken = if wide {
                (self.data.len() / 2).min(len)
            } else {
                self.data.len().min(len)
            };
            self.data = &self.data[if wide { 2 * taken } else { taken }..];
            len -= taken;
            if len > 0 {
                if !self.next_record() || self.data.is_empty() {
                    return None;
                }
                wide = self.data[0] & 1 != 0;
                self.data = &self.data[1..];
            }
        }
        Some(())
    }

    fn skip(&mut self, mut len: u64) -> Option<()> {
        while len > 0 {
            if self.data.is_empty() && !self.next_record() {
                return None;
            }
            let taken = len.min(self.data.len() as u64);
            self.data = &self.data[taken as usize..];
            len -= taken;
        }
        Some(())
    }
}
