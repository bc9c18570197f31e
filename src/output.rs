//! Writing to standard output and standard error without panicking when they fail.
//!
//! `println!` panics when stdout cannot be written (`pulse log > /dev/full`), which would stop a
//! run between an attempt and its record, or exit 101 after a run was delivered. Here a failed
//! write is noted, the work goes on (the log stays the record of what happened), and `main`
//! ends with exit 1 and a line naming the stream when stdout failed. A failed stderr changes
//! no exit code: it carries only messages, and the exit code is then the one left to say how
//! the run went. `outln!` and `errln!` replace `println!` and
//! `eprintln!`; `Named` wraps a writer so that its errors name the stream, not the disk of the
//! log.

use std::fmt;
use std::io::{self, Write};
use std::sync::Mutex;

/// One of the process's output streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl fmt::Display for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stream::Stdout => "standard output",
            Stream::Stderr => "standard error",
        })
    }
}

/// A write to a stream failed. It carries the system's message but not the `io::Error`
/// itself, so that nobody down the chain mistakes a full stdout for a full log disk.
#[derive(Debug, Clone, thiserror::Error)]
#[error("cannot write to {stream}: {message}")]
pub struct OutputError {
    pub stream: Stream,
    pub kind: io::ErrorKind,
    message: String,
}

impl OutputError {
    fn new(stream: Stream, err: &io::Error) -> OutputError {
        OutputError {
            stream,
            kind: err.kind(),
            message: err.to_string(),
        }
    }
}

/// The first failed write of `outln!`/`errln!` to each stream, for `main` to report at the end.
static FIRST_FAILURES: Mutex<[Option<OutputError>; 2]> = Mutex::new([None, None]);

/// The first write to `stream` that failed in this process, if any.
pub fn failure(stream: Stream) -> Option<OutputError> {
    FIRST_FAILURES.lock().ok()?[stream as usize].clone()
}

fn note_failure(failure: OutputError) {
    if let Ok(mut first) = FIRST_FAILURES.lock() {
        first[failure.stream as usize].get_or_insert(failure);
    }
}

/// Writes one line to `stream`; a failure is noted, never a panic. (`outln!`, `errln!`.)
pub fn line(stream: Stream, args: fmt::Arguments<'_>) {
    let written = match stream {
        Stream::Stdout => writeln!(io::stdout().lock(), "{args}"),
        Stream::Stderr => writeln!(io::stderr().lock(), "{args}"),
    };
    if let Err(err) = written {
        note_failure(OutputError::new(stream, &err));
    }
}

/// `println!` that never panics: see the module doc.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::output::line($crate::output::Stream::Stdout, format_args!($($arg)*))
    };
}

/// `eprintln!` that never panics: see the module doc.
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::output::line($crate::output::Stream::Stderr, format_args!($($arg)*))
    };
}

pub(crate) use errln;
pub(crate) use outln;

/// A writer whose errors say which stream failed (an `io::Error` of kind `Other` wrapping an
/// `OutputError`; `find` digs it out).
pub struct Named<W> {
    inner: W,
    stream: Stream,
}

/// Standard output, buffered, naming itself in errors.
pub fn stdout() -> io::BufWriter<Named<io::StdoutLock<'static>>> {
    io::BufWriter::new(Named {
        inner: io::stdout().lock(),
        stream: Stream::Stdout,
    })
}

impl<W: Write> Named<W> {
    fn name(&self, err: io::Error) -> io::Error {
        io::Error::other(OutputError::new(self.stream, &err))
    }
}

impl<W: Write> Write for Named<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf).map_err(|e| self.name(e))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush().map_err(|e| self.name(e))
    }
}

/// The output failure in `err`'s chain, whether typed or inside an `io::Error` from `Named`.
pub fn find(err: &anyhow::Error) -> Option<&OutputError> {
    err.chain().find_map(|cause| {
        cause.downcast_ref::<OutputError>().or_else(|| {
            cause
                .downcast_ref::<io::Error>()?
                .get_ref()?
                .downcast_ref::<OutputError>()
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer that is always full.
    struct Full;

    impl Write for Full {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::from(io::ErrorKind::StorageFull))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_named_writer_says_which_stream_failed_and_hides_the_io_kind() {
        let mut out = Named {
            inner: Full,
            stream: Stream::Stdout,
        };
        let err = anyhow::Error::from(out.write_all(b"x").unwrap_err()).context("listing runs");
        let found = find(&err).expect("an output error");
        assert_eq!(found.stream, Stream::Stdout);
        assert_eq!(found.kind, io::ErrorKind::StorageFull);
        assert!(found
            .to_string()
            .starts_with("cannot write to standard output: "));
        // Nothing in the chain is a full disk any more (the log's disk is not to blame).
        assert!(!err.chain().any(|c| c
            .downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::StorageFull)));
    }
}
