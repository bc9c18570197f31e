//! The delimiter of a CSV file given without `--delimiter`: Excel's `sep=` first line, the file
//! name's extension, then the content of its first bytes.

use std::path::Path;

/// How much of the input the content guess looks at.
pub const SAMPLE_BYTES: usize = 64 * 1024;

/// Records of the sample the guess looks at, at most.
const SAMPLE_RECORDS: usize = 200;

/// The delimiters guessed from content, the default first.
const CANDIDATES: [u8; 4] = [b',', b';', b'\t', b'|'];

/// The delimiter an Excel `sep=X` first line names (`sep=;` then CRLF), if `head` starts with
/// one (after a UTF-8 byte order mark, if any).
pub fn sep_line(head: &[u8]) -> Option<u8> {
    let head = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    let rest = head.strip_prefix(b"sep=")?;
    let (&delimiter, end) = rest.split_first()?;
    let ends_line = matches!(end.first(), Some(b'\n' | b'\r') | None);
    (ends_line && delimiter.is_ascii() && !matches!(delimiter, b'"' | b'\n' | b'\r'))
        .then_some(delimiter)
}

/// The delimiter a file's extension says (`.tsv`, `.tab`, `.psv`, also compressed:
/// `.tsv.gz`).
pub fn by_extension(path: &Path) -> Option<u8> {
    let name = path.file_name()?.to_str()?.to_ascii_lowercase();
    let name = [".gz", ".zst", ".zstd"]
        .iter()
        .find_map(|ext| name.strip_suffix(ext))
        .unwrap_or(&name);
    let ext = name.rsplit_once('.')?.1;
    match ext {
        "tsv" | "tab" => Some(b'\t'),
        "psv" => Some(b'|'),
        _ => None,
    }
}

/// The delimiter that splits `sample` (the input's first bytes; `complete` when that is all
/// of it) into records of one consistent width of two or more, quoting taken into account.
/// A comma wins whenever it does as well as any other; when none does, a comma (a file of one
/// column is read as one).
/// Rows starting with `comment` (`--comment`) are left out.
pub fn by_content(sample: &[u8], complete: bool, comment: Option<u8>) -> u8 {
    let mut best = (b',', Score::default());
    for delimiter in CANDIDATES {
        let score = score(sample, complete, delimiter, comment);
        if score.viable() && score.beats(&best.1) {
            best = (delimiter, score);
        }
    }
    best.0
}

/// How well a delimiter splits a sample: the header's width, and how many records of the
/// sample have it.
#[derive(Debug, Default, Clone, Copy)]
struct Score {
    width: usize,
    records: usize,
    matching: usize,
}

impl Score {
    /// Two columns or more, and nine records in ten as wide as the header (room for a few
    /// ragged rows); a header alone is judged by its width.
    fn viable(&self) -> bool {
        self.width >= 2 && self.matching * 10 >= self.records * 9
    }

    /// More consistent. Candidates come comma first, so a tie keeps the comma.
    fn beats(&self, other: &Score) -> bool {
        !other.viable()
            || self.matching * other.records.max(1) > other.matching * self.records.max(1)
    }
}

