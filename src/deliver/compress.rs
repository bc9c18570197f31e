//! `--compress`: request bodies sent gzip- or zstd-encoded (`Content-Encoding`). The signature
//! covers the decoded body, the bytes a receiver's framework hands the application after
//! undoing the encoding, so verification is the same with and without compression.

use std::io::Write;

use anyhow::{Context, Result};

/// A body encoding pulse can send.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum BodyCompression {
    Gzip,
    Zstd,
}

/// gzip level 6 (zlib's default) takes about twice the CPU of level 1 for a few percent on JSON
/// batches; level 1 keeps the loaders ahead of the sender (bench/README.md).
const GZIP_LEVEL: u32 = 1;
/// zstd's own default level: fast, and well below gzip in size.
const ZSTD_LEVEL: i32 = 3;

impl BodyCompression {
    /// The `Content-Encoding` value.
    pub fn name(self) -> &'static str {
        match self {
            BodyCompression::Gzip => "gzip",
            BodyCompression::Zstd => "zstd",
        }
    }

    /// `body` encoded, in `out` (emptied first).
    pub fn encode(self, body: &[u8], mut out: Vec<u8>) -> Result<Vec<u8>> {
        out.clear();
        match self {
            BodyCompression::Gzip => {
                let mut encoder =
                    flate2::write::GzEncoder::new(out, flate2::Compression::new(GZIP_LEVEL));
                encoder.write_all(body).context("gzip-encoding a body")?;
                encoder.finish().context("gzip-encoding a body")
            }
            BodyCompression::Zstd => {
                // One frame that records its decoded size: one-shot decoders (Python's
                // `zstandard.decompress`, Node's `zstdDecompressSync`) need it.
                out.reserve(zstd::zstd_safe::compress_bound(body.len()));
                zstd::bulk::Compressor::new(ZSTD_LEVEL)
                    .and_then(|mut encoder| encoder.compress_to_buffer(body, &mut out))
                    .context("zstd-encoding a body")?;
                Ok(out)
            }
        }
    }
}

/// Undoes a `Content-Encoding` (for `pulse receive`): identity, gzip or zstd; None for an
/// encoding it does not know. `limit` caps the decoded size against compression bombs.
pub fn decode(encoding: &str, body: &[u8], limit: u64) -> Option<std::io::Result<Vec<u8>>> {
    use std::io::Read;
    let encoding = encoding.trim().to_ascii_lowercase();
    let reader: Box<dyn Read + '_> = match encoding.as_str() {
        "" | "identity" => return Some(Ok(body.to_vec())),
        "gzip" | "x-gzip" => Box::new(flate2::read::GzDecoder::new(body)),
        "zstd" => match zstd::stream::read::Decoder::new(body) {
            Ok(decoder) => Box::new(decoder),
            Err(err) => return Some(Err(err)),
        },
        _ => return None,
    };
    let mut decoded = Vec::new();
    Some(
        reader
            .take(limit.saturating_add(1))
            .read_to_end(&mut decoded)
            .and_then(|_| {
                if decoded.len() as u64 > limit {
                    Err(std::io::Error::other(format!(
                        "the decoded body is larger than {limit} bytes"
                    )))
                } else {
                    Ok(decoded)
                }
            }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_round_trip_through_both_encodings() {
        let body = br#"{"rows":[{"a":"1"},{"a":"2"},{"a":"3"}]}"#.repeat(100);
        for codec in [BodyCompression::Gzip, BodyCompression::Zstd] {
            let encoded = codec.encode(&body, Vec::new()).unwrap();
            assert!(encoded.len() < body.len() / 4, "{codec:?}");
            let decoded = decode(codec.name(), &encoded, 1 << 20).unwrap().unwrap();
            assert_eq!(decoded, body);
        }
        assert_eq!(decode("identity", b"x", 10).unwrap().unwrap(), b"x");
        assert!(decode("br", b"x", 10).is_none());
    }

    #[test]
    fn decoding_stops_at_the_limit() {
        let bomb = BodyCompression::Zstd
            .encode(&vec![0u8; 1 << 20], Vec::new())
            .unwrap();
        assert!(decode("zstd", &bomb, 1000).unwrap().is_err());
        assert!(decode("gzip", b"not gzip", 1000).unwrap().is_err());
    }
}
