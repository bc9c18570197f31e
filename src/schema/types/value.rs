//! Operations on cast values: Python's comparison and equality, hashing consistent with that
//! equality (for unique and primary-key checks), and JSON output.

use std::cmp::Ordering;
use std::io::Write as _;

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike};

use super::number::Dec;
use super::{CellValue, Stamp};
use crate::json_out::write_json_string;

/// Seconds since midnight shifted to UTC, the basis of Python's aware-time comparison.
fn time_key(t: &Stamp<NaiveTime>) -> (i64, u32) {
    let secs = t.local.num_seconds_from_midnight() as i64 - t.offset.unwrap_or(0) as i64;
    (secs, t.local.nanosecond())
}

fn datetime_key(t: &Stamp<NaiveDateTime>) -> NaiveDateTime {
    match t.offset {
        Some(offset) => t.local - chrono::Duration::seconds(offset as i64),
        None => t.local,
    }
}

impl CellValue<'_> {
    /// Ordering for minimum/maximum. `None` means the bound check fails (NaN).
    /// Python refuses to order naive against aware times; pulse compares their clock values.
    pub fn compare(&self, other: &CellValue) -> Option<Ordering> {
        match (self, other) {
            (CellValue::Num(a), CellValue::Num(b)) => a.partial_cmp(b),
            (CellValue::Str(a), CellValue::Str(b)) => Some(a.cmp(b)),
            (CellValue::Bool(a), CellValue::Bool(b)) => Some(a.cmp(b)),
            // Objects and arrays are equal or not (an object's keys in any order), never ordered.
            (CellValue::Json(a), CellValue::Json(b)) => (a == b).then_some(Ordering::Equal),
            (CellValue::Date(a), CellValue::Date(b)) => Some(a.cmp(b)),
            (CellValue::DateTime(a), CellValue::DateTime(b)) => match (a.offset, b.offset) {
                (Some(_), Some(_)) => Some(datetime_key(a).cmp(&datetime_key(b))),
                _ => Some(a.local.cmp(&b.local)),
            },
            (CellValue::Time(a), CellValue::Time(b)) => match (a.offset, b.offset) {
                (Some(_), Some(_)) => Some(time_key(a).cmp(&time_key(b))),
                _ => Some(a.local.cmp(&b.local)),
            },
            _ => None,
        }
    }

    /// Python's `==`: NaN equals nothing, naive and aware times are never equal.
    pub fn equals(&self, other: &CellValue) -> bool {
        match (self, other) {
            (CellValue::Num(Dec::NaN), _) | (_, CellValue::Num(Dec::NaN)) => false,
            (CellValue::DateTime(a), CellValue::DateTime(b))
                if a.offset.is_some() != b.offset.is_some() =>
            {
                false
            }
            (CellValue::Time(a), CellValue::Time(b))
                if a.offset.is_some() != b.offset.is_some() =>
            {
                false
            }
            _ => self.compare(other) == Some(Ordering::Equal),
        }
    }

    /// Whether the value can ever equal another one (NaN cannot, so it is never a duplicate).
    pub fn is_hashable(&self) -> bool {
        !matches!(self, CellValue::Num(Dec::NaN))
    }

    /// Appends a byte representation that is equal exactly when `equals` says so (hashed by
    /// the caller).
    pub fn encode_key(&self, h: &mut Vec<u8>) {
        match self {
            CellValue::Str(s) => {
                h.extend_from_slice(&[1]);
                h.extend_from_slice(&(s.len() as u64).to_le_bytes());
                h.extend_from_slice(s.as_bytes());
            }
            CellValue::Num(Dec::Finite { neg, coeff, exp }) => {
                h.extend_from_slice(&[2, *neg as u8]);
                h.extend_from_slice(&coeff.to_le_bytes());
                h.extend_from_slice(&exp.to_le_bytes());
            }
            CellValue::Num(Dec::Inf { neg }) => h.extend_from_slice(&[3, *neg as u8]),
            CellValue::Num(Dec::NaN) => h.extend_from_slice(&[4]),
            CellValue::Bool(b) => h.extend_from_slice(&[5, *b as u8]),
            CellValue::Date(d) => {
                h.extend_from_slice(&[6]);
                h.extend_from_slice(&d.num_days_from_ce().to_le_bytes());
            }
            CellValue::DateTime(t) => {
                let k = datetime_key(t);
                h.extend_from_slice(&[7, t.offset.is_some() as u8]);
                h.extend_from_slice(&k.and_utc().timestamp().to_le_bytes());
                h.extend_from_slice(&k.nanosecond().to_le_bytes());
            }
            CellValue::Time(t) => {
                let (secs, nanos) = time_key(t);
                h.extend_from_slice(&[8, t.offset.is_some() as u8]);
                h.extend_from_slice(&secs.to_le_bytes());
                h.extend_from_slice(&nanos.to_le_bytes());
            }
            CellValue::Json(v) => {
                h.push(9);
                encode_json_key(v, h);
            }
        }
    }

    /// JSON for a cast value: numbers and booleans bare, temporal values as ISO 8601 text.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        // Writing into a Vec cannot fail, hence the ignored results.
        match self {
            CellValue::Str(s) => write_json_string(out, s),
            CellValue::Num(d) => d.write_json(out),
            CellValue::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
            CellValue::Date(d) => {
                out.push(b'"');
                write_date(out, d);
                out.push(b'"');
            }
            CellValue::DateTime(t) => {
                out.push(b'"');
                write_date(out, &t.local.date());
                out.push(b'T');
                write_time(out, &t.local.time());
                write_offset(out, t.offset);
            }
            CellValue::Time(t) => {
                out.push(b'"');
                write_time(out, &t.local);
                write_offset(out, t.offset);
            }
            CellValue::Json(v) => {
                serde_json::to_writer(&mut *out, v).expect("a JSON value serializes")
            }
        }
    }
}

