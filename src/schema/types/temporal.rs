//! Dates, datetimes and times in frictionless-py's default formats.
//!
//! frictionless reads default dates with `strptime("%Y-%m-%d")` (see `strptime.rs`) and
//! default datetimes and times with dateutil's `isoparse`, after a guard on the position of
//! the `:` between minutes and seconds. `isoparse` is reproduced step by step here, quirks
//! included (any single separator character, week dates, `24:00:00`), because its quirks
//! decide which cells are type errors.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime};

/// A parsed moment; `offset` is the UTC offset in seconds when the text carried one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp<T> {
    pub local: T,
    pub offset: Option<i32>,
}

/// Python's `int()` on a short ASCII slice (dateutil calls it on 1–4 character slices).
fn int(s: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(s).ok()?;
    let dec = super::number::parse_py_int(text)?;
    match dec {
        super::number::Dec::Finite { neg, coeff, exp } if exp < 10 => {
            let v = i64::try_from(coeff).ok()? * 10i64.checked_pow(exp as u32)?;
            Some(if neg { -v } else { v })
        }
        _ => None,
    }
}

/// Python slicing: out-of-range bounds are clamped, never an error.
fn sl(s: &[u8], from: usize, to: usize) -> &[u8] {
    &s[from.min(s.len())..to.min(s.len())]
}

pub fn ymd(y: i64, m: i64, d: i64) -> Option<NaiveDate> {
    if !(1..=9999).contains(&y) {
        return None;
    }
    NaiveDate::from_ymd_opt(y as i32, u32::try_from(m).ok()?, u32::try_from(d).ok()?)
}

/// frictionless `datetime` with format "default".
pub fn parse_default_datetime(cell: &str) -> Option<Stamp<NaiveDateTime>> {
    let s = cell.as_bytes();
    if !cell.is_ascii() || s.len() < 19 || s[16] != b':' {
        return None;
    }
    let (date, pos) = parse_isodate_common(s).or_else(|| parse_isodate_uncommon(s))?;
    let (y, m, d) = date;
    if pos >= s.len() {
        return Some(Stamp {
            local: ymd(y, m, d)?.and_hms_opt(0, 0, 0)?,
            offset: None,
        });
    }
    let t = parse_isotime(&s[pos + 1..])?;
    let day = ymd(y, m, d)?;
    let (local, next_day) = t.to_time()?;
    let mut local = day.and_time(local);
    if next_day {
        local = local.checked_add_signed(Duration::days(1))?;
        if local.year() > 9999 {
            return None;
        }
    }
    Some(Stamp {
        local,
        offset: t.offset,
    })
}

/// frictionless `time` with format "default": `isoparse("2000-01-01T" + cell).timetz()`.
pub fn parse_default_time(cell: &str) -> Option<Stamp<NaiveTime>> {
    let s = cell.as_bytes();
    if !cell.is_ascii() || s.len() < 8 || s[5] != b':' {
        return None;
    }
    let t = parse_isotime(s)?;
    let (local, _) = t.to_time()?;
    Some(Stamp {
        local,
        offset: t.offset,
    })
}

type Ymd = (i64, i64, i64);

fn parse_isodate_common(s: &[u8]) -> Option<(Ymd, usize)> {
    let year = int(sl(s, 0, 4))?;
    let mut pos = 4;
    if pos >= s.len() {
        return Some(((year, 1, 1), pos));
    }
    let has_sep = s[pos] == b'-';
    pos += has_sep as usize;
    if s.len().saturating_sub(pos) < 2 {
        return None;
    }
    let month = int(sl(s, pos, pos + 2))?;
    pos += 2;
    if pos >= s.len() {
        return has_sep.then_some(((year, month, 1), pos));
    }
    if has_sep {
        if s[pos] != b'-' {
            return None;
        }
        pos += 1;
    }
    if s.len().saturating_sub(pos) < 2 {
        return None;
    }
    let day = int(sl(s, pos, pos + 2))?;
    Some(((year, month, day), pos + 2))
}

