//! `--concurrency auto`: how many requests may be in flight, adjusted to the receiver's answers
//! by additive increase and multiplicative decrease (AIMD), as Vector's adaptive request
//! concurrency does. Time is cut into periods of about one round trip; at the end of each:
//!
//! - a throttle signal during the period (429, 502, 503, 504, a timeout or a network error), or
//!   a mean round trip above the baseline by more than `DEVIATION_SCALE` mean deviations (and a
//!   tenth), cuts
//!   the limit to `DECREASE` of itself (at least one less, never below 1);
//! - otherwise, when the limit was reached during the period and its round trips stayed within
//!   one deviation (or a twentieth) of the baseline, the limit grows by 1 (never above MAX).
//!
//! The baseline is an exponentially weighted mean of the periods' round trips (and of their
//! deviation). A receiver that throttles at a fixed capacity would be probed again every other
//! period, each probe drawing a 429; so once a limit drew a throttle, growing past it again
//! waits `PROBE_AFTER` clean periods at first, twice as many after each throttle there, up to
//! `MAX_PROBE_AFTER`. Pure: the caller passes the time.

use std::time::{Duration, Instant};

/// The largest limit `auto` grows to when no MAX is given.
pub const DEFAULT_MAX: usize = 64;

/// What each cut leaves of the limit (Vector's default).
const DECREASE: f64 = 0.9;

/// Weight of the newest period in the baseline's moving means.
const EWMA_ALPHA: f64 = 0.4;

/// How many mean deviations above the baseline a period's mean round trip may be before it
/// counts as rising latency (Vector's default).
const DEVIATION_SCALE: f64 = 2.5;

/// The shortest period: below it, one slow answer is the whole sample.
const MIN_PERIOD: Duration = Duration::from_millis(10);

/// Clean periods before growing past a limit that drew a throttle, at first and at most.
const PROBE_AFTER: u32 = 8;
const MAX_PROBE_AFTER: u32 = 128;

/// What one finished attempt tells the controller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// An answer that is not a throttle: its round trip counts toward the latency.
    Answered(Duration),
    /// 429, 502, 503, 504, a timeout or a network error: the receiver is overloaded.
    Throttled,
}

/// Whether an attempt that got `status` (0: no response) is a throttle signal.
pub fn is_throttle(status: u16) -> bool {
    matches!(status, 0 | 429 | 502 | 503 | 504)
}

/// The AIMD limit of one sending pass.
#[derive(Debug)]
pub struct Aimd {
    limit: usize,
    max: usize,
    /// Moving mean of the periods' round trips (seconds), and of their deviation from it.
    baseline: Option<f64>,
    deviation: f64,
    period_start: Instant,
    /// This period's round trips: their sum (seconds) and count.
    rtt_sum: f64,
    rtt_count: u32,
    throttled: bool,
    reached_limit: bool,
    /// The lowest limit that drew a throttle, the clean periods since, and how many growing
    /// past it waits for.
    ceiling: Option<usize>,
    clean_periods: u32,
    probe_after: u32,
}

impl Aimd {
    /// A controller starting at a limit of 1, growing to `max` at most.
    pub fn new(max: usize, now: Instant) -> Aimd {
        Aimd {
            limit: 1,
            max: max.max(1),
            baseline: None,
            deviation: 0.0,
            period_start: now,
            rtt_sum: 0.0,
            rtt_count: 0,
            throttled: false,
            reached_limit: false,
            ceiling: None,
            clean_periods: 0,
            probe_after: PROBE_AFTER,
        }
    }

    /// How many requests may be in flight now.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// A request went out with `in_flight` requests (itself included) on the wire.
    pub fn started(&mut self, in_flight: usize) {
        if in_flight >= self.limit {
            self.reached_limit = true;
        }
    }

    /// An attempt finished at `now`: the limit may change when its period is over.
    pub fn finished(&mut self, signal: Signal, now: Instant) {
        match signal {
            Signal::Answered(rtt) => {
                self.rtt_sum += rtt.as_secs_f64();
                self.rtt_count += 1;
            }
            Signal::Throttled => self.throttled = true,
        }
        let period = self
            .baseline
            .map_or(MIN_PERIOD, Duration::from_secs_f64)
            .max(MIN_PERIOD);
        if now.saturating_duration_since(self.period_start) >= period {
            self.end_period(now);
        }
    }

    fn end_period(&mut self, now: Instant) {
        let current = (self.rtt_count > 0).then(|| self.rtt_sum / f64::from(self.rtt_count));
        let rising = match (current, self.baseline) {
            // A tenth of the baseline at least: steady answers have no deviation to scale.
            (Some(current), Some(base)) => {
                current > base + (DEVIATION_SCALE * self.deviation).max(base * 0.1)
            }
            _ => false,
        };
        if self.throttled || rising {
            self.cut();
        } else if let Some(current) = current {
            let steady = self
                .baseline
                .is_none_or(|base| current <= base + self.deviation.max(base * 0.05));
            if steady && self.reached_limit {
                self.grow();
            }
        }
        if let Some(current) = current {
            // The baseline follows the round trips, not a throttle's quick refusals.
            self.baseline = Some(match self.baseline {
                None => current,
                Some(base) => {
                    let gap = (current - base).abs();
                    self.deviation = EWMA_ALPHA * gap + (1.0 - EWMA_ALPHA) * self.deviation;
                    EWMA_ALPHA * current + (1.0 - EWMA_ALPHA) * base
                }
            });
        }
        self.period_start = now;
        self.rtt_sum = 0.0;
        self.rtt_count = 0;
        self.throttled = false;
        self.reached_limit = false;
    }

