//! What a spreadsheet may hold, shared by the reader (`sheet`) and the guards in front of
//! calamine (`xls_guard`, `ods_guard`, `xlsx_scan`): Excel's last cell, cells named in A1 form,
//! and the grid budget.
//!
//! The grid budget: calamine lays an `.xls` or `.ods` sheet out as a dense grid from its first
//! used cell to its last (32 bytes a cell, and 24 more for the grid of formulas), for every
//! sheet of the workbook at once, when it opens the file, and hands pulse a copy of the sheet
//! read (so the values' grid counts twice). The guards add up what those grids
//! (and the cells calamine gathers before laying them out) would take and refuse the file past
//! `GRID_BUDGET` bytes, or `GRID_PER_FILE_BYTE` times the file's size if that is more: 256 MiB
//! is about 2.6 million cells of an `.xls` (104 bytes each: gathered, in the grid, and in the
//! copy of the grid `worksheet_range` hands out; a full `.xls` sheet, 256 columns by 65,536
//! rows, is 16.7 million) or 2.2 million of an `.ods` (120),
//! and a file large enough to hold more cells than that may use what its cells need, a small
//! multiple of its size (an `.xls` cell takes 6 bytes of the file at the least, in a MULRK).

/// Excel's limits: rows 1 to 1,048,576, columns A to XFD.
pub const MAX_ROWS: u32 = 1_048_576;
pub const MAX_COLUMNS: u32 = 16_384;

/// The bytes of grids calamine may lay out for a whole workbook...
pub const GRID_BUDGET: u64 = 256 * 1024 * 1024;
/// ...or this many times the file's size, if that is more.
pub const GRID_PER_FILE_BYTE: u64 = 16;

/// The grid budget for a file of `file_bytes` bytes.
pub fn grid_budget(file_bytes: u64) -> u64 {
    GRID_BUDGET.max(file_bytes.saturating_mul(GRID_PER_FILE_BYTE))
}

/// The refusal of a workbook whose grids would take `bytes`, more than `budget`; `what` names
/// the sheet and the cells its grid spans.
pub fn over_budget(what: &str, bytes: u64, budget: u64) -> String {
    format!(
        "{what}: calamine would lay its sheets out in {} MiB of memory, more than pulse allows \
         ({} MiB, or {GRID_PER_FILE_BYTE} times the file's size if that is more)",
        bytes.div_ceil(1024 * 1024),
        budget / (1024 * 1024)
    )
}

/// A cell's A1-style reference: its 0-based column and 1-based row.
pub fn a1(column: usize, row: u64) -> String {
    let mut letters = Vec::new();
    let mut n = column + 1;
    while n > 0 {
        letters.push(b'A' + ((n - 1) % 26) as u8);
        n = (n - 1) / 26;
    }
    letters.reverse();
    format!("{}{row}", String::from_utf8(letters).unwrap_or_default())
}
