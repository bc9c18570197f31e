//! Field constraints (`required`, `minLength`, ..., `enum`) and their checks on cast values.

use std::cmp::Ordering;

use regex::Regex;

use super::types::CellValue;

/// A bound or enum member: the cast value and the schema's own spelling for messages.
#[derive(Debug, Clone)]
pub struct Constant {
    pub value: CellValue<'static>,
    pub text: String,
}

#[derive(Debug, Clone, Default)]
pub struct Constraints {
    pub required: bool,
    pub unique: bool,
    pub min_length: Option<usize>,
    pub max_length: Option<usize>,
    /// The pattern as written, and its compiled whole-value form.
    pub pattern: Option<(String, Regex)>,
    pub minimum: Option<Constant>,
    pub maximum: Option<Constant>,
    pub exclusive_minimum: Option<Constant>,
    pub exclusive_maximum: Option<Constant>,
    pub enumeration: Option<Vec<Constant>>,
    /// When every enum member is a string: the members as a set, for one lookup per cell.
    pub enum_strings: Option<std::collections::HashSet<String>>,
}

/// Enum members a message lists; the rest are counted. A message is written per failing cell,
/// so it must not grow with the schema (a 100,000-value enum once made an 835 MB log).
const LISTED_MEMBERS: usize = 5;

/// Characters of the schema's own text (a member, bound or pattern) a message quotes.
const QUOTED_CHARS: usize = 60;

/// "is not one of the allowed values [a, b]", or with many members the first few and a count.
fn enum_expected(members: &[Constant]) -> String {
    let listed: Vec<_> = members
        .iter()
        .take(LISTED_MEMBERS)
        .map(|m| shorten(&m.text))
        .collect();
    if members.len() <= LISTED_MEMBERS {
        return format!("is not one of the allowed values [{}]", listed.join(", "));
    }
    format!(
        "is not one of the {} allowed values [{}, ...]",
        members.len(),
        listed.join(", ")
    )
}

/// `text` cut to `QUOTED_CHARS` characters, with "..." when it was longer.
fn shorten(text: &str) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(QUOTED_CHARS) {
        None => text.into(),
        Some((end, _)) => format!("{}...", &text[..end]).into(),
    }
}

/// A failed constraint: what was expected (appended to the field and cell).
pub struct Violation {
    pub expected: String,
}

impl Constraints {
    /// Compiles a pattern the way frictionless does: `^{pattern}$` matched from the start.
    /// Wrapping in `\A(?:...)` keeps Python's precedence for a top-level `|`.
    pub fn compile_pattern(pattern: &str) -> Result<Regex, regex::Error> {
        Regex::new(&format!(r"\A(?:^{pattern}$)"))
    }

    /// `minLength` and `maxLength` against a value's length.
    fn check_length(&self, len: usize, report: &mut impl FnMut(Violation)) {
        if let Some(min) = self.min_length.filter(|&min| len < min) {
            let expected = format!("is shorter than the minimum length {min}");
            report(Violation { expected });
        }
        if let Some(max) = self.max_length.filter(|&max| len > max) {
            let expected = format!("is longer than the maximum length {max}");
            report(Violation { expected });
        }
    }

    /// Checks a cell that cast cleanly (`None` = a missing value), in frictionless' order,
    /// reporting every failed constraint.
    pub fn check(&self, value: Option<&CellValue>, mut report: impl FnMut(Violation)) {
        let Some(value) = value else {
            if self.required {
                report(Violation {
                    expected: "a value is required".into(),
                });
            }
            return;
        };
        if let CellValue::Json(json) = value {
            // An object's length is its keys', an array's its items' (frictionless' len()).
            let len = match &**json {
                serde_json::Value::Object(map) => map.len(),
                serde_json::Value::Array(items) => items.len(),
                _ => 0,
            };
            self.check_length(len, &mut report);
        }
        if let CellValue::Str(s) = value {
            // Counted in characters like Python's len(), and only when a length is constrained.
            // A string's byte length bounds its character count from above (and from below by a
            // quarter), so most cells skip the count.
            let bytes = s.len();
            let clear_of_max = self.max_length.is_none_or(|max| bytes <= max);
            let clear_of_min = self.min_length.is_none_or(|min| bytes / 4 >= min);
            let len = if clear_of_max && clear_of_min {
                self.min_length
                    .unwrap_or(0)
                    .max(bytes.min(self.max_length.unwrap_or(bytes)))
            } else {
                s.chars().count()
            };
            self.check_length(len, &mut report);
            if let Some((text, regex)) = &self.pattern
                && !regex.is_match(s)
            {
                let expected = format!("does not match the pattern {:?}", shorten(text));
                report(Violation { expected });
            }
        }
        let bounds = [
            (
                &self.minimum,
                "minimum",
                "is below the minimum",
                &[Ordering::Greater, Ordering::Equal][..],
            ),
            (
                &self.maximum,
                "maximum",
                "is above the maximum",
                &[Ordering::Less, Ordering::Equal][..],
            ),
            (
                &self.exclusive_minimum,
                "exclusiveMinimum",
                "is not above the exclusive minimum",
                &[Ordering::Greater][..],
            ),
            (
                &self.exclusive_maximum,
                "exclusiveMaximum",
                "is not below the exclusive maximum",
                &[Ordering::Less][..],
            ),
        ];
        for (bound, _name, what, allowed) in bounds {
            if let Some(bound) = bound {
                let ok = value
                    .compare(&bound.value)
                    .is_some_and(|o| allowed.contains(&o));
                if !ok {
                    report(Violation {
                        expected: format!("{what} {}", shorten(&bound.text)),
                    });
                }
            }
        }
        if let Some(members) = &self.enumeration {
            let allowed = match (&self.enum_strings, value) {
                (Some(set), CellValue::Str(text)) => set.contains(text.as_ref()),
                _ => members.iter().any(|m| value.equals(&m.value)),
            };
            if !allowed {
                report(Violation {
                    expected: enum_expected(members),
                });
            }
        }
    }
}
