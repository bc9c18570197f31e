//! Text encodings of the input: any WHATWG label (`--encoding`), and UTF-16 recognised by its
//! byte order mark. Encodings that keep ASCII bytes as they are (the single-byte ones) are
//! decoded cell by cell after parsing; the others (UTF-16, Shift_JIS, ...) are turned into UTF-8
//! as a stream before it, so the CSV reader never splits a character.
//!
//! What is read without `--encoding` is strict, as UTF-8 is: UTF-16 recognised by its mark
//! turns a malformed sequence (a lone surrogate, an odd byte at the end) into a byte that is
//! not UTF-8, which the record's UTF-8 check then reports with its line and column. A named
//! encoding is decoded as WHATWG decodes it, malformed sequences becoming U+FFFD.

use std::io::{self, Read};

/// An input encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    /// UTF-8, checked record by record (the default).
    #[default]
    Utf8,
    /// ISO-8859-1 byte for code point (pulse's `latin1` since before WHATWG labels: the WHATWG
    /// label `latin1` names windows-1252, which differs in 0x80-0x9F).
    Latin1,
    Windows1252,
    /// Any other encoding: decoded to UTF-8 as a stream.
    Other(&'static encoding_rs::Encoding),
}

impl Encoding {
    /// `--encoding LABEL`: `latin1`, or any WHATWG label (`utf-16le`, `shift_jis`, `cp1252`).
    pub fn from_label(label: &str) -> Result<Encoding, String> {
        let trimmed = label.trim();
        if trimmed.eq_ignore_ascii_case("latin1") {
            return Ok(Encoding::Latin1);
        }
        let known = encoding_rs::Encoding::for_label_no_replacement(trimmed.as_bytes())
            .or_else(|| {
                // Names pulse stored before WHATWG labels: `utf8`, `windows1252`, `iso88591`.
                let squeezed = trimmed.to_ascii_lowercase().replace(['-', '_'], "");
                match squeezed.as_str() {
                    "utf8" => Some(encoding_rs::UTF_8),
                    "windows1252" | "iso88591" => Some(encoding_rs::WINDOWS_1252),
                    _ => None,
                }
            })
            .ok_or_else(|| {
                format!(
                    "{label:?} is not an encoding label (e.g. utf-8, windows-1252, iso-8859-2, utf-16le, shift_jis, latin1)"
                )
            })?;
        Ok(Encoding::of(known))
    }

    fn of(encoding: &'static encoding_rs::Encoding) -> Encoding {
        if encoding == encoding_rs::UTF_8 {
            Encoding::Utf8
        } else if encoding == encoding_rs::WINDOWS_1252 {
            Encoding::Windows1252
        } else {
            Encoding::Other(encoding)
        }
    }

    /// The name pulse shows and stores (`utf8`, `latin1`, `windows-1252`, `utf-16le`, ...).
    pub fn name(&self) -> String {
        match self {
            Encoding::Utf8 => "utf8".into(),
            Encoding::Latin1 => "latin1".into(),
            Encoding::Windows1252 => "windows-1252".into(),
            Encoding::Other(encoding) => encoding.name().to_ascii_lowercase(),
        }
    }
}

impl std::fmt::Display for Encoding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())
    }
}

/// A decoder to put before the CSV reader, and how it treats malformed input.
pub struct StreamDecoder {
    pub decoder: encoding_rs::Decoder,
    /// Malformed sequences become `NOT_UTF8` (the input's own encoding, recognised by its byte
    /// order mark: an error, as invalid UTF-8 is), not U+FFFD (an encoding `--encoding` named).
    pub strict: bool,
}

impl StreamDecoder {
    /// The encoding recognised by its byte order mark, when it is read strictly.
    pub fn recognised(&self) -> Option<&'static encoding_rs::Encoding> {
        self.strict.then(|| self.decoder.encoding())
    }
}

/// What a strict decoder writes for a malformed sequence: a byte that is never part of UTF-8,
/// so that the record holding it fails its UTF-8 check, naming its line and column.
pub const NOT_UTF8: u8 = 0xff;

