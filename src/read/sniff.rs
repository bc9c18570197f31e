//! The delimiter of a CSV file given without `--delimiter`: Excel's `sep=` first line, the file
//! name's extension, then the content of its first bytes.

use std::path::Path;

/// How much of the input the content guess looks at.
pub const SAMPLE_BYTES: usize = 64 * 1024;

/// Records of the sample the guess looks at, at most.
const SAMPLE_RECORDS: usize = 200;

/// The delimiters guessed from content, the default first.
pub const CANDIDATES: [u8; 4] = [b',', b';', b'\t', b'|'];

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
/// column is read as one). Rows starting with `comment` (`--comment`) are left out.
/// With it, why the guess is doubtful when it is: no delimiter splits the records evenly
/// though one splits most of them (the header differs, or comment lines are in the way), or
/// another splits them as evenly as the one chosen.
pub fn by_content(sample: &[u8], complete: bool, comment: Option<u8>) -> (u8, Option<String>) {
    let scores =
        CANDIDATES.map(|delimiter| (delimiter, score(sample, complete, delimiter, comment)));
    let mut best = (b',', Score::default());
    for (delimiter, score) in scores {
        if score.viable() && score.beats(&best.1) {
            best = (delimiter, score);
        }
    }
    let (chosen, chosen_score) = best;
    let doubt = if chosen_score.viable() {
        scores
            .iter()
            .find(|(d, s)| *d != chosen && s.viable() && !chosen_score.beats(s))
            .map(|(d, _)| format!("{} splits its first rows as evenly", name(*d)))
    } else {
        scores
            .iter()
            // Every row but the header split alike: a column of text holding the character.
            .filter(|(_, s)| {
                s.common_width >= 2 && s.common * 2 > s.records && s.common < s.records
            })
            .max_by_key(|(_, s)| s.common)
            .map(|(d, s)| {
                format!(
                    "{} splits most of its first rows into {} columns, but not all of them",
                    name(*d),
                    s.common_width
                )
            })
    };
    let doubt = doubt.map(|why| match (comment, looks_commented(sample)) {
        (None, true) => format!("{why}; lines starting with # look like comments: --comment '#'"),
        _ => why,
    });
    (chosen, doubt)
}

/// Whether a line of `sample` starts with `#`.
fn looks_commented(sample: &[u8]) -> bool {
    sample.starts_with(b"#") || memchr::memmem::find(sample, b"\n#").is_some()
}

/// How well a delimiter splits a sample: the header's width, and how many records of the
/// sample have it.
#[derive(Debug, Default, Clone, Copy)]
struct Score {
    width: usize,
    records: usize,
    matching: usize,
    /// The most common width after the first record, and how many records have it.
    common_width: usize,
    common: usize,
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
    let mut counts: Vec<(usize, usize)> = Vec::new();
    for &w in rest {
        match counts.iter_mut().find(|(width, _)| *width == w) {
            Some((_, n)) => *n += 1,
            None => counts.push((w, 1)),
        }
    }
    let (common_width, common) = counts
        .into_iter()
        .max_by_key(|&(w, n)| (n, w))
        .unwrap_or_default();
    Score {
        width,
        records: rest.len(),
        matching: rest.iter().filter(|&&w| w == width).count(),
        common_width,
        common,
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
        by_content(text.as_bytes(), true, None).0 as char
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
        assert_eq!(by_content(text.as_bytes(), false, None).0, b';');
    }

    #[test]
    fn comment_rows_are_left_out() {
        let text = "# export of 2024-01-02\na;b;c\n# one\n1;2;3\n# two\n# three\n4;5;6\n";
        assert_eq!(by_content(text.as_bytes(), true, Some(b'#')).0, b';');
        assert_eq!(by_content(text.as_bytes(), true, None).0, b',');
    }

    #[test]
    fn a_doubtful_guess_says_why() {
        let sure = |text: &str| by_content(text.as_bytes(), true, None).1;
        assert_eq!(sure("a;b;c\n1;2;3\n"), None);
        assert_eq!(sure("name\nSmith; John\nDoe; Jane\n"), None, "one column");
        // Comment lines in the way: a comma is chosen, and the notice says what to give.
        let text = "# export\n# of today\na;b;c\n1;2;3\n4;5;6\n7;8;9\n";
        let (delimiter, doubt) = by_content(text.as_bytes(), true, None);
        assert_eq!(delimiter, b',');
        let doubt = doubt.unwrap();
        assert!(
            doubt.contains("; splits most") && doubt.contains("--comment"),
            "{doubt}"
        );
        assert_eq!(by_content(text.as_bytes(), true, Some(b'#')), (b';', None));
        // Two delimiters as good: the comma wins, in doubt.
        let tie = by_content(b"a,b;c\n1,2;3\n", true, None);
        assert_eq!(tie.0, b',');
        assert!(tie.1.unwrap().contains("; splits its first rows as evenly"));
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
