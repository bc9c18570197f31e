use serde_json::{json, Value};

use super::*;
use crate::payload::{BodyContext, Format, Method};

fn ctx(text: &str, content_type: Option<&str>, nest: bool) -> BodyContext {
    BodyContext {
        template: Some(BodyTemplate {
            file: "body.j2".into(),
            text: text.into(),
            max_bytes: 4096,
        }),
        content_type: content_type.map(String::from),
        nest,
        metadata: r#"{"team":"crm"}"#.into(),
        format: Format::Pulse,
        method: Method::Post,
        run_id: "run_1".into(),
        file_name: "people.csv".into(),
        ..BodyContext::default()
    }
}

const BATCH: BatchHeader = BatchHeader {
    batch_id: "msg_1",
    event_id: "evt_1",
    event_name: "validData",
    index: 2,
    count: 3,
    total_rows: 5,
    run_rows: 6,
};

const ROWS: &[u8] = br#"[{"id":7,"name":"Q\"R\\S\u0001","a.b":true,"__index":4,"__row":5,"__valid":true,"__errors":[]}]"#;

fn rendered(ctx: &BodyContext) -> anyhow::Result<String> {
    let mut out = Vec::new();
    render(ctx, ctx.template.as_ref().unwrap(), &BATCH, ROWS, &mut out)?;
    Ok(String::from_utf8(out).unwrap())
}

#[test]
fn the_context_has_rows_batch_event_run_and_metadata() {
    let text = r#"{"b":{{ batch|tojson }},"e":{{ event|tojson }},"r":{{ run|tojson }},"m":{{ metadata.team }},"first":{{ rows[0]|tojson }}}"#;
    let body: Value = serde_json::from_str(&rendered(&ctx(text, None, false)).unwrap()).unwrap();
    assert_eq!(
        body["b"],
        json!({"id": "msg_1", "index": 2, "count": 3, "rows": 1})
    );
    assert_eq!(
        body["e"],
        json!({"name": "validData", "id": "evt_1", "total_rows": 5})
    );
    assert_eq!(
        body["r"],
        json!({"id": "run_1", "source": "people.csv", "total_rows": 6})
    );
    assert_eq!(body["m"], "crm");
    assert_eq!(body["first"]["id"], 7, "typed as stored");
    assert_eq!(body["first"]["__row"], 5);
}

#[test]
fn json_bodies_write_values_as_json_so_quotes_and_controls_cannot_break_them() {
    let text = r#"{"name": {{ rows[0].name }}, "ok": {{ rows[0]["a.b"] }}}"#;
    let body: Value = serde_json::from_str(&rendered(&ctx(text, None, false)).unwrap()).unwrap();
    assert_eq!(body["name"], "Q\"R\\S\u{1}");
    assert_eq!(body["ok"], true);
}

#[test]
fn nested_columns_reach_the_template() {
    let text = r#"{{ rows[0].a|tojson }}"#;
    assert_eq!(rendered(&ctx(text, None, true)).unwrap(), r#"{"b": true}"#);
}

#[test]
fn other_content_types_escape_as_they_need() {
    let form = r#"name={{ rows[0].id }}&x={{ "a b&c"|urlencode }}"#;
    let text = ctx(form, Some("application/x-www-form-urlencoded"), false);
    assert_eq!(rendered(&text).unwrap(), "name=7&x=a%20b%26c");
    let xml = ctx("<n>{{ rows[0].name }}</n>", Some("application/xml"), false);
    assert!(rendered(&xml).unwrap().starts_with("<n>Q&quot;R"));
    let lines = "{% for row in rows %}{{ row.id }}\n{{ row.name }}\n{% endfor %}";
    let ndjson = ctx(lines, Some("application/x-ndjson"), false);
    assert_eq!(rendered(&ndjson).unwrap(), "7\n\"Q\\\"R\\\\S\\u0001\"\n");
}

#[test]
fn a_json_body_that_is_not_json_is_an_error_saying_where() {
    let err = rendered(&ctx(r#"{"name": "{{ rows[0].name }}"}"#, None, false)).unwrap_err();
    let err = format!("{err:#}");
    assert!(err.contains("--template body.j2"), "{err}");
    assert!(err.contains("batch msg_1 is not JSON"), "{err}");
    assert!(err.contains("body line 1, column"), "{err}");
    let lines = ctx(
        "{{ rows[0].id }}\nnot json\n",
        Some("application/x-ndjson"),
        false,
    );
    let err = format!("{:#}", rendered(&lines).unwrap_err());
    assert!(err.contains("body line 2"), "{err}");
}

#[test]
fn template_errors_name_the_file_line_and_column() {
    let broken = BodyTemplate {
        file: "body.j2".into(),
        text: "{\n  \"a\": {{ rows[0].id }\n}".into(),
        max_bytes: u64::MAX,
    };
    let err = format!("{:#}", broken.check("application/json").unwrap_err());
    assert!(
        err.starts_with("--template body.j2: line 2, column"),
        "{err}"
    );
    let err = format!(
        "{:#}",
        rendered(&ctx("{{ rows[0].nope }}", None, false)).unwrap_err()
    );
    assert!(err.contains("line 1, column 4"), "{err}");
    assert!(err.contains("undefined"), "{err}");
}

#[test]
fn a_body_past_max_body_size_is_an_error_not_memory_without_end() {
    let text = "[{% for i in range(100000) %}{{ i }},{% endfor %}0]";
    let err = format!("{:#}", rendered(&ctx(text, None, false)).unwrap_err());
    assert!(
        err.contains("is over --max-body-size (4096 bytes)"),
        "{err}"
    );
}
