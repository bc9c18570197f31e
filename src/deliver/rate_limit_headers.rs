//! What a receiver announces of its rate limit: how many requests remain and when the budget
//! resets. Read from, in this order of preference:
//!
//! - `RateLimit: "default";r=50;t=30` (IETF httpapi ratelimit-headers, structured field: `r`
//!   remaining, `t` seconds to the reset; of several policies the one with the least left);
//! - `RateLimit: limit=100, remaining=50, reset=30` (its earlier drafts, one header);
//! - `RateLimit-Remaining` and `RateLimit-Reset` (its earlier drafts, separate headers);
//! - `X-RateLimit-Remaining` and `X-RateLimit-Reset` (the common form: the reset in seconds,
//!   or a Unix time when it is larger than `EPOCH_FROM`, in milliseconds above `EPOCH_MS_FROM`).
//!
//! `RateLimit-Policy` and the `*-Limit` headers say the quota, not what is left: they are not
//! needed to wait for a reset. Anything unreadable is ignored, never an error.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::HeaderMap;

/// A reset above this many seconds is a Unix time (2001-09-09), not a delay.
const EPOCH_FROM: u64 = 1_000_000_000;

/// A reset above this is a Unix time in milliseconds.
const EPOCH_MS_FROM: u64 = 1_000_000_000_000;

/// The longest reset honoured: a mistaken header must not stop a run for days.
const MAX_RESET: Duration = Duration::from_secs(3600);

/// What is left of the receiver's budget as its answer said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub remaining: u64,
    /// How long until the budget is whole again.
    pub reset: Duration,
}

/// The budget announced in `headers`, if any (at `now`, for a reset given as a Unix time).
pub fn budget(headers: &HeaderMap, now: SystemTime) -> Option<Budget> {
    let text = |name: &str| -> Option<&str> { headers.get(name)?.to_str().ok() };
    if let Some(value) = text("ratelimit")
        && let Some(found) = structured(value).or_else(|| draft_pairs(value, now))
    {
        return Some(found);
    }
    for prefix in ["ratelimit", "x-ratelimit"] {
        let remaining = text(&format!("{prefix}-remaining")).and_then(number);
        let reset = text(&format!("{prefix}-reset")).and_then(|v| reset_of(v, now));
        if let (Some(remaining), Some(reset)) = (remaining, reset) {
            return Some(Budget { remaining, reset });
        }
    }
    None
}

/// `"default";r=50;t=30, "burst";r=5;t=1`: the policy with the least remaining.
fn structured(value: &str) -> Option<Budget> {
    value
        .split(',')
        .filter_map(|member| {
            let mut remaining = None;
            let mut reset = Some(Duration::ZERO);
            for param in member.split(';').skip(1) {
                match param.trim().split_once('=') {
                    Some(("r", v)) => remaining = number(v),
                    Some(("t", v)) => reset = number(v).map(seconds),
                    _ => {}
                }
            }
            Some(Budget {
                remaining: remaining?,
                reset: reset?,
            })
        })
        .min_by_key(|b| (b.remaining, std::cmp::Reverse(b.reset)))
}

/// `limit=100, remaining=50, reset=30`.
fn draft_pairs(value: &str, now: SystemTime) -> Option<Budget> {
    let mut remaining = None;
    let mut reset = None;
    for pair in value.split([',', ';']) {
        match pair.trim().split_once('=') {
            Some(("remaining", v)) => remaining = number(v),
            Some(("reset", v)) => reset = reset_of(v, now),
            _ => {}
        }
    }
    Some(Budget {
        remaining: remaining?,
        reset: reset?,
    })
}

fn number(text: &str) -> Option<u64> {
    let text = text.trim().trim_matches('"');
    // Some receivers send a fraction ("1.5"): rounded up, so a reset is never early.
    match text.split_once('.') {
        Some((whole, fraction)) if fraction.bytes().all(|b| b.is_ascii_digit()) => {
            let whole: u64 = whole.parse().ok()?;
            Some(whole.saturating_add(u64::from(fraction.bytes().any(|b| b != b'0'))))
        }
        Some(_) => None,
        None => text.parse().ok(),
    }
}

fn seconds(n: u64) -> Duration {
    Duration::from_secs(n).min(MAX_RESET)
}

