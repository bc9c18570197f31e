//! A CSV record whose cells are all UTF-8 text, checked in one SIMD pass over the record.
//!
//! `csv::StringRecord` checks a record that is not all ASCII cell by cell with `str::from_utf8`,
//! a visible share of the parsing thread, which staging is bound by. `simdutf8` checks the
//! whole record at once; checking that every cell starts on a character boundary then makes
//! each cell valid UTF-8 on its own.

use crate::read::raw_record::{CellKind, RawRecord};

/// A record of cells that are valid UTF-8 (the type's invariant: only `from_raw` and
/// the `push_` methods add cells).
#[derive(Debug, Clone, Default)]
pub struct TextRecord(RawRecord);

/// A record that is not UTF-8: the record, given back, and the (0-based) cell that is not.
#[derive(Debug)]
pub struct NotUtf8 {
    pub record: RawRecord,
    pub field: usize,
}

impl TextRecord {
    pub fn new() -> TextRecord {
        TextRecord::default()
    }

    /// Checks that every cell of `record` is UTF-8.
    pub fn from_raw(record: RawRecord) -> Result<TextRecord, NotUtf8> {
        if cells_are_utf8(&record) {
            Ok(TextRecord(record))
        } else {
            let field = record
                .iter()
                .position(|cell| std::str::from_utf8(cell).is_err())
                .unwrap_or(0);
            Err(NotUtf8 { record, field })
        }
    }

    /// Whether the record's buffer is too large to keep for reuse (see `RawRecord`).
    pub fn is_too_large_to_keep(&self) -> bool {
        self.0.is_too_large_to_keep()
    }

    /// Gives the record's buffers back for reuse.
    pub fn into_raw(self) -> RawRecord {
        self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn get(&self, i: usize) -> Option<&str> {
        // SAFETY: every cell is UTF-8 (the type's invariant).
        self.0
            .get(i)
            .map(|cell| unsafe { std::str::from_utf8_unchecked(cell) })
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &str> + ExactSizeIterator + Clone {
        // SAFETY: every cell is UTF-8 (the type's invariant).
        self.0
            .iter()
            .map(|cell| unsafe { std::str::from_utf8_unchecked(cell) })
    }

    /// All cells one after the other, with whatever separated them in the line.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    pub fn clear(&mut self) {
        self.0.clear();
    }

    pub fn push_field(&mut self, cell: &str) {
        self.0.push_field(cell.as_bytes());
    }

    /// Appends a cell of the given kind.
    pub fn push_typed(&mut self, cell: &str, kind: CellKind) {
        self.0.push_typed(cell.as_bytes(), kind);
    }

    /// Appends cell `i` of `other` with its kind.
    pub fn push_cell_of(&mut self, other: &TextRecord, i: usize) {
        if let Some(cell) = other.0.get(i) {
            self.0.push_typed(cell, other.0.kind(i));
        }
    }

    /// The kind of cell `i` (always `Text` for CSV; see `CellKind`).
    #[inline]
    pub fn kind(&self, i: usize) -> CellKind {
        self.0.kind(i)
    }

    /// Whether some cell is not `Text` (a JSON input's number, boolean, null or object).
    #[inline]
    pub fn has_kinds(&self) -> bool {
        self.0.has_kinds()
    }

    /// Whether some cell is a key its JSON object lacks.
    pub fn has_missing(&self) -> bool {
        self.0.has_missing()
    }
}

impl<'a> FromIterator<&'a str> for TextRecord {
    fn from_iter<I: IntoIterator<Item = &'a str>>(cells: I) -> TextRecord {
        let mut record = TextRecord::new();
        for cell in cells {
            record.push_field(cell);
        }
        record
    }
}

impl std::ops::Index<usize> for TextRecord {
    type Output = str;

    fn index(&self, i: usize) -> &str {
        self.get(i).expect("cell index out of range")
    }
}

/// Whether each cell of `record` is UTF-8: all its bytes together are, and every cell starts
/// and ends on a character boundary, so that no character spans two cells.
fn cells_are_utf8(record: &RawRecord) -> bool {
    let Ok(text) = simdutf8::basic::from_utf8(record.as_bytes()) else {
        return false;
    };
    record
        .bounds()
        .iter()
        .all(|&(start, end)| text.is_char_boundary(start) && text.is_char_boundary(end))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(cells: &[&[u8]]) -> RawRecord {
        let mut record = RawRecord::default();
        for cell in cells {
            record.push_field(cell);
        }
        record
    }

    #[test]
    fn utf8_cells_are_text() {
        let text = TextRecord::from_raw(record(&[b"Zo\xc3\xab", b"", "東京".as_bytes()])).unwrap();
        assert_eq!(text.iter().collect::<Vec<_>>(), ["Zoë", "", "東京"]);
        assert_eq!(&text[2], "東京");
        assert_eq!(text.get(3), None);
    }

    #[test]
    fn the_first_cell_that_is_not_utf8_is_named() {
        let err = TextRecord::from_raw(record(&[b"ok", b"a\xff", b"\xfe"])).unwrap_err();
        assert_eq!(err.field, 1);
        assert_eq!(err.record.len(), 3);
    }

    #[test]
    fn a_character_split_between_two_cells_is_not_utf8() {
        // Together the bytes are "é"; apart, neither cell is UTF-8.
        let err = TextRecord::from_raw(record(&[b"x\xc3", b"\xa9y"])).unwrap_err();
        assert_eq!(err.field, 0);
        let err = TextRecord::from_raw(record(&[b"", b"\xc3", b"\xa9"])).unwrap_err();
        assert_eq!(err.field, 1);
    }

    #[test]
    fn agrees_with_the_csv_crates_check() {
        let pieces: [&[u8]; 8] = [
            b"a",
            b"\xc3",
            b"\xa9",
            "é".as_bytes(),
            b"",
            b"\xe6\x9d",
            b"\xb1",
            b"\xff",
        ];
        // Every record of up to three cells of up to two pieces each.
        let cells: Vec<Vec<u8>> = pieces
            .iter()
            .flat_map(|a| pieces.iter().map(move |b| [*a, *b].concat()))
            .collect();
        for a in &cells {
            for b in &cells {
                for c in [&b""[..], b"\xa9", b"z"] {
                    let raw = record(&[a, b, c]);
                    let ours = TextRecord::from_raw(raw.clone())
                        .map(|_| ())
                        .map_err(|e| e.field);
                    let raw = csv::ByteRecord::from(raw.iter().collect::<Vec<_>>());
                    let theirs = csv::StringRecord::from_byte_record(raw)
                        .map(|_| ())
                        .map_err(|e| e.utf8_error().field());
                    assert_eq!(ours, theirs, "{a:?} {b:?} {c:?}");
                }
            }
        }
    }
}
