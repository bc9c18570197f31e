//! `--template FILE`: a request body rendered from a MiniJinja template, once per batch, at
//! send time from the stored rows (so resume and resend render the same bytes: the run keeps
//! the template's text, not its path).
//!
//! The context: `rows` (each row an object: its columns as sent, typed when a schema cast them,
//! and `__index`, `__row`, `__valid`, `__errors`), `batch` (`id`, the webhook-id; `index`;
//! `count`, batches in the event; `rows`, rows in this batch), `event` (`name`, `id`,
//! `total_rows`), `run` (`id`, `source`: the input's file name, `total_rows`) and `metadata`.
//! Undefined names are errors (a misspelt column fails the first batch at staging, not
//! silently). Values print as the content type needs them: JSON (and NDJSON) bodies write every
//! `{{ value }}` as JSON, so quotes and control characters can never break the body; XML and
//! HTML escape `<&>"'`; other types print values as they are (`urlencode` for forms).

use anyhow::{anyhow, Result};

use minijinja::value::ValueKind;
use minijinja::{
    context, escape_formatter, AutoEscape, Environment, Error, Output, State, UndefinedBehavior,
    Value,
};
use serde::{Deserialize, Serialize};

use super::nest::nest_rows;
use super::{BatchHeader, BodyContext};
use crate::json_out::write_json_string_to;

/// A `--template` as a run keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BodyTemplate {
    /// The file it was read from, as given: messages name it.
    pub file: String,
    /// Its text, rendered for every batch.
    pub text: String,
    /// `--max-body-size`: a body rendered past it is an error, so a template's loops cannot
    /// take memory without end.
    #[serde(default = "no_limit")]
    pub max_bytes: u64,
}

fn no_limit() -> u64 {
    u64::MAX
}

/// The output of one render, refused past its room.
struct Bounded<'a> {
    out: &'a mut Vec<u8>,
    room: usize,
    over: bool,
}

impl std::io::Write for Bounded<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if buf.len() > self.room {
            self.over = true;
            return Err(std::io::Error::other("the body is over --max-body-size"));
        }
        self.room -= buf.len();
        self.out.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The one template of an environment.
const NAME: &str = "body";

/// What a body of this content type is, for escaping and checking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    Json,
    /// JSON lines (`application/x-ndjson`, ...): each line that is not blank a JSON value.
    JsonLines,
    Markup,
    Text,
}

impl BodyKind {
    pub fn of(content_type: &str) -> BodyKind {
        let essence = content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        let subtype = essence.split('/').nth(1).unwrap_or_default();
        if ["x-ndjson", "ndjson", "jsonl", "x-jsonlines", "jsonlines"].contains(&subtype) {
            BodyKind::JsonLines
        } else if subtype == "json" || subtype.ends_with("+json") {
            BodyKind::Json
        } else if subtype == "xml" || subtype.ends_with("+xml") || subtype == "html" {
            BodyKind::Markup
        } else {
            BodyKind::Text
        }
    }

    fn escape(self) -> AutoEscape {
        match self {
            BodyKind::Json | BodyKind::JsonLines => AutoEscape::Json,
            BodyKind::Markup => AutoEscape::Html,
            BodyKind::Text => AutoEscape::None,
        }
    }
}

impl BodyTemplate {
    /// Checks that the template parses: an error naming its file, line and column.
    pub fn check(&self, content_type: &str) -> Result<()> {
        self.environment(BodyKind::of(content_type)).map(|_| ())
    }

    fn environment(&self, kind: BodyKind) -> Result<Environment<'_>> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_debug(true);
        env.set_auto_escape_callback(move |_| kind.escape());
        if kind.escape() == AutoEscape::Json {
            env.set_formatter(write_json_value);
        }
        env.add_template(NAME, &self.text)
            .map_err(|err| self.located(&err))?;
        Ok(env)
    }

    /// A MiniJinja error as one line: the file, line and column, and what is wrong.
    fn located(&self, err: &minijinja::Error) -> anyhow::Error {
        let line = err.line().unwrap_or(1);
        let column = err
            .range()
            .and_then(|range| {
                let before = self.text.get(..range.start)?;
                Some(before.len() - before.rfind('\n').map_or(0, |nl| nl + 1) + 1)
            })
            .map(|column| format!(", column {column}"))
            .unwrap_or_default();
        let what = err.detail().map_or_else(
            || err.kind().to_string(),
            |detail| format!("{}: {detail}", err.kind()),
        );
        anyhow!("--template {}: line {line}{column}: {what}", self.file)
    }
}

