//! `--nest`: columns with dotted names become nested objects (`address.city` ->
//! `{"address":{"city":...}}`), at send time, in every format and in templates. The stored
//! payload keeps flat rows, so a run's bodies depend on the flag alone.

use serde_json::{Map, Value};

/// Checks that `columns` nest without conflict, naming the columns that clash: a name that is
/// also an object (`a` and `a.b`), the same path twice (`a.b` twice), or a name with an empty
/// part (`a..b`, `.a`, `a.`).
pub fn check_nesting(columns: &[String]) -> Result<(), String> {
    let mut root = Node::Object(Vec::new());
    for column in columns {
        if column.starts_with("__") {
            continue;
        }
        let parts: Vec<&str> = column.split('.').collect();
        if parts.iter().any(|part| part.is_empty()) {
            return Err(format!(
                "--nest: column `{column}` has an empty part between its dots"
            ));
        }
        root.insert(&parts, column)?;
    }
    Ok(())
}

/// The tree of column paths `check_nesting` builds: a leaf holds the column it came from.
enum Node<'a> {
    Leaf(&'a str),
    Object(Vec<(&'a str, Node<'a>)>),
}

impl<'a> Node<'a> {
    fn insert(&mut self, parts: &[&'a str], column: &'a str) -> Result<(), String> {
        let Node::Object(children) = self else {
            unreachable!("only objects are descended into")
        };
        let (first, rest) = parts.split_first().expect("split gives one part at least");
        let at = children.iter().position(|(name, _)| name == first);
        match (at, rest.is_empty()) {
            (None, true) => children.push((first, Node::Leaf(column))),
            (None, false) => {
                children.push((first, Node::Object(Vec::new())));
                let last = children.len() - 1;
                children[last].1.insert(rest, column)?;
            }
            (Some(at), _) => match &mut children[at].1 {
                Node::Leaf(other) => return Err(clash(other, column)),
                Node::Object(_) if rest.is_empty() => {
                    return Err(clash(children[at].1.any_column(), column))
                }
                node => node.insert(rest, column)?,
            },
        }
        Ok(())
    }

    /// A column under this node, to name in a clash.
    fn any_column(&self) -> &'a str {
        match self {
            Node::Leaf(column) => column,
            Node::Object(children) => children[0].1.any_column(),
        }
    }
}

fn clash(first: &str, second: &str) -> String {
    format!(
        "--nest: columns `{first}` and `{second}` would be the same field, or one inside the other"
    )
}

/// A batch's rows with dotted keys nested; `__` fields (`__index`, `__errors`, ...) as they are.
pub fn nest_rows(rows: Vec<Value>) -> Vec<Value> {
    rows.into_iter()
        .map(|row| match row {
            Value::Object(fields) => Value::Object(nest_row(fields)),
            other => other,
        })
        .collect()
}

/// One row's fields nested: a group takes the place of its first column.
pub fn nest_row(fields: Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::with_capacity(fields.len());
    for (key, value) in fields {
        if key.starts_with("__") || !key.contains('.') {
            out.insert(key, value);
            continue;
        }
        let mut parts = key.split('.');
        let first = parts.next().expect("split gives one part at least");
        let mut place = out
            .entry(first.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        for part in parts {
            // Columns were checked at staging; a clash in a damaged log keeps the last value.
            if !place.is_object() {
                *place = Value::Object(Map::new());
            }
            place = place
                .as_object_mut()
                .expect("made an object above")
                .entry(part.to_string())
                .or_insert(Value::Null);
        }
        *place = value;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn dotted_columns_nest_in_the_place_of_their_first() {
        let row = json!({"id": 1, "address.city": "Oslo", "name": "Ada",
                         "address.geo.lat": 59.9, "address.zip": "0150", "__index": 1});
        let Value::Object(fields) = row else { panic!() };
        let nested = Value::Object(nest_row(fields));
        assert_eq!(
            nested.to_string(),
            r#"{"id":1,"address":{"city":"Oslo","geo":{"lat":59.9},"zip":"0150"},"name":"Ada","__index":1}"#
        );
    }

    #[test]
    fn clashes_name_both_columns() {
        assert!(check_nesting(&names(&["a.b", "a.c", "b", "__index"])).is_ok());
        let err = check_nesting(&names(&["a", "x", "a.b"])).unwrap_err();
        assert!(err.contains("`a`") && err.contains("`a.b`"), "{err}");
        let err = check_nesting(&names(&["a.b.c", "a.b"])).unwrap_err();
        assert!(err.contains("`a.b.c`") && err.contains("`a.b`"), "{err}");
        let err = check_nesting(&names(&["a.b", "a.b"])).unwrap_err();
        assert!(err.contains("`a.b`"), "{err}");
        let err = check_nesting(&names(&["a..b"])).unwrap_err();
        assert!(err.contains("empty part"), "{err}");
        assert!(check_nesting(&names(&["a."])).is_err());
    }
}
