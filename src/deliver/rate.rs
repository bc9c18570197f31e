//! `--rate`: a token bucket that holds one token, so requests (retries included) go out evenly
//! spaced, never more than R per period. A bucket of one is the simplest that keeps a quota at
//! every point in time, not only on average: receivers count requests per sliding second.

use std::cell::Cell;
use std::time::{Duration, Instant};

/// Requests per period, as given (`10/s`, `600/m`, `1/2s`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub requests: u32,
    pub per: Duration,
}

impl Rate {
    /// Parses `N/s`, `N/m`, `N/h` or `N/DURATION` (`5/10s`).
    pub fn parse(text: &str) -> Result<Rate, String> {
        let bad = || format!("{text:?} is not a rate: write requests per period, as 10/s or 600/m");
        let (count, period) = text.trim().split_once('/').ok_or_else(bad)?;
        let requests: u32 = count.trim().parse().map_err(|_| bad())?;
        if requests == 0 {
            return Err(format!("{text:?}: the rate must be more than 0 requests"));
        }
        let per = match period.trim() {
            "s" | "sec" | "second" => Duration::from_secs(1),
            "m" | "min" | "minute" => Duration::from_secs(60),
            "h" | "hour" => Duration::from_secs(3600),
            other => super::retry::parse_duration(other).map_err(|_| bad())?,
        };
        if per.is_zero() {
            return Err(bad());
        }
        Ok(Rate { requests, per })
    }

    /// The time between two requests.
    pub fn interval(&self) -> Duration {
        self.per / self.requests
    }
}

/// Hands out turns to send, one per interval. Single-threaded: the sender's runtime asks.
pub struct RateLimiter {
    interval: Duration,
    /// When the next request may go; None before the first.
    next: Cell<Option<Instant>>,
}

impl RateLimiter {
    pub fn new(rate: Rate) -> RateLimiter {
        RateLimiter {
            interval: rate.interval(),
            next: Cell::new(None),
        }
    }

    /// Takes the next turn and waits for it. Returns false if interrupted while waiting.
    pub async fn wait_turn(&self) -> bool {
        let now = Instant::now();
        // A turn not taken in time is not saved up: the bucket holds one token.
        let turn = self.next.get().map_or(now, |next| next.max(now));
        self.next.set(Some(turn + self.interval));
        if turn <= now {
            return !crate::signals::interrupted();
        }
        crate::signals::sleep_async(turn - now).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_per_period() {
        let r = Rate::parse("10/s").unwrap();
        assert_eq!(r.interval(), Duration::from_millis(100));
        assert_eq!(
            Rate::parse("600/m").unwrap().interval(),
            Duration::from_millis(100)
        );
        assert_eq!(
            Rate::parse("5/10s").unwrap().interval(),
            Duration::from_secs(2)
        );
        assert_eq!(
            Rate::parse("1/h").unwrap().interval(),
            Duration::from_secs(3600)
        );
        for bad in [
            "",
            "10",
            "0/s",
            "x/s",
            "10/",
            "10/fortnight",
            "-1/s",
            "10/0s",
        ] {
            assert!(Rate::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn turns_are_spaced_by_the_interval_and_not_saved_up() {
        let limiter = RateLimiter::new(Rate::parse("100/s").unwrap());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let start = Instant::now();
            for _ in 0..5 {
                assert!(limiter.wait_turn().await);
            }
            // Five turns: the first at once, then four intervals of 10 ms.
            assert!(start.elapsed() >= Duration::from_millis(40));
            // After a pause, one turn at once, not a burst of the missed ones.
            tokio::time::sleep(Duration::from_millis(50)).await;
            let resumed = Instant::now();
            assert!(limiter.wait_turn().await);
            assert!(limiter.wait_turn().await);
            assert!(resumed.elapsed() >= Duration::from_millis(10));
        });
    }
}