/// Prints a value into a JSON body: strings and integers (nearly every cell) written straight
/// into the output, where MiniJinja's own JSON escaping makes a string per value; the rest,
/// and strings marked safe (`tojson`'s), as MiniJinja prints them.
fn write_json_value(out: &mut Output, state: &mut State, value: &Value) -> Result<(), Error> {
    if *state.auto_escape() == AutoEscape::Json && !value.is_safe() {
        let written = match value.kind() {
            ValueKind::String => value.as_str().map(|s| write_json_string_to(out, s)),
            ValueKind::Number => value.as_i64().map(|n| write!(out, "{n}")),
            ValueKind::Bool => Some(out.write_str(if value.is_true() { "true" } else { "false" })),
            ValueKind::None => Some(out.write_str("null")),
            _ => None,
        };
        if let Some(written) = written {
            return written.map_err(Error::from);
        }
    }
    escape_formatter(out, state, value)
}

/// Renders `template` for one batch of `data` (its stored rows, a JSON array) into `out`, and
/// checks that a JSON body is JSON.
pub fn render(
    ctx: &BodyContext,
    template: &BodyTemplate,
    batch: &BatchHeader,
    data: &[u8],
    out: &mut Vec<u8>,
) -> Result<()> {
    let kind = BodyKind::of(ctx.content_type());
    let env = template.environment(kind)?;
    let rows = if ctx.nest {
        let rows: Vec<serde_json::Value> = serde_json::from_slice(data)
            .map_err(|err| anyhow!("its stored rows are not a JSON array ({err})"))?;
        Value::from(minijinja::value::Serde(nest_rows(rows)))
    } else {
        rows::parse_rows(data)
            .map_err(|err| anyhow!("its stored rows are not a JSON array ({err})"))?
    };
    let metadata: Value = serde_json::from_str(&ctx.metadata)
        .map_err(|err| anyhow!("the run's stored metadata is damaged ({err})"))?;
    let context = context! {
        batch => context! {
            id => batch.batch_id,
            index => batch.index,
            count => batch.count,
            rows => rows.len().unwrap_or(0),
        },
        rows => rows,
        event => context! {
            name => batch.event_name,
            id => batch.event_id,
            total_rows => batch.total_rows,
        },
        run => context! {
            id => &ctx.run_id,
            source => &ctx.file_name,
            total_rows => batch.run_rows,
        },
        metadata => metadata,
    };
    let start = out.len();
    let body = env.get_template(NAME).expect("added above");
    let mut bounded = Bounded {
        out: &mut *out,
        room: usize::try_from(template.max_bytes).unwrap_or(usize::MAX),
        over: false,
    };
    let rendered = body.render_captured_to(context, &mut bounded);
    if bounded.over {
        anyhow::bail!(
            "--template {}: the body it rendered for batch {} is over --max-body-size ({} bytes)",
            template.file,
            batch.batch_id,
            template.max_bytes
        );
    }
    rendered.map_err(|err| template.located(&err))?;
    check_body(kind, &out[start..]).map_err(|why| {
        anyhow!(
            "--template {}: the body it rendered for batch {} is not {why}",
            template.file,
            batch.batch_id
        )
    })
}

/// A rendered body against its content type: JSON must be one JSON value, JSON lines one per
/// line; the error says where the body goes wrong.
fn check_body(kind: BodyKind, body: &[u8]) -> Result<(), String> {
    let one = |text: &[u8], line_offset: usize| -> Result<(), String> {
        serde_json::from_slice::<serde::de::IgnoredAny>(text)
            .map(|_| ())
            .map_err(|err| {
                let what = err.to_string();
                let what = what.split(" at line ").next().unwrap_or_default();
                format!(
                    "JSON: {what} at body line {}, column {}, near `{}`",
                    err.line() + line_offset,
                    err.column(),
                    near(text, err.line(), err.column())
                )
            })
    };
    match kind {
        BodyKind::Json => one(body, 0),
        BodyKind::JsonLines => body
            .split(|&b| b == b'\n')
            .enumerate()
            .filter(|(_, line)| !line.iter().all(u8::is_ascii_whitespace))
            .try_for_each(|(number, line)| one(line, number)),
        BodyKind::Markup | BodyKind::Text => Ok(()),
    }
}

/// Up to 40 characters of `text` around line `line`, column `column` (1-based), on one line.
fn near(text: &[u8], line: usize, column: usize) -> String {
    let Some(found) = text.split(|&b| b == b'\n').nth(line.saturating_sub(1)) else {
        return String::new();
    };
    let at = column.saturating_sub(1).min(found.len());
    let from = at.saturating_sub(20);
    let to = (at + 20).min(found.len());
    String::from_utf8_lossy(&found[from..to])
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

mod rows;
#[cfg(test)]
mod tests;
