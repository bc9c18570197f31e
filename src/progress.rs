//! What pulse shows while it works: an animated bar on a terminal, plain lines otherwise, and
//! nothing but errors under `--quiet`.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Progress reporting for one command.
pub struct Progress {
    bar: ProgressBar,
    animated: bool,
    quiet: bool,
    /// Requests in flight, shown on the bar with `--concurrency` above 1.
    in_flight: AtomicU64,
    /// `--concurrency auto`'s limit now; 0 with a fixed concurrency.
    limit: AtomicU64,
    /// Batches already delivered when this delivery began (a resumed run), and when it began:
    /// rates and the ETA count only what this command sends.
    delivery_start: Mutex<Option<(u64, Instant)>>,
    /// Ctrl-C not echoed while the bar is drawn (see `QuietInterrupt`).
    _quiet_interrupt: Option<QuietInterrupt>,
}

impl Progress {
    /// A bar drawn on stderr only when it is a terminal and not `--quiet`.
    pub fn new(quiet: bool) -> Progress {
        let animated = !quiet
            && std::io::stderr().is_terminal()
            && !crate::output::json_logs()
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
            limit: AtomicU64::new(0),
            delivery_start: Mutex::new(None),
            _quiet_interrupt: animated.then(QuietInterrupt::new).flatten(),
        }
    }

    /// Staging: bytes read of `total` (when known), rows per second and the time left.
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
            let elapsed = self.bar.elapsed();
            let total = self.bar.length().filter(|&n| n > 0);
            let left = total.map(|total| total.saturating_sub(bytes));
            self.bar
                .set_message(rate_and_eta(rows, elapsed, bytes, left));
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
        *self
            .delivery_start
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = None;
        self.bar.set_style(
            ProgressStyle::with_template("sending {bar:30} {pos}/{len} batches {msg} ({elapsed})")
                .expect("valid template"),
        );
    }

    /// `batches` of the run delivered, `rows` of them by this command.
    pub fn delivered(&self, batches: u64, rows: u64) {
        if !self.animated {
            return;
        }
        self.bar.set_position(batches);
        let (first, since) = *self
            .delivery_start
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert_with(|| (batches, Instant::now()));
        let left = self.bar.length().map(|n| n.saturating_sub(batches));
        let sent = batches.saturating_sub(first);
        let in_flight = match (
            self.in_flight.load(Ordering::Relaxed),
            self.limit.load(Ordering::Relaxed),
        ) {
            (n, 0) if n < 2 => String::new(),
            (n, 0) => format!(", {n} in flight"),
            (n, limit) => format!(", {n} in flight (limit {limit})"),
        };
        let rate = rate_and_eta(rows, since.elapsed(), sent, left);
        self.bar.set_message(format!("{rate}{in_flight}"));
    }

    /// How many requests are in flight now, and `auto`'s limit.
    pub fn in_flight(&self, requests: usize, limit: Option<usize>) {
        self.in_flight.store(requests as u64, Ordering::Relaxed);
        self.limit
            .store(limit.unwrap_or(0) as u64, Ordering::Relaxed);
    }

    /// Something that happened and stays worth reading (a batch skipped): a line above the
    /// bar, or on stderr.
    pub fn note(&self, message: &str) {
        if self.animated {
            self.bar.println(format!("pulse: {message}"));
        } else if !self.quiet {
            crate::output::errln!("pulse: {message}");
        }
    }

    /// A state worth telling while waiting (a retry): on the bar, or one line on stderr.
    pub fn waiting(&self, message: &str) {
        if self.animated {
            self.bar.set_message(message.to_string());
        } else if !self.quiet {
            crate::output::errln!("pulse: {message}");
        }
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Drop for Progress {
    /// A bar left by an error or Ctrl-C is cleared before the final line is printed.
    fn drop(&mut self) {
        if !self.bar.is_finished() {
            self.bar.finish_and_clear();
        }
    }
}

/// `12000 rows, 4000 rows/s, ETA 3s`: rows so far and their rate over `elapsed`, and the time
/// left for `left` units of work at the pace of the `done` ones (when there is a pace yet).
fn rate_and_eta(rows: u64, elapsed: Duration, done: u64, left: Option<u64>) -> String {
    let secs = elapsed.as_secs_f64();
    let mut text = format!("{rows} rows");
    if secs < 0.05 || done == 0 {
        return text;
    }
    text.push_str(&format!(", {:.0} rows/s", rows as f64 / secs));
    if let Some(left) = left {
        let eta = left as f64 * secs / done as f64;
        text.push_str(&format!(", ETA {}", short_duration(eta)));
    }
    text
}

/// `42s`, `3m05s`, `2h07m`: a time left, as precise as it is worth.
fn short_duration(secs: f64) -> String {
    let secs = secs.round() as u64;
    match secs {
        0..=59 => format!("{secs}s"),
        60..=3599 => format!("{}m{:02}s", secs / 60, secs % 60),
        _ => format!("{}h{:02}m", secs / 3600, secs % 3600 / 60),
    }
}

/// While the bar is drawn, Ctrl-C is not echoed as `^C`. The bar keeps the cursor at the end
/// of a line padded to the terminal's width, so the echo wraps onto a new line and the bar,
/// cleared where indicatif thinks it is, would stay above pulse's last line. Only the
/// terminal's ECHOCTL flag changes, and it is restored when the bar goes and at exit (a
/// second Ctrl-C exits at once).
struct QuietInterrupt;

#[cfg(unix)]
mod terminal {
    use std::sync::Mutex;

    /// The terminal settings to put back: stderr's, as they were.
    pub static SAVED: Mutex<Option<libc::termios>> = Mutex::new(None);

    /// Clears ECHOCTL on stderr's terminal when pulse runs in its foreground (a background
    /// job gets no Ctrl-C, and must not touch the terminal); false when nothing was changed.
    pub fn hide_control_echo() -> bool {
        // SAFETY: tcgetpgrp, getpgrp and tcgetattr on fd 2 with a termios owned here; atexit
        // gets a function that only reads a static.
        unsafe {
            if libc::tcgetpgrp(2) != libc::getpgrp() {
                return false;
            }
            let mut settings: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(2, &mut settings) != 0 || settings.c_lflag & libc::ECHOCTL == 0 {
                return false;
            }
            let original = settings;
            settings.c_lflag &= !libc::ECHOCTL;
            if !set_attributes(&settings) {
                return false;
            }
            let mut saved = SAVED.lock().unwrap_or_else(|e| e.into_inner());
            if saved.is_none() {
                static AT_EXIT: std::sync::Once = std::sync::Once::new();
                AT_EXIT.call_once(|| {
                    libc::atexit(restore_at_exit);
                });
            }
            *saved = Some(original);
        }
        true
    }

    /// Puts the saved settings back, once.
    pub fn restore() {
        let saved = SAVED.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(original) = saved {
            set_attributes(&original);
        }
    }

    /// `tcsetattr` on stderr with SIGTTOU blocked: a job moved to the background meanwhile
    /// (Ctrl-Z, `bg`) would otherwise be stopped by it instead of changing the setting back.
    fn set_attributes(settings: &libc::termios) -> bool {
        // SAFETY: signal-mask calls on sets owned here, restored before returning; tcsetattr
        // on fd 2 with a termios read from it.
        unsafe {
            let mut block: libc::sigset_t = std::mem::zeroed();
            let mut before: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut block);
            libc::sigaddset(&mut block, libc::SIGTTOU);
            libc::pthread_sigmask(libc::SIG_BLOCK, &block, &mut before);
            let done = libc::tcsetattr(2, libc::TCSANOW, settings) == 0;
            libc::pthread_sigmask(libc::SIG_SETMASK, &before, std::ptr::null_mut());
            done
        }
    }

    extern "C" fn restore_at_exit() {
        restore();
    }
}

impl QuietInterrupt {
    fn new() -> Option<QuietInterrupt> {
        #[cfg(unix)]
        if terminal::hide_control_echo() {
            return Some(QuietInterrupt);
        }
        None
    }
}

impl Drop for QuietInterrupt {
    fn drop(&mut self) {
        #[cfg(unix)]
        terminal::restore();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_time_left_read_well() {
        let three = Duration::from_secs(3);
        assert_eq!(rate_and_eta(0, three, 0, Some(10)), "0 rows");
        assert_eq!(
            rate_and_eta(12000, three, 12, Some(30)),
            "12000 rows, 4000 rows/s, ETA 8s"
        );
        assert_eq!(rate_and_eta(300, three, 3, None), "300 rows, 100 rows/s");
        assert_eq!(short_duration(185.0), "3m05s");
        assert_eq!(short_duration(7620.0), "2h07m");
    }
}
