//! Ctrl-C, SIGTERM and `--deadline`: set a flag that the staging and delivery loops check, so
//! the attempts in flight are recorded before pulse stops. Which signal it was is kept for the
//! exit code: 130 for SIGINT, 143 for SIGTERM (128 + the signal, as shells report it).

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::{Duration, Instant};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
/// Set with `INTERRUPTED` when it was the deadline, not a signal, that stopped pulse.
static DEADLINE_PASSED: AtomicBool = AtomicBool::new(false);
/// The signal that stopped pulse (SIGINT or SIGTERM), 0 before one came.
static SIGNAL: AtomicI32 = AtomicI32::new(0);

/// Installs the handler once, and starts the `--deadline` timer if one is given.
pub fn install(deadline: Option<Duration>) {
    if let Some(duration) = deadline {
        stop_after(duration);
    }
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        use signal_hook::consts::{SIGINT, SIGTERM};
        // signal-hook's handler only writes to a pipe; this thread does the rest.
        let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else {
            return;
        };
        let _ = std::thread::Builder::new()
            .name("pulse-signals".into())
            .spawn(move || {
                for signal in signals.forever() {
                    if INTERRUPTED.load(Ordering::SeqCst) {
                        // A second signal means "now": the log is consistent at every commit.
                        std::process::exit(128 + signal);
                    }
                    SIGNAL.store(signal, Ordering::SeqCst);
                    INTERRUPTED.store(true, Ordering::SeqCst);
                }
            });
    });
}

/// The exit code for a stop by signal: 128 + the signal (143 for SIGTERM), else 130 (Ctrl-C).
pub fn stop_code() -> u8 {
    match SIGNAL.load(Ordering::SeqCst) {
        signal if (1..128).contains(&signal) => 128 + signal as u8,
        _ => 130,
    }
}

/// Stops pulse as SIGTERM would once `duration` has passed: a timer thread sets the same flag,
/// so the loops need no clock of their own.
fn stop_after(duration: Duration) {
    let deadline = Instant::now() + duration;
    let timer = std::thread::Builder::new()
        .name("pulse-deadline".into())
        .spawn(move || {
            let now = Instant::now();
            if deadline > now {
                std::thread::sleep(deadline - now);
            }
            DEADLINE_PASSED.store(true, Ordering::SeqCst);
            INTERRUPTED.store(true, Ordering::SeqCst);
        });
    if timer.is_err() {
        // Without a thread no deadline can be kept: refuse to run unbounded silently.
        crate::output::errln!("pulse: cannot start the --deadline timer; stopping now");
        DEADLINE_PASSED.store(true, Ordering::SeqCst);
        INTERRUPTED.store(true, Ordering::SeqCst);
    }
}

pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Whether the stop was `--deadline`'s.
pub fn deadline_passed() -> bool {
    DEADLINE_PASSED.load(Ordering::SeqCst)
}

/// The word for a stop in messages: "interrupted", or that the deadline passed.
pub fn stopped() -> &'static str {
    if deadline_passed() {
        "stopped at --deadline"
    } else {
        "interrupted"
    }
}

/// Sleeps up to `duration`, waking early when interrupted. Returns false if interrupted.
pub fn sleep(duration: Duration) -> bool {
    let deadline = Instant::now() + duration;
    while !interrupted() {
        let now = Instant::now();
        if now >= deadline {
            return true;
        }
        std::thread::sleep((deadline - now).min(Duration::from_millis(50)));
    }
    false
}

/// `sleep` for async code: the runtime goes on driving other requests meanwhile.
pub async fn sleep_async(duration: Duration) -> bool {
    let deadline = Instant::now() + duration;
    while !interrupted() {
        let now = Instant::now();
        if now >= deadline {
            return true;
        }
        tokio::time::sleep((deadline - now).min(Duration::from_millis(50))).await;
    }
    false
}
