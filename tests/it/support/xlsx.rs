//! `.xlsx` files written by the tests themselves, down to the XML, so that a test can hold what
//! no spreadsheet program writes: a workbook of one sheet, `Sheet1`, with the sheet's XML and
//! the shared strings as given, deflated. The `sheet` fuzz target packs its inputs with it too
//! (`fuzz/harness.rs`).

use std::io::{Seek, Write};
use std::path::Path;

use zip::write::SimpleFileOptions;

const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>"#;

const PACKAGE_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#;

const WORKBOOK: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>"#;

const WORKBOOK_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>"#;

/// A worksheet's XML holding `rows` (`<row>` elements) as its data.
pub fn sheet_xml(rows: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>{rows}</sheetData></worksheet>"#
    )
}

/// Writes a workbook whose sheet is `rows`.
pub fn write_xlsx(path: &Path, rows: &str) {
    write_xlsx_parts(path, |out| out.write_all(sheet_xml(rows).as_bytes()), None);
}

/// Writes a workbook whose sheet's XML `sheet` writes (it may be large: it is deflated as it
/// is written), with `shared_strings` as `xl/sharedStrings.xml` if given.
pub fn write_xlsx_parts(
    path: &Path,
    sheet: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    shared_strings: Option<&[u8]>,
) {
    xlsx_to(std::fs::File::create(path).unwrap(), sheet, shared_strings);
}

/// The workbook of `write_xlsx_parts`, written to `out`, which is handed back.
pub fn xlsx_to<W: Write + Seek>(
    out: W,
    sheet: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    shared_strings: Option<&[u8]>,
) -> W {
    let mut zip = zip::ZipWriter::new(out);
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let mut part = |name: &str, bytes: &[u8]| {
        zip.start_file(name, options).unwrap();
        zip.write_all(bytes).unwrap();
    };
    part("[Content_Types].xml", CONTENT_TYPES.as_bytes());
    part("_rels/.rels", PACKAGE_RELS.as_bytes());
    part("xl/workbook.xml", WORKBOOK.as_bytes());
    part("xl/_rels/workbook.xml.rels", WORKBOOK_RELS.as_bytes());
    if let Some(strings) = shared_strings {
        part("xl/sharedStrings.xml", strings);
    }
    zip.start_file("xl/worksheets/sheet1.xml", options).unwrap();
    sheet(&mut zip).unwrap();
    zip.finish().unwrap()
}
