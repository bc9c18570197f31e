//! JSON input's rows: each object (cut out by `json_split.rs`) parsed by serde_json into the
//! table's cells. The columns are the keys of the first object (or `--columns`); a later
//! object's key that is no column is an extra cell, a column it lacks a `Missing` cell (both
//! make the row invalid, as a ragged CSV row is). A cell holds the text a CSV cell would hold
//! (a string unescaped, a number or boolean as written, an object or array as compact JSON,
//! null as nothing), with its `CellKind`, so that the payload keeps the JSON types. `--flatten`
//! makes a nested object's keys dotted columns (`address.city`), the inverse of `--nest`.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::io::Read;

use anyhow::{anyhow, Result};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::read::json_split::{JsonObjects, Object};
use crate::read::raw_record::{CellKind, RawRecord};

/// The rows of a JSON input.
pub struct JsonRows {
    objects: JsonObjects<Box<dyn Read + Send>>,
    label: String,
    builder: RowBuilder,
    /// The first row, read with the columns, not handed out yet.
    first: Option<(u64, RawRecord)>,
}

impl JsonRows {
    /// Reads the first object: its keys are the columns unless `columns` names them. Returns
    /// the rows and the columns' names; None for an input with no object (or `[]`).
    pub fn open(
        reader: Box<dyn Read + Send>,
        label: String,
        columns: &[String],
        flatten: bool,
        max_object_bytes: u64,
    ) -> Result<(JsonRows, Vec<String>)> {
        let mut rows = JsonRows {
            objects: JsonObjects::new(reader, label.clone(), max_object_bytes),
            label,
            builder: RowBuilder::new(columns, flatten),
            first: None,
        };
        let mut record = RawRecord::default();
        if let Some(line) = rows.next_row(&mut record)? {
            rows.first = Some((line, record));
        }
        rows.builder.discovering = false;
        let names = rows.builder.columns.clone();
        Ok((rows, names))
    }

    /// Whether the input held no object at all.
    pub fn is_empty(&self) -> bool {
        self.first.is_none() && self.builder.columns.is_empty()
    }

    /// Reads the next object's cells into `record`; returns the line it starts on, or None at
    /// the end.
    pub fn next_row(&mut self, record: &mut RawRecord) -> Result<Option<u64>> {
        if let Some((line, first)) = self.first.take() {
            *record = first;
            return Ok(Some(line));
        }
        let Some(object) = self.objects.next_object()? else {
            return Ok(None);
        };
        let line = object.line;
        self.builder
            .read(&object)
            .map_err(|err| err.located(&self.label, &object))?;
        self.builder.fill(record);
        record.set_start(object.offset);
        Ok(Some(line))
    }
}

/// A parse error and where in the object it is (serde_json's 1-based line and column).
struct ObjectError {
    message: String,
    line: usize,
    column: usize,
}

impl ObjectError {
    /// The error as one line naming the input, the line in it and the byte.
    fn located(self, label: &str, object: &Object) -> anyhow::Error {
        let bytes = object.bytes;
        // Where serde_json's line starts in the object.
        let line_start = match self.line {
            0 | 1 => 0,
            n => memchr::memchr_iter(b'\n', bytes)
                .nth(n - 2)
                .map_or(bytes.len(), |at| at + 1),
        };
        let at = (line_start + self.column.saturating_sub(1)).min(bytes.len());
        let line = object.line + self.line.max(1) as u64 - 1;
        anyhow!(
            "{label}: line {line}, byte {}: {}",
            object.offset + at as u64 + 1,
            self.message
        )
    }
}

/// One object's cells, gathered by column while serde_json visits its keys.
struct RowBuilder {
    columns: Vec<String>,
    index: HashMap<String, usize>,
    flatten: bool,
    /// The first object's keys become the columns.
    discovering: bool,
    /// Every cell's text, one after the other.
    text: String,
    /// Per column: its cell's span in `text` and kind, once the object had the key.
    slots: Vec<Option<(usize, usize, CellKind)>>,
    /// Keys that are no column: their cells, in order.
    extras: Vec<(usize, usize, CellKind)>,
    /// The column the next key most likely is (objects mostly keep the first one's order).
    next: usize,
    /// A dotted key being built under `--flatten`.
    path: String,
}

impl RowBuilder {
    fn new(columns: &[String], flatten: bool) -> RowBuilder {
        RowBuilder {
            index: columns
                .iter()
                .enumerate()
                .map(|(i, name)| (name.clone(), i))
                .collect(),
            columns: columns.to_vec(),
            flatten,
            discovering: columns.is_empty(),
            text: String::new(),
            slots: vec![None; columns.len()],
            extras: Vec::new(),
            next: 0,
            path: String::new(),
        }
    }

