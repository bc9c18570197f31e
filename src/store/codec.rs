//! Stored payloads: a batch's rows with their keys and row numbers as tokens (see
//! `payload::KeyTable`), compressed with LZ4, behind the key table that expands them. Logs
//! written before this format hold the same without the row-number counters (`PLZ4`), or zstd
//! frames of the JSON itself; those are still read.
//!
//! Layout: `PLZ5`, the encoded key table, the tokenized length (u32, little-endian), the LZ4
//! block.

use std::cell::RefCell;

use anyhow::{bail, ensure, Context, Result};

use crate::payload::{KeyTable, EXPAND_OVERRUN};

const MAGIC: &[u8; 4] = b"PLZ5";
/// Tokens without counters.
const MAGIC_WITHOUT_COUNTERS: &[u8; 4] = b"PLZ4";
const ZSTD_MAGIC: &[u8; 4] = &[0x28, 0xB5, 0x2F, 0xFD];

/// Packs tokenized rows for storage, `table` being the encoded key table they were written with.
pub fn pack(table: &[u8], tokens: &[u8], out: &mut Vec<u8>) -> Result<()> {
    out.clear();
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(table);
    let len = u32::try_from(tokens.len()).context("a batch over 4 GiB")?;
    out.extend_from_slice(&len.to_le_bytes());
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
    // The sizes come from the log: a damaged one is an error, not an allocation that aborts.
    // Exactly that room: `reserve` would double a reused buffer for a slightly larger batch.
    let room = |out: &mut Vec<u8>| {
        out.try_reserve_exact(raw_len.saturating_add(room_after.max(EXPAND_OVERRUN)))
            .context("its recorded size cannot be allocated")
    };
    let tokenized = match blob.get(..4) {
        Some(magic) if magic == MAGIC => Some(true),
        Some(magic) if magic == MAGIC_WITHOUT_COUNTERS => Some(false),
        _ => None,
    };
    if let Some(counters) = tokenized {
        let (table, rest) = KeyTable::decode(&blob[4..], counters)?;
        ensure!(rest.len() >= 4, "cut short");
        let (len, block) = rest.split_at(4);
        let len = u32::from_le_bytes(len.try_into().expect("4 bytes")) as usize;
        ensure!(len <= raw_len, "more tokens than JSON");
        // LZ4 expands a byte at most 255 times; each token at most to the longest key.
        ensure!(
            len <= block.len().saturating_mul(255).saturating_add(16)
                && raw_len <= table.most_expanded(len),
            "its recorded sizes do not fit its contents"
        );
        room(out)?;
        TOKENS.with_borrow_mut(|tokens| {
            if tokens.len() < len {
                tokens.resize(len, 0);
            }
            let unpacked =
                lz4_flex::block::decompress_into(block, &mut tokens[..len]).context("not LZ4")?;
            ensure!(unpacked == len, "unpacks to {unpacked} bytes, not {len}");
            table.expand(&tokens[..len], raw_len, out)
        })
    } else if blob.starts_with(ZSTD_MAGIC) {
        room(out)?;
        let start = out.len();
        let mut into = std::io::Cursor::new(&mut *out);
        into.set_position(start as u64);
        let unpacked = zstd::bulk::Decompressor::new()
            .and_then(|mut unpack| unpack.decompress_to_buffer(blob, &mut into));
        if !matches!(unpacked, Ok(n) if n == raw_len) {
            // Nothing of a damaged payload is left behind.
            out.truncate(start);
            unpacked?;
            bail!("not its recorded size");
        }
        Ok(())
    } else {
        bail!("not a payload this version of pulse knows")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> (KeyTable, Vec<u8>) {
        let mut table = KeyTable::default();
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
        pack(&table.encode(), &tokens, &mut blob).unwrap();
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
    fn payloads_stored_before_the_counters_are_read() {
        let mut table = KeyTable::default();
        for i in 0..28 {
            table.add(format!("<{i}>").as_bytes());
        }
        // 0x1B stands for the 27th entry there, not for a counter.
        let tokens = [0x1B, b'!'];
        let mut blob = MAGIC_WITHOUT_COUNTERS.to_vec();
        blob.extend_from_slice(&table.encode());
        blob.extend_from_slice(&(tokens.len() as u32).to_le_bytes());
        blob.extend_from_slice(&lz4_flex::block::compress(&tokens));
        let mut out = Vec::new();
        unpack(&blob, 5, &mut out, 0).unwrap();
        assert_eq!(out, b"<26>!");
    }

    #[test]
    fn payloads_of_older_logs_are_read() {
        let json = br#"[{"a":"1"},{"a":"2"}]"#;
        let blob = zstd::bulk::compress(json, 1).unwrap();
        let mut out = Vec::new();
        unpack(&blob, json.len(), &mut out, 0).unwrap();
        assert_eq!(out, json);
        let mut out = b"kept".to_vec();
        assert!(unpack(&blob, json.len() + 1, &mut out, 0).is_err());
        assert_eq!(out, b"kept", "nothing of a damaged payload is left behind");
    }

    #[test]
    fn absurd_recorded_sizes_are_errors_not_aborts() {
        let (table, token) = table();
        let mut blob = Vec::new();
        pack(&table.encode(), &token, &mut blob).unwrap();
        assert!(unpack(&blob, 1 << 46, &mut Vec::new(), 0).is_err());
        let zstd = zstd::bulk::compress(b"[]", 1).unwrap();
        assert!(unpack(&zstd, usize::MAX / 2, &mut Vec::new(), 0).is_err());
        // A tokenized length far beyond what the LZ4 block can hold.
        let mut grown = blob.clone();
        let at = 4 + table.encode().len();
        grown[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(unpack(&grown, u32::MAX as usize, &mut Vec::new(), 0).is_err());
    }

    #[test]
    fn damaged_payloads_are_errors() {
        let (table, token) = table();
        let mut tokens = token.clone();
        tokens.extend_from_slice(b"Ann\"}");
        let mut blob = Vec::new();
        pack(&table.encode(), &tokens, &mut blob).unwrap();
        let json_len = 9 + 5;
        unpack(&blob, json_len, &mut Vec::new(), 0).unwrap();
        assert!(unpack(&blob, json_len - 1, &mut Vec::new(), 0).is_err());
        assert!(unpack(&blob[..blob.len() - 2], json_len, &mut Vec::new(), 0).is_err());
        assert!(unpack(b"garbage", 7, &mut Vec::new(), 0).is_err());
        let mut flipped = blob.clone();
        *flipped.last_mut().unwrap() ^= 0x5A;
        let mut out = Vec::new();
        if unpack(&flipped, json_len, &mut out, 0).is_ok() {
            assert_eq!(out.len(), json_len);
        }
    }
}
