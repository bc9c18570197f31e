//! Text encodings of the input: any WHATWG label (`--encoding`), and UTF-16 recognised by its
//! byte order mark. Encodings that keep ASCII bytes as they are (the single-byte ones) are
//! decoded cell by cell after parsing; the others (UTF-16, Shift_JIS, ...) are turned into UTF-8
//! as a stream before it, so the CSV reader never splits a character.

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

/// The encoding a stream is read in, given what was asked and its first bytes: UTF-16 with a
/// byte order mark is recognised when nothing else was asked. Returns the stream decoder to put
/// before the CSV reader, if any, and what records are then decoded from.
pub fn stream_decoder(asked: Encoding, head: &[u8]) -> (Option<encoding_rs::Decoder>, Encoding) {
    let bom = match head {
        [0xff, 0xfe, ..] => Some(encoding_rs::UTF_16LE),
        [0xfe, 0xff, ..] => Some(encoding_rs::UTF_16BE),
        _ => None,
    };
    match (asked, bom) {
        // The byte order mark is dropped with the decoder's own BOM handling.
        (Encoding::Utf8, Some(utf16)) => (Some(utf16.new_decoder()), Encoding::Utf8),
        // UTF-16 of either order: the mark decides.
        (Encoding::Other(e), _) if e == encoding_rs::UTF_16LE || e == encoding_rs::UTF_16BE => {
            (Some(e.new_decoder()), Encoding::Utf8)
        }
        (Encoding::Other(e), _) => (Some(e.new_decoder_with_bom_removal()), Encoding::Utf8),
        (other, _) => (None, other),
    }
}

/// Bytes in one encoding read as UTF-8 (malformed sequences become U+FFFD, as WHATWG decoding
/// does).
pub struct Transcode<R> {
    inner: R,
    decoder: encoding_rs::Decoder,
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
    pub fn new(inner: R, decoder: encoding_rs::Decoder) -> Transcode<R> {
        Transcode {
            inner,
            decoder,
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
            let (result, read, written, _) = self.decoder.decode_to_utf8(
                &self.input[self.input_at..self.input_end],
                &mut self.output,
                self.eof,
            );
            self.input_at += read;
            (self.output_at, self.output_end) = (0, written);
            self.done = self.eof && result == encoding_rs::CoderResult::InputEmpty;
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

    fn transcode(bytes: &[u8], asked: Encoding) -> String {
        let (decoder, _) = stream_decoder(asked, bytes);
        let mut text = String::new();
        Transcode::new(bytes, decoder.unwrap())
            .read_to_string(&mut text)
            .unwrap();
        text
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
    fn multibyte_encodings_stream_as_utf8() {
        let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode("名前,値\n東京,1\n");
        let asked = Encoding::from_label("sjis").unwrap();
        assert_eq!(transcode(&bytes, asked), "名前,値\n東京,1\n");
        // A sequence cut at the end becomes a replacement character, not an error.
        assert_eq!(transcode(b"a\x82", asked), "a\u{fffd}");
    }
}
