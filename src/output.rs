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
        Stream::Stderr if json_logs() => {
            writeln!(io::stderr().lock(), "{}", json_log_line(&args.to_string()))
        }
        Stream::Stderr => writeln!(io::stderr().lock(), "{args}"),
    };
    if let Err(err) = written {
        note_failure(OutputError::new(stream, &err));
    }
}

/// `println!` that never panics: see the module doc.
static JSON_LOGS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// `--log-format json`: every line on stderr from now on is one JSON object.
pub fn set_json_logs(on: bool) {
    JSON_LOGS.store(on, std::sync::atomic::Ordering::Relaxed);
}

/// Whether stderr gets JSON lines (`--log-format json`).
pub fn json_logs() -> bool {
    JSON_LOGS.load(std::sync::atomic::Ordering::Relaxed)
}

/// A message as one JSON object for log shippers: the time, its level (`error` for errors,
/// `warn` for warnings, else `info`), the message without pulse's prefix, and what it names:
/// `run_id`, `event_id`, `webhook_id`, `batch` and `batches`, `retry`, `http_status`.
pub fn json_log_line(message: &str) -> String {
    use regex::Regex;
    use std::sync::OnceLock;
    static FIELDS: OnceLock<[(&str, Regex); 6]> = OnceLock::new();
    let fields = FIELDS.get_or_init(|| {
        let re = |pattern: &str| Regex::new(pattern).expect("a valid pattern");
        [
            ("run_id", re(r"\b(run_[0-9A-Z]{26})\b")),
            ("event_id", re(r"\b(evt_[0-9A-Z]{26})\b")),
            ("webhook_id", re(r"\b(msg_[0-9A-Z]{26})\b")),
            ("batch", re(r"\bbatch (\d+)/(\d+)")),
            ("retry", re(r"\bretry (\d+)/\d+")),
            ("http_status", re(r"\bHTTP (\d{3})\b")),
        ]
    });
    let (level, text) = if let Some(rest) = message.strip_prefix("error: ") {
        ("error", rest)
    } else if let Some(rest) = message.strip_prefix("pulse: warning: ") {
        ("warn", rest)
    } else if let Some(rest) = message.strip_prefix("warning: ") {
        ("warn", rest)
    } else {
        ("info", message.strip_prefix("pulse: ").unwrap_or(message))
    };
    let mut object = serde_json::Map::new();
    let now = humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string();
    object.insert("time".into(), now.into());
    object.insert("level".into(), level.into());
    object.insert("message".into(), text.into());
    for (name, pattern) in fields {
        let Some(found) = pattern.captures(text) else {
            continue;
        };
        let number = |i: usize| found.get(i).and_then(|m| m.as_str().parse::<u64>().ok());
        match *name {
            "batch" => {
                object.insert("batch".into(), number(1).into());
                object.insert("batches".into(), number(2).into());
            }
            "retry" | "http_status" => {
                object.insert((*name).into(), number(1).into());
            }
            _ => {
                object.insert((*name).into(), found[1].into());
            }
        }
    }
    serde_json::Value::Object(object).to_string()
}

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