/// A JSON value's bytes for keys: equal exactly when the values are (an object's keys sorted,
/// as objects are equal whatever their order).
fn encode_json_key(value: &serde_json::Value, h: &mut Vec<u8>) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            h.push(b'{');
            for (key, value) in entries {
                write_json_string(h, key);
                h.push(b':');
                encode_json_key(value, h);
                h.push(b',');
            }
            h.push(b'}');
        }
        Value::Array(items) => {
            h.push(b'[');
            for item in items {
                encode_json_key(item, h);
                h.push(b',');
            }
            h.push(b']');
        }
        other => {
            serde_json::to_writer(&mut *h, other).expect("a JSON value serializes");
        }
    }
}

/// `YYYY-MM-DD`. Digits are written by hand: `write!` costs more than the rest of a row's
/// casting together.
fn write_date(out: &mut Vec<u8>, d: &NaiveDate) {
    match u32::try_from(d.year()) {
        Ok(year) => write_padded(out, year, 4),
        Err(_) => {
            let _ = write!(out, "{:04}", d.year());
        }
    }
    out.push(b'-');
    write_padded(out, d.month(), 2);
    out.push(b'-');
    write_padded(out, d.day(), 2);
}

/// `HH:MM:SS`, plus `.ffffff` only when there are microseconds.
fn write_time(out: &mut Vec<u8>, t: &NaiveTime) {
    write_padded(out, t.hour(), 2);
    out.push(b':');
    write_padded(out, t.minute(), 2);
    out.push(b':');
    write_padded(out, t.second(), 2);
    let micros = t.nanosecond() / 1000;
    if micros != 0 {
        out.push(b'.');
        write_padded(out, micros, 6);
    }
}

/// `value` in at least `width` decimal digits, zero-padded.
fn write_padded(out: &mut Vec<u8>, mut value: u32, width: usize) {
    if u64::from(value) >= 10u64.pow(width as u32) {
        let _ = write!(out, "{value:0width$}");
        return;
    }
    let start = out.len();
    out.resize(start + width, b'0');
    for digit in out[start..].iter_mut().rev() {
        *digit = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

fn write_offset(out: &mut Vec<u8>, offset: Option<i32>) {
    match offset {
        None => {}
        Some(0) => out.push(b'Z'),
        Some(o) => {
            let sign = if o < 0 { '-' } else { '+' };
            let o = o.unsigned_abs();
            let _ = write!(out, "{sign}{:02}:{:02}", o / 3600, o % 3600 / 60);
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padded_digits_match_format() {
        for (value, width) in [
            (0, 2),
            (7, 2),
            (59, 2),
            (2024, 4),
            (12, 4),
            (123456, 6),
            (5, 6),
        ] {
            let mut out = Vec::new();
            write_padded(&mut out, value, width);
            assert_eq!(String::from_utf8(out).unwrap(), format!("{value:0width$}"));
        }
        // More digits than the width (a leap second's microseconds): all of them.
        let mut out = Vec::new();
        write_padded(&mut out, 1_000_500, 6);
        assert_eq!(out, b"1000500");
    }

    #[test]
    fn dates_and_times_as_iso_text() {
        let mut out = Vec::new();
        write_date(&mut out, &NaiveDate::from_ymd_opt(987, 3, 4).unwrap());
        out.push(b' ');
        write_date(&mut out, &NaiveDate::from_ymd_opt(-44, 3, 15).unwrap());
        out.push(b' ');
        write_time(
            &mut out,
            &NaiveTime::from_hms_micro_opt(7, 8, 9, 42).unwrap(),
        );
        out.push(b' ');
        write_time(&mut out, &NaiveTime::from_hms_opt(23, 59, 1).unwrap());
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "0987-03-04 -044-03-15 07:08:09.000042 23:59:01"
        );
    }
}
