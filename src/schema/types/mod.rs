//! Field types: casting a cell's text to a typed value the way frictionless-py does, and
//! writing that value as JSON.

pub mod number;
mod strptime;
mod temporal;
mod text;
mod value;

use std::borrow::Cow;
use std::cmp::Ordering;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use number::Dec;
pub use strptime::Strptime;
pub use temporal::Stamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StringFormat {
    Default,
    Email,
    Uri,
    Uuid,
}

/// How numbers are written in the file (`bareNumber`, `groupChar`, `decimalChar`).
#[derive(Debug, Clone)]
pub struct NumberStyle {
    pub bare: bool,
    pub group_char: String,
    pub decimal_char: String,
    /// frictionless only pre-processes the text when one of the three is set explicitly.
    pub explicit: bool,
}

/// `None` is the default format, `Some` a strptime pattern.
pub type TemporalFormat = Option<Strptime>;

#[derive(Debug, Clone)]
pub enum FieldType {
    String(StringFormat),
    Integer {
        bare: bool,
    },
    Number(NumberStyle),
    Boolean {
        true_values: Vec<String>,
        false_values: Vec<String>,
    },
    Date(TemporalFormat),
    DateTime(TemporalFormat),
    Time(TemporalFormat),
    Year,
    Any,
    /// A JSON object: a JSON input's nested object, or a CSV cell holding one as JSON text.
    Object,
    /// A JSON array, likewise.
    Array,
}

/// A cast cell. Strings borrow the cell's text; schema constants own theirs.
#[derive(Debug, Clone)]
pub enum CellValue<'a> {
    Str(Cow<'a, str>),
    Num(Dec),
    Bool(bool),
    Date(NaiveDate),
    DateTime(Stamp<NaiveDateTime>),
    Time(Stamp<NaiveTime>),
    /// An `object` or `array` field's value.
    Json(Box<serde_json::Value>),
}

impl FieldType {
    /// Casts `raw` (never a missing value; the caller checks those first).
    pub fn cast<'a>(&self, raw: &'a str) -> Option<CellValue<'a>> {
        match self {
            FieldType::String(format) => {
                let ok = match format {
                    StringFormat::Default => true,
                    StringFormat::Email => text::is_email(raw),
                    StringFormat::Uri => text::is_uri(raw),
                    StringFormat::Uuid => text::is_uuid(raw),
                };
                ok.then_some(CellValue::Str(Cow::Borrowed(raw)))
            }
            FieldType::Any => Some(CellValue::Str(Cow::Borrowed(raw))),
            FieldType::Object | FieldType::Array => {
                // frictionless reads an object or array cell as the JSON text it holds.
                let value: serde_json::Value = serde_json::from_str(raw).ok()?;
                let fits = match self {
                    FieldType::Object => value.is_object(),
                    _ => value.is_array(),
                };
                fits.then(|| CellValue::Json(Box::new(value)))
            }
            FieldType::Integer { bare } => {
                let s = number::py_strip(raw);
                let s = if *bare { s } else { strip_non_numeric(s) };
                number::parse_py_int(s).map(CellValue::Num)
            }
            FieldType::Number(style) => cast_number(raw, style).map(CellValue::Num),
            FieldType::Boolean {
                true_values,
                false_values,
            } => {
                // A text in both lists is false: frictionless fills its map true-first.
                if false_values.iter().any(|v| v == raw) {
                    Some(CellValue::Bool(false))
                } else {
                    true_values
                        .iter()
                        .any(|v| v == raw)
                        .then_some(CellValue::Bool(true))
                }
            }
            FieldType::Year => {
                if raw.chars().count() != 4 {
                    return None;
                }
                let year = number::parse_py_int(raw)?;
                let in_range = [Dec::from_i64(0), Dec::from_i64(9999)];
                let ok = year.partial_cmp(&in_range[0]) != Some(Ordering::Less)
                    && year.partial_cmp(&in_range[1]) != Some(Ordering::Greater);
                ok.then_some(CellValue::Num(year))
            }
            FieldType::Date(format) => match format {
                None => default_date(raw),
                Some(f) => f.parse_date(raw),
            }
            .map(CellValue::Date),
            FieldType::DateTime(format) => match format {
                None => temporal::parse_default_datetime(raw),
                Some(f) => f.parse(raw),
            }
            .map(CellValue::DateTime),
            FieldType::Time(format) => match format {
                None => temporal::parse_default_time(raw),
                Some(f) => f.parse_time(raw),
            }
            .map(CellValue::Time),
        }
    }

    /// What a valid cell looks like, for type-error messages ("is not {expected}").
    pub fn expected(&self) -> String {
        let with_format = |what: &str, f: &TemporalFormat, default: &str| match f {
            Some(p) => format!("{what} in format \"{}\"", p.format),
            None => format!("{what} ({default})"),
        };
        match self {
            FieldType::String(StringFormat::Email) => "an email address".into(),
            FieldType::String(StringFormat::Uri) => "a URI (scheme:...)".into(),
            FieldType::String(StringFormat::Uuid) => "a UUID".into(),
            FieldType::String(_) | FieldType::Any => "a string".into(),
            FieldType::Integer { .. } => "an integer".into(),
            FieldType::Number(_) => "a number".into(),
            FieldType::Boolean {
                true_values,
                false_values,
            } => {
                format!("a boolean (one of {true_values:?} or {false_values:?})")
            }
            FieldType::Date(f) => with_format("a date", f, "YYYY-MM-DD"),
            FieldType::DateTime(f) => with_format("a datetime", f, "YYYY-MM-DDTHH:MM:SS"),
            FieldType::Time(f) => with_format("a time", f, "HH:MM:SS"),
            FieldType::Year => "a year (4 digits)".into(),
            FieldType::Object => "a JSON object".into(),
            FieldType::Array => "a JSON array".into(),
        }
    }
}

