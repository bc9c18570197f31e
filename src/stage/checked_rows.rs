//! Checked rows: the CSV source and the schema validator together, shared by `push` (staging)
//! and `validate`. Blank rows are skipped and counted here, ragged rows become invalid rows.

use anyhow::Result;
use smallvec::SmallVec;

use crate::read::{CellKind, ReadAhead, SourcePosition, TableSource, TextRecord};
use crate::schema::{CellError, RowValidator, Schema};

/// One data row after checking.
pub struct CheckedRow<'a> {
    /// 1-based position among data rows.
    pub index: u64,
    /// Line where the record starts (the header is line 1).
    pub line: u64,
    pub record: &'a TextRecord,
    /// Empty when the row is valid.
    pub errors: &'a [CellError],
    pub validator: &'a RowValidator,
}

impl CheckedRow<'_> {
    pub fn valid(&self) -> bool {
        self.errors.is_empty()
    }
}

/// Where records come from: parsed on this thread, or on a thread of its own.
enum Source {
    Inline(Box<TableSource>),
    Ahead(ReadAhead),
}

impl Source {
    fn advance(&mut self) -> Result<Option<u64>> {
        match self {
            Source::Inline(source) => source.advance(),
            Source::Ahead(ahead) => ahead.advance(),
        }
    }

    fn record(&self) -> &TextRecord {
        match self {
            Source::Inline(source) => source.record(),
            Source::Ahead(ahead) => ahead.record(),
        }
    }

    fn headers(&self) -> &[String] {
        match self {
            Source::Inline(source) => source.headers(),
            Source::Ahead(ahead) => ahead.headers(),
        }
    }

    fn blank_rows(&self) -> u64 {
        match self {
            Source::Inline(source) => source.blank_rows(),
            Source::Ahead(ahead) => ahead.blank_rows(),
        }
    }

    fn position(&self) -> SourcePosition {
        match self {
            Source::Inline(source) => source.position(),
            Source::Ahead(ahead) => ahead.position().clone(),
        }
    }
}

/// Streams checked rows out of a CSV source.
pub struct CheckedRows {
    source: Source,
    validator: RowValidator,
    /// Whether a row with a non-empty cell is valid when it has one cell per column.
    full_rows_are_valid: bool,
    errors: Vec<CellError>,
    index: u64,
    /// Rows whose every cell is a missing value (beyond the empty lines the source skips).
    blank_by_schema: u64,
    /// The input as messages name it.
    label: String,
}

impl CheckedRows {
    /// Pairs the source's header with the schema (or, without one, checks only structure).
    pub fn new(source: TableSource, schema: Option<&Schema>) -> Result<CheckedRows> {
        let validator = RowValidator::new(schema, source.headers())?;
        let label = source.label().to_string();
        Ok(CheckedRows {
            label,
            source: Source::Inline(Box::new(source)),
            full_rows_are_valid: validator.full_nonempty_rows_are_valid(),
            validator,
            errors: Vec::new(),
            index: 0,
            blank_by_schema: 0,
        })
    }

    /// The input as messages name it.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Parse on a thread of its own, overlapping with the checks: for `validate`, whose
    /// second core is otherwise idle (push keeps both busy already, staging and storing).
    pub fn read_ahead(mut self) -> Result<CheckedRows> {
        self.source = match self.source {
            Source::Inline(source) => Source::Ahead(ReadAhead::start(*source)?),
            ahead => ahead,
        };
        Ok(self)
    }

    /// Keep each row's cast values as JSON while checking it, for writing valid rows.
    pub fn render_cast_values(&mut self) {
        self.validator.render_cast_values();
    }

    pub fn headers(&self) -> &[String] {
        self.source.headers()
    }

    /// Blank rows skipped so far.
    pub fn blank_rows(&self) -> u64 {
        self.source.blank_rows() + self.blank_by_schema
    }

    /// The hash of every byte read; after the last row, of the whole input.
    pub fn content_hash(&self) -> String {
        self.read_so_far().1
    }

    /// Input bytes read so far and their hash (see `TableSource::read_so_far`). The reading
    /// thread may be ahead of the rows handed out: the mark then covers a longer prefix of
    /// the file, which is only a stricter check when resuming.
    pub fn read_so_far(&self) -> (u64, String) {
        self.source.position().read_so_far()
    }

    /// Where the reading stands, to ask `read_so_far` of while a row is borrowed.
    pub fn position(&self) -> SourcePosition {
        self.source.position()
    }

