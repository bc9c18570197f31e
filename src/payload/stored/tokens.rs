//! Stored rows with their repeated keys as one- or two-byte tokens. JSON text never holds a raw
//! byte below 0x20 (control characters are escaped), so those bytes are free to stand for the
//! fixed strings every row repeats (`,"email":"`, `,"__valid":true,"__errors":[]}`, ...). The
//! tokens shrink what LZ4 compresses, and LZ4 decompresses several times faster than zstd
//! (bench/README.md has the figures).
//!
//! Four token bytes drive two counters instead: a row's `__index` and `__row` are usually one
//! more than the row's before, and are then stored as one byte each rather than as digits to
//! write and compress.

use anyhow::{bail, ensure, Result};

/// Tokens of one byte: 0x01..=0x1A stand for entries 0..26.
const ONE_BYTE: usize = 0x1A;
/// Most entries of a table: the one-byte ones and 256 of two bytes.
const MOST_ENTRIES: usize = ONE_BYTE + 256;
/// 0x1F and a second byte stand for the next 256 entries.
const TWO_BYTE_LEAD: u8 = 0x1F;
/// Counter `k`'s value plus one (0x1B, 0x1C), or the value written after it in digits (0x1D,
/// 0x1E); either way the counter's value is what the token expands to.
const COUNTER_NEXT: u8 = 0x1B;
const COUNTER_SET: u8 = 0x1D;
const COUNTERS: usize = 2;
/// Most digits of a counter: those of `u64::MAX`.
const COUNTER_DIGITS: usize = 20;

/// Bytes written past the end of the output while expanding (whole words and whole short
/// entries are copied, then the write position moves by the real length).
pub const EXPAND_OVERRUN: usize = 40;

/// The strings a batch's tokens stand for, in token order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenTable {
    entries: Vec<Vec<u8>>,
}

impl TokenTable {
    /// Adds `text` and returns what rows write for it: its token, or `text` itself once the
    /// table is full.
    pub fn add(&mut self, text: &[u8]) -> Vec<u8> {
        let index = self.entries.len();
        // An entry's length is stored in 16 bits: a longer one (a header of 64 KiB) stays text.
        if index >= MOST_ENTRIES || text.len() > u16::MAX as usize {
            return text.to_vec();
        }
        self.entries.push(text.to_vec());
        if index < ONE_BYTE {
            vec![index as u8 + 1]
        } else {
            vec![TWO_BYTE_LEAD, (index - ONE_BYTE) as u8]
        }
    }

    /// Appends counter `k` (below `COUNTERS`) at `value`: one byte when `value` is one more
    /// than `previous`, the counter's value earlier in the same payload; otherwise a token and
    /// the digits. Returns how many bytes longer the JSON is than what was written (-1 with
    /// the digits).
    pub fn write_counter(out: &mut Vec<u8>, k: usize, value: u64, previous: Option<u64>) -> isize {
        debug_assert!(k < COUNTERS);
        if previous.and_then(|p| p.checked_add(1)) == Some(value) {
            out.push(COUNTER_NEXT + k as u8);
            decimal_len(value) as isize - 1
        } else {
            out.push(COUNTER_SET + k as u8);
            crate::json_out::write_u64(out, value);
            -1
        }
    }

