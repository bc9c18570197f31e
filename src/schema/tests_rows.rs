//! Unit tests for loading errors, row-level error types, `fieldsMatch` and `missingValues`.

use super::*;

fn load_error(text: &str) -> String {
    Schema::parse(text, "schema.json").unwrap_err().to_string()
}

fn header(labels: &[&str]) -> Vec<String> {
    labels.iter().map(|s| s.to_string()).collect()
}

/// Kinds of the errors of each row, validated in order with one validator.
fn kinds(schema: Option<&str>, labels: &[&str], rows: &[&[&str]]) -> Vec<Vec<&'static str>> {
    let schema = schema.map(|s| Schema::parse(s, "s.json").unwrap_or_else(|e| panic!("{e}")));
    let mut validator = RowValidator::new(schema.as_ref(), &header(labels)).unwrap();
    let mut errors = Vec::new();
    rows.iter()
        .map(|row| {
            let valid = validator.check_row(row, &mut errors);
            assert_eq!(valid, errors.is_empty());
            errors.iter().map(|e| e.kind).collect()
        })
        .collect()
}

#[test]
fn load_errors_name_the_file_and_the_property() {
    assert_eq!(
        load_error("{\n  \"fields\": [,]\n}"),
        "schema.json: invalid JSON at line 2, column 14: expected value"
    );
    assert_eq!(
        load_error(
            r#"{"fields": [{"name": "a"}, {"name": "b"}, {"name": "c", "constraints": {"foo": 1}}]}"#
        ),
        r#"schema.json: fields[2].constraints: unsupported constraint "foo""#
    );
    let cases = [
        (
            r#"{"fields": [], "foreignKeys": []}"#,
            r#"schema: unsupported property "foreignKeys""#,
        ),
        (
            r#"{"fields": [{"name": "a", "type": "geopoint"}]}"#,
            r#"fields[0].type: unsupported type "geopoint""#,
        ),
        (
            r#"{"fields": [{"name": "a", "type": "date", "format": "any"}]}"#,
            "fields[0].format: format \"any\"",
        ),
        (
            r#"{"fields": [{"name": "a", "type": "date", "format": "%U"}]}"#,
            "unsupported strptime directive \"%U\"",
        ),
        (
            r#"{"fields": [{"name": "a", "type": "string", "format": "binary"}]}"#,
            "unsupported format \"binary\"",
        ),
        (
            r#"{"fields": [{"name": "a", "type": "integer", "constraints": {"pattern": "x"}}]}"#,
            "does not apply to type \"integer\"",
        ),
        (
            r#"{"fields": [{"name": "a", "type": "integer", "constraints": {"minimum": "x"}}]}"#,
            "minimum: \"x\" is not a valid integer",
        ),
        (
            r#"{"fields": [{"name": "a", "type": "integer", "trueValues": ["y"]}]}"#,
            "unsupported property \"trueValues\"",
        ),
        (
            r#"{"fields": [{"name": "a", "required": true}]}"#,
            "\"required\" belongs in \"constraints\"",
        ),
        (
            r#"{"fields": [{"name": "a", "constraints": {"pattern": "("}}]}"#,
            "invalid regular expression",
        ),
        (
            r#"{"fields": [{"name": "a"}, {"name": "a"}]}"#,
            "duplicate field name \"a\"",
        ),
        (
            r#"{"fields": [{"name": "a"}], "primaryKey": "b"}"#,
            "primaryKey: \"b\" is not a field",
        ),
        (
            r#"{"fields": [{"name": "a"}], "fieldsMatch": "loose"}"#,
            "fieldsMatch: must be one of",
        ),
        (
            r#"{"fields": [{"name": "a", "type": "integer", "example": "x"}]}"#,
            "fields[0].example",
        ),
    ];
    for (text, expected) in cases {
        let error = load_error(text);
        assert!(
            error.starts_with("schema.json: ") && error.contains(expected),
            "{error}"
        );
    }
    // Descriptive properties are accepted and ignored.
    let descriptive = r#"{"$schema": "x", "title": "t", "fields": [{"name": "a", "title": "A", "description": "d", "example": "1", "rdfType": "r"}]}"#;
    assert!(Schema::parse(descriptive, "s").is_ok());
}

#[test]
fn load_reads_a_file_and_reports_a_missing_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.json");
    std::fs::write(
        &path,
        r#"{"fields": [{"name": "id"}, {"name": "b"}], "primaryKey": ["id"]}"#,
    )
    .unwrap();
    let schema = Schema::load(&path).unwrap();
    assert_eq!(schema.field_names(), ["id", "b"]);
    assert_eq!(schema.primary_key(), ["id"]);
    let missing = Schema::load(&dir.path().join("nope.json"))
        .unwrap_err()
        .to_string();
    assert!(
        missing.contains("nope.json: cannot read the schema"),
        "{missing}"
    );
}

