//! Points in time as users write them (`--since`, `--older-than`) and as the log shows them. The
//! log stores milliseconds since the Unix epoch, UTC.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Parses a point in time: a date (`2026-11-01`, midnight UTC), an RFC 3339 timestamp
/// (`2026-11-01T12:00:00Z`, `2026-11-01 12:00:00`, `2026-11-01T12:00:00+02:00`), or an age
/// before `now_ms` (`2h`, `7d`, `30d`, `1week`). Returns milliseconds since the epoch.
pub fn parse_point(text: &str, now_ms: i64) -> Result<i64, String> {
    let text = text.trim();
    if let Ok(age) = humantime::parse_duration(text) {
        return Ok(now_ms.saturating_sub(age.as_millis() as i64));
    }
    parse_timestamp(text).ok_or_else(|| {
        format!("{text:?} is not a date (2026-11-01), an RFC 3339 time or an age (2h, 7d)")
    })
}

fn parse_timestamp(text: &str) -> Option<i64> {
    if text.len() == "2026-11-01".len() {
        return parse_utc(&format!("{text}T00:00:00Z"));
    }
    // humantime reads UTC only: take a numeric offset off and apply it ourselves.
    let (base, offset_secs) = split_offset(text);
    let utc = parse_utc(base)?;
    Some(utc - offset_secs * 1000)
}

fn parse_utc(text: &str) -> Option<i64> {
    let time = humantime::parse_rfc3339_weak(text.trim_end_matches('Z')).ok()?;
    Some(time.duration_since(UNIX_EPOCH).ok()?.as_millis() as i64)
}

/// `2026-11-01T12:00:00+02:00` -> (`2026-11-01T12:00:00`, 7200).
fn split_offset(text: &str) -> (&str, i64) {
    if text.len() > 6 {
        let (base, tail) = text.split_at(text.len() - 6);
        let b = tail.as_bytes();
        if (b[0] == b'+' || b[0] == b'-') && b[3] == b':' && base.len() >= 19 {
            let hours: i64 = tail[1..3].parse().unwrap_or(0);
            let minutes: i64 = tail[4..6].parse().unwrap_or(0);
            let sign = if b[0] == b'-' { -1 } else { 1 };
            return (base, sign * (hours * 3600 + minutes * 60));
        }
    }
    (text, 0)
}

fn system_time(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms.clamp(0, LAST_SHOWN_MS) as u64)
}

/// 9999-12-31T23:59:59.999Z: humantime formats no later time (a damaged log's times are
/// shown as this, never a panic).
const LAST_SHOWN_MS: i64 = 253_402_300_799_999;

/// `2026-11-01T12:00:03Z`, for people.
pub fn show(ms: i64) -> String {
    humantime::format_rfc3339_seconds(system_time(ms)).to_string()
}

/// `2026-11-01T12:00:03.123Z`, for `--json`.
pub fn show_ms(ms: i64) -> String {
    humantime::format_rfc3339_millis(system_time(ms)).to_string()
}

/// A duration in milliseconds, short: `12ms`, `1.20s`.
pub fn show_duration(ms: i64) -> String {
    if ms < 1000 {
        format!("{ms}ms")
    } else {
        format!("{:.2}s", ms as f64 / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOV_1: i64 = 1_793_491_200_000; // 2026-11-01T00:00:00Z

    #[test]
    fn dates_and_timestamps() {
        assert_eq!(parse_point("2026-11-01", 0).unwrap(), NOV_1);
        assert_eq!(parse_point("2026-11-01T00:00:00Z", 0).unwrap(), NOV_1);
        assert_eq!(
            parse_point("2026-11-01 01:00:00", 0).unwrap(),
            NOV_1 + 3_600_000
        );
        assert_eq!(parse_point("2026-11-01T02:00:00+02:00", 0).unwrap(), NOV_1);
        assert_eq!(
            parse_point("2026-11-01T00:00:00.500Z", 0).unwrap(),
            NOV_1 + 500
        );
    }

    #[test]
    fn ages_count_back_from_now() {
        assert_eq!(parse_point("2h", NOV_1).unwrap(), NOV_1 - 7_200_000);
        assert_eq!(parse_point("7d", NOV_1).unwrap(), NOV_1 - 7 * 86_400_000);
    }

    #[test]
    fn nonsense_is_refused() {
        assert!(parse_point("yesterday", 0).is_err());
        assert!(parse_point("2026-13-01", 0).is_err());
        assert!(parse_point("", 0).is_err());
    }

    #[test]
    fn shows_utc() {
        assert_eq!(show(NOV_1), "2026-11-01T00:00:00Z");
        assert_eq!(show_ms(NOV_1 + 5), "2026-11-01T00:00:00.005Z");
        assert_eq!(show_duration(12), "12ms");
        assert_eq!(show_duration(1200), "1.20s");
    }
}