    /// The table as stored in front of a payload: entry count, then each entry's length and
    /// bytes (u16, little-endian).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&(self.entries.len() as u16).to_le_bytes());
        for entry in &self.entries {
            out.extend_from_slice(&(entry.len() as u16).to_le_bytes());
            out.extend_from_slice(entry);
        }
        out
    }

    /// Reads a table written by `encode` from the front of `bytes`; returns it and the rest.
    pub fn decode(bytes: &[u8]) -> Result<(TokenTable, &[u8])> {
        let mut rest = bytes;
        let mut take = |n: usize| -> Result<&[u8]> {
            ensure!(rest.len() >= n, "token table cut short");
            let (head, tail) = rest.split_at(n);
            rest = tail;
            Ok(head)
        };
        let mut table = TokenTable::default();
        let count = u16::from_le_bytes(take(2)?.try_into()?) as usize;
        ensure!(count <= MOST_ENTRIES, "token table too long");
        table.entries.reserve(count);
        for _ in 0..count {
            let len = u16::from_le_bytes(take(2)?.try_into()?) as usize;
            table.entries.push(take(len)?.to_vec());
        }
        Ok((table, rest))
    }

    /// The most bytes `tokens` can expand to.
    pub fn most_expanded(&self, tokens: usize) -> usize {
        let longest = self.entries.iter().map(Vec::len).max().unwrap_or(0);
        tokens.saturating_mul(longest.max(COUNTER_DIGITS))
    }

    /// Each entry padded to 32 bytes (its first 32 when longer), with its real length, so
    /// that expanding copies an entry of up to 32 bytes as one fixed-size copy.
    fn padded_entries(&self) -> Vec<([u8; 32], usize)> {
        self.entries
            .iter()
            .map(|entry| {
                let mut words = [0u8; 32];
                let n = entry.len().min(32);
                words[..n].copy_from_slice(&entry[..n]);
                (words, entry.len())
            })
            .collect()
    }

    /// Appends `tokens` to `out` with every token replaced by its entry. `expanded_len` is the
    /// result's length, as recorded when the rows were written; a different one is an error.
    pub fn expand(&self, tokens: &[u8], expanded_len: usize, out: &mut Vec<u8>) -> Result<()> {
        let padded = self.padded_entries();
        let mut counters = [Counter::UNSET; COUNTERS];
        let one_byte = ONE_BYTE;
        let start = out.len();
        out.reserve(expanded_len + EXPAND_OVERRUN);
        let room = start + expanded_len + EXPAND_OVERRUN;
        let mut written = start;
        let mut i = 0;
        let base = out.as_mut_ptr();
        while i < tokens.len() {
            // A run of plain bytes, eight at a time, up to the next byte below 0x20.
            while i + 8 <= tokens.len() && written + 8 <= room {
                let word = u64::from_le_bytes(tokens[i..i + 8].try_into().expect("8 bytes"));
                // SAFETY: `written + 8 <= room`, which `reserve` made available.
                unsafe {
                    std::ptr::copy_nonoverlapping(tokens.as_ptr().add(i), base.add(written), 8)
                };
                let below_space =
                    word.wrapping_sub(0x2020_2020_2020_2020) & !word & 0x8080_8080_8080_8080;
                if below_space != 0 {
                    let plain = (below_space.trailing_zeros() / 8) as usize;
                    i += plain;
                    written += plain;
                    break;
                }
                i += 8;
                written += 8;
            }
            // The tail (or a run the word loop could not finish), one byte at a time.
            while i < tokens.len() && tokens[i] >= 0x20 {
                ensure!(written < room, "expands past its recorded size");
                // SAFETY: `written < room`.
                unsafe { *base.add(written) = tokens[i] };
                i += 1;
                written += 1;
            }
            if i == tokens.len() {
                break;
            }
            let index = match tokens[i] {
                TWO_BYTE_LEAD => {
                    let Some(&low) = tokens.get(i + 1) else {
                        bail!("token cut short");
                    };
                    i += 2;
                    one_byte + low as usize
                }
                0 => bail!("a zero byte where a token was expected"),
                token if token >= COUNTER_NEXT => {
                    i += 1;
                    let (counter, digits) = count(&mut counters, token, &tokens[i..])?;
                    i += digits;
                    ensure!(
                        written + COUNTER_COPY <= room,
                        "expands past its recorded size"
                    );
                    // SAFETY: checked just above.
                    unsafe { counter.copy_to(base.add(written)) };
                    written += counter.len;
                    continue;
                }
                token => {
                    i += 1;
                    token as usize - 1
                }
            };
            let Some((words, len)) = padded.get(index) else {
                bail!("token {index} is not in the token table");
            };
            ensure!(
                written + (*len).max(32) <= room,
                "expands past its recorded size"
            );
            // SAFETY: checked just above; the source is the padded copy, or the entry itself
            // when it is longer than the padding.
            unsafe {
                if *len <= 32 {
                    std::ptr::copy_nonoverlapping(words.as_ptr(), base.add(written), 32);
                } else {
                    let entry = &self.entries[index];
                    std::ptr::copy_nonoverlapping(entry.as_ptr(), base.add(written), *len);
                }
            }
            written += len;
        }
        ensure!(
            written == start + expanded_len,
            "expands to {} bytes, not the recorded {expanded_len}",
            written - start
        );
        // SAFETY: every byte up to `written` was written above.
        unsafe { out.set_len(written) };
        Ok(())
    }
}

