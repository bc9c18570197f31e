//! `pulse schema infer`: a Table Schema from the data with frictionless' rules, usable with
//! `--schema` as it is.

use crate::support::{fixture, stderr_of, Sandbox};

#[test]
fn an_inferred_schema_validates_its_file_and_catches_changes_as_frictionless_does() {
    let sandbox = Sandbox::new();
    let schema = sandbox.path("customers.schema.json");
    let customers = fixture("customers.csv");
    sandbox
        .pulse()
        .args(["schema", "infer"])
        .arg(&customers)
        .arg("--output")
        .arg(&schema)
        .assert()
        .success();
    // What `frictionless describe fixtures/customers.csv` (5.21.0) infers.
    crate::support::assert_field_types(
        &std::fs::read_to_string(&schema).unwrap(),
        &[
            ("id", "integer"),
            ("first_name", "string"),
            ("last_name", "string"),
            ("email", "string"),
            ("age", "integer"),
            ("signup_date", "date"),
            ("country", "string"),
            ("balance", "number"),
            ("active", "boolean"),
            ("note", "string"),
        ],
    );
    // Without --output: the same on stdout.
    let stdout = sandbox.stdout_of(&["schema", "infer", customers.to_str().unwrap()]);
    assert_eq!(stdout, std::fs::read_to_string(&schema).unwrap());

    sandbox
        .pulse()
        .args(["validate"])
        .arg(&customers)
        .arg("--schema")
        .arg(&schema)
        .assert()
        .success();
    // The file changed: four cells no longer of their column's type.
    let mut rows: Vec<Vec<String>> = csv::Reader::from_path(&customers)
        .unwrap()
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    rows[2][4] = "forty".into();
    rows[2][5] = "2024-13-01".into();
    rows[6][8] = "maybe".into();
    rows[8][0] = "1.5".into();
    let mut writer = csv::Writer::from_path(sandbox.path("changed.csv")).unwrap();
    writer
        .write_record([
            "id",
            "first_name",
            "last_name",
            "email",
            "age",
            "signup_date",
            "country",
            "balance",
            "active",
            "note",
        ])
        .unwrap();
    for row in &rows {
        writer.write_record(row).unwrap();
    }
    writer.flush().unwrap();
    let out = sandbox
        .pulse()
        .args([
            "validate",
            sandbox.path("changed.csv").to_str().unwrap(),
            "--json",
        ])
        .arg("--schema")
        .arg(&schema)
        .assert()
        .code(3);
    let report: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let errors: Vec<(u64, u64, &str, &str)> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["index"].as_u64().unwrap() + 1,
                e["fieldNumber"].as_u64().unwrap(),
                e["fieldName"].as_str().unwrap(),
                e["type"].as_str().unwrap(),
            )
        })
        .collect();
    // frictionless 5.21.0, validating the changed file with this schema: (rowNumber,
    // fieldNumber, fieldName, type); its row numbers count records, the header being 1.
    assert_eq!(
        errors,
        [
            (4, 5, "age", "type-error"),
            (4, 6, "signup_date", "type-error"),
            (8, 9, "active", "type-error"),
            (10, 1, "id", "type-error")
        ]
    );
}

#[test]
fn the_sample_counts_rows_as_frictionless_does_and_reading_options_apply() {
    let sandbox = Sandbox::new();
    // 98 integers, then words: of a sample of 100 rows (the header included) 98 of 99 cells
    // are integers; of one of 120, 98 of 119 are, under the bar of 90% (frictionless 5.21.0
    // infers the same with `Detector(sample_size=100)` and `120`).
    let mut text = String::from("a;b\n");
    for i in 0..98 {
        text.push_str(&format!("{i};x\n"));
    }
    for _ in 0..20 {
        text.push_str("word;x\n");
    }
    let file = sandbox.write("late.csv", text);
    let infer = |args: &[&str]| -> String {
        let out = sandbox
            .pulse()
            .args(["schema", "infer", file.to_str().unwrap()])
            .args(args)
            .assert()
            .success();
        assert!(stderr_of(&out).contains("reading as ;-separated"));
        let schema: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
        schema["fields"][0]["type"].as_str().unwrap().to_string()
    };
    assert_eq!(infer(&[]), "integer");
    assert_eq!(infer(&["--sample", "120"]), "string");
    let out = sandbox
        .pulse()
        .args(["schema", "infer", file.to_str().unwrap(), "--sample", "1"])
        .assert()
        .code(2);
    assert!(stderr_of(&out).contains("--sample must be at least 2"));
    // A spreadsheet's sheet, with --select and --rename.
    let out = sandbox.stdout_of(&[
        "schema",
        "infer",
        fixture("input/people.xlsx").to_str().unwrap(),
        "--select",
        "id,joined,active",
        "--rename",
        "joined=since",
    ]);
    let schema: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        schema,
        serde_json::json!({"fields": [{"name": "id", "type": "integer"},
            {"name": "since", "type": "date"}, {"name": "active", "type": "boolean"}]})
    );
}

#[test]
fn missing_values_count_for_no_type_and_the_schema_keeps_them() {
    let sandbox = Sandbox::new();
    let mut csv = String::from("id,age\n1,NA\n");
    for i in 2..=10 {
        csv.push_str(&format!("{i},{}\n", 20 + i));
    }
    let input = sandbox.write("people.csv", csv);
    let infer = |extra: &[&str]| -> serde_json::Value {
        let out = sandbox
            .pulse()
            .args(["schema", "infer", input.to_str().unwrap()])
            .args(extra)
            .assert()
            .success();
        serde_json::from_slice(&out.get_output().stdout).unwrap()
    };
    // frictionless' rule: one NA before nine integers is a string column.
    let plain = infer(&[]);
    assert_eq!(plain["fields"][1]["type"], "string");
    assert!(plain.get("missingValues").is_none());
    let with_na = infer(&["--missing-values", ",NA"]);
    assert_eq!(with_na["fields"][1]["type"], "integer");
    assert_eq!(with_na["missingValues"], serde_json::json!(["", "NA"]));
    // The schema it wrote validates the file it came from: NA is no value there too.
    let schema = sandbox.write("s.json", with_na.to_string());
    sandbox
        .pulse()
        .args([
            "validate",
            input.to_str().unwrap(),
            "--schema",
            schema.to_str().unwrap(),
        ])
        .assert()
        .success();
}
