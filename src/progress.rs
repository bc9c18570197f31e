//! What pulse shows while it works: an animated bar on a terminal, plain lines otherwise, and
//! nothing but errors under `--quiet`.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Progress reporting for one command.
pub struct Progress {
    bar: ProgressBar,
    animated: bool,
    quiet: bool,
    /// Requests in flight, shown on the bar with `--concurrency` above 1.
    in_flight: AtomicU64,
}

impl Progress {
    /// A bar drawn on stderr only when it is a terminal and not `--quiet`.
    pub fn new(quiet: bool) -> Progress {
        let animated = !quiet
            && std::io::stderr().is_terminal()
            && std::env::var_os("PULSE_TEST_MODE").is_none();
        let bar = if animated {
            ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
        } else {
            ProgressBar::hidden()
        };
        Progress {
            bar,
            animated,
            quiet,
            in_flight: AtomicU64::new(0),
        }
    }

    /// Staging: bytes read of `total` (when known) and rows per second.
    pub fn start_staging(&self, total_bytes: Option<u64>) {
        if !self.animated {
            return;
        }
        self.bar.set_length(total_bytes.unwrap_or(0));
        let template = if total_bytes.is_some() {
            "staging {bar:30} {bytes}/{total_bytes} {msg} ({elapsed})"
        } else {
            "staging {spinner} {bytes} {msg} ({elapsed})"
        };
        self.bar
            .set_style(ProgressStyle::with_template(template).expect("valid template"));
        self.bar.enable_steady_tick(Duration::from_millis(100));
    }

    pub fn staged(&self, bytes: u64, rows: u64) {
        if self.animated {
            self.bar.set_position(bytes);
            let secs = self.bar.elapsed().as_secs_f64().max(0.001);
            self.bar
                .set_message(format!("{rows} rows, {:.0} rows/s", rows as f64 / secs));
        }
    }

    /// Delivery: batches of `total`.
    pub fn start_delivery(&self, total_batches: u64) {
        if !self.animated {
            return;
        }
        self.bar.reset();
        self.bar.set_length(total_batches);
        self.bar.set_position(0);
        self.bar.set_style(
            ProgressStyle::with_template("sending {bar:30} {pos}/{len} batches {msg} ({elapsed})")
                .expect("valid template"),
        );
    }

    pub fn delivered(&self, batches: u64, rows: u64) {
        if self.animated {
            self.bar.set_position(batches);
            let in_flight = match self.in_flight.load(Ordering::Relaxed) {
                0 | 1 => String::new(),
                n => format!(", {n} in flight"),
            };
            self.bar.set_message(format!("{rows} rows{in_flight}"));
        }
    }

    /// How many requests are in flight now.
    pub fn in_flight(&self, requests: usize) {
        self.in_flight.store(requests as u64, Ordering::Relaxed);
    }

    /// Something that happened and stays worth reading (a batch skipped): a line above the
    /// bar, or on stderr.
    pub fn note(&self, message: &str) {
        if self.animated {
            self.bar.println(format!("pulse: {message}"));
        } else if !self.quiet {
            eprintln!("pulse: {message}");
        }
    }

    /// A state worth telling while waiting (a retry): on the bar, or one line on stderr.
    pub fn waiting(&self, message: &str) {
        if self.animated {
            self.bar.set_message(message.to_string());
        } else if !self.quiet {
            eprintln!("pulse: {message}");
        }
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
