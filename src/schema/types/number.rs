//! Numbers as Python reads them: `int()` for integers and years, `Decimal()` for numbers.
//!
//! frictionless-py casts with those two constructors, so their exact leniency (signs,
//! surrounding whitespace, `_` digit separators, `NaN`/`Infinity`) decides which cells are
//! type errors. Values are kept as a normalized decimal so that `1.0`, `1` and `1e0` compare
//! and hash as equal, like Python's `Decimal`.

use std::cmp::Ordering;
use std::io::Write as _;

/// Significant digits kept exactly; longer values are rounded (compared approximately).
const MAX_DIGITS: u32 = 38;

/// A decimal value: `coeff * 10^exp`, normalized so that `coeff` has no trailing zeros.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dec {
    Finite { neg: bool, coeff: u128, exp: i64 },
    Inf { neg: bool },
    NaN,
}

impl Dec {
    /// The value as an i64, when it is a whole number in range (values are normalized, so
    /// equal numbers give the same answer).
    pub fn as_i64(&self) -> Option<i64> {
        let Dec::Finite { neg, coeff, exp } = *self else {
            return None;
        };
        if exp < 0 {
            return None;
        }
        let magnitude = 10u128
            .checked_pow(u32::try_from(exp).ok()?)?
            .checked_mul(coeff)?;
        let magnitude = i128::try_from(magnitude).ok()?;
        i64::try_from(if neg { -magnitude } else { magnitude }).ok()
    }

    fn finite(neg: bool, mut coeff: u128, mut exp: i64) -> Dec {
        if coeff == 0 {
            return Dec::Finite {
                neg: false,
                coeff: 0,
                exp: 0,
            };
        }
        if let Ok(mut small) = u64::try_from(coeff) {
            // As below, in 64-bit arithmetic: most values fit.
            while small.is_multiple_of(10) {
                small /= 10;
                exp += 1;
            }
            return Dec::Finite {
                neg,
                coeff: small.into(),
                exp,
            };
        }
        while coeff.is_multiple_of(10) {
            coeff /= 10;
            exp += 1;
        }
        Dec::Finite { neg, coeff, exp }
    }

    pub fn from_i64(v: i64) -> Dec {
        Dec::finite(v < 0, v.unsigned_abs() as u128, 0)
    }

    /// Python's ordering; `None` when either side is NaN (NaN fails every bound check).
    pub fn partial_cmp(&self, other: &Dec) -> Option<Ordering> {
        use Dec::*;
        let key = |d: &Dec| match *d {
            Inf { neg: true } => Some(0),
            Finite { neg: true, .. } => Some(1),
            Finite { coeff: 0, .. } => Some(2),
            Finite { .. } => Some(3),
            Inf { neg: false } => Some(4),
            NaN => None,
        };
        let (ka, kb) = (key(self)?, key(other)?);
        if ka != kb || ka % 2 == 0 {
            return Some(ka.cmp(&kb));
        }
        let (
            Finite {
                neg,
                coeff: ca,
                exp: ea,
            },
            Finite {
                coeff: cb, exp: eb, ..
            },
        ) = (*self, *other)
        else {
            return Some(Ordering::Equal);
        };
        let magnitude = compare_magnitude(ca, ea, cb, eb);
        Some(if neg { magnitude.reverse() } else { magnitude })
    }

    /// Writes the value as a JSON number. NaN and infinities have no JSON number form, so
    /// they are written as the strings Python prints for them; so are numbers too large for a
    /// double (`1e400`), which most JSON parsers refuse or turn into infinity.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        let start = out.len();
        self.write_json_number(out);
        // Only the exponent form can be that large; the plain form has at most 21 digits.
        if !out[start..].contains(&b'e') {
            return;
        }
        let too_large = std::str::from_utf8(&out[start..])
            .is_ok_and(|text| text.parse::<f64>().is_ok_and(f64::is_infinite));
        if too_large {
            out.insert(start, b'"');
            out.push(b'"');
        }
    }

    fn write_json_number(&self, out: &mut Vec<u8>) {
        let (neg, coeff, exp) = match *self {
            Dec::NaN => return out.extend_from_slice(b"\"NaN\""),
            Dec::Inf { neg: false } => return out.extend_from_slice(b"\"Infinity\""),
            Dec::Inf { neg: true } => return out.extend_from_slice(b"\"-Infinity\""),
            Dec::Finite { neg, coeff, exp } => (neg, coeff, exp),
        };
        if neg {
            out.push(b'-');
        }
        let mut digits = [0u8; 40];
        let text = format_u128(coeff, &mut digits);
        let n = text.len() as i64;
        if (0..=20 - n).contains(&exp) {
            out.extend_from_slice(text);
            out.extend(std::iter::repeat_n(b'0', exp as usize));
        } else if exp < 0 && -exp < n + 7 {
            let point = n + exp;
            if point <= 0 {
                out.extend_from_slice(b"0.");
                out.extend(std::iter::repeat_n(b'0', (-point) as usize));
                out.extend_from_slice(text);
            } else {
                out.extend_from_slice(&text[..point as usize]);
                out.push(b'.');
                out.extend_from_slice(&text[point as usize..]);
            }
        } else {
            out.extend_from_slice(&text[..1]);
            if n > 1 {
                out.push(b'.');
                out.extend_from_slice(&text[1..]);
            }
            // Writing into a Vec cannot fail.
            let _ = write!(out, "e{}", exp + n - 1);
        }
    }
}