/// A reset in delay seconds, or as a Unix time (seconds or milliseconds) when that large.
fn reset_of(text: &str, now: SystemTime) -> Option<Duration> {
    let value = number(text)?;
    let since_epoch = now.duration_since(UNIX_EPOCH).ok()?;
    let delay = if value >= EPOCH_MS_FROM {
        Duration::from_millis(value).saturating_sub(since_epoch)
    } else if value >= EPOCH_FROM {
        Duration::from_secs(value).saturating_sub(since_epoch)
    } else {
        Duration::from_secs(value)
    };
    Some(delay.min(MAX_RESET))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                reqwest::header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        map
    }

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn left(remaining: u64, reset: u64) -> Option<Budget> {
        Some(Budget {
            remaining,
            reset: Duration::from_secs(reset),
        })
    }

    #[test]
    fn the_structured_field_gives_the_policy_with_least_left() {
        let now = at(1_700_000_000);
        let h = headers(&[("RateLimit", r#""default";r=50;t=30"#)]);
        assert_eq!(budget(&h, now), left(50, 30));
        let h = headers(&[
            ("RateLimit-Policy", r#""default";q=100;w=60"#),
            ("RateLimit", r#""day";r=900;t=3000, "burst";r=0;t=2"#),
        ]);
        assert_eq!(budget(&h, now), left(0, 2));
        // No t: the budget is whole again at once.
        let h = headers(&[("RateLimit", r#""default";r=3"#)]);
        assert_eq!(budget(&h, now), left(3, 0));
    }

    #[test]
    fn earlier_drafts_are_read_in_one_header_or_three() {
        let now = at(1_700_000_000);
        let h = headers(&[("RateLimit", "limit=100, remaining=0, reset=7")]);
        assert_eq!(budget(&h, now), left(0, 7));
        let h = headers(&[
            ("RateLimit-Limit", "100"),
            ("RateLimit-Remaining", "4"),
            ("RateLimit-Reset", "9"),
        ]);
        assert_eq!(budget(&h, now), left(4, 9));
    }

    #[test]
    fn x_ratelimit_reset_is_a_delay_or_a_unix_time() {
        let now = at(1_700_000_000);
        let h = headers(&[
            ("X-RateLimit-Limit", "20"),
            ("X-RateLimit-Remaining", "0"),
            ("X-RateLimit-Reset", "3"),
        ]);
        assert_eq!(budget(&h, now), left(0, 3));
        let h = headers(&[
            ("X-RateLimit-Remaining", "0"),
            ("X-RateLimit-Reset", "1700000005"),
        ]);
        assert_eq!(budget(&h, now), left(0, 5));
        let h = headers(&[
            ("X-RateLimit-Remaining", "2"),
            ("X-RateLimit-Reset", "1700000001500"),
        ]);
        assert_eq!(
            budget(&h, now),
            Some(Budget {
                remaining: 2,
                reset: Duration::from_millis(1500)
            })
        );
        // A reset in the past: whole again now.
        let h = headers(&[
            ("X-RateLimit-Remaining", "0"),
            ("X-RateLimit-Reset", "1600000000"),
        ]);
        assert_eq!(budget(&h, now), left(0, 0));
    }

    #[test]
    fn garbage_is_ignored_and_long_resets_are_capped() {
        let now = at(1_700_000_000);
        for pairs in [
            vec![("RateLimit", "lots")],
            vec![("RateLimit", r#""default";r=-1;t=3"#)],
            vec![("X-RateLimit-Remaining", "x"), ("X-RateLimit-Reset", "1")],
            vec![("X-RateLimit-Remaining", "1")],
            vec![("X-RateLimit-Remaining", "99999999999999999999999")],
            vec![("RateLimit-Reset", "1.x"), ("RateLimit-Remaining", "0")],
        ] {
            assert_eq!(budget(&headers(&pairs), now), None, "{pairs:?}");
        }
        let h = headers(&[("RateLimit", r#""d";r=0;t=99999999"#)]);
        assert_eq!(budget(&h, now), left(0, 3600));
        let h = headers(&[("X-RateLimit-Remaining", "0"), ("X-RateLimit-Reset", "1.2")]);
        assert_eq!(budget(&h, now), left(0, 2), "a fraction rounds up");
        assert_eq!(budget(&HeaderMap::new(), now), None);
    }
}
