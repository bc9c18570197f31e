//! GET requests: a JSON object flattened into query parameters, nested keys joined with `_`.

use serde_json::Value;

/// `{"a":{"b":1},"c":[x,y]}` → `a_b=1&c_0=x&c_1=y`. Null is an empty value; empty arrays and
/// objects add nothing.
pub fn flatten_query(value: &Value) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    let mut pairs = Vec::new();
    flatten("", value, &mut pairs);
    for (key, text) in &pairs {
        query.append_pair(key, text);
    }
    query.finish()
}

fn flatten(prefix: &str, value: &Value, out: &mut Vec<(String, String)>) {
    let join = |key: &str| {
        if prefix.is_empty() {
            key.to_string()
        } else {
            format!("{prefix}_{key}")
        }
    };
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                flatten(&join(key), inner, out);
            }
        }
        Value::Array(items) => {
            for (i, inner) in items.iter().enumerate() {
                flatten(&join(&i.to_string()), inner, out);
            }
        }
        Value::Null => out.push((prefix.to_string(), String::new())),
        Value::String(text) => out.push((prefix.to_string(), text.clone())),
        other => out.push((prefix.to_string(), other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_values_join_with_underscores() {
        let q = flatten_query(
            &json!({"a": {"b": 1}, "c": ["x", null], "d": true, "e": [], "s": "x y&z"}),
        );
        assert_eq!(q, "a_b=1&c_0=x&c_1=&d=true&s=x+y%26z");
    }
}
