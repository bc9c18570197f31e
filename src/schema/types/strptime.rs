//! Python's `datetime.strptime`, which frictionless-py uses for date, datetime and time
//! fields with a custom `format` (and for default dates, with `%Y-%m-%d`).
//!
//! Python turns the format into a regular expression (one alternation per directive, the
//! whole pattern case-insensitive), takes the first match from the start and refuses
//! leftover text. The `regex` crate's leftmost-first semantics pick the same match, so the
//! same pattern text gives the same verdicts. Directives that depend on the locale or on
//! week numbering are refused when the schema loads.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime};
use regex::{Captures, Regex};

use super::temporal::{ymd, Stamp};

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// A compiled strptime format.
#[derive(Debug, Clone)]
pub struct Strptime {
    pub format: String,
    regex: Regex,
}

fn directive_pattern(d: char) -> Option<&'static str> {
    // Copied from CPython 3.11 `_strptime.TimeRE` (C locale for the names).
    Some(match d {
        'd' => r"(?P<d>3[0-1]|[1-2]\d|0[1-9]|[1-9]| [1-9])",
        'f' => r"(?P<f>[0-9]{1,6})",
        'H' => r"(?P<H>2[0-3]|[0-1]\d|\d)",
        'I' => r"(?P<I>1[0-2]|0[1-9]|[1-9])",
        'j' => r"(?P<j>36[0-6]|3[0-5]\d|[1-2]\d\d|0[1-9]\d|00[1-9]|[1-9]\d|0[1-9]|[1-9])",
        'm' => r"(?P<m>1[0-2]|0[1-9]|[1-9])",
        'M' => r"(?P<M>[0-5]\d|\d)",
        'S' => r"(?P<S>6[0-1]|[0-5]\d|\d)",
        'y' => r"(?P<y>\d\d)",
        'Y' => r"(?P<Y>\d\d\d\d)",
        'z' => r"(?P<z>[+-]\d\d:?[0-5]\d(:?[0-5]\d(\.\d{1,6})?)?|(?-i:Z))",
        'p' => r"(?P<p>am|pm)",
        'b' => r"(?P<b>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)",
        'B' => {
            r"(?P<B>september|february|november|december|january|october|august|march|april|june|july|may)"
        }
        'a' => r"(?P<a>mon|tue|wed|thu|fri|sat|sun)",
        'A' => r"(?P<A>wednesday|thursday|saturday|tuesday|monday|friday|sunday)",
        _ => return None,
    })
}

