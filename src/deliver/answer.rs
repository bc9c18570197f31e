//! `--success-if` and `--rejected-rows`: jq expressions (jaq) that read a receiver's 2xx JSON
//! answer. Compiled once, when the flags are checked (a bad expression is a usage error naming
//! its flag), and run on each answer by `AnswerRules::judge`, a pure function of the answer:
//! the attempt is refused (failed for good, not retried, like a 4xx), or accepted with the rows
//! the receiver says it refused (their 1-based positions in the batch, and its messages).
//!
//! `--success-if` decides as `jq -e` does: the last value it yields; false, null, no value or
//! an error refuse the attempt. `--rejected-rows` yields positions (integers) or
//! `{position, error}` objects; a position given twice keeps each of its messages (joined by
//! `; `); a value that is not a position of the batch (not an integer, or outside 1 to the
//! batch's rows) refuses the attempt, naming it: the answer does not say which rows were
//! refused, so the batch is not marked delivered.

use std::collections::BTreeMap;
use std::sync::Arc;

use jaq_core::data::JustLut;
use jaq_core::load::{Arena, File, Loader};
use jaq_core::{unwrap_valr, Compiler, Ctx, Vars};
use jaq_json::Val;

use crate::exit::usage;

/// Most of an answer read when an expression is to read it: an answer past it refuses the
/// attempt, naming the bound. Memory holds one answer per request in flight.
pub const MAX_ANSWER_BYTES: usize = 16 << 20;

/// Most values `--rejected-rows` may yield for one answer: an expression that yields more
/// (`range(1e12)`) refuses the attempt instead of filling memory.
const MAX_REJECTED_VALUES: usize = 1 << 20;

/// Most bytes of one row's messages kept (the log keeps them with the attempt).
pub const MAX_MESSAGE_BYTES: usize = 1024;

/// A compiled jq expression and its text (for messages).
#[derive(Clone)]
pub struct AnswerExpr {
    flag: &'static str,
    text: String,
    filter: Arc<jaq_core::Filter<JustLut<Val>>>,
}

impl std::fmt::Debug for AnswerExpr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {:?}", self.flag, self.text)
    }
}

impl AnswerExpr {
    /// Parses and compiles `text`, the value of `flag`: a usage error naming the flag and where
    /// the expression went wrong.
    pub fn compile(flag: &'static str, text: &str) -> anyhow::Result<AnswerExpr> {
        let filter = compile(text).map_err(|why| usage(format!("{flag} {text:?}: {why}")))?;
        Ok(AnswerExpr {
            flag,
            text: text.to_string(),
            filter: Arc::new(filter),
        })
    }

    /// The values the expression yields for `input`, at most `most`: an error (or more values
    /// than `most`) is the message returned.
    fn run(&self, input: Val, most: usize) -> Result<Vec<Val>, String> {
        let ctx = Ctx::<JustLut<Val>>::new(&self.filter.lut, Vars::new([]));
        let mut values = Vec::new();
        for value in self.filter.id.run((ctx, input)).map(unwrap_valr) {
            if values.len() == most {
                return Err(format!("{self} yields more than {most} values"));
            }
            values.push(value.map_err(|err| format!("{self} failed: {err}"))?);
        }
        Ok(values)
    }
}

impl std::fmt::Display for AnswerExpr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} '{}'", self.flag, self.text)
    }
}

