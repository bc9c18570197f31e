//! How a connection waits for a lock that another connection holds.
//!
//! SQLite's own busy handler (`busy_timeout`) sleeps 1, 2, 5, 10, 15, 20 and then 25 ms between
//! tries. Inside one pulse the locks are held briefly: delivery's checkpointer holds the write
//! lock for a RESTART (a few frames and two fsyncs), and the sender, waiting to record an
//! attempt, slept well past its release, with the next request waiting too.
//! Here a connection tries again every 100 µs at first, and backs off only for locks held long
//! (another process, `sqlite3` in a terminal).

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rusqlite::Connection;

/// How long ordinary connections wait, in milliseconds: the busy timeout, process-wide.
static PATIENCE_MS: AtomicU64 = AtomicU64::new(0);

/// The longest wait for a lock that this process gave up on, in milliseconds plus one (0:
/// none), so that a busy error says how long it really waited.
static GAVE_UP_AFTER_MS: AtomicU64 = AtomicU64::new(0);

/// Makes `conn` wait up to the busy timeout `patience` for another connection's lock.
pub fn wait_for_locks(conn: &Connection, patience: Duration) -> rusqlite::Result<()> {
    PATIENCE_MS.store(patience.as_millis() as u64, Ordering::Relaxed);
    conn.busy_handler(Some(|tries| {
        let again = keep_waiting(tries, busy_timeout());
        if !again {
            let waited = WAITING_SINCE
                .get()
                .map_or(Duration::ZERO, |since| since.elapsed());
            GAVE_UP_AFTER_MS.fetch_max(waited.as_millis() as u64 + 1, Ordering::Relaxed);
        }
        again
    }))
}

/// How long this process waited for a lock before it gave up, the longest such wait; none if
/// it never gave up on one (a busy error then came without any wait).
pub fn longest_wait_given_up() -> Option<Duration> {
    match GAVE_UP_AFTER_MS.load(Ordering::Relaxed) {
        0 => None,
        ms => Some(Duration::from_millis(ms - 1)),
    }
}

/// Makes `conn` wait up to `RESTART_PATIENCE` only (the checkpointer's RESTART).
pub fn wait_briefly_for_locks(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_handler(Some(|tries| keep_waiting(tries, RESTART_PATIENCE)))
}

/// How long a RESTART checkpoint waits for other connections: another process's long read
/// would otherwise hold our writer (whose lock the RESTART has taken) for the whole busy
/// timeout. It gives up instead; the WAL then starts over at a later checkpoint.
const RESTART_PATIENCE: Duration = Duration::from_millis(100);

fn busy_timeout() -> Duration {
    Duration::from_millis(PATIENCE_MS.load(Ordering::Relaxed))
}

thread_local! {
    /// When the current wait began. SQLite calls the handler on the waiting thread, with
    /// `tries` 0 at the start of each wait.
    static WAITING_SINCE: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// SQLite's busy handler: sleeps before the next try and says whether to try again.
fn keep_waiting(tries: i32, patience: Duration) -> bool {
    let now = Instant::now();
    let since = match WAITING_SINCE.get() {
        Some(since) if tries > 0 => since,
        _ => {
            WAITING_SINCE.set(Some(now));
            now
        }
    };
    let waited = now - since;
    if waited >= patience {
        return false;
    }
    std::thread::sleep(pause_after(waited).min(patience - waited));
    true
}

/// The pause before the next try, once a wait has lasted `waited`.
fn pause_after(waited: Duration) -> Duration {
    if waited < Duration::from_millis(10) {
        Duration::from_micros(100)
    } else if waited < Duration::from_millis(200) {
        Duration::from_millis(1)
    } else {
        Duration::from_millis(10)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_are_short_at_first_and_longer_for_long_waits() {
        assert_eq!(pause_after(Duration::ZERO), Duration::from_micros(100));
        assert_eq!(
            pause_after(Duration::from_millis(50)),
            Duration::from_millis(1)
        );
        assert_eq!(
            pause_after(Duration::from_secs(5)),
            Duration::from_millis(10)
        );
    }

    #[test]
    fn a_wait_ends_once_its_patience_is_spent() {
        assert!(!keep_waiting(0, Duration::ZERO));
        assert!(keep_waiting(0, Duration::from_secs(60)));
        assert!(keep_waiting(1, Duration::from_secs(60)));
    }

    /// Two connections to one file, the first holding the write lock.
    fn locked_by_another() -> (tempfile::TempDir, Connection, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.db");
        let holder = Connection::open(&path).unwrap();
        holder
            .execute_batch("PRAGMA journal_mode=WAL; CREATE TABLE t (x); BEGIN IMMEDIATE;")
            .unwrap();
        let waiter = Connection::open(&path).unwrap();
        (dir, holder, waiter)
    }

    #[test]
    fn a_writer_gets_the_lock_once_it_is_released() {
        let (_dir, holder, waiter) = locked_by_another();
        wait_for_locks(&waiter, Duration::from_secs(60)).unwrap();
        let release = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(30));
            holder.execute_batch("COMMIT").unwrap();
        });
        waiter.execute("INSERT INTO t VALUES (1)", []).unwrap();
        release.join().unwrap();
    }

    #[test]
    fn a_lock_held_past_the_patience_is_a_busy_error() {
        let (_dir, _holder, waiter) = locked_by_another();
        // Not `wait_for_locks`: its patience is process-wide, and other tests run meanwhile.
        wait_briefly_for_locks(&waiter).unwrap();
        let err = waiter.execute("INSERT INTO t VALUES (1)", []).unwrap_err();
        assert_eq!(
            err.sqlite_error_code(),
            Some(rusqlite::ErrorCode::DatabaseBusy)
        );
    }
}
