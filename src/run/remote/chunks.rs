//! A download as a blocking `Read`: a thread of its own runs a current-thread runtime that pulls
//! the body and sends its chunks through a bounded channel, a few chunks ahead of the reader,
//! so memory stays bounded whatever the object's size (and the download waits for the parser).

use std::future::Future;
use std::io::{self, Read};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use anyhow::{anyhow, Context, Result};
use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::StreamExt;

use crate::read::RemoteObject;

/// Chunks in the channel at most (a chunk is what the connection hands over: a few KiB to a
/// few hundred). Validating a 38 MiB download peaked at 27 MiB with 16, 22 MiB with 4 (19 MiB
/// for a tiny one); the parser, not the network, is the slower side on loopback.
const CHUNKS_AHEAD: usize = 4;

/// A body: what it told of the object, and its bytes as they come.
pub type Body = (RemoteObject, BoxStream<'static, io::Result<Bytes>>);

enum Chunk {
    Data(Bytes),
    End,
    Failed(io::Error),
}

/// The body's bytes, read as they arrive.
pub struct ChunkReader {
    chunks: Receiver<Chunk>,
    current: Bytes,
    ended: bool,
}

impl Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            if self.ended {
                return Ok(0);
            }
            match self.chunks.recv() {
                Ok(Chunk::Data(bytes)) => self.current = bytes,
                Ok(Chunk::End) => self.ended = true,
                Ok(Chunk::Failed(err)) => return Err(err),
                // The thread is gone without saying the body ended: never a silent truncation.
                Err(_) => return Err(io::Error::other("the download stopped before its end")),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

/// Runs `open` (a request, answered with its body) on a download thread; returns once the
/// answer came (an error answer is the error), with the body read as it arrives.
pub fn spawn<F, Fut>(open: F) -> Result<(ChunkReader, RemoteObject)>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = Result<Body>>,
{
    let (answered, answer) = sync_channel::<Result<RemoteObject>>(1);
    let (sender, chunks) = sync_channel(CHUNKS_AHEAD);
    std::thread::Builder::new()
        .name("pulse-download".into())
        .spawn(move || download(open, answered, sender))
        .context("cannot start the download thread")?;
    let object = answer
        .recv()
        .map_err(|_| anyhow!("the download thread stopped"))??;
    let reader = ChunkReader {
        chunks,
        current: Bytes::new(),
        ended: false,
    };
    Ok((reader, object))
}

fn download<F, Fut>(open: F, answered: SyncSender<Result<RemoteObject>>, sender: SyncSender<Chunk>)
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<Body>>,
{
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            let _ = answered.send(Err(anyhow!(err).context("cannot start the download")));
            return;
        }
    };
    runtime.block_on(async move {
        let (object, mut body) = match open().await {
            Ok(body) => body,
            Err(err) => {
                let _ = answered.send(Err(err));
                return;
            }
        };
        if answered.send(Ok(object)).is_err() {
            return;
        }
        while let Some(item) = body.next().await {
            // Blocking in the runtime's one task is the back-pressure: nothing else runs here.
            let chunk = match item {
                Ok(bytes) if bytes.is_empty() => continue,
                Ok(bytes) => Chunk::Data(bytes),
                Err(err) => Chunk::Failed(err),
            };
            let failed = matches!(chunk, Chunk::Failed(_));
            // The reader let go (an error, or it read what it needed): stop downloading.
            if sender.send(chunk).is_err() || failed {
                return;
            }
        }
        let _ = sender.send(Chunk::End);
    });
}

/// The bytes a producer thread writes, sent on in chunks of this size.
const WRITE_CHUNK: usize = 64 * 1024;

/// What a blocking producer writes (a database query's rows as CSV), as chunks to the reader.
pub struct ChunkWriter {
    sender: SyncSender<Chunk>,
    buffer: Vec<u8>,
}

impl std::io::Write for ChunkWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= WRITE_CHUNK {
            self.flush()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::take(&mut self.buffer));
        self.sender
            .send(Chunk::Data(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the reader let go"))
    }
}

/// What a producer's start hands over: what the reader must know first, and the rest of the
/// work, which writes the bytes.
pub type Started<T> = (T, Box<dyn FnOnce(&mut ChunkWriter) -> Result<()> + Send>);

/// Runs `start` on a thread of its own, then the work it returns, whose bytes are read as
/// they are written (a few chunks ahead at most); returns once `start` answered (its error is
/// the error).
pub fn spawn_writer<T: Send + 'static>(
    start: impl FnOnce() -> Result<Started<T>> + Send + 'static,
) -> Result<(ChunkReader, T)> {
    let (answered, answer) = sync_channel::<Result<T>>(1);
    let (sender, chunks) = sync_channel(CHUNKS_AHEAD);
    std::thread::Builder::new()
        .name("pulse-query".into())
        .spawn(move || {
            let (told, work) = match start() {
                Ok(started) => started,
                Err(err) => {
                    let _ = answered.send(Err(err));
                    return;
                }
            };
            if answered.send(Ok(told)).is_err() {
                return;
            }
            let mut writer = ChunkWriter {
                sender: sender.clone(),
                buffer: Vec::with_capacity(WRITE_CHUNK),
            };
            let last =
                match work(&mut writer).and_then(|()| Ok(std::io::Write::flush(&mut writer)?)) {
                    Ok(()) => Chunk::End,
                    // The message whole, with its causes: the reader's error is all that is shown.
                    Err(err) => Chunk::Failed(io::Error::other(format!("{err:#}"))),
                };
            let _ = sender.send(last);
        })
        .context("cannot start the query thread")?;
    let told = answer
        .recv()
        .map_err(|_| anyhow!("the query thread stopped"))??;
    let reader = ChunkReader {
        chunks,
        current: Bytes::new(),
        ended: false,
    };
    Ok((reader, told))
}

/// Runs `task` to its end on a thread of its own with a runtime of its own (the caller may be
/// inside delivery's runtime, where another cannot start).
pub fn run_on_thread<T, F, Fut>(task: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = Result<T>>,
{
    std::thread::Builder::new()
        .name("pulse-download".into())
        .spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("cannot start the download")?
                .block_on(task())
        })
        .context("cannot start the download thread")?
        .join()
        .map_err(|_| anyhow!("the download thread panicked"))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_chunk_in_order_and_fails_a_cut_body() {
        let (reader, object) = spawn(|| async {
            let chunks = (0..100).map(|i| Ok(Bytes::from(format!("{i},"))));
            let body: Body = (
                RemoteObject::default(),
                futures_util::stream::iter(chunks).boxed(),
            );
            Ok(body)
        })
        .unwrap();
        assert_eq!(object, RemoteObject::default());
        let mut text = String::new();
        { reader }.read_to_string(&mut text).unwrap();
        assert!(text.starts_with("0,1,2,") && text.ends_with("98,99,"));

        let (mut reader, _) = spawn(|| async {
            let chunks = vec![Ok(Bytes::from("a,b\n")), Err(io::Error::other("reset"))];
            let body: Body = (
                RemoteObject::default(),
                futures_util::stream::iter(chunks).boxed(),
            );
            Ok(body)
        })
        .unwrap();
        let mut text = String::new();
        assert!(reader.read_to_string(&mut text).is_err());
    }
}
