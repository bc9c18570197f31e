use super::walk::Walk;
use super::xml::Tokens;

/// Walks `rows` as the rows of one sheet, under `budget` bytes.
fn walk(rows: &str, max_record_bytes: u64, budget: u64) -> Result<(), String> {
    let xml = format!(
        r#"<?xml version="1.0"?><office:document-content><office:body><office:spreadsheet><table:table table:name="S">{rows}</table:table></office:spreadsheet></office:body></office:document-content>"#
    );
    let mut tokens = Tokens::new(xml.as_bytes(), 1 << 20);
    let mut walk = Walk::new(max_record_bytes, budget);
    while let Some(token) = tokens.next()? {
        walk.token(token)?;
    }
    Ok(())
}

const VALUE: &str = r#"<table:table-cell office:value-type="float" office:value="1"><text:p>1</text:p></table:table-cell>"#;

#[test]
fn empty_repeats_at_the_edges_cost_nothing() {
    let edge = r#"<table:table-cell table:number-columns-repeated="16383"/>"#;
    let rows = format!(
        r#"<table:table-row>{VALUE}{edge}</table:table-row><table:table-row table:number-rows-repeated="1048575"><table:table-cell table:number-columns-repeated="16384"/></table:table-row>"#
    );
    // One value: 56 bytes gathered, 32 in the grid and 32 in its copy, 16 a row.
    walk(&rows, 1 << 20, 200).unwrap();
}

#[test]
fn empty_rows_between_values_are_laid_out() {
    let rows = format!(
        r#"<table:table-row>{VALUE}</table:table-row><table:table-row table:number-rows-repeated="1000"><table:table-cell/></table:table-row><table:table-row>{VALUE}</table:table-row>"#
    );
    // 1,002 rows of one column: 32,064 bytes of grid, and its copy.
    walk(&rows, 1 << 20, 70_000).unwrap();
    let err = walk(&rows, 1 << 20, 60_000).unwrap_err();
    assert!(
        err.contains("sheet \"S\": its cells span A1:A1002"),
        "{err}"
    );
}

#[test]
fn empty_cells_before_a_value_are_gathered_and_laid_out() {
    let rows = format!(
        r#"<table:table-row><table:table-cell table:number-columns-repeated="999"/>{VALUE}</table:table-row>"#
    );
    // 1,000 cells gathered (56 bytes each) and one in the grid.
    walk(&rows, 1 << 20, 57_000).unwrap();
    assert!(walk(&rows, 1 << 20, 55_000).is_err());
}

#[test]
fn a_cells_text_counts_its_spaces_and_entities_as_read() {
    let rows = r#"<table:table-row><table:table-cell office:value-type="string"><text:p>&amp;&amp;<text:s text:c="10"/></text:p><text:p>x</text:p></table:table-cell></table:table-row>"#;
    // "&&", ten spaces, a newline, "x": 14 bytes, and its separator in the row.
    walk(rows, 15, u64::MAX).unwrap();
    let err = walk(rows, 13, u64::MAX).unwrap_err();
    assert!(
        err.contains("cell A1 is larger than --max-record-size (13 bytes)"),
        "{err}"
    );
}

#[test]
fn annotations_are_not_a_cells_text() {
    let rows = r#"<table:table-row><table:table-cell office:value-type="string"><office:annotation><text:p>a long note</text:p></office:annotation><text:p>ab</text:p></table:table-cell></table:table-row>"#;
    walk(rows, 3, u64::MAX).unwrap();
}