fn format_u128(mut v: u128, buf: &mut [u8; 40]) -> &[u8] {
    let mut i = buf.len();
    // Most values fit 64 bits, whose division is several times cheaper than 128-bit division.
    if let Ok(mut small) = u64::try_from(v) {
        loop {
            i -= 1;
            buf[i] = b'0' + (small % 10) as u8;
            small /= 10;
            if small == 0 {
                return &buf[i..];
            }
        }
    }
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            return &buf[i..];
        }
    }
}

fn digit_count(v: u128) -> i64 {
    match u64::try_from(v) {
        Ok(0) => 1,
        // 64-bit logarithm where it fits: cheaper, and most values do.
        Ok(small) => small.ilog10() as i64 + 1,
        Err(_) => v.ilog10() as i64 + 1,
    }
}

fn compare_magnitude(ca: u128, ea: i64, cb: u128, eb: i64) -> Ordering {
    let (da, db) = (digit_count(ca), digit_count(cb));
    let adjusted = (ea + da).cmp(&(eb + db));
    if adjusted != Ordering::Equal {
        return adjusted;
    }
    // Same order of magnitude: pad the shorter coefficient; both stay under 10^38.
    match da.cmp(&db) {
        Ordering::Less => (ca * 10u128.pow((db - da) as u32)).cmp(&cb),
        Ordering::Greater => ca.cmp(&(cb * 10u128.pow((da - db) as u32))),
        Ordering::Equal => ca.cmp(&cb),
    }
}

/// Accumulates decimal digits, rounding past `MAX_DIGITS` significant ones.
#[derive(Default)]
struct Digits {
    coeff: u128,
    count: u32,
    dropped: i64,
}

impl Digits {
    fn push(&mut self, d: u8) {
        if self.count == 0 && d == 0 {
            return;
        }
        if self.count < MAX_DIGITS {
            self.coeff = self.coeff * 10 + d as u128;
            self.count += 1;
        } else {
            self.dropped += 1;
        }
    }
}

/// Python's `str.strip()` for the whitespace a CSV cell can realistically carry.
pub fn py_strip(s: &str) -> &str {
    // The usual cell starts and ends with a visible ASCII character: nothing to strip.
    let visible = |b: Option<&u8>| b.is_some_and(u8::is_ascii_graphic);
    if visible(s.as_bytes().first()) && visible(s.as_bytes().last()) {
        return s;
    }
    s.trim_matches(|c: char| c.is_whitespace() || ('\x1c'..='\x1f').contains(&c))
}

/// Python's `int(s)` in base 10: whitespace, an optional sign, ASCII digits with single
/// underscores between them.
pub fn parse_py_int(s: &str) -> Option<Dec> {
    let s = py_strip(s).as_bytes();
    let (neg, body) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if body.is_empty() || body[0] == b'_' || body[body.len() - 1] == b'_' {
        return None;
    }
    let mut digits = Digits::default();
    let mut prev_underscore = false;
    for &b in body {
        match b {
            b'0'..=b'9' => {
                digits.push(b - b'0');
                prev_underscore = false;
            }
            b'_' if !prev_underscore => prev_underscore = true,
            _ => return None,
        }
    }
    Some(Dec::finite(neg, digits.coeff, digits.dropped))
}

/// Python's `Decimal(s)`: underscores are removed first, then
/// `[sign] (digits [. digits] | . digits) [e [sign] digits]`, `Inf`, `Infinity`, `NaN`.
pub fn parse_py_decimal(s: &str) -> Option<Dec> {
    let s = py_strip(s);
    let mut bytes = s.bytes().filter(|&b| b != b'_').peekable();
    let neg = match bytes.peek() {
        Some(b'-') => {
            bytes.next();
            true
        }
        Some(b'+') => {
            bytes.next();
            false
        }
        _ => false,
    };
    let mut digits = Digits::default();
    let (mut seen_digit, mut seen_point, mut frac_len) = (false, false, 0i64);
    let mut exp: i64 = 0;
    while let Some(b) = bytes.next() {
        match b {
            b'0'..=b'9' => {
                digits.push(b - b'0');
                seen_digit = true;
                frac_len += seen_point as i64;
            }
            b'.' if !seen_point => seen_point = true,
            b'e' | b'E' if seen_digit => {
                exp = parse_exponent(&mut bytes)?;
                break;
            }
            _ if !seen_digit && !seen_point => return parse_special(b, bytes, neg),
            _ => return None,
        }
    }
    if !seen_digit || bytes.next().is_some() {
        return None;
    }
    let exp = exp.saturating_add(digits.dropped).saturating_sub(frac_len);
    Some(Dec::finite(neg, digits.coeff, exp))
}

