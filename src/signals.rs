//! Ctrl-C and SIGTERM: set a flag that the staging and delivery loops check, so the attempt in
//! flight is recorded before pulse stops.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Installs the handler once; later calls are no-ops.
pub fn install() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = ctrlc::set_handler(|| {
            if INTERRUPTED.swap(true, Ordering::SeqCst) {
                // A second Ctrl-C means "now": the log is consistent at every commit.
                std::process::exit(130);
            }
        });
    });
}

pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
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