/// Week dates (`2024-W05-3`) and ordinal dates (`2024-035`).
fn parse_isodate_uncommon(s: &[u8]) -> Option<(Ymd, usize)> {
    let year = int(sl(s, 0, 4))?;
    let has_sep = sl(s, 4, 5) == b"-";
    let mut pos = 4 + has_sep as usize;
    let date = if sl(s, pos, pos + 1) == b"W" {
        pos += 1;
        let week = int(sl(s, pos, pos + 2))?;
        pos += 2;
        let mut day = 1;
        if s.len() > pos {
            if (sl(s, pos, pos + 1) == b"-") != has_sep {
                return None;
            }
            pos += has_sep as usize;
            day = int(sl(s, pos, pos + 1))?;
            pos += 1;
        }
        if !(1..54).contains(&week) || !(1..8).contains(&day) {
            return None;
        }
        let jan4 = ymd(year, 1, 4)?;
        let week1 = jan4 - Duration::days(jan4.weekday().num_days_from_monday() as i64);
        week1.checked_add_signed(Duration::days((week - 1) * 7 + (day - 1)))?
    } else {
        if s.len().saturating_sub(pos) < 3 {
            return None;
        }
        let ordinal = int(sl(s, pos, pos + 3))?;
        pos += 3;
        let days = if ymd(year, 12, 31)?.ordinal() == 366 {
            366
        } else {
            365
        };
        if !(1..=days).contains(&ordinal) {
            return None;
        }
        ymd(year, 1, 1)? + Duration::days(ordinal - 1)
    };
    Some((
        (date.year() as i64, date.month() as i64, date.day() as i64),
        pos,
    ))
}

struct IsoTime {
    parts: [i64; 4],
    offset: Option<i32>,
}

impl IsoTime {
    /// The time of day, and whether `24:00:00` rolled it over to the next day.
    fn to_time(&self) -> Option<(NaiveTime, bool)> {
        let [h, m, s, us] = self.parts;
        let next_day = h == 24;
        let h = if next_day { 0 } else { h };
        let t = NaiveTime::from_hms_micro_opt(
            u32::try_from(h).ok()?,
            u32::try_from(m).ok()?,
            u32::try_from(s).ok()?,
            u32::try_from(us).ok()?,
        )?;
        // chrono reads second 59 + 1_000_000 µs as a leap second; Python has none.
        (us < 1_000_000 && s < 60).then_some((t, next_day))
    }
}

fn parse_isotime(t: &[u8]) -> Option<IsoTime> {
    if t.len() < 2 {
        return None;
    }
    let mut parts = [0i64; 4];
    let mut offset = None;
    let (mut pos, mut comp, mut has_sep) = (0usize, -1i32, false);
    while pos < t.len() && comp < 5 {
        comp += 1;
        if matches!(t[pos], b'-' | b'+' | b'Z' | b'z') {
            offset = Some(parse_tzstr(&t[pos..])?);
            pos = t.len();
            break;
        }
        if comp == 1 && t[pos] == b':' {
            has_sep = true;
            pos += 1;
        } else if comp == 2 && has_sep {
            if sl(t, pos, pos + 1) != b":" {
                return None;
            }
            pos += 1;
        }
        if comp < 3 {
            parts[comp as usize] = int(sl(t, pos, pos + 2))?;
            pos += 2;
        }
        if comp == 3 {
            // `[.,]([0-9]+)`, truncated to microseconds.
            if !matches!(sl(t, pos, pos + 1), b"." | b",") {
                continue;
            }
            let digits = t[pos + 1..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            if digits == 0 {
                continue;
            }
            let mut us = 0i64;
            for i in 0..6 {
                let d = if i < digits {
                    (t[pos + 1 + i] - b'0') as i64
                } else {
                    0
                };
                us = us * 10 + d;
            }
            parts[3] = us;
            pos += 1 + digits;
        }
    }
    if pos < t.len() {
        return None;
    }
    if parts[0] == 24 && parts[1..].iter().any(|&p| p != 0) {
        return None;
    }
    Some(IsoTime { parts, offset })
}

fn parse_tzstr(z: &[u8]) -> Option<i32> {
    if z == b"Z" || z == b"z" {
        return Some(0);
    }
    if ![3, 5, 6].contains(&z.len()) {
        return None;
    }
    let mult = match z[0] {
        b'-' => -1,
        b'+' => 1,
        _ => return None,
    };
    let hours = int(&z[1..3])?;
    let minutes = match z.len() {
        3 => 0,
        _ => int(&z[if z[3] == b':' { 4 } else { 3 }..])?,
    };
    if hours == 0 && minutes == 0 {
        return Some(0);
    }
    if minutes > 59 || hours > 23 {
        return None;
    }
    i32::try_from(mult * (hours * 60 + minutes) * 60).ok()
}