#[test]
fn ragged_rows_without_a_schema() {
    let rows: &[&[&str]] = &[&["1", "2"], &["1"], &["1", "2", "3"], &["", ""]];
    assert_eq!(
        kinds(None, &["a", "b"], rows),
        vec![
            vec![],
            vec!["missing-cell"],
            vec!["extra-cell"],
            vec!["blank-row"]
        ]
    );
}

#[test]
fn every_row_level_error_type() {
    let schema = r#"{"fields": [{"name": "id", "type": "integer"}, {"name": "code", "constraints": {"unique": true, "required": true}}],
        "primaryKey": "id"}"#;
    let rows: &[&[&str]] = &[
        &["1", "a"],
        &["1", "b"],      // primary-key: duplicate id
        &["2", "a"],      // unique-error
        &["", "c"],       // primary-key: empty key
        &["x", "d"],      // type-error, and the key is then empty
        &["3"],           // missing-cell, and required is violated
        &["4", "e", "z"], // extra-cell
        &["", ""],        // blank-row
    ];
    assert_eq!(
        kinds(Some(schema), &["id", "code"], rows),
        vec![
            vec![],
            vec!["primary-key"],
            vec!["unique-error"],
            vec!["primary-key"],
            vec!["type-error", "primary-key"],
            vec!["constraint-error", "missing-cell"],
            vec!["extra-cell"],
            vec!["blank-row"],
        ]
    );
}

#[test]
fn unique_compares_cast_values() {
    let schema = r#"{"fields": [{"name": "id"}, {"name": "n", "type": "number", "constraints": {"unique": true}}]}"#;
    let rows: &[&[&str]] = &[
        &["a", "1"],
        &["b", "1.0"],
        &["c", "NaN"],
        &["d", "NaN"],
        &["e", ""],
        &["f", ""],
    ];
    let found = kinds(Some(schema), &["id", "n"], rows);
    assert_eq!(
        found,
        vec![vec![], vec!["unique-error"], vec![], vec![], vec![], vec![]]
    );
}

#[test]
fn unique_keys_skip_rows_with_a_null() {
    let schema = r#"{"fields": [{"name": "a"}, {"name": "b", "type": "integer"}], "uniqueKeys": [["a", "b"]]}"#;
    let rows: &[&[&str]] = &[
        &["x", "1"],
        &["x", "2"],
        &["x", "01"],
        &["", "1"],
        &["", "1"],
    ];
    let found = kinds(Some(schema), &["a", "b"], rows);
    assert_eq!(
        found,
        vec![vec![], vec![], vec!["unique-error"], vec![], vec![]]
    );
}

#[test]
fn missing_values_are_null_and_only_fail_required() {
    let schema = r#"{"missingValues": ["NA", "-"], "fields": [{"name": "n", "type": "number"},
        {"name": "s", "constraints": {"required": true}}, {"name": "f", "type": "integer", "missingValues": ["?"]}]}"#;
    let rows: &[&[&str]] = &[&["NA", "x", "?"], &["", "x", "1"], &["1", "-", "NA"]];
    let found = kinds(Some(schema), &["n", "s", "f"], rows);
    assert_eq!(
        found,
        vec![
            vec![],
            vec!["type-error"],
            vec!["constraint-error", "type-error"]
        ]
    );
    let schema = Schema::parse(schema, "s").unwrap();
    let validator = RowValidator::new(Some(&schema), &header(&["n", "s", "f"])).unwrap();
    let mut out = Vec::new();
    validator.write_cast_value(0, "NA", &mut out);
    out.push(b' ');
    validator.write_cast_value(2, "?", &mut out);
    out.push(b' ');
    validator.write_cast_value(2, "NA", &mut out); // not a missing value of this field
    assert_eq!(String::from_utf8(out).unwrap(), "null null \"NA\"");
}