/// Parses and compiles a jq expression with jq's standard filters; the error says what was
/// expected where (1-based character column).
fn compile(text: &str) -> Result<jaq_core::Filter<JustLut<Val>>, String> {
    let column = |at: &str| {
        let offset = (at.as_ptr() as usize)
            .saturating_sub(text.as_ptr() as usize)
            .min(text.len());
        text.get(..offset).map_or(1, |s| s.chars().count() + 1)
    };
    let defs = jaq_core::defs()
        .chain(jaq_std::defs())
        .chain(jaq_json::defs());
    let funs = jaq_core::funs()
        .chain(jaq_std::funs())
        .chain(jaq_json::funs());
    let arena = Arena::default();
    let program = File {
        code: text,
        path: (),
    };
    let modules = Loader::new(defs).load(&arena, program).map_err(|errs| {
        let mut said = Vec::new();
        for (_, err) in errs {
            match err {
                jaq_core::load::Error::Io(io) => {
                    said.extend(io.into_iter().map(|(_, why)| why));
                }
                jaq_core::load::Error::Lex(lex) => {
                    said.extend(lex.into_iter().map(|(expect, at)| {
                        use jaq_core::load::lex::Expect;
                        let what = match expect {
                            Expect::Token => {
                                let found = at.chars().next().unwrap_or(' ');
                                return format!("unexpected {found:?} at column {}", column(at));
                            }
                            Expect::Delim(open) => format!("the closing of {open}"),
                            other => other.as_str().to_string(),
                        };
                        format!("expected {what} at column {}", column(at))
                    }))
                }
                jaq_core::load::Error::Parse(parse) => {
                    said.extend(parse.into_iter().map(|(expect, at)| {
                        let found = if at.is_empty() {
                            "the end".to_string()
                        } else {
                            format!("{at:?}")
                        };
                        format!(
                            "expected {} at column {}, found {found}",
                            expect.as_str(),
                            column(at)
                        )
                    }))
                }
            }
        }
        said.join("; ")
    })?;
    Compiler::default()
        .with_funs(funs)
        .compile(modules)
        .map_err(|errs| {
            let said: Vec<String> = errs
                .into_iter()
                .flat_map(|(_, errs)| errs)
                .map(|(name, undefined)| {
                    format!(
                        "undefined {} {name} at column {}",
                        undefined.as_str(),
                        column(name)
                    )
                })
                .collect();
            said.join("; ")
        })
}

/// The expressions a run reads its answers with (none: answers are not read past their
/// start).
#[derive(Clone, Debug, Default)]
pub struct AnswerRules {
    pub success_if: Option<AnswerExpr>,
    pub rejected_rows: Option<AnswerExpr>,
}

/// A row of a batch the receiver refused.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RejectedRow {
    /// 1-based, in the batch.
    pub position: u64,
    /// The receiver's messages for it (credentials taken out), if it gave any.
    pub error: Option<String>,
}

/// What an answer says of its attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnswerVerdict {
    /// Delivered, with the rows the receiver refused (none: all taken).
    Accepted(Vec<RejectedRow>),
    /// Not delivered, for this reason: failed for good, not retried.
    Refused(String),
}

impl AnswerRules {
    /// `--success-if` and `--rejected-rows` as given, compiled: a usage error for a bad one.
    pub fn compile(success_if: Option<&str>, rejected_rows: Option<&str>) -> anyhow::Result<Self> {
        Ok(AnswerRules {
            success_if: success_if
                .map(|text| AnswerExpr::compile("--success-if", text))
                .transpose()?,
            rejected_rows: rejected_rows
                .map(|text| AnswerExpr::compile("--rejected-rows", text))
                .transpose()?,
        })
    }

    /// Whether answers are read (whole, up to `MAX_ANSWER_BYTES`) and judged.
    pub fn reads_answers(&self) -> bool {
        self.success_if.is_some() || self.rejected_rows.is_some()
    }

    /// The verdict on a 2xx `answer` to a batch of `rows` rows (`None`: it was longer than
    /// `MAX_ANSWER_BYTES`). Pure: no I/O, the messages as the receiver gave them.
    pub fn judge(&self, answer: Option<&[u8]>, rows: u64) -> AnswerVerdict {
        let Some(first) = self.success_if.as_ref().or(self.rejected_rows.as_ref()) else {
            return AnswerVerdict::Accepted(Vec::new());
        };
        let Some(answer) = answer else {
            return AnswerVerdict::Refused(format!(
                "the answer is longer than the {} MiB {} reads",
                MAX_ANSWER_BYTES >> 20,
                first.flag
            ));
        };
        let value = match jaq_json::read::parse_single(answer) {
            Ok(value) => value,
            Err(err) => {
                let what = if answer.iter().all(u8::is_ascii_whitespace) {
                    "the answer is empty, not JSON".to_string()
                } else {
                    format!("the answer is not JSON ({err})")
                };
                return AnswerVerdict::Refused(format!("{what}, which {} reads", first.flag));
            }
        };
        if let Some(success_if) = &self.success_if {
            let said = match success_if.run(value.clone(), usize::MAX) {
                Ok(values) => match values.last() {
                    None => Some(format!("{success_if} yields nothing")),
                    Some(last) if !jaq_core::ValT::as_bool(last) => {
                        Some(format!("{success_if} is {last}"))
                    }
                    Some(_) => None,
                },
                Err(err) => Some(err),
            };
            if let Some(said) = said {
                return AnswerVerdict::Refused(said);
            }
        }
        match &self.rejected_rows {
            None => AnswerVerdict::Accepted(Vec::new()),
            Some(expr) => match expr.run(value, MAX_REJECTED_VALUES) {
                Ok(values) => rejected_rows(expr, &values, rows),
                Err(err) => AnswerVerdict::Refused(err),
            },
        }
    }
}

