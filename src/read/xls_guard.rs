//! An `.xls` file checked before calamine opens it. calamine reads an `.xls` whole when it
//! opens it: the compound file's sectors, then every sheet's cells, laid out as dense grids.
//! Neither is bounded by calamine: it follows sector chains without looking for loops (a
//! 5.6 KB file made it allocate without end), and sizes its grids and a reservation from cell
//! places and a DIMENSIONS record (two cells far apart: 65,536 × 65,536 cells). So this
//! module walks the file as calamine will, in memory bounded by the file, and refuses:
//!
//! - a compound file whose header is not one (signature, sector shift 9 or 12, mini sector
//!   shift 6), whose DIFAT or FAT names a sector past the file's end or twice, or any chain
//!   calamine follows (the directory's, the mini stream's, the mini FAT's, the workbook
//!   stream's) that loops, leaves the file or the FAT, or holds less than its stream declares
//!   (`cfb`);
//! - a cell (or a DIMENSIONS record) past BIFF8's last cell, IV65536, named; a cell whose text
//!   is longer than `--max-record-size`, named (`biff`);
//! - a workbook whose cells, text and grids calamine would hold at once add up to more than
//!   the grid budget (`sheet_bounds::grid_budget`: 256 MiB, or 16 times the file's size),
//!   naming the sheet and the cells its grid spans (`biff`, `sst`).
//!
//! Written by hand rather than with the `cfb` crate: that crate reads the same structures but
//! is a second reader whose chains would have to agree with calamine's own walk, sector by
//! sector; what matters here is the walk calamine does, so this one mirrors `calamine/cfb.rs`.

use std::fs::File;
use std::path::Path;

mod biff;
mod bytes;
mod cfb;
mod sst;
#[cfg(test)]
mod tests;

/// Checks the `.xls` at `path`; Err says why calamine must not open it.
pub fn check(path: &Path, max_record_bytes: u64) -> Result<(), String> {
    let file = File::open(path).map_err(|err| format!("cannot open it: {err}"))?;
    let len = file
        .metadata()
        .map_err(|err| format!("cannot read it: {err}"))?
        .len();
    let mut compound = cfb::open(file, len)?;
    let stream = compound.workbook()?;
    drop(compound);
    biff::check(&stream, len, max_record_bytes)
}
