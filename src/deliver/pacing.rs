//! How fast one sending pass may go, whatever `--concurrency` says about slots: shared by all
//! its batches (futures on one thread, so plain cells).
//!
//! - The concurrency limit: fixed, or `auto`'s AIMD limit (`adaptive.rs`), fed every attempt.
//! - A throttle pause: a 429 or 503 holds back every request of the pass not yet sent, new
//!   batches and retries alike, until the later of its `Retry-After` and its backoff (the wait
//!   its own batch took), not only the batch that got it.
//! - The receiver's announced budget (`rate_limit_headers.rs`): once none is left, no request
//!   starts until its reset. Requests still on the wire that were sent after the answered one
//!   (or just before it, `REORDER`: on separate connections they may overtake it) count
//!   against what its answer said is left: they may reach the receiver after it was written.
//! - How many requests were on the wire as each one went out, for the log (the run's mean and
//!   peak in flight).

use std::cell::{Cell, RefCell};
use std::time::{Duration, Instant};

use super::adaptive::{is_throttle, Aimd, Signal};
use super::rate_limit_headers::Budget;
use super::settings::Concurrency;

/// Requests sent this close before another may reach the receiver after it.
const REORDER: Duration = Duration::from_millis(20);

/// Two answers whose resets are this close describe the same window of the receiver's budget
/// (resets are whole seconds).
const SAME_WINDOW: Duration = Duration::from_millis(1100);

/// The pacing of one sending pass.
pub(super) struct Pacing {
    fixed: usize,
    aimd: RefCell<Option<Aimd>>,
    /// No request starts before this (a 429 or 503 was answered).
    paused_until: Cell<Option<Instant>>,
    /// What is left of the receiver's budget, and when it is whole again.
    window: Cell<Option<(u64, Instant)>>,
    /// The requests on the wire, by the order they went out in; and the next one's number.
    on_wire: RefCell<Vec<(u64, Instant)>>,
    sent: Cell<u64>,
}

/// One request on the wire: what the log records with its attempt.
#[derive(Debug, Clone, Copy)]
pub(super) struct Started {
    /// Its number in the pass, to tell `finished` which request it was.
    pub seq: u64,
    pub in_flight: usize,
    pub limit: usize,
}

impl Pacing {
    pub fn new(concurrency: Concurrency, now: Instant) -> Pacing {
        let (fixed, aimd) = match concurrency {
            Concurrency::Fixed(n) => (n.max(1), None),
            Concurrency::Auto { max } => (max, Some(Aimd::new(max, now))),
        };
        Pacing {
            fixed,
            aimd: RefCell::new(aimd),
            paused_until: Cell::new(None),
            window: Cell::new(None),
            on_wire: RefCell::new(Vec::new()),
            sent: Cell::new(0),
        }
    }

    /// The most batches that may be in flight now.
    pub fn limit(&self) -> usize {
        match &*self.aimd.borrow() {
            Some(aimd) => aimd.limit(),
            None => self.fixed,
        }
    }

    /// Until when no request may start (a throttle pause, or a spent budget); none: now.
    pub fn closed_until(&self, now: Instant) -> Option<Instant> {
        let paused = self.paused_until.get().filter(|until| *until > now);
        let spent = match self.window.get() {
            Some((0, ends)) if ends > now => Some(ends),
            _ => None,
        };
        paused.max(spent)
    }

    /// A request goes out now: it takes one from the budget, and counts in flight.
    pub fn start(&self, now: Instant) -> Started {
        match self.window.get() {
            Some((_, ends)) if ends <= now => self.window.set(None),
            Some((left, ends)) => self.window.set(Some((left.saturating_sub(1), ends))),
            None => {}
        }
        let seq = self.sent.get();
        self.sent.set(seq + 1);
        let in_flight = {
            let mut on_wire = self.on_wire.borrow_mut();
            on_wire.push((seq, now));
            on_wire.len()
        };
        let limit = {
            let mut aimd = self.aimd.borrow_mut();
            match aimd.as_mut() {
                Some(aimd) => {
                    aimd.started(in_flight);
                    aimd.limit()
                }
                None => self.fixed,
            }
        };
        Started {
            seq,
            in_flight,
            limit,
        }
    }

    /// Request `seq` answered `status` (0: none) after `rtt`, announcing `budget`; `throttle`:
    /// the wait before its batch's retry, when it was a 429 or 503 to retry.
    pub fn finished(
        &self,
        seq: u64,
        (status, rtt): (u16, Duration),
        budget: Option<Budget>,
        throttle: Option<Duration>,
        now: Instant,
    ) {
        // Those sent after it and still on the wire: the answer may not count them yet.
        let others = {
            let mut on_wire = self.on_wire.borrow_mut();
            let sent_at = on_wire.iter().find(|(s, _)| *s == seq).map(|(_, at)| *at);
            on_wire.retain(|(s, _)| *s != seq);
            let sent_at = sent_at.unwrap_or(now);
            on_wire
                .iter()
                .filter(|(s, at)| *s > seq || *at + REORDER > sent_at)
                .count()
        };
        if let Some(aimd) = self.aimd.borrow_mut().as_mut() {
            let signal = if is_throttle(status) {
                Signal::Throttled
            } else {
                Signal::Answered(rtt)
            };
            aimd.finished(signal, now);
        }
        if let Some(wait) = throttle {
            let until = now + wait;
            self.paused_until.set(Some(
                self.paused_until.get().map_or(until, |u| u.max(until)),
            ));
        }
        if let Some(budget) = budget {
            self.window
                .set(Some(next_window(self.window.get(), budget, others, now)));
        }
    }
}

