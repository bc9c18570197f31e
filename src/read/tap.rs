//! The tap the input's bytes pass through on their way to the parser, counting and hashing them
//! (for the progress bar, resume and the repeat check).

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Bytes read so far, shared with the progress bar.
pub type ByteCounter = Arc<AtomicU64>;

/// Counts and hashes the input's bytes as they stream past (before any decompression or
/// decoding: what resume and the repeat check compare with the file), so none of it needs a
/// second pass over the file. The count and hash are shared, for another thread to ask how far
/// reading got.
pub struct Tap {
    inner: Box<dyn Read + Send>,
    counter: ByteCounter,
    state: Arc<Mutex<TapState>>,
    /// Bytes read from the input.
    read: u64,
}

#[derive(Default)]
struct TapState {
    /// Bytes read from the input, and their hash.
    read: u64,
    hasher: xxhash_rust::xxh3::Xxh3,
}

impl Tap {
    /// A tap on `inner`, adding what it reads to `counter` too.
    pub fn new(inner: Box<dyn Read + Send>, counter: ByteCounter) -> Tap {
        Tap {
            inner,
            counter,
            state: Arc::new(Mutex::new(TapState::default())),
            read: 0,
        }
    }

    /// A handle on how far this tap has read, for whoever reads through it and other threads.
    pub fn position(&self) -> SourcePosition {
        SourcePosition(self.state.clone())
    }
}

impl Read for Tap {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.counter.fetch_add(n as u64, Ordering::Relaxed);
        self.read += n as u64;
        let mut state = self.state.lock().expect("tap lock");
        state.read = self.read;
        state.hasher.update(&buf[..n]);
        drop(state);
        Ok(n)
    }
}

/// How far a source has read, shared with the thread reading it.
#[derive(Clone)]
pub struct SourcePosition(Arc<Mutex<TapState>>);

impl SourcePosition {
    /// Bytes read so far and their hash, taken together; after the last record, of the whole
    /// input.
    pub fn read_so_far(&self) -> (u64, String) {
        let state = self.0.lock().expect("tap lock");
        (state.read, format_hash(state.hasher.digest128()))
    }
}

fn format_hash(digest: u128) -> String {
    format!("xxh3:{digest:032x}")
}

/// The hash of the first `len` bytes of a file, as `read_so_far` gives it; None when the file is
/// shorter.
pub fn prefix_hash(path: &Path, len: u64) -> io::Result<Option<String>> {
    prefix_hash_of(File::open(path)?, len)
}

/// The hash of the first `len` bytes `reader` gives (a download's), as `read_so_far` gives it;
/// None when it ends sooner. Reads no further than `len`.
pub fn prefix_hash_of(reader: impl Read, len: u64) -> io::Result<Option<String>> {
    let mut file = reader.take(len);
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    let mut buf = vec![0; 256 * 1024];
    let mut total = 0;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        total += n as u64;
    }
    Ok((total == len).then(|| format_hash(hasher.digest128())))
}
