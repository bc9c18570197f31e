//! The stored payload format, whole: how a batch's rows are kept in the log's `payloads.data`.
//! The store keeps these bytes opaque; only this module writes and reads them.
//!
//! Layout, little-endian:
//!
//! ```text
//! "PLZ6"                       magic
//! u16 n, n x (u16 len, bytes)  the token table: the strings the rows' tokens stand for
//! u32                          length of the tokenized rows
//! u64                          checksum: XXH3-64 of the token table, the JSON length
//!                              (`payloads.raw_len`, u64) and the tokenized rows
//! LZ4 block                    the tokenized rows (see `tokens`), compressed
//! ```
//!
//! The checksum covers everything the body expands from, so a payload damaged on disk (one
//! flipped bit) is an error naming its batch before anything is expanded or sent: it is checked
//! whenever a payload is read (push, resume, resend, dry run).
//!
//! The rows are the batch's JSON array with each repeated key string as a one- or two-byte
//! token and each row's `__index`/`__row` as a counter token when it follows the row before;
//! `payloads.raw_len` is the JSON's length once expanded.
//!
//! Compatibility: pulse has had no release, so only this layout is read. Logs written by
//! earlier development builds (`PLZ5` without the checksum, `PLZ4` tokens without counters, or
//! zstd frames of the JSON) are refused with an error that says to push the data again; they
//! are never guessed at.

mod tokens;

pub use tokens::TokenTable;
use tokens::EXPAND_OVERRUN;

use std::cell::RefCell;

use anyhow::{bail, ensure, Context, Result};

const MAGIC: &[u8; 4] = b"PLZ6";
/// Magic numbers of formats that earlier development builds stored.
const OLDER_MAGICS: [&[u8; 4]; 3] = [b"PLZ5", b"PLZ4", &[0x28, 0xB5, 0x2F, 0xFD]];

/// The checksum of a payload: of its encoded token table, its JSON length and its tokens.
fn checksum(table: &[u8], json_len: usize, tokens: &[u8]) -> u64 {
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    hasher.update(table);
    hasher.update(&(json_len as u64).to_le_bytes());
    hasher.update(tokens);
    hasher.digest()
}

/// Packs the batches of rows written with one token table.
#[derive(Clone)]
pub struct Packer {
    /// The encoded token table, stored in front of each payload.
    table: std::sync::Arc<[u8]>,
}

impl Packer {
    pub fn new(tokens: &TokenTable) -> Packer {
        Packer {
            table: tokens.encode().into(),
        }
    }

    /// Packs tokenized rows, `json_len` bytes of JSON once expanded, for storage into `out`.
    pub fn pack(&self, rows: &[u8], json_len: usize, out: &mut Vec<u8>) -> Result<()> {
        pack(&self.table, rows, json_len, out)
    }
}

/// Packs tokenized rows for storage, `table` being the encoded token table they were written with.
fn pack(table: &[u8], tokens: &[u8], json_len: usize, out: &mut Vec<u8>) -> Result<()> {
    out.clear();
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(table);
    let len = u32::try_from(tokens.len()).context("a batch over 4 GiB")?;
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&checksum(table, json_len, tokens).to_le_bytes());
    let header = out.len();
    out.resize(
        header + lz4_flex::block::get_maximum_output_size(tokens.len()),
        0,
    );
    let packed = lz4_flex::block::compress_into(tokens, &mut out[header..])
        .context("compressing a batch")?;
    out.truncate(header + packed);
    Ok(())
}