/// The rows `values` (what `--rejected-rows` yielded) name, in position order, each once.
fn rejected_rows(expr: &AnswerExpr, values: &[Val], rows: u64) -> AnswerVerdict {
    let mut found: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    for value in values {
        let (position, error) = match value {
            Val::Obj(object) => (
                object.get(&Val::from("position".to_string())),
                object.get(&Val::from("error".to_string())),
            ),
            other => (Some(other), None),
        };
        let Some(position) = position.and_then(|p| as_position(p, rows)) else {
            return AnswerVerdict::Refused(format!(
                "{expr} yields {}, not a row of the batch (a position from 1 to {rows}, or \
                 {{position, error}})",
                shown(value)
            ));
        };
        let messages = found.entry(position).or_default();
        match error {
            None | Some(Val::Null) => {}
            Some(Val::TStr(text)) => messages.push(String::from_utf8_lossy(text).into_owned()),
            Some(other) => messages.push(other.to_string()),
        }
    }
    let rejected = found
        .into_iter()
        .map(|(position, messages)| RejectedRow {
            position,
            error: (!messages.is_empty()).then(|| cut(&messages.join("; "))),
        })
        .collect();
    AnswerVerdict::Accepted(rejected)
}

/// `value` as a position from 1 to `rows`: an integer (a JSON number without a fraction).
fn as_position(value: &Val, rows: u64) -> Option<u64> {
    let Val::Num(_) = value else { return None };
    let position: u64 = value.to_string().parse().ok()?;
    (1..=rows).contains(&position).then_some(position)
}

/// A value as messages show it: its JSON, at most 100 characters.
fn shown(value: &Val) -> String {
    let text = value.to_string();
    match text.char_indices().nth(100) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text,
    }
}