    /// The next non-blank row, checked.
    pub fn next_row(&mut self) -> Result<Option<CheckedRow<'_>>> {
        loop {
            let Some(line) = self.source.advance()? else {
                return Ok(None);
            };
            let record = self.source.record();
            if self.full_rows_are_valid
                && record.len() == self.validator.column_count()
                && !record.has_missing()
            {
                // The source already skipped rows whose cells are all empty: this one is
                // neither blank nor ragged, so valid.
                self.errors.clear();
            } else {
                // The validator works on &[&str]: slices on the stack for up to 32 columns, so
                // a row costs no allocation.
                let cells: SmallVec<[&str; 32]> = record.iter().collect();
                if self.validator.is_blank_row(&cells) {
                    self.blank_by_schema += 1;
                    continue;
                }
                self.validator.check_row(&cells, &mut self.errors);
                if record.has_missing() {
                    for column in 0..cells.len() {
                        if record.kind(column) == CellKind::Missing {
                            self.validator.missing_key(column, &mut self.errors);
                        }
                    }
                }
                if let Some(failure) = self.validator.key_check_failure() {
                    anyhow::bail!("{}: line {line}: {failure}", self.label);
                }
            }
            self.index += 1;
            return Ok(Some(CheckedRow {
                index: self.index,
                line,
                record: self.source.record(),
                errors: &self.errors,
                validator: &self.validator,
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::{ByteCounter, CsvDialect};

    /// (line, cells, error kinds) of every row, and the blank rows skipped.
    type Checked = (Vec<(u64, String, Vec<&'static str>)>, u64);

    fn check(csv: &str, schema: Option<&str>) -> Checked {
        let source = TableSource::from_reader(
            Box::new(std::io::Cursor::new(csv.as_bytes().to_vec())),
            "t.csv".into(),
            &CsvDialect::default(),
            ByteCounter::default(),
        )
        .unwrap();
        let schema = schema.map(|text| Schema::parse(text, "schema.json").unwrap());
        let mut rows = CheckedRows::new(source, schema.as_ref()).unwrap();
        let mut seen = Vec::new();
        while let Some(row) = rows.next_row().unwrap() {
            let cells = row.record.iter().collect::<Vec<_>>().join("|");
            let kinds = row.errors.iter().map(|e| e.kind).collect();
            seen.push((row.line, cells, kinds));
        }
        (seen, rows.blank_rows())
    }

    #[test]
    fn without_a_schema_full_rows_are_valid_and_ragged_or_blank_ones_are_not() {
        let (rows, blank) = check("a,b\n1,2\n,\n3\n,x\n4,5,6\n\n,,\n7,\n", None);
        assert_eq!(
            rows,
            vec![
                (2, "1|2".into(), vec![]),
                (4, "3".into(), vec!["missing-cell"]),
                (5, "|x".into(), vec![]),
                (6, "4|5|6".into(), vec!["extra-cell"]),
                (9, "7|".into(), vec![]),
            ]
        );
        assert_eq!(blank, 3, "lines 3, 7 and 8");
    }

    #[test]
    fn cells_of_columns_without_a_field_can_still_be_missing_values() {
        // No column has a field, yet the schema's missing values make a row of them blank.
        let schema = r#"{"fields": [], "fieldsMatch": "subset",
            "missingValues": ["", "NA"]}"#;
        let (rows, blank) = check("a,b\nNA,NA\n1,NA\n", Some(schema));
        assert_eq!(rows, vec![(3, "1|NA".into(), vec![])]);
        assert_eq!(blank, 1);
    }

    #[test]
    fn a_row_with_values_only_past_the_header_is_an_extra_cell_error_not_blank() {
        let (rows, blank) = check("id,name\n,,ORPHAN\n,,\n", None);
        assert_eq!(rows, vec![(2, "||ORPHAN".into(), vec!["extra-cell"])]);
        assert_eq!(blank, 1, "line 3: every cell empty, past the header too");
        let schema = r#"{"fields": [{"name": "id"}, {"name": "name"}],
            "missingValues": ["", "NA"]}"#;
        let (rows, blank) = check("id,name\nNA,NA,ORPHAN\nNA,,\n", Some(schema));
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!(rows[0].0, 2);
        assert!(rows[0].2.contains(&"extra-cell"), "{rows:?}");
        assert_eq!(blank, 1);
    }
}