fn score(sample: &[u8], complete: bool, delimiter: u8, comment: Option<u8>) -> Score {
    let mut reader = csv_core::ReaderBuilder::new().delimiter(delimiter).build();
    let mut input = sample;
    let mut output = [0u8; 4096];
    let mut ends = [0usize; 256];
    let mut fields = 0usize;
    let mut widths: Vec<usize> = Vec::new();
    // Where the record being read starts in the sample.
    let mut start = 0;
    loop {
        if input.is_empty() && !complete {
            // The sample ends inside a record (or between two): what is left is not judged.
            break;
        }
        // An empty input tells the parser the input ended: the last record, if any, is done.
        let (result, read, _, found) = reader.read_record(input, &mut output, &mut ends);
        input = &input[read..];
        fields += found;
        match result {
            csv_core::ReadRecordResult::Record => {
                let first = sample[start..]
                    .iter()
                    .find(|&&b| b != b'\n' && b != b'\r')
                    .copied();
                if comment.is_none() || first != comment {
                    widths.push(fields);
                }
                start = sample.len() - input.len();
                fields = 0;
                if widths.len() > SAMPLE_RECORDS {
                    break;
                }
            }
            // Long cells: only the count of fields matters, so the output is reused.
            csv_core::ReadRecordResult::OutputFull
            | csv_core::ReadRecordResult::OutputEndsFull
            | csv_core::ReadRecordResult::InputEmpty => {}
            csv_core::ReadRecordResult::End => break,
        }
    }
    let Some((&width, rest)) = widths.split_first() else {
        return Score::default();
    };
    Score {
        width,
        records: rest.len(),
        matching: rest.iter().filter(|&&w| w == width).count(),
    }
}

/// A delimiter as a notice names it.
pub fn name(delimiter: u8) -> String {
    match delimiter {
        b'\t' => "tab".into(),
        other => (other as char).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guess(text: &str) -> char {
        by_content(text.as_bytes(), true, None) as char
    }

    #[test]
    fn finds_the_delimiter_that_splits_consistently() {
        assert_eq!(guess("a;b;c\n1;2;3\n4;5;6\n"), ';');
        assert_eq!(guess("a\tb\n1\t2\n"), '\t');
        assert_eq!(guess("a|b\n1|2\n"), '|');
        assert_eq!(guess("a,b\n1,2\n"), ',');
        // Decimal commas inside a semicolon file.
        assert_eq!(guess("name;amount\nx;1,5\ny;2,25\n"), ';');
    }

    #[test]
    fn quoted_delimiters_do_not_mislead() {
        assert_eq!(guess("id,note\n1,\"a;b;c\"\n2,\"d;e;f\"\n"), ',');
        assert_eq!(guess("id;note\n1;\"a,b,c\"\n2;\"d,e\"\n"), ';');
        assert_eq!(guess("\"a;b\",c\n\"1;2\",3\n"), ',');
    }

    #[test]
    fn one_column_stays_one_column() {
        assert_eq!(guess("name\nSmith; John\nDoe; Jane\n"), ',');
        assert_eq!(guess("path\na|b\nc|d\n"), ',');
        assert_eq!(guess("value\n1\n2\n"), ',');
        assert_eq!(guess(""), ',');
        assert_eq!(guess("a;b;c\n"), ';');
    }

    #[test]
    fn a_cut_sample_judges_only_whole_records() {
        let text = "a;b\n1;2\n3;4\n\"long;";
        assert_eq!(by_content(text.as_bytes(), false, None), b';');
    }

    #[test]
    fn comment_rows_are_left_out() {
        let text = "# export of 2024-01-02\na;b;c\n# one\n1;2;3\n# two\n# three\n4;5;6\n";
        assert_eq!(by_content(text.as_bytes(), true, Some(b'#')), b';');
        assert_eq!(by_content(text.as_bytes(), true, None), b',');
    }

    #[test]
    fn sep_lines_and_extensions() {
        assert_eq!(sep_line(b"sep=;\r\na;b\r\n"), Some(b';'));
        assert_eq!(sep_line(b"\xef\xbb\xbfsep=|\n"), Some(b'|'));
        assert_eq!(sep_line(b"sep=;;\n"), None);
        assert_eq!(sep_line(b"sepal,width\n"), None);
        assert_eq!(by_extension(Path::new("x/data.TSV")), Some(b'\t'));
        assert_eq!(by_extension(Path::new("data.tab.gz")), Some(b'\t'));
        assert_eq!(by_extension(Path::new("data.psv")), Some(b'|'));
        assert_eq!(by_extension(Path::new("data.csv")), None);
    }
}
