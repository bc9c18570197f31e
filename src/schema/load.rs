//! Reading a schema file: JSON parsing with positions, then a strict walk that refuses any
//! property pulse does not implement (silently ignoring one would validate less than asked).

use std::collections::HashSet;
use std::path::Path;

use serde_json::{Map, Value as Json};

use super::{Field, FieldsMatch, Schema, SchemaError};

/// Properties that describe but do not constrain; accepted and ignored.
const DESCRIPTIVE: &[&str] = &[
    "$schema",
    "name",
    "title",
    "description",
    "homepage",
    "profile",
];

impl Schema {
    /// Reads and checks a schema file; errors name the file.
    pub fn load(path: &Path) -> std::result::Result<Schema, SchemaError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| SchemaError::Read {
            origin: origin.clone(),
            source,
        })?;
        Schema::parse(&text, &origin)
    }

    /// Parses schema JSON; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> std::result::Result<Schema, SchemaError> {
        let json: Json = serde_json::from_str(text).map_err(|e| {
            let message = e.to_string();
            let message = message
                .split(" at line ")
                .next()
                .unwrap_or_default()
                .to_string();
            SchemaError::Json {
                origin: origin.into(),
                line: e.line(),
                column: e.column(),
                message,
            }
        })?;
        Loader { origin }.schema(&json)
    }
}

pub(super) struct Loader<'a> {
    origin: &'a str,
}

pub(super) type Result<T> = std::result::Result<T, SchemaError>;

impl Loader<'_> {
    pub(super) fn err(&self, path: &str, message: impl Into<String>) -> SchemaError {
        SchemaError::Invalid {
            origin: self.origin.into(),
            path: path.into(),
            message: message.into(),
        }
    }

    pub(super) fn object<'j>(&self, value: &'j Json, path: &str) -> Result<&'j Map<String, Json>> {
        value
            .as_object()
            .ok_or_else(|| self.err(path, "must be a JSON object"))
    }

    pub(super) fn strings(&self, value: &Json, path: &str) -> Result<Vec<String>> {
        let items = value
            .as_array()
            .ok_or_else(|| self.err(path, "must be a list of strings"))?;
        items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(String::from)
                    .ok_or_else(|| self.err(path, "must be a list of strings"))
            })
            .collect()
    }

    fn schema(&self, json: &Json) -> Result<Schema> {
        let root = self.object(json, "schema")?;
        for key in root.keys() {
            let known = [
                "fields",
                "missingValues",
                "primaryKey",
                "uniqueKeys",
                "fieldsMatch",
            ];
            if !known.contains(&key.as_str()) && !DESCRIPTIVE.contains(&key.as_str()) {
                return Err(self.err("schema", format!("unsupported property {key:?}")));
            }
        }
        let missing_values = match root.get("missingValues") {
            Some(v) => self.missing_values(v, "missingValues")?,
            None => vec![String::new()],
        };
        let fields_json = root
            .get("fields")
            .ok_or_else(|| self.err("schema", "\"fields\" is required"))?;
        let fields_json = fields_json
            .as_array()
            .ok_or_else(|| self.err("fields", "must be a list"))?;
        let mut fields: Vec<Field> = Vec::with_capacity(fields_json.len());
        // A set, not a scan of the fields so far: loading stays linear in the fields.
        let mut seen = HashSet::with_capacity(fields_json.len());
        for (i, f) in fields_json.iter().enumerate() {
            let field = self.field(f, &format!("fields[{i}]"))?;
            if !seen.insert(field.name.clone()) {
                return Err(self.err(
                    &format!("fields[{i}]"),
                    format!("duplicate field name {:?}", field.name),
                ));
            }
            fields.push(field);
        }
        let check_names = |keys: &[String], path: &str| -> Result<()> {
            match keys.iter().find(|k| !seen.contains(k.as_str())) {
                Some(k) => Err(self.err(path, format!("{k:?} is not a field of the schema"))),
                None => Ok(()),
            }
        };
        let primary_key = match root.get("primaryKey") {
            None => Vec::new(),
            Some(Json::String(s)) => vec![s.clone()],
            Some(v) => self.strings(v, "primaryKey")?,
        };
        check_names(&primary_key, "primaryKey")?;
        let mut unique_keys = Vec::new();
        if let Some(v) = root.get("uniqueKeys") {
            let lists = v
                .as_array()
                .ok_or_else(|| self.err("uniqueKeys", "must be a list of lists"))?;
            for (i, list) in lists.iter().enumerate() {
                let path = format!("uniqueKeys[{i}]");
                let keys = self.strings(list, &path)?;
                check_names(&keys, &path)?;
                if keys.is_empty() {
                    return Err(self.err(&path, "must name at least one field"));
                }
                unique_keys.push(keys);
            }
        }
        let fields_match = match root.get("fieldsMatch").map(|v| v.as_str()) {
            None => FieldsMatch::Exact,
            Some(Some("exact")) => FieldsMatch::Exact,
            Some(Some("equal")) => FieldsMatch::Equal,
            Some(Some("subset")) => FieldsMatch::Subset,
            Some(Some("superset")) => FieldsMatch::Superset,
            Some(Some("partial")) => FieldsMatch::Partial,
            Some(_) => {
                let msg =
                    "must be one of \"exact\", \"equal\", \"subset\", \"superset\", \"partial\"";
                return Err(self.err("fieldsMatch", msg));
            }
        };
        let origin = self.origin.to_string();
        Ok(Schema {
            origin,
            fields,
            missing_values,
            primary_key,
            unique_keys,
            fields_match,
        })
    }

    /// A list of strings, or (Table Schema v2) of `{"value", "label"}` objects.
    pub(super) fn missing_values(&self, value: &Json, path: &str) -> Result<Vec<String>> {
        let msg = "must be a list of strings or of {\"value\": ...} objects";
        let items = value.as_array().ok_or_else(|| self.err(path, msg))?;
        items
            .iter()
            .map(|item| match item {
                Json::String(s) => Ok(s.clone()),
                Json::Object(o) => o
                    .get("value")
                    .and_then(Json::as_str)
                    .map(String::from)
                    .ok_or_else(|| self.err(path, msg)),
                _ => Err(self.err(path, msg)),
            })
            .collect()
    }
}
