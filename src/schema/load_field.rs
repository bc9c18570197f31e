//! Reading one field of a schema: its type and format, its constraints, and the constants
//! (bounds, enum members, example) cast with the field's own reader as frictionless does.

use regex::Regex;
use serde_json::{Map, Value as Json};

use super::constraints::{Constant, Constraints};
use super::load::{Loader, Result};
use super::types::{CellValue, FieldType, NumberStyle, StringFormat, Strptime};
use super::Field;

/// Field properties that describe but do not constrain; accepted and ignored.
const FIELD_DESCRIPTIVE: &[&str] = &["title", "description", "example", "rdfType"];

impl Loader<'_> {
    pub(super) fn field(&self, json: &Json, path: &str) -> Result<Field> {
        let obj = self.object(json, path)?;
        let name = obj
            .get("name")
            .and_then(Json::as_str)
            .ok_or_else(|| self.err(path, "\"name\" is required and must be a string"))?;
        let type_name = match obj.get("type") {
            None => "string",
            Some(t) => t
                .as_str()
                .ok_or_else(|| self.err(path, "\"type\" must be a string"))?,
        };
        let extra: &[&str] = match type_name {
            "boolean" => &["trueValues", "falseValues"],
            "integer" => &["bareNumber"],
            "number" => &["bareNumber", "decimalChar", "groupChar"],
            _ => &[],
        };
        for key in obj.keys() {
            let common = ["name", "type", "format", "constraints", "missingValues"];
            if key == "required" {
                return Err(self.err(path, "\"required\" belongs in \"constraints\""));
            }
            if !common.contains(&key.as_str())
                && !FIELD_DESCRIPTIVE.contains(&key.as_str())
                && !extra.contains(&key.as_str())
            {
                return Err(self.err(
                    path,
                    format!("unsupported property {key:?} for a field of type {type_name:?}"),
                ));
            }
        }
        let field_type = self.field_type(obj, type_name, path)?;
        let constraints = match obj.get("constraints") {
            Some(c) => {
                self.constraints(c, &field_type, type_name, &format!("{path}.constraints"))?
            }
            None => Constraints::default(),
        };
        if let Some(example) = obj.get("example")
            && self.constant(example, &field_type).is_none()
        {
            return Err(self.err(
                &format!("{path}.example"),
                format!("{example} is not a valid {type_name}"),
            ));
        }
        let missing_values = match obj.get("missingValues") {
            Some(v) => Some(self.missing_values(v, &format!("{path}.missingValues"))?),
            None => None,
        };
        Ok(Field {
            name: name.to_string(),
            field_type,
            constraints,
            missing_values,
        })
    }

    fn field_type(
        &self,
        obj: &Map<String, Json>,
        type_name: &str,
        path: &str,
    ) -> Result<FieldType> {
        let format_path = format!("{path}.format");
        let format = match obj.get("format") {
            None => "default",
            Some(f) => f
                .as_str()
                .ok_or_else(|| self.err(&format_path, "must be a string"))?,
        };
        // Table Schema v1 allowed a "fmt:" prefix on patterns; frictionless drops it.
        let format = format.strip_prefix("fmt:").unwrap_or(format);
        let temporal = |what: &str| -> Result<Option<Strptime>> {
            match format {
                "default" => Ok(None),
                "any" => Err(self.err(&format_path, format!("format \"any\" (guessing the {what} format) is not supported; give a strptime pattern such as \"%d/%m/%Y\""))),
                pattern => Strptime::new(pattern).map(Some).map_err(|e| self.err(&format_path, e)),
            }
        };
        let only_default = |t: FieldType| {
            if format == "default" {
                Ok(t)
            } else {
                Err(self.err(
                    &format_path,
                    format!("unsupported format {format:?} for type {type_name:?}"),
                ))
            }
        };
        let flag = |key: &str, default: bool| -> Result<bool> {
            match obj.get(key) {
                None => Ok(default),
                Some(v) => v
                    .as_bool()
                    .ok_or_else(|| self.err(&format!("{path}.{key}"), "must be true or false")),
            }
        };
        let text = |key: &str, default: &str| -> Result<String> {
            match obj.get(key) {
                None => Ok(default.to_string()),
                Some(Json::String(s)) if !s.is_empty() || key == "groupChar" => Ok(s.clone()),
                Some(_) => Err(self.err(&format!("{path}.{key}"), "must be a non-empty string")),
            }
        };
        match type_name {
            "string" => match format {
                "default" => Ok(FieldType::String(StringFormat::Default)),
                "email" => Ok(FieldType::String(StringFormat::Email)),
                "uri" => Ok(FieldType::String(StringFormat::Uri)),
                "uuid" => Ok(FieldType::String(StringFormat::Uuid)),
                _ => Err(self.err(&format_path, format!("unsupported format {format:?} for type \"string\" (supported: email, uri, uuid)"))),
            },
            "integer" => only_default(FieldType::Integer { bare: flag("bareNumber", true)? }),
            "number" => only_default(FieldType::Number(NumberStyle {
                bare: flag("bareNumber", true)?,
                group_char: text("groupChar", "")?,
                decimal_char: text("decimalChar", ".")?,
                explicit: ["bareNumber", "groupChar", "decimalChar"].iter().any(|k| obj.contains_key(*k)),
            })),
            "boolean" => {
                let list = |key: &str, default: [&str; 4]| match obj.get(key) {
                    Some(v) => self.strings(v, &format!("{path}.{key}")),
                    None => Ok(default.iter().map(|s| s.to_string()).collect()),
                };
                only_default(FieldType::Boolean {
                    true_values: list("trueValues", ["true", "True", "TRUE", "1"])?,
                    false_values: list("falseValues", ["false", "False", "FALSE", "0"])?,
                })
            }
            "date" => Ok(FieldType::Date(temporal("date")?)),
            "datetime" => Ok(FieldType::DateTime(temporal("datetime")?)),
            "time" => Ok(FieldType::Time(temporal("time")?)),
            "year" => only_default(FieldType::Year),
            "any" => only_default(FieldType::Any),
            "object" => only_default(FieldType::Object),
            "array" => only_default(FieldType::Array),
            other => Err(self.err(&format!("{path}.type"), format!("unsupported type {other:?}"))),
        }
    }

    /// A JSON constant (bound, enum member, example) cast with the field's own reader, as
    /// frictionless does; `None` when it is not a valid value of the field.
    fn constant(&self, json: &Json, field_type: &FieldType) -> Option<Constant> {
        let text = match json {
            Json::String(s) => s.clone(),
            Json::Number(n) => n.to_string(),
            Json::Bool(b) => b.to_string(),
            Json::Object(_) | Json::Array(_) => json.to_string(),
            Json::Null => return None,
        };
        let value = match (json, field_type) {
            (Json::Bool(b), FieldType::Boolean { .. }) => super::types::CellValue::Bool(*b),
            (Json::Object(_), FieldType::Object) | (Json::Array(_), FieldType::Array) => {
                super::types::CellValue::Json(Box::new(json.clone()))
            }
            (Json::Object(_) | Json::Array(_), _) => return None,
            (Json::Bool(_), _) => return None,
            // JSON numbers are numbers already: no bareNumber or decimalChar processing.
            (Json::Number(_), FieldType::Integer { .. } | FieldType::Year) => {
                let dec = super::types::number::parse_py_decimal(&text)?;
                match dec {
                    super::types::number::Dec::Finite { exp, .. } if exp >= 0 => {
                        super::types::CellValue::Num(dec)
                    }
                    _ => return None,
                }
            }
            (Json::Number(_), FieldType::Number(_)) => {
                super::types::CellValue::Num(super::types::number::parse_py_decimal(&text)?)
            }
            (Json::Number(_), _) => return None,
            _ => into_owned(field_type.cast(&text)?),
        };
        Some(Constant { value, text })
    }

    fn constraints(
        &self,
        json: &Json,
        field_type: &FieldType,
        type_name: &str,
        path: &str,
    ) -> Result<Constraints> {
        let obj = self.object(json, path)?;
        let supported = constraints_of_type(type_name);
        let mut c = Constraints::default();
        for (key, value) in obj {
            if !CONSTRAINTS.contains(&key.as_str()) {
                return Err(self.err(path, format!("unsupported constraint {key:?}")));
            }
            if !supported.contains(&key.as_str()) {
                return Err(self.err(
                    path,
                    format!("constraint {key:?} does not apply to type {type_name:?}"),
                ));
            }
            let here = format!("{path}.{key}");
            let bool_of = |v: &Json| {
                v.as_bool()
                    .ok_or_else(|| self.err(&here, "must be true or false"))
            };
            let len_of = |v: &Json| {
                v.as_u64()
                    .map(|n| n as usize)
                    .ok_or_else(|| self.err(&here, "must be a non-negative integer"))
            };
            let bound = |v: &Json| {
                self.constant(v, field_type)
                    .ok_or_else(|| self.err(&here, format!("{v} is not a valid {type_name}")))
            };
            match key.as_str() {
                "required" => c.required = bool_of(value)?,
                "unique" => c.unique = bool_of(value)?,
                "minLength" => c.min_length = Some(len_of(value)?),
                "maxLength" => c.max_length = Some(len_of(value)?),
                "pattern" => c.pattern = Some(self.pattern(value, &here)?),
                "minimum" => c.minimum = Some(bound(value)?),
                "maximum" => c.maximum = Some(bound(value)?),
                "exclusiveMinimum" => c.exclusive_minimum = Some(bound(value)?),
                "exclusiveMaximum" => c.exclusive_maximum = Some(bound(value)?),
                _ => {
                    let items = value
                        .as_array()
                        .ok_or_else(|| self.err(&here, "must be a list"))?;
                    let members: Vec<Constant> = items.iter().map(bound).collect::<Result<_>>()?;
                    c.enum_strings = members
                        .iter()
                        .map(|m| match &m.value {
                            CellValue::Str(s) => Some(s.to_string()),
                            _ => None,
                        })
                        .collect();
                    c.enumeration = Some(members);
                }
            }
        }
        Ok(c)
    }

    /// A `pattern` constraint: its text, and the regular expression compiled from it.
    fn pattern(&self, value: &Json, here: &str) -> Result<(String, Regex)> {
        let p = value
            .as_str()
            .ok_or_else(|| self.err(here, "must be a string"))?;
        let regex = Constraints::compile_pattern(p).map_err(|e| {
            self.err(
                here,
                format!(
                    "invalid regular expression: {}",
                    e.to_string().replace('\n', " ")
                ),
            )
        })?;
        Ok((p.to_string(), regex))
    }
}