/// `text` cut to `MAX_MESSAGE_BYTES`, on a character boundary.
fn cut(text: &str) -> String {
    if text.len() <= MAX_MESSAGE_BYTES {
        return text.to_string();
    }
    let mut end = MAX_MESSAGE_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(success_if: Option<&str>, rejected: Option<&str>) -> AnswerRules {
        AnswerRules::compile(success_if, rejected).unwrap()
    }

    fn refused(verdict: AnswerVerdict) -> String {
        match verdict {
            AnswerVerdict::Refused(why) => why,
            other => panic!("{other:?}"),
        }
    }

    fn row(position: u64, error: Option<&str>) -> RejectedRow {
        RejectedRow {
            position,
            error: error.map(str::to_string),
        }
    }

    #[test]
    fn a_bad_expression_is_a_usage_error_naming_the_flag_and_column() {
        for (text, said) in [
            (".ok |", "--success-if \".ok |\": expected term at column 6"),
            (".ok)", "--success-if \".ok)\": unexpected ')' at column 4"),
            ("nosuch", "undefined filter nosuch at column 1"),
            (".[\"a", "expected the closing of \" at column 5"),
        ] {
            let err = AnswerRules::compile(Some(text), None).unwrap_err();
            assert!(err.is::<crate::exit::UsageError>(), "{err}");
            assert!(err.to_string().contains(said), "{text}: {err}");
        }
        let err = AnswerRules::compile(None, Some(".errors[")).unwrap_err();
        assert!(err.to_string().starts_with("--rejected-rows"), "{err}");
    }

    #[test]
    fn success_if_decides_by_its_last_value_like_jq_e() {
        let ok = rules(Some(".ok"), None);
        assert_eq!(
            ok.judge(Some(br#"{"ok":true}"#), 3),
            AnswerVerdict::Accepted(vec![])
        );
        assert_eq!(
            refused(ok.judge(Some(br#"{"ok":false,"error":"invalid_auth"}"#), 3)),
            "--success-if '.ok' is false"
        );
        assert_eq!(
            refused(ok.judge(Some(b"{}"), 3)),
            "--success-if '.ok' is null"
        );
        assert_eq!(
            refused(rules(Some("empty"), None).judge(Some(b"{}"), 3)),
            "--success-if 'empty' yields nothing"
        );
        let err = refused(rules(Some(".ok.x"), None).judge(Some(br#"{"ok":1}"#), 3));
        assert!(err.starts_with("--success-if '.ok.x' failed: "), "{err}");
        assert_eq!(
            rules(Some("false, true"), None).judge(Some(b"1"), 3),
            AnswerVerdict::Accepted(vec![])
        );
    }

    #[test]
    fn answers_that_are_not_json_or_too_long_are_refused_naming_it() {
        let ok = rules(Some(".ok"), None);
        let err = refused(ok.judge(Some(b"<html>busy</html>"), 3));
        assert!(
            err.starts_with("the answer is not JSON (byte offset"),
            "{err}"
        );
        assert!(err.ends_with(", which --success-if reads"), "{err}");
        assert_eq!(
            refused(ok.judge(Some(b" \n"), 3)),
            "the answer is empty, not JSON, which --success-if reads"
        );
        assert_eq!(
            refused(rules(None, Some(".e[]")).judge(None, 3)),
            "the answer is longer than the 16 MiB --rejected-rows reads"
        );
        assert_eq!(
            AnswerRules::default().judge(Some(b"not json"), 3),
            AnswerVerdict::Accepted(vec![])
        );
    }

    #[test]
    fn rejected_rows_by_position_or_object_in_order_each_once() {
        let by_position = rules(None, Some(".failed[]"));
        assert_eq!(
            by_position.judge(Some(br#"{"failed":[3,1]}"#), 3),
            AnswerVerdict::Accepted(vec![row(1, None), row(3, None)])
        );
        let by_object = rules(None, Some(".errors[] | {position: .row, error: .message}"));
        let answer = br#"{"errors":[{"row":2,"message":"bad email"},
            {"row":2,"message":"bad age"},{"row":1,"message":null}]}"#;
        assert_eq!(
            by_object.judge(Some(answer), 2),
            AnswerVerdict::Accepted(vec![row(1, None), row(2, Some("bad email; bad age"))])
        );
        // A message that is not a string is kept as its JSON.
        let answer = br#"{"errors":[{"row":1,"message":{"code":7}}]}"#;
        assert_eq!(
            by_object.judge(Some(answer), 1),
            AnswerVerdict::Accepted(vec![row(1, Some(r#"{"code":7}"#))])
        );
        assert_eq!(
            by_position.judge(Some(br#"{"failed":[]}"#), 3),
            AnswerVerdict::Accepted(vec![])
        );
    }

    #[test]
    fn a_value_that_is_not_a_row_of_the_batch_refuses_the_attempt() {
        let by_position = rules(None, Some(".failed[]"));
        for (answer, shown) in [
            (r#"{"failed":[0]}"#, "yields 0,"),
            (r#"{"failed":[4]}"#, "yields 4,"),
            (r#"{"failed":[1.5]}"#, "yields 1.5,"),
            (r#"{"failed":["2"]}"#, "yields \"2\","),
            (r#"{"failed":[-1]}"#, "yields -1,"),
            (r#"{"failed":[{"row":1}]}"#, "yields {\"row\":1},"),
        ] {
            let err = refused(by_position.judge(Some(answer.as_bytes()), 3));
            assert!(err.contains(shown), "{answer}: {err}");
            assert!(err.contains("a position from 1 to 3"), "{err}");
        }
        let err = refused(by_position.judge(Some(br#"{"failed":3}"#), 3));
        assert!(
            err.starts_with("--rejected-rows '.failed[]' failed: "),
            "{err}"
        );
        let endless = rules(None, Some("range(1e9)"));
        let err = refused(endless.judge(Some(b"{}"), 3));
        assert!(err.contains("yields more than"), "{err}");
    }

    #[test]
    fn success_if_is_asked_before_rejected_rows() {
        let both = rules(Some(".ok"), Some(".failed[]"));
        assert_eq!(
            refused(both.judge(Some(br#"{"ok":false,"failed":[1]}"#), 3)),
            "--success-if '.ok' is false"
        );
        assert_eq!(
            both.judge(Some(br#"{"ok":true,"failed":[2]}"#), 3),
            AnswerVerdict::Accepted(vec![row(2, None)])
        );
    }

    #[test]
    fn long_messages_are_cut_on_a_character() {
        let by_object = rules(None, Some("{position: 1, error: .m}"));
        let answer = format!(r#"{{"m":"{}"}}"#, "é".repeat(1000));
        let AnswerVerdict::Accepted(rows) = by_object.judge(Some(answer.as_bytes()), 1) else {
            panic!()
        };
        let error = rows[0].error.as_deref().unwrap();
        assert!(error.len() <= MAX_MESSAGE_BYTES + 3 && error.ends_with("..."));
    }
}