    /// Parses one object into the slots.
    fn read(&mut self, object: &Object) -> Result<(), ObjectError> {
        let text = match simdutf8::basic::from_utf8(object.bytes) {
            Ok(text) => text,
            Err(_) => {
                let valid =
                    std::str::from_utf8(object.bytes).map_or_else(|e| e.valid_up_to(), |_| 0);
                let line = 1 + memchr::memchr_iter(b'\n', &object.bytes[..valid]).count();
                let line_start =
                    memchr::memrchr(b'\n', &object.bytes[..valid]).map_or(0, |at| at + 1);
                return Err(ObjectError {
                    message: "invalid UTF-8 (JSON is UTF-8; UTF-16 needs its byte order mark)"
                        .into(),
                    line,
                    column: valid - line_start + 1,
                });
            }
        };
        self.text.clear();
        self.slots.iter_mut().for_each(|slot| *slot = None);
        self.extras.clear();
        self.next = 0;
        self.path.clear();
        let mut de = serde_json::Deserializer::from_str(text);
        let parsed = ObjectSeed { rows: self }
            .deserialize(&mut de)
            .and_then(|()| de.end());
        parsed.map_err(|err| {
            let message = err.to_string();
            // serde_json ends its message with where; the caller says where in the input.
            let message = match message.rfind(" at line ") {
                Some(at) => message[..at].to_string(),
                None => message,
            };
            ObjectError {
                message,
                line: err.line(),
                column: err.column(),
            }
        })
    }

    /// Writes the gathered cells into `record`: one per column, then the extra ones.
    fn fill(&self, record: &mut RawRecord) {
        record.clear();
        for slot in &self.slots {
            match *slot {
                Some((start, end, kind)) => {
                    record.push_typed(&self.text.as_bytes()[start..end], kind)
                }
                None => record.push_typed(b"", CellKind::Missing),
            }
        }
        for &(start, end, kind) in &self.extras {
            record.push_typed(&self.text.as_bytes()[start..end], kind);
        }
    }

    /// One key and its value (`self.path` is the dotted key above it under `--flatten`).
    fn put(&mut self, key: &str, value: &RawValue) -> Result<(), String> {
        let json = value.get();
        if self.flatten && json.starts_with('{') && !is_empty_object(json) {
            let depth = self.path.len();
            if depth > 0 {
                self.path.push('.');
            }
            self.path.push_str(key);
            let mut de = serde_json::Deserializer::from_str(json);
            ObjectSeed { rows: self }
                .deserialize(&mut de)
                .map_err(|err| err.to_string())?;
            self.path.truncate(depth);
            return Ok(());
        }
        let start = self.text.len();
        let kind = cell_text(json, &mut self.text)?;
        let cell = (start, self.text.len(), kind);
        let dotted;
        let name = if self.path.is_empty() {
            key
        } else {
            dotted = format!("{}.{key}", self.path);
            &dotted
        };
        let column = match self.columns.get(self.next) {
            Some(expected) if expected == name => Some(self.next),
            _ => self.index.get(name).copied(),
        };
        match column {
            Some(column) if self.slots[column].is_some() => {
                Err(format!("the key {name:?} appears twice in the object"))
            }
            Some(column) => {
                self.slots[column] = Some(cell);
                self.next = column + 1;
                Ok(())
            }
            None if self.discovering => {
                self.index.insert(name.to_string(), self.columns.len());
                self.columns.push(name.to_string());
                self.slots.push(Some(cell));
                self.next = self.columns.len();
                Ok(())
            }
            None => {
                self.extras.push(cell);
                Ok(())
            }
        }
    }
}

/// Appends the text a value stands for in a cell; returns its kind.
fn cell_text(json: &str, out: &mut String) -> Result<CellKind, String> {
    match json.as_bytes().first() {
        Some(b'"') if !json.contains('\\') => {
            out.push_str(&json[1..json.len() - 1]);
            Ok(CellKind::Text)
        }
        Some(b'"') => {
            let text: String = serde_json::from_str(json).map_err(|err| err.to_string())?;
            out.push_str(&text);
            Ok(CellKind::Text)
        }
        Some(b'n') => Ok(CellKind::Null),
        Some(b'{' | b'[') => {
            compact_json(json, out);
            Ok(CellKind::Json)
        }
        _ => {
            out.push_str(json);
            Ok(CellKind::Json)
        }
    }
}

/// Whether `json` (an object) has no key.
fn is_empty_object(json: &str) -> bool {
    json[1..].trim_start().starts_with('}')
}

/// Appends valid JSON without the whitespace between its tokens.
fn compact_json(json: &str, out: &mut String) {
    let mut in_string = false;
    let mut escaped = false;
    for c in json.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if !matches!(c, ' ' | '\t' | '\n' | '\r') {
            in_string = c == '"';
            out.push(c);
        }
    }
}

/// A key, borrowed from the input unless it has escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E: de::Error>(self, key: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(key)))
            }
            fn visit_str<E: de::Error>(self, key: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(key.to_string())))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// Visits an object's keys into the row being built.
struct ObjectSeed<'b> {
    rows: &'b mut RowBuilder,
}

impl<'de> DeserializeSeed<'de> for ObjectSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ObjectSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<Key<'de>>()? {
            let value: &'de RawValue = map.next_value()?;
            self.rows.put(&key.0, value).map_err(de::Error::custom)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
