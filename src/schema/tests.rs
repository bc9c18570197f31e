//! Unit tests for casting and constraints: a valid and an invalid example of every type,
//! format and constraint, checked through the public interface.

use super::*;

/// Validates one value of field `v` built from `field` (JSON for the field). An `id` column
/// keeps the row from being blank, which would hide the cell's own verdict.
pub(super) fn errors_for(field: &str, value: &str) -> Vec<&'static str> {
    let text = format!(r#"{{"fields": [{{"name": "id"}}, {{"name": "v", {field}}}]}}"#);
    let schema = Schema::parse(&text, "t.json").unwrap_or_else(|e| panic!("{e}"));
    let headers = ["id".to_string(), "v".to_string()];
    let mut validator = RowValidator::new(Some(&schema), &headers).unwrap();
    let mut errors = Vec::new();
    validator.check_row(&["1", value], &mut errors);
    errors.iter().map(|e| e.kind).collect()
}

fn valid(field: &str, value: &str) {
    assert_eq!(
        errors_for(field, value),
        Vec::<&str>::new(),
        "{field} / {value:?}"
    );
}

fn type_error(field: &str, value: &str) {
    assert_eq!(
        errors_for(field, value),
        vec!["type-error"],
        "{field} / {value:?}"
    );
}

fn constraint_error(field: &str, value: &str) {
    assert_eq!(
        errors_for(field, value),
        vec!["constraint-error"],
        "{field} / {value:?}"
    );
}