impl Strptime {
    /// Compiles `format`; the error says which directive is not supported.
    pub fn new(format: &str) -> Result<Strptime, String> {
        let mut pattern = String::from(r"(?i)\A(?:");
        let mut seen = String::new();
        let mut chars = format.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '%' {
                let d = chars.next().ok_or("format ends with a lone \"%\"")?;
                if d == '%' {
                    pattern.push('%');
                    continue;
                }
                let p = directive_pattern(d)
                    .ok_or_else(|| format!("unsupported strptime directive \"%{d}\""))?;
                if seen.contains(d) {
                    return Err(format!("strptime directive \"%{d}\" appears twice"));
                }
                seen.push(d);
                pattern.push_str(p);
            } else if c.is_whitespace() {
                // Python replaces each run of whitespace in the format with `\s+`.
                while chars.next_if(|c| c.is_whitespace()).is_some() {}
                pattern.push_str(r"\s+");
            } else {
                pattern.push_str(&regex::escape(&c.to_string()));
            }
        }
        pattern.push(')');
        let regex = Regex::new(&pattern).map_err(|e| format!("invalid format: {e}"))?;
        Ok(Strptime {
            format: format.to_string(),
            regex,
        })
    }

    /// `datetime.strptime(text, format)`: the local datetime and the `%z` offset if any.
    pub fn parse(&self, text: &str) -> Option<Stamp<NaiveDateTime>> {
        let caps = self.regex.captures(text)?;
        if caps.get(0)?.end() != text.len() {
            return None;
        }
        let num = |name: &str| -> Option<Option<i64>> {
            match caps.name(name) {
                None => Some(None),
                Some(m) => Some(Some(digits(m.as_str().trim_start())?)),
            }
        };
        let year = match (num("Y")?, num("y")?) {
            (Some(y), _) => Some(y),
            (None, Some(y)) => Some(if y <= 68 { y + 2000 } else { y + 1900 }),
            _ => None,
        };
        let month = match (
            num("m")?,
            name_index(&caps, "B", 0),
            name_index(&caps, "b", 3),
        ) {
            (Some(m), _, _) => m,
            (None, Some(m), _) | (None, None, Some(m)) => m,
            _ => 1,
        };
        let day = num("d")?.unwrap_or(1);
        // Without a year CPython 3.11 builds the result in 1900, so "Feb 29" is refused.
        let year = year.unwrap_or(1900);
        let mut hour = num("H")?.unwrap_or(0);
        if let Some(h12) = num("I")? {
            let pm = caps
                .name("p")
                .is_some_and(|p| p.as_str().eq_ignore_ascii_case("pm"));
            hour = match (pm, h12) {
                (false, 12) => 0,
                (true, 12) => 12,
                (true, h) => h + 12,
                (false, h) => h,
            };
        }
        let minute = num("M")?.unwrap_or(0);
        let second = num("S")?.unwrap_or(0);
        let micro = caps.name("f").map_or(0, |f| {
            let s = f.as_str();
            digits(s).unwrap_or(0) * 10i64.pow(6 - s.len() as u32)
        });
        let date = match num("j")? {
            // The day of the year replaces month and day without validating them.
            Some(julian) => {
                let jan1 = ymd(year, 1, 1)?;
                jan1.checked_add_signed(Duration::days(julian - 1))?
            }
            None => ymd(year, month, day)?,
        };
        if !(1..=9999).contains(&date.year()) || second > 59 {
            return None;
        }
        let time =
            NaiveTime::from_hms_micro_opt(hour as u32, minute as u32, second as u32, micro as u32)?;
        let offset = match caps.name("z") {
            Some(z) => Some(parse_offset(z.as_str())?),
            None => None,
        };
        Some(Stamp {
            local: date.and_time(time),
            offset,
        })
    }

    pub fn parse_date(&self, text: &str) -> Option<NaiveDate> {
        self.parse(text).map(|s| s.local.date())
    }

    pub fn parse_time(&self, text: &str) -> Option<Stamp<NaiveTime>> {
        self.parse(text).map(|s| Stamp {
            local: s.local.time(),
            offset: s.offset,
        })
    }
}

fn digits(s: &str) -> Option<i64> {
    s.bytes().try_fold(0i64, |acc, b| {
        b.is_ascii_digit().then(|| acc * 10 + (b - b'0') as i64)
    })
}

fn name_index(caps: &Captures, group: &str, len: usize) -> Option<i64> {
    let text = caps.name(group)?.as_str().to_ascii_lowercase();
    let pos = MONTHS.iter().position(|m| {
        if len == 0 {
            *m == text
        } else {
            m[..len] == text
        }
    })?;
    Some(pos as i64 + 1)
}

/// `%z`: `Z`, or `±HH[:]MM[[:]SS[.ffffff]]`; a colon after the hours must be repeated.
fn parse_offset(z: &str) -> Option<i32> {
    if z == "Z" {
        return Some(0);
    }
    let mut s: String = z.to_string();
    if s.as_bytes()[3] == b':' {
        s.remove(3);
        if s.len() > 5 {
            if s.as_bytes()[5] != b':' {
                return None;
            }
            s.remove(5);
        }
    }
    let h = digits(&s[1..3])?;
    let m = digits(&s[3..5])?;
    let sec = if s.len() >= 7 { digits(&s[5..7])? } else { 0 };
    let total = (h * 3600 + m * 60 + sec) as i32;
    Some(if s.starts_with('-') { -total } else { total })
}