/// The counter a counter token names, set to the digits that follow it in `after` (a
/// `COUNTER_SET` token) or moved on by one (a `COUNTER_NEXT` token); with how many bytes of
/// `after` were its digits.
fn count<'c>(
    counters: &'c mut [Counter; COUNTERS],
    token: u8,
    after: &[u8],
) -> Result<(&'c Counter, usize)> {
    if token >= COUNTER_SET {
        let digits = after
            .iter()
            .take(COUNTER_DIGITS + 1)
            .take_while(|b| b.is_ascii_digit())
            .count();
        let counter = &mut counters[(token - COUNTER_SET) as usize];
        counter.set(&after[..digits])?;
        Ok((counter, digits))
    } else {
        let counter = &mut counters[(token - COUNTER_NEXT) as usize];
        counter.add_one()?;
        Ok((counter, 0))
    }
}

/// Digits in `n`'s decimal form.
fn decimal_len(n: u64) -> usize {
    n.checked_ilog10().map_or(1, |log| log as usize + 1)
}

/// Bytes a counter's copy writes (its digits, then filler the write position moves back over).
const COUNTER_COPY: usize = 24;

/// A counter's value as decimal digits, right-aligned at `COUNTER_END` so that adding one
/// touches the last digits only, with room after them for a fixed-size copy.
#[derive(Clone, Copy)]
struct Counter {
    text: [u8; COUNTER_END + COUNTER_COPY],
    /// 0 until the counter is set.
    len: usize,
}

const COUNTER_END: usize = COUNTER_DIGITS + 4;

impl Counter {
    const UNSET: Counter = Counter {
        text: [b'0'; COUNTER_END + COUNTER_COPY],
        len: 0,
    };

    fn set(&mut self, digits: &[u8]) -> Result<()> {
        ensure!(
            (1..=COUNTER_DIGITS).contains(&digits.len())
                && (digits[0] != b'0' || digits.len() == 1),
            "a counter set to no number"
        );
        self.text[COUNTER_END - digits.len()..COUNTER_END].copy_from_slice(digits);
        self.len = digits.len();
        Ok(())
    }

    fn add_one(&mut self) -> Result<()> {
        ensure!(self.len > 0, "a counter counted on before it was set");
        let first = COUNTER_END - self.len;
        for at in (first..COUNTER_END).rev() {
            if self.text[at] != b'9' {
                self.text[at] += 1;
                return Ok(());
            }
            self.text[at] = b'0';
        }
        ensure!(
            self.len < COUNTER_DIGITS,
            "a counter past the largest number"
        );
        self.text[first - 1] = b'1';
        self.len += 1;
        Ok(())
    }