#[test]
fn fields_match_modes() {
    let schema = |mode: &str| {
        let text = format!(
            r#"{{"fieldsMatch": "{mode}", "fields": [{{"name": "id", "constraints": {{"required": true}}}}, {{"name": "name"}}]}}"#
        );
        Schema::parse(&text, "s.json").unwrap()
    };
    let accepts = |mode: &str, labels: &[&str]| {
        RowValidator::new(Some(&schema(mode)), &header(labels)).is_ok()
    };
    let table = [
        // same, reordered, extra column, no "name", no "id", nothing in common
        ("exact", [true, false, false, false, false, false]),
        ("equal", [true, true, false, false, false, false]),
        ("subset", [true, true, true, false, false, false]),
        ("superset", [true, true, false, true, false, false]),
        ("partial", [true, true, true, true, false, false]),
    ];
    let headers: [&[&str]; 6] = [
        &["id", "name"],
        &["name", "id"],
        &["id", "name", "x"],
        &["id"],
        &["name"],
        &["p"],
    ];
    for (mode, expected) in table {
        let found: Vec<bool> = headers.iter().map(|h| accepts(mode, h)).collect();
        assert_eq!(found, expected, "{mode}");
    }
    let error = RowValidator::new(Some(&schema("exact")), &header(&["name", "id"]))
        .unwrap_err()
        .to_string();
    assert_eq!(
        error,
        r#"s.json: the header row does not match the schema (fieldsMatch "exact"): column 1 is "name" where the schema has "id"; column 2 is "id" where the schema has "name""#
    );
    // Matched by name, cells are read from the right column; extra columns are plain text.
    let s = Schema::parse(
        r#"{"fieldsMatch": "subset", "fields": [{"name": "n", "type": "integer"}]}"#,
        "s",
    )
    .unwrap();
    let mut validator = RowValidator::new(Some(&s), &header(&["x", "n"])).unwrap();
    let mut errors = Vec::new();
    assert!(validator.check_row(&["abc", "5"], &mut errors));
    assert!(!validator.check_row(&["1", "abc"], &mut errors));
    assert_eq!(errors[0].field_number, 2);
}

#[test]
fn without_a_schema_only_the_shape_of_a_row_is_checked() {
    let rows: &[&[&str]] = &[
        &["1", "a", ""],
        &["2", "b"],
        &["3", "c", "", "x"],
        &["", "", ""],
        &["", ""],
        &["not a number", "\u{0}", " "],
    ];
    assert_eq!(
        kinds(None, &["id", "name", "note"], rows),
        vec![
            vec![],
            vec!["missing-cell"],
            vec!["extra-cell"],
            vec!["blank-row"],
            vec!["blank-row"],
            vec![],
        ]
    );
}

#[test]
fn constraint_messages_stay_short_whatever_the_schema() {
    let members: Vec<String> = (0..100_000).map(|i| format!("\"v{i}\"")).collect();
    let long_pattern = "a".repeat(5_000);
    let text = format!(
        r#"{{"fields": [{{"name": "e", "constraints": {{"enum": [{}]}}}},
            {{"name": "p", "constraints": {{"pattern": "{long_pattern}"}}}},
            {{"name": "few", "constraints": {{"enum": ["x", "y"]}}}}]}}"#,
        members.join(",")
    );
    let schema = Schema::parse(&text, "s.json").unwrap();
    let mut validator = RowValidator::new(Some(&schema), &header(&["e", "p", "few"])).unwrap();
    let mut errors = Vec::new();
    assert!(!validator.check_row(&["nope", "b", "z"], &mut errors));
    let messages: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(messages.len(), 3, "{messages:?}");
    assert!(
        messages[0].ends_with("is not one of the 100000 allowed values [v0, v1, v2, v3, v4, ...]"),
        "{}",
        messages[0]
    );
    assert!(messages[1].len() < 200, "{}", messages[1]);
    assert!(messages[1].contains("aaaa..."), "{}", messages[1]);
    assert!(messages[2].ends_with("is not one of the allowed values [x, y]"));
}

#[test]
fn wide_schemas_load_and_pair_in_linear_time() {
    // 50,000 fields: a scan per field (as loading once did) takes minutes in a debug build, a
    // map a second. (200,000 load in 0.3 s released: bench/README.md.)
    let n = 50_000;
    let fields: Vec<String> = (0..n).map(|i| format!(r#"{{"name": "f{i}"}}"#)).collect();
    let labels: Vec<String> = (0..n).map(|i| format!("f{i}")).collect();
    for mode in ["exact", "equal", "subset", "superset", "partial"] {
        let text = format!(
            r#"{{"fieldsMatch": "{mode}", "primaryKey": ["f{}"], "fields": [{}]}}"#,
            n - 1,
            fields.join(",")
        );
        let schema = Schema::parse(&text, "s.json").unwrap();
        assert!(RowValidator::new(Some(&schema), &labels).is_ok(), "{mode}");
    }
    let duplicate = format!(r#"{{"fields": [{}, {{"name": "f7"}}]}}"#, fields.join(","));
    assert!(load_error(&duplicate).contains(&format!("fields[{n}]: duplicate field name \"f7\"")));
    // A header that matches nothing lists a few problems and counts the rest, on one line.
    let text = format!(r#"{{"fields": [{}]}}"#, fields.join(","));
    let schema = Schema::parse(&text, "s.json").unwrap();
    let other: Vec<String> = (0..n).map(|i| format!("g{i}")).collect();
    let error = RowValidator::new(Some(&schema), &other)
        .unwrap_err()
        .to_string();
    assert!(
        error.ends_with(&format!("; and {} more", n - 10)),
        "{error}"
    );
    assert!(error.len() < 1_000, "{}", error.len());
}
