//! Compressed input, recognised by its magic bytes (not its name): gzip and zstd, from a file or
//! stdin, decompressed on a thread of its own so that parsing and decompressing share the work.

use std::io::{self, Read};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

/// A compression pulse reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputCompression {
    Gzip,
    Zstd,
}

impl InputCompression {
    /// The compression whose magic bytes `head` starts with.
    pub fn of(head: &[u8]) -> Option<InputCompression> {
        match head {
            [0x1f, 0x8b, ..] => Some(InputCompression::Gzip),
            [0x28, 0xb5, 0x2f, 0xfd, ..] => Some(InputCompression::Zstd),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            InputCompression::Gzip => "gzip",
            InputCompression::Zstd => "zstd",
        }
    }
}

/// Decompressed bytes handed over in chunks of at most this size.
const CHUNK: usize = 256 * 1024;

/// Chunks decompressed ahead of the reader, at most.
const CHUNKS_AHEAD: usize = 4;

/// The decompressed stream, read from the thread that decompresses it.
pub struct Decompressed {
    chunks: Receiver<io::Result<Vec<u8>>>,
    /// Emptied chunks go back to the thread for reuse.
    spent: SyncSender<Vec<u8>>,
    current: Vec<u8>,
    at: usize,
    done: bool,
}

impl Decompressed {
    /// Starts decompressing `compressed` on a thread of its own. The thread reads its input to
    /// the end (whatever follows the last frame included), so that what was read is the whole
    /// input; it stops early when the reader is dropped.
    pub fn spawn<R: Read + Send + 'static>(
        compressed: R,
        compression: InputCompression,
    ) -> io::Result<Decompressed> {
        let (chunk_tx, chunks) = sync_channel(CHUNKS_AHEAD);
        let (spent, spent_rx) = sync_channel(CHUNKS_AHEAD + 2);
        std::thread::Builder::new()
            .name(format!("pulse-{}", compression.name()))
            .spawn(move || {
                let result = match compression {
                    InputCompression::Gzip => {
                        let mut decoder = flate2::read::MultiGzDecoder::new(compressed);
                        pump(&mut decoder, &chunk_tx, &spent_rx)
                            .map(|()| decoder.into_inner())
                            .and_then(drain)
                    }
                    InputCompression::Zstd => zstd::stream::read::Decoder::new(compressed)
                        .and_then(|mut decoder| {
                            pump(&mut decoder, &chunk_tx, &spent_rx)?;
                            Ok(decoder.finish())
                        })
                        .and_then(drain),
                };
                if let Err(err) = result {
                    let err = io::Error::new(
                        err.kind(),
                        format!("not valid {} data ({err})", compression.name()),
                    );
                    let _ = chunk_tx.send(Err(err));
                }
            })?;
        Ok(Decompressed {
            chunks,
            spent,
            current: Vec::new(),
            at: 0,
            done: false,
        })
    }
}

/// Sends `decoder`'s output in chunks until its end, or until the reader is gone.
fn pump(
    decoder: &mut impl Read,
    chunks: &SyncSender<io::Result<Vec<u8>>>,
    spent: &Receiver<Vec<u8>>,
) -> io::Result<()> {
    loop {
        let mut chunk = spent.try_recv().unwrap_or_default();
        chunk.resize(CHUNK, 0);
        // One read per chunk: a stream fed slowly (a pipe) is handed on as it comes.
        let filled = loop {
            match decoder.read(&mut chunk) {
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                other => break other?,
            }
        };
        if filled == 0 {
            return Ok(());
        }
        chunk.truncate(filled);
        if chunks.send(Ok(chunk)).is_err() {
            // The reader stopped: nothing more to do.
            return Ok(());
        }
    }
}

/// Reads what follows the compressed data, so that it is counted and hashed as read.
fn drain(mut rest: impl Read) -> io::Result<()> {
    io::copy(&mut rest, &mut io::sink()).map(|_| ())
}

impl Read for Decompressed {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.at == self.current.len() {
            if self.done {
                return Ok(0);
            }
            match self.chunks.recv() {
                Ok(Ok(chunk)) => {
                    let old = std::mem::replace(&mut self.current, chunk);
                    // The thread may have ended: the chunk is then simply dropped.
                    let _ = self.spent.try_send(old);
                    self.at = 0;
                }
                Ok(Err(err)) => {
                    self.done = true;
                    return Err(err);
                }
                // The thread finished: the end of the stream.
                Err(_) => self.done = true,
            }
        }
        let n = out.len().min(self.current.len() - self.at);
        out[..n].copy_from_slice(&self.current[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn text() -> Vec<u8> {
        (0..100_000)
            .flat_map(|i| format!("{i},name {i}\n").into_bytes())
            .collect()
    }

    fn decompress(bytes: Vec<u8>) -> io::Result<Vec<u8>> {
        let compression = InputCompression::of(&bytes).expect("magic bytes");
        let mut out = Vec::new();
        Decompressed::spawn(io::Cursor::new(bytes), compression)?.read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn gzip_members_and_zstd_frames_one_after_the_other() {
        let text = text();
        let (first, second) = text.split_at(text.len() / 3);
        let mut gz = Vec::new();
        for part in [first, second] {
            let mut encoder = flate2::write::GzEncoder::new(Vec::new(), Default::default());
            encoder.write_all(part).unwrap();
            gz.extend(encoder.finish().unwrap());
        }
        assert_eq!(decompress(gz).unwrap(), text);
        let mut zst = zstd::encode_all(first, 3).unwrap();
        zst.extend(zstd::encode_all(second, 3).unwrap());
        assert_eq!(decompress(zst).unwrap(), text);
    }

    #[test]
    fn damaged_data_is_an_error() {
        let mut gz = Vec::new();
        let mut encoder = flate2::write::GzEncoder::new(&mut gz, Default::default());
        encoder.write_all(&text()).unwrap();
        encoder.finish().unwrap();
        let cut = gz.len() / 2;
        gz.truncate(cut);
        let err = decompress(gz).unwrap_err();
        assert!(err.to_string().starts_with("not valid gzip data"), "{err}");
        assert_eq!(InputCompression::of(b"a,b\n"), None);
    }
}