    /// Writes `COUNTER_COPY` bytes at `to`, the digits first.
    ///
    /// # Safety
    /// `to` must be valid for `COUNTER_COPY` bytes of writes.
    unsafe fn copy_to(&self, to: *mut u8) {
        // SAFETY: `len <= COUNTER_DIGITS`, so the copy stays within `text`; the caller
        // promises `to` holds `COUNTER_COPY` writable bytes.
        unsafe {
            std::ptr::copy_nonoverlapping(
                self.text[COUNTER_END - self.len..].as_ptr(),
                to,
                COUNTER_COPY,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// Replaces tokens one byte at a time: the reference `expand` is checked against.
    fn expand_slowly(table: &TokenTable, tokens: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut counters = [0u64; COUNTERS];
        let mut i = 0;
        while i < tokens.len() {
            let b = tokens[i];
            if b >= 0x20 {
                out.push(b);
                i += 1;
            } else if b == TWO_BYTE_LEAD {
                out.extend_from_slice(&table.entries[ONE_BYTE + tokens[i + 1] as usize]);
                i += 2;
            } else if b >= COUNTER_SET {
                let digits: Vec<u8> = tokens[i + 1..]
                    .iter()
                    .copied()
                    .take_while(u8::is_ascii_digit)
                    .collect();
                counters[(b - COUNTER_SET) as usize] =
                    String::from_utf8(digits.clone()).unwrap().parse().unwrap();
                out.extend_from_slice(&digits);
                i += 1 + digits.len();
            } else if b >= COUNTER_NEXT {
                let counter = &mut counters[(b - COUNTER_NEXT) as usize];
                *counter += 1;
                out.extend_from_slice(counter.to_string().as_bytes());
                i += 1;
            } else {
                out.extend_from_slice(&table.entries[b as usize - 1]);
                i += 1;
            }
        }
        out
    }

    fn table_of(n: usize, rng: &mut impl Rng) -> (TokenTable, Vec<Vec<u8>>) {
        let mut table = TokenTable::default();
        let written = (0..n)
            .map(|k| {
                let len = rng.gen_range(0..48);
                let text: Vec<u8> = (0..len).map(|_| rng.gen_range(0x20..=0xFF)).collect();
                let token = table.add(&text);
                if k >= MOST_ENTRIES {
                    assert_eq!(token, text, "a full table writes the text itself");
                }
                token
            })
            .collect();
        (table, written)
    }

    #[test]
    fn expansion_agrees_with_a_byte_by_byte_replacement() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for round in 0..400 {
            let (table, written) = table_of(rng.gen_range(0..300), &mut rng);
            let mut counted = [None; COUNTERS];
            let mut tokens = Vec::new();
            for _ in 0..rng.gen_range(0..200) {
                if !written.is_empty() && rng.gen_bool(0.4) {
                    let token = &written[rng.gen_range(0..written.len())];
                    tokens.extend_from_slice(token);
                } else if rng.gen_bool(0.3) {
                    let k = rng.gen_range(0..COUNTERS);
                    // Across the powers of ten, where adding one makes a digit more.
                    let value = match counted[k] {
                        Some(last) if rng.gen_bool(0.8) => last + 1,
                        _ => 10u64.pow(rng.gen_range(0..19)) - rng.gen_range(0..3).min(1),
                    };
                    TokenTable::write_counter(&mut tokens, k, value, counted[k]);
                    counted[k] = Some(value);
                    // Digits never follow a counter: a key or a comma does.
                    tokens.push(b',');
                } else {
                    let run = rng.gen_range(0..30);
                    tokens.extend((0..run).map(|_| rng.gen_range(0x20..=0xFFu8)));
                }
            }
            let expected = expand_slowly(&table, &tokens);
            let mut out = b"prefix".to_vec();
            table.expand(&tokens, expected.len(), &mut out).unwrap();
            assert_eq!(&out[..6], b"prefix", "round {round}");
            assert_eq!(&out[6..], &expected[..], "round {round}");
        }
    }

    #[test]
    fn a_table_survives_encoding() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(8);
        let (table, _) = table_of(100, &mut rng);
        let mut stored = table.encode();
        stored.extend_from_slice(b"rest");
        let (again, rest) = TokenTable::decode(&stored).unwrap();
        assert_eq!(again, table);
        assert_eq!(rest, b"rest");
        assert!(TokenTable::decode(&stored[..stored.len() / 2]).is_err());
    }

    #[test]
    fn damaged_input_is_an_error_not_a_wrong_body() {
        let mut table = TokenTable::default();
        let token = table.add(b",\"name\":\"");
        let mut tokens = token.clone();
        tokens.extend_from_slice(b"Ann\"");
        let mut out = Vec::new();
        table.expand(&tokens, 13, &mut out).unwrap();
        assert_eq!(out, b",\"name\":\"Ann\"");
        for (damaged, len) in [
            (tokens.clone(), 12),
            (tokens.clone(), 14),
            (vec![2], 9),
            (vec![0], 0),
            (vec![TWO_BYTE_LEAD], 9),
            // A counter counted on before it was set, set to nothing, to a number with a
            // leading zero, or past 20 digits.
            (vec![COUNTER_NEXT], 1),
            (vec![COUNTER_SET, b','], 0),
            (b"\x1d007".to_vec(), 3),
            (b"\x1d99999999999999999999\x1b".to_vec(), 41),
        ] {
            assert!(table.expand(&damaged, len, &mut Vec::new()).is_err());
        }
        // An entry too long for its stored length is written out as text, not as a token.
        let long = vec![b'x'; u16::MAX as usize + 1];
        assert_eq!(table.add(&long), long);
        let (again, _) = TokenTable::decode(&table.encode()).unwrap();
        assert_eq!(again, table);
        // Far more tokens than the recorded size allows: stopped before writing past it.
        let many = token.repeat(1000);
        assert!(table.expand(&many, 20, &mut Vec::new()).is_err());
    }

    #[test]
    fn counters_count_in_decimal_across_powers_of_ten() {
        let mut counter = Counter::UNSET;
        counter.set(b"0").unwrap();
        let mut expected = 0u64;
        for _ in 0..100_500 {
            counter.add_one().unwrap();
            expected += 1;
            let text = &counter.text[COUNTER_END - counter.len..COUNTER_END];
            assert_eq!(text, expected.to_string().as_bytes());
        }
    }
}
