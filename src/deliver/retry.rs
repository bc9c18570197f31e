//! When to try a batch again: the verdict on a status (with `--success-on`/`--retry-on`), the
//! retry schedule, jitter, and `Retry-After`.

use std::ops::RangeInclusive;
use std::time::{Duration, SystemTime};

/// How an attempt ended, as far as retrying is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// 2xx: the batch is delivered.
    Delivered,
    /// Worth another try (network error, timeout, 408, 429, 5xx), with the server's Retry-After if any.
    Retryable { retry_after: Option<Duration> },
    /// Give up on this batch now (other 4xx, 3xx).
    Fatal,
    /// 410: the endpoint is gone; stop at once.
    Gone,
}

/// Classifies an HTTP status (0 = no response) into a retry verdict.
pub fn classify(status: u16, retry_after: Option<Duration>) -> Verdict {
    match status {
        200..=299 => Verdict::Delivered,
        0 | 408 | 429 | 500..=599 => Verdict::Retryable {
            retry_after: if matches!(status, 429 | 503) {
                retry_after
            } else {
                None
            },
        },
        410 => Verdict::Gone,
        _ => Verdict::Fatal,
    }
}

/// The statuses a user moved from their default verdict: `--success-on` (counted as delivered,
/// e.g. 409 from an idempotent receiver) and `--retry-on` (tried again, e.g. 425). Others keep
/// `classify`'s verdict.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusPolicy {
    pub success: Vec<RangeInclusive<u16>>,
    pub retry: Vec<RangeInclusive<u16>>,
}

impl StatusPolicy {
    /// Both lists, refused where they overlap (a status cannot be both).
    pub fn new(
        success: Vec<RangeInclusive<u16>>,
        retry: Vec<RangeInclusive<u16>>,
    ) -> Result<StatusPolicy, String> {
        // A 2xx is delivered: retrying it would send the batch until the retries run out.
        if let Some(range) = retry.iter().find(|r| *r.start() <= 299 && *r.end() >= 200) {
            let status = (*range.start()).max(200);
            return Err(format!(
                "--retry-on cannot list {status}: a 2xx status means delivered"
            ));
        }
        for a in &success {
            if let Some(b) = retry
                .iter()
                .find(|b| a.start() <= b.end() && b.start() <= a.end())
            {
                let both = (*a.start()).max(*b.start());
                return Err(format!(
                    "status {both} is in both --success-on and --retry-on"
                ));
            }
        }
        Ok(StatusPolicy { success, retry })
    }

    /// The verdict on `status` (0: no response, which is always retried).
    pub fn classify(&self, status: u16, retry_after: Option<Duration>) -> Verdict {
        let listed = |list: &[RangeInclusive<u16>]| list.iter().any(|r| r.contains(&status));
        if status != 0 && listed(&self.success) {
            return Verdict::Delivered;
        }
        if status != 0 && listed(&self.retry) {
            // A status the user asked to retry: its Retry-After is meant too.
            return Verdict::Retryable { retry_after };
        }
        classify(status, retry_after)
    }
}

/// Parses a status list such as `409`, `500-599` or `409,425,502-504` (statuses 100 to 599).
pub fn parse_status_list(text: &str) -> Result<Vec<RangeInclusive<u16>>, String> {
    let status = |part: &str| -> Result<u16, String> {
        match part.trim().parse::<u16>() {
            Ok(code @ 100..=599) => Ok(code),
            _ => Err(format!(
                "{:?} is not an HTTP status (100 to 599)",
                part.trim()
            )),
        }
    };
    text.split(',')
        .map(|part| match part.split_once('-') {
            Some((from, to)) => {
                let (from, to) = (status(from)?, status(to)?);
                if from > to {
                    return Err(format!("{:?}: the range runs backwards", part.trim()));
                }
                Ok(from..=to)
            }
            None => status(part).map(|code| code..=code),
        })
        .collect()
}

/// Parses a `Retry-After` value: delay seconds or an HTTP date.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // More seconds than a u64 holds is still "later than any cap": clamped by the policy.
        return Some(Duration::from_secs(
            value.parse::<u64>().unwrap_or(u64::MAX),
        ));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The retry schedule of one run.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Delays before retry 1, 2, ...; the last one repeats.
    pub schedule: Vec<Duration>,
    /// How many retries after the first try.
    pub max_retries: u32,
    /// Upper bound on an honoured Retry-After.
    pub max_retry_after: Duration,
    /// ±fraction of random jitter on scheduled delays (0.2 = ±20%).
    pub jitter: f64,
}

impl RetryPolicy {
    /// The wait before retry number `retry` (1-based), or None when retries are used up.
    /// Never shorter than the server's Retry-After (capped by `max_retry_after`).
    pub fn delay_before(&self, retry: u32, retry_after: Option<Duration>) -> Option<Duration> {
        if retry == 0 || retry > self.max_retries || self.schedule.is_empty() {
            return None;
        }
        let base = self.schedule[(retry as usize - 1).min(self.schedule.len() - 1)];
        let jittered = if self.jitter > 0.0 {
            let factor = 1.0 + self.jitter * (2.0 * rand::random::<f64>() - 1.0);
            base.mul_f64(factor)
        } else {
            base
        };
        Some(match retry_after {
            Some(asked) => jittered.max(asked.min(self.max_retry_after)),
            None => jittered,
        })
    }
}