/// The JSON written for a valid cell.
pub(super) fn json_for(field: &str, value: &str) -> String {
    let schema = Schema::parse(
        &format!(r#"{{"missingValues": ["", "NA"], "fields": [{{"name": "v", {field}}}]}}"#),
        "t",
    )
    .unwrap();
    let validator = RowValidator::new(Some(&schema), &["v".to_string()]).unwrap();
    let mut out = Vec::new();
    validator.write_cast_value(0, value, &mut out);
    String::from_utf8(out).unwrap()
}

#[test]
fn strings_and_their_formats() {
    valid(r#""type": "string""#, "anything at all");
    valid(r#""type": "string", "format": "email""#, "a@example.com");
    type_error(r#""type": "string", "format": "email""#, "a@b");
    valid(
        r#""type": "string", "format": "uri""#,
        "https://example.com/x",
    );
    type_error(r#""type": "string", "format": "uri""#, "example.com");
    valid(
        r#""type": "string", "format": "uuid""#,
        "2bc1c94f-0deb-43e9-92a1-4775189ec9f8",
    );
    type_error(r#""type": "string", "format": "uuid""#, "2bc1c94f");
    valid(r#""type": "any""#, "12 anything");
    valid(r#""title": "no type means string""#, "x");
}

#[test]
fn integers() {
    valid(r#""type": "integer""#, "-42");
    valid(r#""type": "integer""#, " +1_000 ");
    type_error(r#""type": "integer""#, "12.5");
    type_error(r#""type": "integer""#, "$12");
    valid(r#""type": "integer", "bareNumber": false"#, "$12");
    type_error(r#""type": "integer", "bareNumber": false"#, "--12");
    assert_eq!(json_for(r#""type": "integer""#, "+007"), "7");
}

#[test]
fn numbers() {
    valid(r#""type": "number""#, "1.5e3");
    valid(r#""type": "number""#, "NaN");
    valid(r#""type": "number""#, "-INF");
    type_error(r#""type": "number""#, "1,5");
    type_error(r#""type": "number""#, "1.2.3");
    valid(
        r#""type": "number", "decimalChar": ",", "groupChar": ".""#,
        "1.234,5",
    );
    type_error(r#""type": "number", "decimalChar": ",""#, "1.5");
    valid(r#""type": "number", "bareNumber": false"#, "12.5%");
    assert_eq!(
        json_for(
            r#""type": "number", "decimalChar": ",", "groupChar": ".""#,
            "1.234,50"
        ),
        "1234.5"
    );
    assert_eq!(json_for(r#""type": "number""#, "Infinity"), "\"Infinity\"");
}

#[test]
fn booleans() {
    for t in ["true", "True", "TRUE", "1"] {
        valid(r#""type": "boolean""#, t);
    }
    type_error(r#""type": "boolean""#, "yes");
    type_error(r#""type": "boolean""#, " true");
    let custom = r#""type": "boolean", "trueValues": ["Y"], "falseValues": ["N"]"#;
    valid(custom, "N");
    type_error(custom, "true");
    assert_eq!(json_for(custom, "Y"), "true");
    assert_eq!(json_for(r#""type": "boolean""#, "0"), "false");
}

#[test]
fn dates_datetimes_times_years() {
    valid(r#""type": "date""#, "2024-02-29");
    valid(r#""type": "date""#, "2024-2-9"); // strptime accepts one-digit months and days
    type_error(r#""type": "date""#, "2023-02-29");
    type_error(r#""type": "date""#, "2024-01-31T00:00:00");
    valid(r#""type": "date", "format": "%d/%m/%Y""#, "31/01/2024");
    type_error(r#""type": "date", "format": "%d/%m/%Y""#, "2024-01-31");
    assert_eq!(
        json_for(r#""type": "date", "format": "%d/%m/%Y""#, "1/2/2024"),
        "\"2024-02-01\""
    );

    valid(r#""type": "datetime""#, "2024-01-31T10:20:30Z");
    valid(r#""type": "datetime""#, "2024-01-31 10:20:30.5+01:00");
    type_error(r#""type": "datetime""#, "2024-01-31T10:20");
    type_error(r#""type": "datetime""#, "2024-01-31T25:00:00");
    valid(
        r#""type": "datetime", "format": "%m/%d/%y %I:%M %p""#,
        "01/31/24 10:20 PM",
    );
    type_error(
        r#""type": "datetime", "format": "%m/%d/%y %I:%M %p""#,
        "01/31/24 22:20",
    );
    assert_eq!(
        json_for(r#""type": "datetime""#, "2024-01-31T24:00:00"),
        "\"2024-02-01T00:00:00\""
    );
    assert_eq!(
        json_for(r#""type": "datetime""#, "2024-01-31T10:20:30.5-0130"),
        "\"2024-01-31T10:20:30.500000-01:30\""
    );

    valid(r#""type": "time""#, "23:59:59");
    type_error(r#""type": "time""#, "10:20");
    valid(r#""type": "time", "format": "%H%M""#, "1020");
    type_error(r#""type": "time", "format": "%H%M""#, "2400");
    assert_eq!(json_for(r#""type": "time""#, "10:20:30Z"), "\"10:20:30Z\"");

    valid(r#""type": "year""#, "0000");
    type_error(r#""type": "year""#, "10000");
    type_error(r#""type": "year""#, "24");
    assert_eq!(json_for(r#""type": "year""#, "2024"), "2024");
}

#[test]
fn constraints_each_pass_and_fail() {
    let req = r#""type": "string", "constraints": {"required": true}"#;
    valid(req, "x");
    constraint_error(req, "");
    let len = r#""type": "string", "constraints": {"minLength": 2, "maxLength": 3}"#;
    valid(len, "éé");
    constraint_error(len, "a");
    constraint_error(len, "abcd");
    let pattern = r#""type": "string", "constraints": {"pattern": "[A-Z]{2}-\\d+"}"#;
    valid(pattern, "AB-12");
    constraint_error(pattern, "AB-12x");
    let bounds = r#""type": "integer", "constraints": {"minimum": 0, "maximum": 10}"#;
    valid(bounds, "10");
    constraint_error(bounds, "-1");
    constraint_error(bounds, "11");
    let exclusive =
        r#""type": "number", "constraints": {"exclusiveMinimum": 0, "exclusiveMaximum": "1"}"#;
    valid(exclusive, "0.5");
    constraint_error(exclusive, "0");
    constraint_error(exclusive, "1.0");
    // NaN fails every bound, so both here.
    assert_eq!(
        errors_for(exclusive, "NaN"),
        vec!["constraint-error", "constraint-error"]
    );
    let dates = r#""type": "date", "constraints": {"minimum": "2024-01-01"}"#;
    valid(dates, "2024-01-01");
    constraint_error(dates, "2023-12-31");
    let enumeration = r#""type": "number", "constraints": {"enum": [1, 2.5]}"#;
    valid(enumeration, "2.50");
    constraint_error(enumeration, "3");
    // A type error hides the constraints, as in frictionless.
    type_error(bounds, "x");
    // Two failed constraints are two errors.
    let both = r#""type": "integer", "constraints": {"maximum": 5, "enum": [1]}"#;
    assert_eq!(
        errors_for(both, "7"),
        vec!["constraint-error", "constraint-error"]
    );
}

#[test]
fn messages_say_what_was_expected() {
    let text = r#"{"fields": [{"name": "id"}, {"name": "age", "type": "integer", "constraints": {"maximum": 120}}]}"#;
    let schema = Schema::parse(text, "t").unwrap();
    let mut validator =
        RowValidator::new(Some(&schema), &["id".to_string(), "age".to_string()]).unwrap();
    let mut errors = Vec::new();
    validator.check_row(&["1", "12.5"], &mut errors);
    assert_eq!(errors[0].message, r#"age: "12.5" is not an integer"#);
    assert_eq!(
        (
            errors[0].field_name.as_str(),
            errors[0].field_number,
            errors[0].cell.as_str()
        ),
        ("age", 2, "12.5")
    );
    validator.check_row(&["1", "150"], &mut errors);
    assert_eq!(errors[0].message, r#"age: "150" is above the maximum 120"#);
}
