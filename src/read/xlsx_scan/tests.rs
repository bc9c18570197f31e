use super::*;

const LIMITS: Limits = Limits {
    cell: 64,
    token: 128,
};

fn scanned(xml: &str) -> Result<(), String> {
    match scan(xml.as_bytes(), LIMITS) {
        Ok(_) => Ok(()),
        Err(ScanError::Refused(why)) => Err(why),
        Err(ScanError::Io(err)) => Err(err.to_string()),
    }
}

fn sheet(rows: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>{rows}</sheetData></worksheet>"#
    )
}

#[test]
fn an_ordinary_sheet_passes() {
    let xml = sheet(
        r#"<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="inlineStr"><is><t>a &amp; "b" &gt; c</t></is></c></row>
<row r="2" spans="1:2"><c r="XFD1048576"><v>1.5</v></c><c/><c t='str'><v>x</v></c></row><!-- a comment --><![CDATA[<c r="ZZZZ9">]]>"#,
    );
    assert_eq!(scanned(&xml), Ok(()));
    assert_eq!(scanned(r#"<x:c x:r="b2" y="a>b"/>"#), Ok(()));
}

#[test]
fn references_past_excels_limits_are_refused_naming_them() {
    for (xml, words) in [
        (
            r#"<c r="ZZZZZZZZ99999999999"/>"#,
            "cell ZZZZZZZZ99999999999 is beyond Excel's last cell, XFD1048576",
        ),
        (r#"<c r="XFE1"/>"#, "cell XFE1 is beyond"),
        (r#"<c r="A1048577"/>"#, "cell A1048577 is beyond"),
        (r#"<c r="A99999999999"/>"#, "cell A99999999999 is beyond"),
        (r#"<c r="A0"/>"#, "\"A0\" is not a cell reference"),
        (r#"<c r="$A$1"/>"#, "is not a cell reference"),
        (
            r#"<row r="1048577"/>"#,
            "row 1048577 is beyond Excel's last row, 1048576",
        ),
        (
            r#"<row r="99999999999999999999999"/>"#,
            "is beyond Excel's last row",
        ),
        (r#"<row r="B2"/>"#, "\"B2\" is not a row number"),
        (r#"<dimension ref="A1:ZZZZ2"/>"#, "cell ZZZZ2 is beyond"),
        (
            r#"<dimension ref="B2:A1"/>"#,
            "dimension \"B2:A1\" is not a range",
        ),
        (
            r#"<sst uniqueCount="99999999999"><si><t>a</t></si></sst>"#,
            "announces 99999999999 strings but holds 1",
        ),
    ] {
        let err = scanned(xml).unwrap_err();
        assert!(err.contains(words), "{xml}: {err}");
    }
    assert_eq!(
        scanned(r#"<dimension ref="A1:XFD1048576"/><sst uniqueCount="1"><si/></sst>"#),
        Ok(())
    );
}

#[test]
fn cells_and_tokens_are_bounded_before_they_are_whole() {
    let long = "x".repeat(100);
    let err = scanned(&sheet(&format!(
        r#"<row r="3"><c r="A3"/><c t="inlineStr"><is><t>{long}</t></is></c></row>"#
    )))
    .unwrap_err();
    assert_eq!(
        err,
        "cell B3 is larger than --max-record-size (64 bytes); raise the limit if the file is right"
    );
    // Rich text runs, each small, add up.
    let runs = "<r><t>abcdefgh</t></r>".repeat(4);
    let err = scanned(&format!("<sst><si><t>a</t></si><si>{runs}</si></sst>")).unwrap_err();
    assert!(err.starts_with("shared string 2 is larger"), "{err}");
    let err = scanned(&format!("<a>{}</a>", " ".repeat(200))).unwrap_err();
    assert!(
        err.starts_with("a run of text of more than 128 bytes"),
        "{err}"
    );
    let err = scanned(&format!("<a b=\"{}\"/>", "y".repeat(200))).unwrap_err();
    assert!(err.starts_with("a tag of more than 128 bytes"), "{err}");
    // Runs of text each under the token limit, together over it.
    let text = "&amp;".repeat(20);
    let err = scanned(&format!(
        "<definedName>{text}<![CDATA[x]]>{text}</definedName>"
    ))
    .unwrap_err();
    assert!(
        err.starts_with("an element of more than 128 bytes"),
        "{err}"
    );
}

#[test]
fn malformed_or_deep_xml_is_refused() {
    assert!(scanned("<c><is></c></is>")
        .unwrap_err()
        .contains("</c> closes another element"));
    assert!(scanned("</c>").unwrap_err().contains("closes nothing"));
    assert!(scanned("<!DOCTYPE x [<!ENTITY a 'b'>]><x/>")
        .unwrap_err()
        .contains("DOCTYPE"));
    assert!(scanned("<!x>").unwrap_err().contains("malformed XML"));
    let deep = "<a>".repeat(300);
    assert!(scanned(&deep).unwrap_err().contains("nested more than 256"));
}

#[test]
fn styles_cannot_multiply_a_large_font() {
    let limits = Limits {
        cell: 1 << 20,
        token: 1 << 20,
    };
    let name = "n".repeat(500_000);
    let xfs = "<xf fontId=\"0\"/>".repeat(1000);
    let xml = format!(
        "<styleSheet><fonts><font><name val=\"{name}\"/></font></fonts><cellXfs>{xfs}</cellXfs></styleSheet>"
    );
    match scan(xml.as_bytes(), limits) {
        Err(ScanError::Refused(why)) => assert!(why.contains("cell formats would copy"), "{why}"),
        other => panic!("{other:?}"),
    }
}