/// Parses `1s,5s,30s` into durations.
pub fn parse_schedule(text: &str) -> Result<Vec<Duration>, String> {
    text.split(',')
        .map(|part| parse_duration(part.trim()))
        .collect()
}

/// The longest duration a flag takes: longer ones are surely mistakes, and jitter arithmetic
/// on them would overflow.
pub const MAX_DURATION: Duration = Duration::from_secs(7 * 24 * 3600);

/// Parses one duration such as `100ms`, `30s`, `2m`, `1h`, `7d` (at most `MAX_DURATION`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let duration =
        humantime::parse_duration(text).map_err(|e| format!("{text:?} is not a duration ({e})"))?;
    if duration > MAX_DURATION {
        return Err(format!("{text:?} is longer than the most allowed, 7d"));
    }
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_capped_and_retry_after_is_clamped_not_ignored() {
        assert!(parse_duration("18446744073709551615s").is_err());
        assert!(parse_duration("99999999999999d").is_err());
        assert_eq!(parse_duration("7d").unwrap(), MAX_DURATION);
        let huge = parse_retry_after("99999999999999999999999", SystemTime::now());
        let policy = policy("1s", 3);
        assert_eq!(policy.delay_before(1, huge), Some(Duration::from_secs(600)));
    }

    fn policy(schedule: &str, retries: u32) -> RetryPolicy {
        RetryPolicy {
            schedule: parse_schedule(schedule).unwrap(),
            max_retries: retries,
            max_retry_after: Duration::from_secs(600),
            jitter: 0.0,
        }
    }

    #[test]
    fn classification_follows_the_spec() {
        assert_eq!(classify(200, None), Verdict::Delivered);
        assert_eq!(classify(204, None), Verdict::Delivered);
        for status in [0, 408, 429, 500, 502, 503, 504] {
            assert!(matches!(classify(status, None), Verdict::Retryable { .. }));
        }
        for status in [301, 302, 400, 401, 403, 404, 422] {
            assert_eq!(classify(status, None), Verdict::Fatal, "{status}");
        }
        assert_eq!(classify(410, None), Verdict::Gone);
    }

    #[test]
    fn status_lists_move_statuses_from_their_default_verdict() {
        let policy = StatusPolicy::new(
            parse_status_list("409").unwrap(),
            parse_status_list("425,520-530").unwrap(),
        )
        .unwrap();
        assert_eq!(policy.classify(409, None), Verdict::Delivered);
        let ra = Some(Duration::from_secs(2));
        assert_eq!(
            policy.classify(425, ra),
            Verdict::Retryable { retry_after: ra }
        );
        assert_eq!(
            policy.classify(525, ra),
            Verdict::Retryable { retry_after: ra }
        );
        assert_eq!(policy.classify(422, None), Verdict::Fatal);
        assert_eq!(policy.classify(200, None), Verdict::Delivered);
        assert!(matches!(
            policy.classify(0, None),
            Verdict::Retryable { .. }
        ));
        let lenient = StatusPolicy::new(parse_status_list("500-599").unwrap(), vec![]).unwrap();
        assert_eq!(lenient.classify(503, None), Verdict::Delivered);
    }

    #[test]
    fn status_lists_are_checked() {
        assert_eq!(parse_status_list("409").unwrap(), vec![409..=409]);
        assert_eq!(
            parse_status_list(" 409 , 500-599").unwrap(),
            vec![409..=409, 500..=599]
        );
        for bad in ["", "abc", "99", "600", "599-500", "4xx", "409-"] {
            assert!(parse_status_list(bad).is_err(), "{bad}");
        }
        let err = StatusPolicy::new(
            parse_status_list("400-410").unwrap(),
            parse_status_list("409").unwrap(),
        )
        .unwrap_err();
        assert!(err.contains("409"), "{err}");
    }

    #[test]
    fn retry_after_only_counts_on_429_and_503() {
        let ra = Some(Duration::from_secs(3));
        assert_eq!(classify(503, ra), Verdict::Retryable { retry_after: ra });
        assert_eq!(classify(500, ra), Verdict::Retryable { retry_after: None });
    }

    #[test]
    fn last_delay_repeats_and_retries_cap() {
        let p = policy("100ms,1s", 4);
        let d: Vec<_> = (1..=5).map(|n| p.delay_before(n, None)).collect();
        assert_eq!(d[0], Some(Duration::from_millis(100)));
        assert_eq!(d[2], Some(Duration::from_secs(1)));
        assert_eq!(d[3], Some(Duration::from_secs(1)));
        assert_eq!(d[4], None);
        assert_eq!(policy("1s", 0).delay_before(1, None), None);
    }

    #[test]
    fn retry_after_is_honoured_and_capped() {
        let mut p = policy("100ms", 3);
        let ra = Some(Duration::from_secs(2));
        assert_eq!(p.delay_before(1, ra), Some(Duration::from_secs(2)));
        p.max_retry_after = Duration::from_secs(1);
        assert_eq!(p.delay_before(1, ra), Some(Duration::from_secs(1)));
    }

    #[test]
    fn jitter_stays_within_bounds() {
        let mut p = policy("10s", 1);
        p.jitter = 0.2;
        for _ in 0..200 {
            let d = p.delay_before(1, None).unwrap();
            assert!(
                d >= Duration::from_secs(8) && d <= Duration::from_secs(12),
                "{d:?}"
            );
        }
    }

    #[test]
    fn retry_after_parses_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        let date = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(parse_retry_after(&date, now), Some(Duration::from_secs(30)));
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