/// The budget window after an answer announced `budget` with `others` requests sent after it
/// still on the wire: within the window already known, what is left only goes down (answers come back out of
/// order); a later reset starts a new window.
fn next_window(
    known: Option<(u64, Instant)>,
    budget: Budget,
    others: usize,
    now: Instant,
) -> (u64, Instant) {
    let left = budget.remaining.saturating_sub(others as u64);
    let ends = now + budget.reset;
    // "Whole again now" is about a window already over, not the one known to come.
    if let Some(known) = known
        && budget.reset.is_zero()
        && known.1 > now
    {
        return known;
    }
    match known {
        Some((known_left, known_ends)) if known_ends > now && ends <= known_ends + SAME_WINDOW => {
            (left.min(known_left), ends.max(known_ends))
        }
        _ => (left, ends),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn a_throttle_closes_the_pass_until_its_wait_is_over() {
        let now = Instant::now();
        let pacing = Pacing::new(Concurrency::Fixed(4), now);
        assert_eq!(pacing.limit(), 4);
        let first = pacing.start(now).seq;
        let second = pacing.start(now).seq;
        pacing.finished(first, (503, secs(0)), None, Some(secs(2)), now);
        assert_eq!(pacing.closed_until(now), Some(now + secs(2)));
        // A shorter wait later does not shorten the pause.
        pacing.finished(second, (429, secs(0)), None, Some(secs(1)), now);
        assert_eq!(pacing.closed_until(now + secs(1)), Some(now + secs(2)));
        assert_eq!(pacing.closed_until(now + secs(2)), None);
    }

    #[test]
    fn a_spent_budget_closes_the_pass_until_its_reset_counting_requests_on_the_wire() {
        let now = Instant::now();
        let pacing = Pacing::new(Concurrency::Fixed(4), now);
        let first = pacing.start(now).seq;
        pacing.start(now);
        pacing.start(now);
        // Two left as the first answer was written, and two sent after it still on the wire.
        let budget = Budget {
            remaining: 2,
            reset: secs(3),
        };
        pacing.finished(first, (200, secs(0)), Some(budget), None, now);
        assert_eq!(pacing.closed_until(now), Some(now + secs(3)));
        assert_eq!(pacing.closed_until(now + secs(3)), None);
        pacing.start(now + secs(3));
        assert_eq!(pacing.closed_until(now + secs(3)), None, "a new window");
    }

    #[test]
    fn each_start_takes_from_the_budget_and_stale_answers_do_not_give_it_back() {
        let start = Instant::now();
        let now = start + secs(1);
        let pacing = Pacing::new(Concurrency::Fixed(1), start);
        // Sent a second before the others: it reached the receiver before them.
        let early = pacing.start(start).seq;
        let first = pacing.start(now).seq;
        let budget = |remaining| Budget {
            remaining,
            reset: secs(10),
        };
        pacing.finished(first, (200, secs(0)), Some(budget(2)), None, now);
        pacing.start(now);
        assert_eq!(pacing.closed_until(now), None);
        pacing.start(now);
        assert_eq!(pacing.closed_until(now), Some(now + secs(10)));
        // An answer written earlier, with more left, arrives late: still spent.
        pacing.finished(early, (200, secs(0)), Some(budget(5)), None, now);
        assert!(pacing.closed_until(now).is_some());
        // One that says the budget is whole again now is about a window already over.
        let whole = Budget {
            remaining: 20,
            reset: secs(0),
        };
        pacing.finished(first + 1, (200, secs(0)), Some(whole), None, now);
        assert!(pacing.closed_until(now).is_some());
    }

    #[test]
    fn requests_sent_just_before_an_answered_one_count_against_its_budget() {
        let now = Instant::now();
        let pacing = Pacing::new(Concurrency::Fixed(4), now);
        pacing.start(now);
        let answered = pacing.start(now + Duration::from_millis(5)).seq;
        let budget = Budget {
            remaining: 1,
            reset: secs(5),
        };
        // The one sent 5 ms before may have overtaken it: nothing is left.
        pacing.finished(answered, (200, secs(0)), Some(budget), None, now);
        assert!(pacing.closed_until(now).is_some());
    }

    #[test]
    fn in_flight_counts_each_request_with_those_on_the_wire() {
        let now = Instant::now();
        let pacing = Pacing::new(Concurrency::Auto { max: 8 }, now);
        assert_eq!(pacing.limit(), 1);
        let first = pacing.start(now);
        assert_eq!((first.in_flight, first.limit), (1, 1));
        assert_eq!(pacing.start(now).in_flight, 2);
        pacing.finished(first.seq, (200, secs(0)), None, None, now);
        assert_eq!(pacing.start(now).in_flight, 2);
    }
}
