use super::*;

use CellKind::{Json, Missing, Null, Text};

/// The columns, then each row's line and (text, kind) cells; or the first error.
type Read = (Vec<String>, Vec<(u64, Vec<(String, CellKind)>)>);

fn read(input: &str, columns: &[&str], flatten: bool) -> Result<Read, String> {
    let columns: Vec<String> = columns.iter().map(|c| c.to_string()).collect();
    let reader = Box::new(std::io::Cursor::new(input.as_bytes().to_vec()));
    let (mut rows, names) = JsonRows::open(reader, "in.jsonl".into(), &columns, flatten, 1 << 20)
        .map_err(|e| e.to_string())?;
    let mut found = Vec::new();
    let mut record = RawRecord::default();
    while let Some(line) = rows.next_row(&mut record).map_err(|e| e.to_string())? {
        let cells = record
            .iter()
            .enumerate()
            .map(|(i, c)| (String::from_utf8(c.to_vec()).unwrap(), record.kind(i)))
            .collect();
        found.push((line, cells));
    }
    Ok((names, found))
}

fn cells(list: &[(&str, CellKind)]) -> Vec<(String, CellKind)> {
    list.iter().map(|(t, k)| (t.to_string(), *k)).collect()
}

#[test]
fn the_first_objects_keys_are_the_columns_and_values_keep_their_kinds() {
    let input = "{\"id\":1,\"name\":\"Zo\\u00eb\",\"ok\":true,\"note\":null,\"tags\":[1, \"a b\"]}\n\
                 {\"name\":\"B\",\"id\":2.50,\"ok\":false,\"note\":\"x\",\"tags\":{ \"k\" : [] }}\n";
    let (names, rows) = read(input, &[], false).unwrap();
    assert_eq!(names, ["id", "name", "ok", "note", "tags"]);
    assert_eq!(
        rows,
        vec![
            (
                1,
                cells(&[
                    ("1", Json),
                    ("Zoë", Text),
                    ("true", Json),
                    ("", Null),
                    ("[1,\"a b\"]", Json)
                ])
            ),
            (
                2,
                cells(&[
                    ("2.50", Json),
                    ("B", Text),
                    ("false", Json),
                    ("x", Text),
                    ("{\"k\":[]}", Json)
                ])
            ),
        ]
    );
}

#[test]
fn a_missing_key_is_a_missing_cell_and_an_unknown_key_an_extra_one() {
    let input = "{\"a\":\"1\",\"b\":\"2\",\"c\":\"3\"}\n{\"c\":\"6\",\"a\":\"4\",\"zz\":7}\n";
    let (_, rows) = read(input, &[], false).unwrap();
    assert_eq!(
        rows[1].1,
        cells(&[("4", Text), ("", Missing), ("6", Text), ("7", Json)])
    );
}

#[test]
fn columns_given_name_the_cells_and_the_first_object_is_a_row() {
    let (names, rows) = read("{\"b\":1,\"a\":2,\"c\":3}\n", &["a", "b"], false).unwrap();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(
        rows,
        vec![(1, cells(&[("2", Json), ("1", Json), ("3", Json)]))]
    );
}

#[test]
fn flatten_makes_dotted_columns_of_nested_objects() {
    let input = "[{\"id\":1,\"address\":{\"city\":\"Oslo\",\"geo\":{\"lat\":59.9}},\"empty\":{},\"list\":[{\"a\":1}]},\n\
                 {\"id\":2,\"address\":{\"geo\":{\"lat\":1},\"city\":\"Rome\"},\"empty\":{},\"list\":[]}]";
    let (names, rows) = read(input, &[], true).unwrap();
    assert_eq!(
        names,
        ["id", "address.city", "address.geo.lat", "empty", "list"]
    );
    assert_eq!(
        rows[1],
        (
            2,
            cells(&[
                ("2", Json),
                ("Rome", Text),
                ("1", Json),
                ("{}", Json),
                ("[]", Json)
            ])
        )
    );
    let (names, _) = read(input, &[], false).unwrap();
    assert_eq!(names, ["id", "address", "empty", "list"]);
}

#[test]
fn a_key_twice_is_an_error_naming_it() {
    let err = read("{\"a\":1,\"a\":2}\n", &[], false).unwrap_err();
    assert!(
        err.contains("line 1, byte 13: the key \"a\" appears twice"),
        "{err}"
    );
    let err = read("{\"a\":{\"b\":1},\"a.b\":2}\n", &[], true).unwrap_err();
    assert!(err.contains("the key \"a.b\" appears twice"), "{err}");
}

#[test]
fn invalid_json_is_an_error_naming_the_line_and_byte() {
    let err = read("{\"a\":1}\n{\"a\":2,}\n", &[], false).unwrap_err();
    assert_eq!(err, "in.jsonl: line 2, byte 16: trailing comma");
    let err = read("{\"a\":1}\n{\"a\":\n tru}\n", &[], false).unwrap_err();
    assert!(err.starts_with("in.jsonl: line 3, byte "), "{err}");
    assert!(err.contains("expected ident"), "{err}");
    let err = read("{\"a\":\"\u{ff}\"}\n{\"a\":\"\\xff\"}", &[], false).unwrap_err();
    assert!(err.contains("line 2, byte "), "{err}");
}

#[test]
fn invalid_utf8_is_an_error_naming_the_line_and_byte() {
    let input = b"{\"a\":\"ok\"}\n{\"a\":\"\xff\"}\n".to_vec();
    let reader = Box::new(std::io::Cursor::new(input));
    let (mut rows, _) = JsonRows::open(reader, "in.jsonl".into(), &[], false, 1 << 20).unwrap();
    let mut record = RawRecord::default();
    rows.next_row(&mut record).unwrap();
    let err = rows.next_row(&mut record).unwrap_err().to_string();
    assert_eq!(err, "in.jsonl: line 2, byte 18: invalid UTF-8 (JSON is UTF-8; UTF-16 needs its byte order mark)");
}

#[test]
fn an_input_without_objects_has_no_columns() {
    for input in ["", "[]", "\n \n"] {
        let (names, rows) = read(input, &[], false).unwrap();
        assert!(names.is_empty() && rows.is_empty(), "{input:?}");
    }
}

#[test]
fn compact_json_drops_whitespace_between_tokens_only() {
    let mut out = String::new();
    compact_json("{ \"a b\" : [ 1 , \"x\\\" y\" ] }", &mut out);
    assert_eq!(out, "{\"a b\":[1,\"x\\\" y\"]}");
}

#[test]
fn a_line_ending_with_a_brace_that_is_not_a_whole_object_is_cut_by_its_brackets() {
    let input = "{\"a\": {\"b\": 1}\n}\n{\"a\": 2}\n{\"a\": 3} {\"a\": 4}\n";
    let (_, rows) = read(input, &[], false).unwrap();
    assert_eq!(
        rows,
        vec![
            (1, cells(&[("{\"b\":1}", Json)])),
            (3, cells(&[("2", Json)])),
            (4, cells(&[("3", Json)])),
            (4, cells(&[("4", Json)])),
        ]
    );
    // Invalid JSON on one line is still said once, where it is.
    let err = read("{\"a\":1}\n{\"a\":2,}\n", &[], false).unwrap_err();
    assert_eq!(err, "in.jsonl: line 2, byte 16: trailing comma");
}
