//! A batch's stored rows as template values, parsed in one pass: every row an object over the
//! batch's shared column names, holding only its values. A map per row (MiniJinja's own, from
//! serde) cost a hashed insert per cell and was most of a template's time; rows of one batch
//! nearly always have the same keys in the same order, so a row keeps a shared "shape" (its key
//! order) and a lookup is one search in the batch's names (bench/README.md: templates).

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use minijinja::value::{Enumerator, Object, ObjectRepr};
use minijinja::Value;
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// Parses a batch's rows (a JSON array of objects) into a list of row values.
pub fn parse_rows(data: &[u8]) -> Result<Value, serde_json::Error> {
    let mut batch = Batch::default();
    let mut de = serde_json::Deserializer::from_slice(data);
    let parsed = (&mut de).deserialize_seq(RowsVisitor { batch: &mut batch })?;
    de.end()?;
    let names = Arc::new(batch.names);
    let rows: Vec<Value> = parsed
        .into_iter()
        .map(|(shape, values)| match shape {
            Some(shape) => Value::from_object(Row {
                names: names.clone(),
                shape,
                values,
            }),
            None => values.into_iter().next().unwrap_or_default(),
        })
        .collect();
    Ok(Value::from(rows))
}

/// The batch's column names, in the order first seen.
#[derive(Default)]
struct Names {
    values: Vec<Value>,
    index: HashMap<Arc<str>, u32>,
}

impl Names {
    /// A name's index: a few names are compared in turn (no hashing, and most differ in
    /// length), many are looked up.
    fn find(&self, key: &str) -> Option<u32> {
        if self.values.len() > 32 {
            return self.index.get(key).copied();
        }
        self.values
            .iter()
            .position(|name| name.as_str() == Some(key))
            .map(|at| at as u32)
    }
}

/// What parsing a batch keeps between rows.
#[derive(Default)]
struct Batch {
    names: Names,
    /// The previous row's shape: the next one is most likely the same.
    last_shape: Option<Arc<Shape>>,
}

impl Batch {
    fn name(&mut self, key: &str) -> u32 {
        if let Some(at) = self.names.find(key) {
            return at;
        }
        let at = self.names.values.len() as u32;
        let key: Arc<str> = Arc::from(key);
        self.names.values.push(Value::from(key.clone()));
        self.names.index.insert(key, at);
        at
    }

    /// The shape of a row with `keys`, shared with the row before when they are the same.
    fn shape(&mut self, keys: Vec<u32>) -> Arc<Shape> {
        if let Some(last) = &self.last_shape
            && last.keys == keys
        {
            return last.clone();
        }
        let mut position = vec![u32::MAX; self.names.values.len()];
        for (at, &name) in keys.iter().enumerate() {
            position[name as usize] = at as u32;
        }
        let shape = Arc::new(Shape { keys, position });
        self.last_shape = Some(shape.clone());
        shape
    }
}

/// A row's keys (indexes into the batch's names) in order, and where each name's value is.
#[derive(Debug, PartialEq)]
struct Shape {
    keys: Vec<u32>,
    /// By name index: the value's place in the row, `u32::MAX` when the row lacks it.
    position: Vec<u32>,
}

struct Row {
    names: Arc<Names>,
    shape: Arc<Shape>,
    values: Vec<Value>,
}

impl fmt::Debug for Row {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (name, value) in self.shape.keys.iter().zip(&self.values) {
            map.entry(&self.names.values[*name as usize], value);
        }
        map.finish()
    }
}

impl Object for Row {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.get_value_by_str(key.as_str()?)
    }

    fn get_value_by_str(self: &Arc<Self>, key: &str) -> Option<Value> {
        let name = self.names.find(key)?;
        let at = *self.shape.position.get(name as usize)?;
        self.values.get(at as usize).cloned()
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        let names = &self.names.values;
        Enumerator::Values(
            self.shape
                .keys
                .iter()
                .map(|&name| names[name as usize].clone())
                .collect(),
        )
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(self.values.len())
    }
}

/// Reads a key without copying it and gives its name's index.
struct KeySeed<'a> {
    expected: Option<u32>,
    batch: &'a mut Batch,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = u32;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<u32, D::Error> {
        de.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = u32;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a column name")
    }

    fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<u32, E> {
        let names = &self.batch.names.values;
        match self.expected {
            Some(name) if names[name as usize].as_str() == Some(key) => Ok(name),
            _ => Ok(self.batch.name(key)),
        }
    }
}

/// A parsed row: its shape and values, or (no shape) a value that is not an object.
type Parsed = (Option<Arc<Shape>>, Vec<Value>);

struct RowsVisitor<'a> {
    batch: &'a mut Batch,
}

impl<'de> Visitor<'de> for RowsVisitor<'_> {
    type Value = Vec<Parsed>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of rows")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut rows = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(row) = seq.next_element_seed(RowSeed {
            batch: &mut *self.batch,
        })? {
            rows.push(row);
        }
        Ok(rows)
    }
}

struct RowSeed<'a> {
    batch: &'a mut Batch,
}

impl<'de> DeserializeSeed<'de> for RowSeed<'_> {
    type Value = Parsed;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Parsed, D::Error> {
        de.deserialize_any(self)
    }
}

/// A row that is not an object (a damaged log, or a test) is kept as the value it is.
macro_rules! as_plain {
    ($($method:ident: $ty:ty),*) => {$(
        fn $method<E: serde::de::Error>(self, v: $ty) -> Result<Parsed, E> {
            Ok((None, vec![Value::from(v)]))
        }
    )*};
}

impl<'de> Visitor<'de> for RowSeed<'_> {
    type Value = Parsed;

    as_plain!(visit_bool: bool, visit_i64: i64, visit_u64: u64, visit_f64: f64, visit_str: &str);

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a row object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Parsed, A::Error> {
        let expected = self.batch.last_shape.clone();
        let mut keys = Vec::with_capacity(expected.as_ref().map_or(8, |s| s.keys.len()));
        let mut values = Vec::with_capacity(keys.capacity());
        while let Some(name) = map.next_key_seed(KeySeed {
            // The key the row before had here, compared before any hashing.
            expected: expected
                .as_ref()
                .and_then(|shape| shape.keys.get(keys.len()).copied()),
            batch: &mut *self.batch,
        })? {
            if keys.contains(&name) {
                // A key given twice: the last value counts, as with a map.
                let at = keys.iter().position(|&k| k == name).expect("contained");
                values[at] = map.next_value()?;
                continue;
            }
            keys.push(name);
            values.push(map.next_value::<Value>()?);
        }
        Ok((Some(self.batch.shape(keys)), values))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_share_names_and_keep_their_own_key_order() {
        let rows =
            parse_rows(br#"[{"a":1,"b":"x"},{"a":2,"b":"y"},{"b":"z","c":[1],"a":3}]"#).unwrap();
        let env = minijinja::Environment::new();
        let shown = env
            .render_str(
                "{% for r in rows %}{{ r.a }}{{ r.b }}{{ r.c|default('-') }}|{{ r|list|join(',') }};{% endfor %}",
                minijinja::context! { rows => rows },
            )
            .unwrap();
        assert_eq!(shown, "1x-|a,b;2y-|a,b;3z[1]|b,c,a;");
    }

    #[test]
    fn damaged_rows_are_errors() {
        assert!(parse_rows(b"[{\"a\":1}").is_err());
        assert!(parse_rows(b"{}").is_err());
        assert!(parse_rows(b"[{\"a\":1}] x").is_err());
    }
}