/// `bareNumber: false`: drop leading text other than `-` and digits, and trailing non-digits
/// (frictionless' `((^[^-\d]*)|(\D*$))`), so `$12` and `95%` read as numbers.
fn strip_non_numeric(s: &str) -> &str {
    s.trim_start_matches(|c: char| c != '-' && !c.is_ascii_digit())
        .trim_end_matches(|c: char| !c.is_ascii_digit())
}

fn default_date(raw: &str) -> Option<NaiveDate> {
    // Fast path for the common `YYYY-MM-DD`; anything else goes through strptime's rules.
    let b = raw.as_bytes();
    if b.len() == 10 && b[4] == b'-' && b[7] == b'-' {
        let num = |r: std::ops::Range<usize>| {
            b[r].iter().try_fold(0i64, |a, &d| {
                d.is_ascii_digit().then(|| a * 10 + (d - b'0') as i64)
            })
        };
        if let (Some(y), Some(m), Some(d)) = (num(0..4), num(5..7), num(8..10))
            && (1..=12).contains(&m)
            && (1..=31).contains(&d)
        {
            return temporal::ymd(y, m, d);
        }
    }
    static DEFAULT: std::sync::OnceLock<Strptime> = std::sync::OnceLock::new();
    DEFAULT
        .get_or_init(|| Strptime::new("%Y-%m-%d").expect("default date format compiles"))
        .parse_date(raw)
}

/// frictionless' number reader: strip, then (only when a style property is set) remove
/// currency/percent text, group characters, and map the decimal character, then `Decimal()`.
fn cast_number(raw: &str, style: &NumberStyle) -> Option<Dec> {
    let s = number::py_strip(raw);
    if !style.explicit {
        return number::parse_py_decimal(s);
    }
    let s = if style.bare { s } else { strip_non_numeric(s) };
    if style.decimal_char != "." && s.contains('.') && !style.group_char.contains('.') {
        return None;
    }
    let mut buf = [0u8; 96];
    let mut len = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let piece: &str = if !style.group_char.is_empty() && rest.starts_with(&style.group_char) {
            rest = &rest[style.group_char.len()..];
            ""
        } else if !style.decimal_char.is_empty() && rest.starts_with(&style.decimal_char) {
            rest = &rest[style.decimal_char.len()..];
            "."
        } else {
            let c = rest.chars().next()?;
            let (head, tail) = rest.split_at(c.len_utf8());
            rest = tail;
            head
        };
        // Longer texts cannot be numbers frictionless accepts in practice; refuse them.
        buf.get_mut(len..len + piece.len())?
            .copy_from_slice(piece.as_bytes());
        len += piece.len();
    }
    number::parse_py_decimal(std::str::from_utf8(&buf[..len]).ok()?)
}