/// Every constraint of Table Schema.
const CONSTRAINTS: &[&str] = &[
    "required",
    "unique",
    "minLength",
    "maxLength",
    "pattern",
    "enum",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
];

/// The constraints a field of type `type_name` may have.
fn constraints_of_type(type_name: &str) -> &'static [&'static str] {
    match type_name {
        "string" => &[
            "required",
            "unique",
            "minLength",
            "maxLength",
            "pattern",
            "enum",
        ],
        "boolean" | "any" => &["required", "unique", "enum"],
        "object" | "array" => &["required", "unique", "minLength", "maxLength", "enum"],
        _ => &[
            "required",
            "unique",
            "minimum",
            "maximum",
            "exclusiveMinimum",
            "exclusiveMaximum",
            "enum",
        ],
    }
}

fn into_owned(value: super::types::CellValue<'_>) -> super::types::CellValue<'static> {
    use super::types::CellValue;
    match value {
        CellValue::Str(s) => CellValue::Str(s.into_owned().into()),
        CellValue::Num(d) => CellValue::Num(d),
        CellValue::Bool(b) => CellValue::Bool(b),
        CellValue::Date(d) => CellValue::Date(d),
        CellValue::DateTime(t) => CellValue::DateTime(t),
        CellValue::Time(t) => CellValue::Time(t),
        CellValue::Json(v) => CellValue::Json(v),
    }
}
