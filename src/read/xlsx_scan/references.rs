//! Attributes and references read as calamine reads them, but bounded: Excel's limits, not
//! `u32` arithmetic that wraps.

use crate::read::sheet::{MAX_COLUMNS, MAX_ROWS};

/// The values of the attributes named `name` (any namespace prefix), found as calamine finds
/// them: a key runs to its `=`, a value is quoted; a malformed attribute ends the list (calamine
/// stops there with an error).
pub(super) fn attribute<'a>(
    attributes: &'a [u8],
    name: &'a [u8],
) -> impl Iterator<Item = &'a [u8]> + 'a {
    let mut pos = 0;
    std::iter::from_fn(move || loop {
        let bytes = attributes;
        while pos < bytes.len() && bytes[pos].is_ascii_whitespace() {
            pos += 1;
        }
        let key_start = pos;
        while pos < bytes.len() && bytes[pos] != b'=' {
            pos += 1;
        }
        if pos >= bytes.len() {
            return None;
        }
        let key = bytes[key_start..pos].trim_ascii_end();
        pos += 1;
        while pos < bytes.len() && bytes[pos].is_ascii_whitespace() {
            pos += 1;
        }
        let quote = *bytes.get(pos)?;
        if quote != b'"' && quote != b'\'' {
            return None;
        }
        pos += 1;
        let value_start = pos;
        while pos < bytes.len() && bytes[pos] != quote {
            pos += 1;
        }
        let value = &bytes[value_start..pos];
        pos = (pos + 1).min(bytes.len());
        let matches = key == name
            || key
                .strip_suffix(name)
                .is_some_and(|prefix| prefix.last() == Some(&b':'));
        if matches {
            return Some(value);
        }
    })
}

/// At most this much of a bad value is quoted in a message.
pub(super) fn shown(value: &[u8]) -> String {
    let text = String::from_utf8_lossy(value);
    match text.char_indices().nth(40) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.into_owned(),
    }
}

/// A plain decimal number, None if it is not one (or has more than 18 digits).
pub(super) fn decimal(text: &[u8]) -> Option<u64> {
    if text.is_empty() || text.len() > 18 || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(text.iter().fold(0, |n, &d| n * 10 + u64::from(d - b'0')))
}

/// A cell reference (`B7`): its 0-based column and row, within Excel's limits.
pub(super) fn cell_reference(text: &[u8]) -> Result<(u64, u64), String> {
    let letters = text.iter().take_while(|b| b.is_ascii_alphabetic()).count();
    let digits = &text[letters..];
    if letters == 0 || digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(format!("{:?} is not a cell reference", shown(text)));
    }
    let beyond = || {
        format!(
            "cell {} is beyond Excel's last cell, XFD{MAX_ROWS}",
            shown(text)
        )
    };
    if letters > 3 {
        return Err(beyond());
    }
    let column = text[..letters].iter().fold(0u64, |n, b| {
        n * 26 + u64::from(b.to_ascii_uppercase() - b'A') + 1
    });
    let row = decimal(digits).ok_or_else(beyond)?;
    if column > u64::from(MAX_COLUMNS) || row > u64::from(MAX_ROWS) {
        return Err(beyond());
    }
    if row == 0 {
        return Err(format!("{:?} is not a cell reference", shown(text)));
    }
    Ok((column - 1, row - 1))
}

/// A row's number (`<row r="7">`): 0-based, within Excel's limits.
pub(super) fn row_number(text: &[u8]) -> Result<u64, String> {
    let digits = !text.is_empty() && text.iter().all(u8::is_ascii_digit);
    match decimal(text) {
        Some(row) if (1..=u64::from(MAX_ROWS)).contains(&row) => Ok(row - 1),
        Some(row) if row > 0 => Err(beyond_rows(text)),
        None if digits => Err(beyond_rows(text)),
        _ => Err(format!("{:?} is not a row number", shown(text))),
    }
}

fn beyond_rows(text: &[u8]) -> String {
    format!("row {} is beyond Excel's last row, {MAX_ROWS}", shown(text))
}

/// A sheet's dimension (`A1:F20`, or one cell): references within Excel's limits, the first
/// above and left of the last.
pub(super) fn dimension(text: &[u8]) -> Result<(), String> {
    let mut parts = text.split(|&b| b == b':');
    let first = cell_reference(parts.next().unwrap_or_default())?;
    let Some(last) = parts.next() else {
        return Ok(());
    };
    let last = cell_reference(last)?;
    if parts.next().is_some() || last.0 < first.0 || last.1 < first.1 {
        return Err(format!(
            "the sheet's dimension {:?} is not a range",
            shown(text)
        ));
    }
    Ok(())
}