/// The encoding a stream is read in, given what was asked and its first bytes: UTF-16 with a
/// byte order mark is recognised when nothing else was asked. Returns the stream decoder to put
/// before the CSV reader, if any, and what records are then decoded from.
pub fn stream_decoder(asked: Encoding, head: &[u8]) -> (Option<StreamDecoder>, Encoding) {
    let bom = match head {
        [0xff, 0xfe, ..] => Some(encoding_rs::UTF_16LE),
        [0xfe, 0xff, ..] => Some(encoding_rs::UTF_16BE),
        _ => None,
    };
    let lossy = |decoder| StreamDecoder {
        decoder,
        strict: false,
    };
    match (asked, bom) {
        // The byte order mark is dropped with the decoder's own BOM handling.
        (Encoding::Utf8, Some(utf16)) => (
            Some(StreamDecoder {
                decoder: utf16.new_decoder(),
                strict: true,
            }),
            Encoding::Utf8,
        ),
        // UTF-16 of either order: the mark decides.
        (Encoding::Other(e), _) if e == encoding_rs::UTF_16LE || e == encoding_rs::UTF_16BE => {
            (Some(lossy(e.new_decoder())), Encoding::Utf8)
        }
        (Encoding::Other(e), _) => (
            Some(lossy(e.new_decoder_with_bom_removal())),
            Encoding::Utf8,
        ),
        (other, _) => (None, other),
    }
}

/// Bytes in one encoding read as UTF-8: a malformed sequence becomes U+FFFD, as WHATWG decoding
/// does, or, decoding strictly, `NOT_UTF8`.
pub struct Transcode<R> {
    inner: R,
    decoder: encoding_rs::Decoder,
    strict: bool,
    input: Box<[u8]>,
    input_at: usize,
    input_end: usize,
    output: Box<[u8]>,
    output_at: usize,
    output_end: usize,
    eof: bool,
    done: bool,
}

const TRANSCODE_BUFFER: usize = 64 * 1024;

impl<R: Read> Transcode<R> {
    pub fn new(inner: R, decoder: StreamDecoder) -> Transcode<R> {
        Transcode {
            inner,
            decoder: decoder.decoder,
            strict: decoder.strict,
            input: vec![0; TRANSCODE_BUFFER].into_boxed_slice(),
            input_at: 0,
            input_end: 0,
            output: vec![0; TRANSCODE_BUFFER].into_boxed_slice(),
            output_at: 0,
            output_end: 0,
            eof: false,
            done: false,
        }
    }
}

