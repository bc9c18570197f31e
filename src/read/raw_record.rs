//! A record's cells as read (`RawRecord`): the reader's output, before any check of its text.

/// A buffer larger than this is not kept for reuse: one huge record must not hold its memory
/// for the rest of the file.
pub const KEEP_RECORD_BYTES: usize = 1 << 20;

/// What a cell's text stands for. A CSV or spreadsheet cell is always `Text`; a JSON input's
/// cell keeps its JSON type, so that the payload writes `5`, `true`, `null` or an object as
/// the input had it, while validation reads the same text a CSV cell would hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellKind {
    /// A string: written as a JSON string.
    Text,
    /// JSON text written as it is: a number, `true`/`false`, an object or an array.
    Json,
    /// A JSON `null`: the text is empty.
    Null,
    /// A key the object lacks: the text is empty, written `null`, and the row has a
    /// `missing-cell` error.
    Missing,
}

/// A record's cells as read: their bytes, and where each cell starts and ends in them. A plain
/// line is copied whole, delimiters included, in one go, rather than cell by cell into a
/// `csv::ByteRecord`.
#[derive(Debug, Clone, Default)]
pub struct RawRecord {
    bytes: Vec<u8>,
    cells: Vec<(usize, usize)>,
    /// Each cell's kind; empty while every cell is `Text` (always, for CSV).
    kinds: Vec<CellKind>,
    /// Where the read that found the record started in the stream, before any empty lines it
    /// skipped.
    start: u64,
}

impl RawRecord {
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.cells.clear();
        self.kinds.clear();
    }

    /// The kind of cell `i` (`Text` past the end).
    #[inline]
    pub fn kind(&self, i: usize) -> CellKind {
        self.kinds.get(i).copied().unwrap_or(CellKind::Text)
    }

    /// Whether some cell is not `Text`.
    #[inline]
    pub fn has_kinds(&self) -> bool {
        !self.kinds.is_empty()
    }

    /// Whether some cell is a key its object lacks.
    pub fn has_missing(&self) -> bool {
        self.kinds.contains(&CellKind::Missing)
    }

    /// Appends a cell of the given kind.
    pub fn push_typed(&mut self, cell: &[u8], kind: CellKind) {
        if kind != CellKind::Text && self.kinds.is_empty() {
            self.kinds.resize(self.cells.len(), CellKind::Text);
            self.kinds.push(kind);
        } else if !self.kinds.is_empty() {
            self.kinds.push(kind);
        }
        let start = self.bytes.len();
        self.bytes.extend_from_slice(cell);
        self.cells.push((start, self.bytes.len()));
    }

    /// Whether the record's buffer is too large to keep for reuse: one huge record must not
    /// hold its memory for the rest of the file.
    pub fn is_too_large_to_keep(&self) -> bool {
        self.bytes.capacity() > KEEP_RECORD_BYTES
    }

    pub fn len(&self) -> usize {
        self.cells.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    /// Whether every cell is empty (a record of no cells included).
    pub fn cells_are_empty(&self) -> bool {
        self.cells.iter().all(|&(start, end)| start == end)
    }

    /// The cells' bytes, with whatever separated them in the line (delimiters, or nothing).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Where each cell starts and ends in `as_bytes`.
    pub fn bounds(&self) -> &[(usize, usize)] {
        &self.cells
    }

    pub fn get(&self, i: usize) -> Option<&[u8]> {
        self.cells
            .get(i)
            .map(|&(start, end)| &self.bytes[start..end])
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &[u8]> + ExactSizeIterator + Clone {
        self.cells
            .iter()
            .map(|&(start, end)| &self.bytes[start..end])
    }

    /// Where the read that found the record started in the stream.
    pub fn start(&self) -> u64 {
        self.start
    }

    pub fn set_start(&mut self, start: u64) {
        self.start = start;
    }

    /// The bytes its buffer holds room for.
    #[cfg(test)]
    pub fn capacity(&self) -> usize {
        self.bytes.capacity()
    }

    pub fn push_field(&mut self, cell: &[u8]) {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(cell);
        self.cells.push((start, self.bytes.len()));
        if !self.kinds.is_empty() {
            self.kinds.push(CellKind::Text);
        }
    }

    /// Appends the cells of `line`, split at the delimiters at `cuts`.
    pub fn push_line(&mut self, line: &[u8], cuts: &[usize]) {
        let base = self.bytes.len();
        self.bytes.extend_from_slice(line);
        let mut start = base;
        for &cut in cuts {
            self.cells.push((start, base + cut));
            start = base + cut + 1;
        }
        self.cells.push((start, base + line.len()));
    }

    /// Appends the parser's output: cells one after the other in `fields`, ending at `ends`.
    pub fn push_fields(&mut self, fields: &[u8], ends: &[usize]) {
        let base = self.bytes.len();
        self.bytes.extend_from_slice(fields);
        self.push_ends(base, ends);
    }

    /// Takes the parser's output buffer as the record's bytes, without a copy (a large record),
    /// its cells ending at `ends`; the record must be empty.
    pub fn take_fields(&mut self, fields: Vec<u8>, ends: &[usize]) {
        debug_assert!(self.cells.is_empty());
        self.bytes = fields;
        self.push_ends(0, ends);
    }

    fn push_ends(&mut self, base: usize, ends: &[usize]) {
        let mut start = base;
        for &end in ends {
            self.cells.push((start, base + end));
            start = base + end;
        }
    }
}
