//! An `.ods` file checked before calamine opens it. calamine reads `content.xml` whole when it
//! opens the file: every row's cells (a cell repeated by `table:number-columns-repeated` as
//! many times, up to 16,384), then every sheet as a dense grid from its first used cell to its
//! last with rows repeated by `table:number-rows-repeated` (up to 1,048,576 rows and 100
//! million cells), each repeated cell a copy of its text. An 808-byte file took 6.2 GB. So
//! `content.xml` is read here first, in bounded memory (`xml`: one tag at a time), counting
//! what calamine materializes as calamine does (`ods.rs`: `read_row`, `get_range`), and the
//! file is refused for:
//!
//! - a tag or a run of text longer than `--max-record-size` or 1 MiB (quick-xml holds each
//!   whole);
//! - a cell with a value past Excel's last cell, XFD1048576, named (calamine drops it
//!   silently); empty cells are not counted where calamine does not lay them out: the empty
//!   cells ending a row, and the empty rows ending a sheet, which LibreOffice writes to every
//!   sheet's edge (`<table:table-row table:number-rows-repeated="1048553">`...);
//! - a cell whose text, or a row whose cells' text, is longer than `--max-record-size`,
//!   named (a cell's `<text:s text:c>` spaces counted);
//! - a workbook whose cells, their copies and its grids of values and of formulas would take
//!   more than the grid budget (`sheet_bounds::grid_budget`: 256 MiB, or 16 times the file's
//!   size), naming the sheet and the cells its grid spans;
//! - defined names and sheet styles (which calamine holds, each about its tag's size) past the
//!   same budget, with the sheets;
//! - `META-INF/manifest.xml`, which calamine holds whole, inflating past 100 times its
//!   compressed size (past 1 MiB), as a zip bomb does.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use crate::read::sheet_bounds::grid_budget;
use walk::Walk;
use xml::Tokens;

#[cfg(test)]
mod tests;
mod walk;
mod xml;

/// A token may be this long even under a smaller `--max-record-size`.
const TOKEN_FLOOR: u64 = 1024 * 1024;
/// The manifest may inflate this many times over its compressed size, past `INFLATION_FLOOR`.
const MAX_INFLATION: u64 = 100;
const INFLATION_FLOOR: u64 = 1024 * 1024;

/// Checks the `.ods` at `path`; Err says why calamine must not open it.
pub fn check(path: &Path, max_record_bytes: u64) -> Result<(), String> {
    let file = File::open(path).map_err(|err| format!("cannot open it: {err}"))?;
    let len = file
        .metadata()
        .map_err(|err| format!("cannot read it: {err}"))?
        .len();
    let mut archive = zip::ZipArchive::new(BufReader::new(file))
        .map_err(|err| format!("not an .ods file (a zip file): {err}"))?;
    manifest(&mut archive)?;
    // Without it calamine says so.
    let Ok(content) = archive.by_name("content.xml") else {
        return Ok(());
    };
    let limit = max_record_bytes.max(TOKEN_FLOOR);
    let mut tokens = Tokens::new(BufReader::with_capacity(64 * 1024, content), limit);
    let mut walk = Walk::new(max_record_bytes, grid_budget(len));
    while let Some(token) = tokens.next().map_err(|why| format!("content.xml: {why}"))? {
        walk.token(token)?;
    }
    walk.finish()
}

/// Refuses a manifest inflating like a zip bomb.
fn manifest(archive: &mut zip::ZipArchive<BufReader<File>>) -> Result<(), String> {
    let Ok(entry) = archive.by_name("META-INF/manifest.xml") else {
        return Ok(());
    };
    let compressed = entry.compressed_size();
    let most = compressed
        .saturating_mul(MAX_INFLATION)
        .max(INFLATION_FLOOR);
    let read = std::io::copy(&mut entry.take(most + 1), &mut std::io::sink())
        .map_err(|err| format!("META-INF/manifest.xml: cannot read: {err}"))?;
    if read > most {
        return Err(format!(
            "META-INF/manifest.xml: inflates to more than {most} bytes from {compressed} (more \
             than {MAX_INFLATION} times), as a zip bomb does"
        ));
    }
    Ok(())
}