thread_local! {
    /// The tokenized rows of the batch being unpacked: kept per thread (a body loader unpacks
    /// hundreds of batches), so it is allocated and faulted in once.
    static TOKENS: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Appends the JSON of a stored payload to `out`, which must come to `raw_len` bytes, leaving
/// room for `room_after` more so that what follows does not reallocate (and copy) the body.
pub fn unpack(blob: &[u8], raw_len: usize, out: &mut Vec<u8>, room_after: usize) -> Result<()> {
    decompress(blob, raw_len)?.expand_into(out, room_after)
}

/// A stored payload decompressed and checked, not yet expanded: its tokens wait in this
/// thread's buffer, so that the stored bytes can be let go of before the JSON is made (a batch
/// of one huge row is then held twice at most, not three times).
pub struct Unpacked {
    table: TokenTable,
    /// Tokens in this thread's buffer.
    len: usize,
    raw_len: usize,
    /// The tokens are in the buffer of the thread that decompressed them: not `Send`.
    _here: std::marker::PhantomData<*const ()>,
}

/// Decompresses and checks a stored payload that expands to `raw_len` bytes of JSON (see
/// `Unpacked`).
pub fn decompress(blob: &[u8], raw_len: usize) -> Result<Unpacked> {
    match blob.get(..4) {
        Some(magic) if magic == MAGIC => {}
        Some(magic) if OLDER_MAGICS.iter().any(|older| magic == &older[..]) => bail!(
            "it was stored by an earlier development build of pulse in a format this one no \
             longer reads: push the data again (or use that build)"
        ),
        _ => bail!("not a payload this version of pulse knows"),
    }
    let (table, rest) = TokenTable::decode(&blob[4..])?;
    let table_bytes = &blob[4..blob.len() - rest.len()];
    ensure!(rest.len() >= 12, "cut short");
    let (len, rest) = rest.split_at(4);
    let (sum, block) = rest.split_at(8);
    let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
    let sum = u64::from_le_bytes([
        sum[0], sum[1], sum[2], sum[3], sum[4], sum[5], sum[6], sum[7],
    ]);
    ensure!(len <= raw_len, "more tokens than JSON");
    // LZ4 expands a byte at most 255 times; each token at most to the longest key.
    ensure!(
        len <= block.len().saturating_mul(255).saturating_add(16)
            && raw_len <= table.most_expanded(len),
        "its recorded sizes do not fit its contents"
    );
    TOKENS.with_borrow_mut(|tokens| {
        if tokens.len() < len {
            tokens.resize(len, 0);
        }
        let unpacked =
            lz4_flex::block::decompress_into(block, &mut tokens[..len]).context("not LZ4")?;
        ensure!(unpacked == len, "unpacks to {unpacked} bytes, not {len}");
        ensure!(
            checksum(table_bytes, raw_len, &tokens[..len]) == sum,
            "its checksum does not match its contents (the log file was damaged)"
        );
        Ok(())
    })?;
    Ok(Unpacked {
        table,
        len,
        raw_len,
        _here: std::marker::PhantomData,
    })
}

impl Unpacked {
    /// Appends the JSON to `out` (see `unpack`).
    pub fn expand_into(self, out: &mut Vec<u8>, room_after: usize) -> Result<()> {
        // The sizes come from the log: a damaged one is an error, not an allocation that aborts.
        // Exactly that room: `reserve` would double a reused buffer for a slightly larger batch.
        out.try_reserve_exact(self.raw_len.saturating_add(room_after.max(EXPAND_OVERRUN)))
            .context("its recorded size cannot be allocated")?;
        TOKENS.with_borrow(|tokens| self.table.expand(&tokens[..self.len], self.raw_len, out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> (TokenTable, Vec<u8>) {
        let mut table = TokenTable::default();
        let token = table.add(b"{\"name\":\"");
        (table, token)
    }

    #[test]
    fn packed_rows_come_back_as_json_after_what_is_there() {
        let (table, token) = table();
        let mut tokens = b"[".to_vec();
        for i in 0..1000 {
            tokens.extend_from_slice(&token);
            tokens.extend_from_slice(format!("row {i}\"}},").as_bytes());
        }
        let json = String::from_utf8(tokens.clone())
            .unwrap()
            .replace('\u{1}', "{\"name\":\"");
        let mut blob = Vec::new();
        pack(&table.encode(), &tokens, json.len(), &mut blob).unwrap();
        assert!(
            blob.len() * 4 < json.len(),
            "compressed: {} bytes",
            blob.len()
        );
        let mut out = b"{\"data\":".to_vec();
        unpack(&blob, json.len(), &mut out, 100).unwrap();
        assert_eq!(&out[8..], json.as_bytes());
        assert!(out.capacity() >= out.len() + 100, "room left for the rest");
    }

    #[test]
    fn absurd_recorded_sizes_are_errors_not_aborts() {
        let (table, token) = table();
        let mut blob = Vec::new();
        pack(&table.encode(), &token, 9, &mut blob).unwrap();
        assert!(unpack(&blob, 1 << 46, &mut Vec::new(), 0).is_err());
        // A tokenized length far beyond what the LZ4 block can hold.
        let mut grown = blob.clone();
        let at = 4 + table.encode().len();
        grown[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(unpack(&grown, u32::MAX as usize, &mut Vec::new(), 0).is_err());
    }

    #[test]
    fn payloads_of_earlier_builds_are_refused_with_a_reason() {
        for magic in OLDER_MAGICS {
            let mut blob = magic.to_vec();
            blob.extend_from_slice(b"rest");
            let err = unpack(&blob, 4, &mut Vec::new(), 0).unwrap_err();
            assert!(err.to_string().contains("push the data again"), "{err}");
        }
    }

    #[test]
    fn damaged_payloads_are_errors() {
        let (table, token) = table();
        let mut tokens = token.clone();
        tokens.extend_from_slice(b"Ann\"}");
        let mut blob = Vec::new();
        let json_len = 9 + 5;
        pack(&table.encode(), &tokens, json_len, &mut blob).unwrap();
        unpack(&blob, json_len, &mut Vec::new(), 0).unwrap();
        assert!(unpack(&blob, json_len - 1, &mut Vec::new(), 0).is_err());
        assert!(unpack(&blob[..blob.len() - 2], json_len, &mut Vec::new(), 0).is_err());
        assert!(unpack(b"garbage", 7, &mut Vec::new(), 0).is_err());
        // Any one flipped bit, anywhere: an error, never a different body (a bit LZ4 ignores
        // may change nothing).
        let mut body = Vec::new();
        unpack(&blob, json_len, &mut body, 0).unwrap();
        for at in 0..blob.len() {
            for bit in 0..8 {
                let mut flipped = blob.clone();
                flipped[at] ^= 1 << bit;
                let mut out = Vec::new();
                if unpack(&flipped, json_len, &mut out, 0).is_ok() {
                    assert_eq!(out, body, "bit {bit} of byte {at}");
                }
            }
        }
    }
}