impl<R: Read> Read for Transcode<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.output_at == self.output_end {
            if self.done {
                return Ok(0);
            }
            if self.input_at == self.input_end && !self.eof {
                let n = self.inner.read(&mut self.input)?;
                (self.input_at, self.input_end, self.eof) = (0, n, n == 0);
            }
            let input = &self.input[self.input_at..self.input_end];
            let (done, read, written) = if self.strict {
                // One byte kept free for the mark of a malformed sequence.
                let end = self.output.len() - 1;
                let (result, read, mut written) = self.decoder.decode_to_utf8_without_replacement(
                    input,
                    &mut self.output[..end],
                    self.eof,
                );
                if let encoding_rs::DecoderResult::Malformed(..) = result {
                    self.output[written] = NOT_UTF8;
                    written += 1;
                }
                (
                    result == encoding_rs::DecoderResult::InputEmpty,
                    read,
                    written,
                )
            } else {
                let (result, read, written, _) =
                    self.decoder
                        .decode_to_utf8(input, &mut self.output, self.eof);
                (
                    result == encoding_rs::CoderResult::InputEmpty,
                    read,
                    written,
                )
            };
            self.input_at += read;
            (self.output_at, self.output_end) = (0, written);
            self.done = self.eof && done;
        }
        let n = out.len().min(self.output_end - self.output_at);
        out[..n].copy_from_slice(&self.output[self.output_at..self.output_at + n]);
        self.output_at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        assert_eq!(Encoding::from_label("UTF-8"), Ok(Encoding::Utf8));
        assert_eq!(Encoding::from_label("latin1"), Ok(Encoding::Latin1));
        assert_eq!(Encoding::from_label("cp1252"), Ok(Encoding::Windows1252));
        assert_eq!(
            Encoding::from_label("windows1252"),
            Ok(Encoding::Windows1252)
        );
        assert_eq!(
            Encoding::from_label("shift_jis").unwrap().name(),
            "shift_jis"
        );
        assert_eq!(Encoding::from_label("utf-16").unwrap().name(), "utf-16le");
        assert_eq!(
            Encoding::from_label("iso-8859-2").unwrap().name(),
            "iso-8859-2"
        );
        assert!(Encoding::from_label("klingon").is_err());
        assert!(Encoding::from_label("replacement").is_err());
        for name in ["utf8", "latin1", "windows-1252", "utf-16be", "euc-kr"] {
            assert_eq!(Encoding::from_label(name).unwrap().name(), name);
        }
    }

    fn transcode_bytes(bytes: &[u8], asked: Encoding) -> Vec<u8> {
        let (decoder, _) = stream_decoder(asked, bytes);
        let mut out = Vec::new();
        Transcode::new(bytes, decoder.unwrap())
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    fn transcode(bytes: &[u8], asked: Encoding) -> String {
        String::from_utf8(transcode_bytes(bytes, asked)).unwrap()
    }

    fn utf16le(units: &[u16]) -> Vec<u8> {
        [0xff, 0xfe]
            .into_iter()
            .chain(units.iter().flat_map(|u| u.to_le_bytes()))
            .collect()
    }

    #[test]
    fn utf16_by_its_byte_order_mark() {
        let le: Vec<u8> = [0xff, 0xfe]
            .into_iter()
            .chain("a,ü\n1,€\n".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        assert_eq!(transcode(&le, Encoding::Utf8), "a,ü\n1,€\n");
        let be: Vec<u8> = [0xfe, 0xff]
            .into_iter()
            .chain("a,b\n".encode_utf16().flat_map(u16::to_be_bytes))
            .collect();
        assert_eq!(transcode(&be, Encoding::Utf8), "a,b\n");
        // Asked for one order, the mark of the other wins.
        let asked = Encoding::from_label("utf-16le").unwrap();
        assert_eq!(transcode(&be, asked), "a,b\n");
        assert!(stream_decoder(Encoding::Utf8, b"a,b\n").0.is_none());
    }

    #[test]
    fn malformed_utf16_is_marked_when_read_by_its_mark_and_replaced_when_named() {
        let a = u16::from(b'a');
        let nl = u16::from(b'\n');
        // A lone high surrogate, a lone low one, and a character from a pair.
        let mut bytes = utf16le(&[a, 0xd800, a, nl, 0xdc00, nl, 0xd83d, 0xde00, nl]);
        // An odd byte at the end.
        bytes.push(b'z');
        assert_eq!(
            transcode_bytes(&bytes, Encoding::Utf8),
            [&b"a\xffa\n\xff\n"[..], "😀\n".as_bytes(), b"\xff"].concat()
        );
        let named = Encoding::from_label("utf-16").unwrap();
        assert_eq!(
            transcode(&bytes, named),
            "a\u{fffd}a\n\u{fffd}\n😀\n\u{fffd}"
        );
        // Big-endian, through a buffer's worth of text first.
        let text = "x".repeat(TRANSCODE_BUFFER + 3);
        let be: Vec<u8> = [0xfe, 0xff]
            .into_iter()
            .chain(text.encode_utf16().flat_map(u16::to_be_bytes))
            .chain([0xdb, 0xff, 0x00, b'y'])
            .collect();
        let out = transcode_bytes(&be, Encoding::Utf8);
        assert_eq!(&out[..text.len()], text.as_bytes());
        assert_eq!(&out[text.len()..], b"\xffy");
    }

    #[test]
    fn multibyte_encodings_stream_as_utf8() {
        let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode("名前,値\n東京,1\n");
        let asked = Encoding::from_label("sjis").unwrap();
        assert_eq!(transcode(&bytes, asked), "名前,値\n東京,1\n");
        // A sequence cut at the end becomes a replacement character, not an error.
        assert_eq!(transcode(b"a\x82", asked), "a\u{fffd}");
    }
}