fn parse_exponent(bytes: &mut impl Iterator<Item = u8>) -> Option<i64> {
    let mut exp: i64 = 0;
    let mut sign = 1;
    let mut any = false;
    for (i, b) in bytes.enumerate() {
        match b {
            b'-' | b'+' if i == 0 => sign = if b == b'-' { -1 } else { 1 },
            b'0'..=b'9' => {
                exp = exp.saturating_mul(10).saturating_add((b - b'0') as i64);
                any = true;
            }
            _ => return None,
        }
    }
    any.then_some(sign * exp)
}

/// `inf`, `infinity`, `nan`, `snan` (case-insensitive; NaN may carry diagnostic digits).
fn parse_special(first: u8, rest: impl Iterator<Item = u8>, neg: bool) -> Option<Dec> {
    let mut word = [0u8; 16];
    let mut len = 0;
    for b in std::iter::once(first).chain(rest) {
        if len == word.len() {
            return None;
        }
        word[len] = b.to_ascii_lowercase();
        len += 1;
    }
    let word = &word[..len];
    if word == b"inf" || word == b"infinity" {
        return Some(Dec::Inf { neg });
    }
    let payload = word
        .strip_prefix(b"nan")
        .or_else(|| word.strip_prefix(b"snan"))?;
    payload.iter().all(u8::is_ascii_digit).then_some(Dec::NaN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strip_as_python_does() {
        for (raw, stripped) in [
            ("12", "12"),
            (" 12\t", "12"),
            ("\u{a0}1 2\u{3000}", "1 2"),
            ("\x1c-3.5\x1f", "-3.5"),
            ("\n", ""),
            ("", ""),
            ("é", "é"),
        ] {
            assert_eq!(py_strip(raw), stripped, "{raw:?}");
        }
    }

    #[test]
    fn digit_counts_on_both_sides_of_64_bits() {
        for (v, n) in [
            (0u128, 1),
            (9, 1),
            (10, 2),
            (u64::MAX as u128, 20),
            (u64::MAX as u128 + 1, 20),
            (10u128.pow(30), 31),
        ] {
            assert_eq!(digit_count(v), n, "{v}");
        }
    }

    fn json(d: Dec) -> String {
        let mut out = Vec::new();
        d.write_json(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn python_int_leniency() {
        for ok in ["1", "+5", " -7 ", "1_000", "007", "-0"] {
            assert!(parse_py_int(ok).is_some(), "{ok}");
        }
        for bad in ["", "1.0", "1e3", "_1", "1_", "1__0", "0x10", "--1", "1 2"] {
            assert!(parse_py_int(bad).is_none(), "{bad}");
        }
        assert_eq!(json(parse_py_int("1_000").unwrap()), "1000");
        assert_eq!(json(parse_py_int("-007").unwrap()), "-7");
    }

    #[test]
    fn python_decimal_leniency() {
        for ok in [
            "1", ".5", "5.", "+.5e-3", "1E+5", "1__0", "_1", "NaN", "-inf", "Infinity", "sNaN1",
        ] {
            assert!(parse_py_decimal(ok).is_some(), "{ok}");
        }
        for bad in [
            "", ".", "e5", "1e", "1.2.3", "1,5", "infinit", "nan1x", "0x1",
        ] {
            assert!(parse_py_decimal(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn json_numbers_are_canonical() {
        let cases = [
            ("1.50", "1.5"),
            ("-0.0", "0"),
            ("1e3", "1000"),
            (".5", "0.5"),
            ("0.000123", "0.000123"),
            ("1.5e-12", "1.5e-12"),
            ("12e30", "1.2e31"),
            ("Infinity", "\"Infinity\""),
            ("nan", "\"NaN\""),
            // Beyond a double: a string, as JSON parsers refuse such numbers or make them inf.
            ("1e400", "\"1e400\""),
            ("-12.5e308", "\"-1.25e309\""),
            ("1.7976931348623157e308", "1.7976931348623157e308"),
            ("1e-400", "1e-400"),
        ];
        for (raw, expected) in cases {
            assert_eq!(json(parse_py_decimal(raw).unwrap()), expected, "{raw}");
        }
    }

    #[test]
    fn comparison_follows_decimal_semantics() {
        let d = |s| parse_py_decimal(s).unwrap();
        assert_eq!(d("1.0").partial_cmp(&d("1")), Some(Ordering::Equal));
        assert_eq!(d("1.0"), d("1e0"));
        assert_eq!(d("-2").partial_cmp(&d("-1.5")), Some(Ordering::Less));
        assert_eq!(d("0.09").partial_cmp(&d("0.1")), Some(Ordering::Less));
        assert_eq!(d("-inf").partial_cmp(&d("-1e300")), Some(Ordering::Less));
        assert_eq!(d("nan").partial_cmp(&d("1")), None);
        assert_eq!(
            d("123456789012345678901234567890123456789012"),
            d("1.23456789012345678901234567890123456789012e41")
        );
    }
}