    fn cut(&mut self) {
        if self.throttled {
            // A throttle marks the limit it came at: growing to it again waits, twice as long
            // each time it throttles there again.
            self.probe_after = match self.ceiling {
                Some(_) => (self.probe_after * 2).min(MAX_PROBE_AFTER),
                None => PROBE_AFTER,
            };
            self.ceiling = Some(self.ceiling.map_or(self.limit, |c| c.min(self.limit)));
            self.clean_periods = 0;
        }
        let cut = (self.limit as f64 * DECREASE) as usize;
        self.limit = cut.min(self.limit.saturating_sub(1)).max(1);
    }

    fn grow(&mut self) {
        if let Some(ceiling) = self.ceiling {
            if self.limit >= ceiling {
                // A clean period at the limit that throttled: the receiver has room again.
                self.ceiling = None;
                self.probe_after = PROBE_AFTER;
            } else if self.limit + 1 >= ceiling {
                self.clean_periods += 1;
                if self.clean_periods < self.probe_after {
                    return;
                }
                self.clean_periods = 0;
            }
        }
        if self.limit >= self.max {
            return;
        }
        self.limit += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RTT: Duration = Duration::from_millis(50);

    /// One period at the limit: `limit` answers of `rtt` (or throttles), a period apart.
    fn period(aimd: &mut Aimd, now: &mut Instant, rtt: Duration, throttled: bool) {
        let limit = aimd.limit();
        aimd.started(limit);
        // A little over a round trip: a period is at least the baseline.
        *now += rtt.max(MIN_PERIOD) + Duration::from_millis(1);
        for n in 0..limit {
            let signal = if throttled && n == 0 {
                Signal::Throttled
            } else {
                Signal::Answered(rtt)
            };
            aimd.finished(signal, *now);
        }
    }

    #[test]
    fn steady_round_trips_grow_the_limit_by_one_a_period_up_to_max() {
        let mut now = Instant::now();
        let mut aimd = Aimd::new(8, now);
        assert_eq!(aimd.limit(), 1);
        for expected in 2..=8 {
            period(&mut aimd, &mut now, RTT, false);
            assert_eq!(aimd.limit(), expected);
        }
        for _ in 0..5 {
            period(&mut aimd, &mut now, RTT, false);
        }
        assert_eq!(aimd.limit(), 8, "never above max");
    }

    #[test]
    fn the_limit_grows_only_when_it_was_reached() {
        let mut now = Instant::now();
        let mut aimd = Aimd::new(8, now);
        period(&mut aimd, &mut now, RTT, false);
        assert_eq!(aimd.limit(), 2);
        // A period with one request in flight of two allowed: no reason to allow more.
        aimd.started(1);
        now += RTT;
        aimd.finished(Signal::Answered(RTT), now);
        assert_eq!(aimd.limit(), 2);
    }

    #[test]
    fn a_throttle_cuts_the_limit_at_least_by_one_never_below_one() {
        let mut now = Instant::now();
        let mut aimd = Aimd::new(64, now);
        for _ in 0..29 {
            period(&mut aimd, &mut now, RTT, false);
        }
        assert_eq!(aimd.limit(), 30);
        period(&mut aimd, &mut now, RTT, true);
        assert_eq!(aimd.limit(), 27, "30 x 0.9");
        for _ in 0..60 {
            period(&mut aimd, &mut now, RTT, true);
        }
        assert_eq!(aimd.limit(), 1);
    }

    #[test]
    fn rising_latency_cuts_the_limit() {
        let mut now = Instant::now();
        let mut aimd = Aimd::new(64, now);
        for _ in 0..9 {
            period(&mut aimd, &mut now, RTT, false);
        }
        assert_eq!(aimd.limit(), 10);
        period(&mut aimd, &mut now, RTT * 4, false);
        assert_eq!(aimd.limit(), 9);
    }

    #[test]
    fn growing_past_a_limit_that_drew_a_throttle_waits_longer_each_time() {
        let mut now = Instant::now();
        let mut aimd = Aimd::new(64, now);
        // A receiver with room for 6: a seventh in flight draws a 429.
        let mut throttles = 0;
        let mut periods = 0;
        for _ in 0..400 {
            let over = aimd.limit() > 6;
            throttles += usize::from(over);
            periods += 1;
            period(&mut aimd, &mut now, RTT, over);
            assert!(aimd.limit() <= 7);
        }
        // Without the wait, every other period would probe and draw a 429.
        assert!(throttles <= 8, "{throttles} throttles in {periods} periods");
        assert_eq!(aimd.limit(), 6);
    }

    #[test]
    fn throttles_are_the_overload_statuses_and_no_answer() {
        for status in [0, 429, 502, 503, 504] {
            assert!(is_throttle(status), "{status}");
        }
        for status in [200, 400, 408, 500, 501] {
            assert!(!is_throttle(status), "{status}");
        }
    }
}
