use super::*;
use crate::read::one_byte::OneByte;
use crate::read::parse_delimiter;

#[test]
fn delimiters() {
    assert_eq!(parse_delimiter(";").unwrap(), b';');
    assert_eq!(parse_delimiter("\\t").unwrap(), b'\t');
    assert!(parse_delimiter("ab").is_err());
}

#[test]
fn prefix_hash_matches_what_was_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.csv");
    std::fs::write(&path, "a,b\n1,2\n3,4\n").unwrap();
    let input = Input::File(path.clone());
    let mut source =
        TableSource::open(&input, &CsvDialect::default(), ByteCounter::default()).unwrap();
    while source.advance().unwrap().is_some() {}
    let (bytes, hash) = source.read_so_far();
    assert_eq!(bytes, 12);
    assert_eq!(prefix_hash(&path, bytes).unwrap(), Some(hash));
    assert_ne!(
        prefix_hash(&path, 4).unwrap(),
        prefix_hash(&path, 5).unwrap()
    );
    assert_eq!(
        prefix_hash(&path, 99).unwrap(),
        None,
        "file shorter than asked"
    );
}

#[test]
fn lone_cr_and_crlf_end_a_line_once() {
    // Header on line 1; a CR-only line, a CRLF blank line, a quoted CR inside a cell, and a
    // CRLF split nowhere special.
    let bytes: &'static [u8] = b"a,b\r1,2\r\n\r\n\"x\ry\",3\r4,5\n";
    // Whole, and one byte per read so that every CRLF straddles two reads.
    let readers: [Box<dyn Read + Send>; 2] = [Box::new(bytes), Box::new(OneByte(bytes))];
    for reader in readers {
        let mut source = TableSource::from_reader(
            reader,
            "mem".to_string(),
            &CsvDialect::default(),
            ByteCounter::default(),
        )
        .unwrap();
        let mut lines = Vec::new();
        while let Some(line) = source.advance().unwrap() {
            lines.push(line);
        }
        assert_eq!(lines, [2, 4, 6]);
        assert_eq!(source.blank_rows(), 1);
    }
    assert_eq!(crate::read::records::line_breaks(b"\r\n\r\n\n\r", false), 4);
    assert_eq!(crate::read::records::line_breaks(b"\n\r", true), 1);
}

#[test]
fn windows_1252_cells_that_look_like_byte_order_marks_stay_text() {
    let bytes: &'static [u8] = b"a,b\n\xef\xbb\xbfx,\xff\xfey\n";
    let dialect = CsvDialect {
        encoding: Encoding::Windows1252,
        ..CsvDialect::default()
    };
    let mut source = TableSource::from_reader(
        Box::new(bytes),
        "mem".to_string(),
        &dialect,
        ByteCounter::default(),
    )
    .unwrap();
    source.advance().unwrap();
    let cells: Vec<&str> = source.record().iter().collect();
    assert_eq!(cells, ["\u{ef}\u{bb}\u{bf}x", "\u{ff}\u{fe}y"]);
}

#[test]
fn a_header_of_many_columns_is_checked_in_linear_time() {
    let n = 200_000;
    let mut header: Vec<String> = (0..n).map(|i| format!("c{i}")).collect();
    header[n - 1] = "c7".into();
    let text = format!("{}\n", header.join(","));
    let err = TableSource::from_reader(
        Box::new(std::io::Cursor::new(text.into_bytes())),
        "wide".to_string(),
        &CsvDialect::default(),
        ByteCounter::default(),
    )
    .err()
    .unwrap()
    .to_string();
    assert!(err.contains("columns 8 and 200000"), "{err}");
}

#[test]
fn from_reader_reads_like_a_file() {
    let bytes: &'static [u8] = b"\xef\xbb\xbfa,b\r\n\r\n1,2\n3,4";
    let mut source = TableSource::from_reader(
        Box::new(bytes),
        "mem".to_string(),
        &CsvDialect::default(),
        ByteCounter::default(),
    )
    .unwrap();
    assert_eq!(source.headers(), ["a", "b"]);
    assert_eq!(source.advance().unwrap(), Some(3));
    assert_eq!(source.record().iter().collect::<Vec<_>>(), ["1", "2"]);
    assert_eq!(source.advance().unwrap(), Some(4));
    assert_eq!(source.advance().unwrap(), None);
    assert_eq!(source.blank_rows(), 1);
    assert_eq!(source.read_so_far().0, bytes.len() as u64);

    let empty: &'static [u8] = b"";
    let err = TableSource::from_reader(
        Box::new(empty),
        "mem".to_string(),
        &CsvDialect::default(),
        ByteCounter::default(),
    )
    .err()
    .unwrap();
    assert_eq!(err.to_string(), "mem: empty input (no header line)");
}
