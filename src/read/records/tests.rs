use super::*;

/// Each record's fields and start offset, and the final offset.
type Records = (Vec<(Vec<Vec<u8>>, u64)>, u64);

/// What csv::Reader makes of `input`, read in the same short reads.
fn by_csv_reader(input: &[u8], delimiter: u8) -> Records {
    with_open_quote_at_end(input, delimiter, csv_records(Trickle(input, 0), delimiter))
}

/// The end offset of a read that stopped at a quoted field left open at the end.
const UNCLOSED: u64 = u64::MAX;

/// What csv::Reader makes of `input`, except that an input ending inside a quoted field
/// loses its last record to an `UnclosedQuote` error (csv::Reader takes it as it is).
fn by_csv_reader_from(input: &[u8], delimiter: u8) -> Records {
    with_open_quote_at_end(input, delimiter, csv_records(input, delimiter))
}

fn with_open_quote_at_end(input: &[u8], delimiter: u8, (mut records, end): Records) -> Records {
    if ends_in_open_quote(input, delimiter) {
        records.pop();
        return (records, UNCLOSED);
    }
    (records, end)
}

/// Byte by byte, the quoting csv_core does by default: whether `input` ends in a quoted
/// field.
fn ends_in_open_quote(input: &[u8], delimiter: u8) -> bool {
    use QuoteState::*;
    let mut state = FieldStart;
    for &b in input {
        state = match state {
            Quoted if b == b'"' => QuoteInQuoted,
            Quoted => Quoted,
            QuoteInQuoted if b == b'"' => Quoted,
            FieldStart if b == b'"' => Quoted,
            _ if b == delimiter || b == b'\n' || b == b'\r' => FieldStart,
            _ => InField,
        };
    }
    state == Quoted
}

fn csv_records(input: impl Read, delimiter: u8) -> Records {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(input);
    let mut record = csv::ByteRecord::new();
    let mut records = Vec::new();
    while reader.read_byte_record(&mut record).unwrap() {
        let fields = record.iter().map(<[u8]>::to_vec).collect();
        records.push((fields, record.position().unwrap().byte()));
    }
    (records, reader.position().byte())
}

fn by_record_reader(input: &[u8], delimiter: u8, capacity: usize) -> Records {
    // Short reads, as from a pipe, on top of the small buffer.
    by_record_reader_from(Trickle(input, 0), delimiter, capacity)
}

fn by_record_reader_from(input: impl Read, delimiter: u8, capacity: usize) -> Records {
    let mut reader = RecordReader::new(input, delimiter, capacity);
    let mut record = RawRecord::default();
    let mut records = Vec::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(err) if unclosed(&err) => return (records, UNCLOSED),
            Err(err) => panic!("{err}"),
        }
        let fields = record.iter().map(<[u8]>::to_vec).collect();
        records.push((fields, record.start()));
    }
    assert!(
        !reader.read_record(&mut record).unwrap(),
        "stays at the end"
    );
    (records, reader.offset())
}

/// Checks the line each record of `input` starts on against a count of the line breaks
/// before its first byte (past the line breaks where its read started), and the breaks
/// read in all against those of the whole input.
fn check_lines(input: &[u8], delimiter: u8, capacity: usize) {
    let mut reader = RecordReader::new(Trickle(input, 0), delimiter, capacity);
    let mut record = RawRecord::default();
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(err) if unclosed(&err) => return,
            Err(err) => panic!("{err}"),
        }
        let mut first = record.start() as usize;
        while first < input.len() && matches!(input[first], b'\n' | b'\r') {
            first += 1;
        }
        assert_eq!(
            reader.record_line(),
            1 + line_breaks(&input[..first], false),
            "record at byte {first} of {:?}, {capacity}-byte buffer",
            String::from_utf8_lossy(input)
        );
    }
    assert_eq!(reader.line_breaks_read(), line_breaks(input, false));
}

fn unclosed(err: &io::Error) -> bool {
    err.get_ref().is_some_and(|e| e.is::<UnclosedQuote>())
}

/// Hands out at most 1..=7 bytes a read, varying.
struct Trickle<'a>(&'a [u8], usize);

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.1 += 1;
        let n = (self.1 % 7 + 1).min(buf.len()).min(self.0.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

#[test]
fn a_quoted_field_open_at_the_end_is_an_error_naming_the_line_it_opened_on() {
    let cases: [(&[u8], u64); 5] = [
        (b"id,name\n1,\"Ada\n", 2),
        (b"a\r\nb,\"x\r\ny\"\r\nc,\"open\nmore", 4),
        (b"a\rb\r\"q", 3),
        (b"\n\n\"\"\"", 3),
        (b"a,b\n1,\"x\"\"y,z\n2\n", 2),
    ];
    for (input, line) in cases {
        for capacity in [1, 3, 16, 4096] {
            let mut reader = RecordReader::new(Trickle(input, 0), b',', capacity);
            let mut record = RawRecord::default();
            let err = loop {
                match reader.read_record(&mut record) {
                    Ok(true) => continue,
                    Ok(false) => panic!("{:?}: no error", String::from_utf8_lossy(input)),
                    Err(err) => break err,
                }
            };
            let unclosed = err
                .get_ref()
                .and_then(|e| e.downcast_ref::<UnclosedQuote>());
            assert_eq!(unclosed.map(|u| u.line), Some(line), "{input:?}");
        }
    }
}

#[test]
fn reads_as_csv_reader_does() {
    let cases: &[&[u8]] = &[
        b"",
        b"\n",
        b"a",
        b"a,b\nc,d\n",
        b"a,b\r\nc,d\r\n",
        b"a,b\rc,d\r",
        b"\n\n\na,b\n\n\nc\n",
        b"\r\n\r\na\r\n\n\rb",
        b"a,\"b,c\"\nd,\"e\"\"f\"\n",
        b"\"multi\nline\",x\ny,z\n",
        b"ab\"c,d\"e\nf\n",
        b",,\n,\n",
        b"\xef\xbb\xbfid,name\n1,Zo\xc3\xab\n",
        b"a,b\n\"c\nd\"\r\ne,f\n",
        b"\"x\"y,z\n\"unterminated",
        b" , \n\t\n",
    ];
    for &input in cases {
        // Whole reads: the byte order mark is stripped by both.
        assert_eq!(
            by_record_reader_from(input, b',', 4096),
            by_csv_reader_from(input, b','),
            "{:?} in one read",
            String::from_utf8_lossy(input)
        );
        let expected = by_csv_reader(input, b',');
        for capacity in [1, 2, 3, 5, 8, 64, 4096] {
            check_lines(input, b',', capacity);
            assert_eq!(
                by_record_reader(input, b',', capacity),
                expected,
                "{:?} with a {capacity}-byte buffer",
                String::from_utf8_lossy(input)
            );
        }
    }
}

#[test]
fn a_huge_record_does_not_keep_its_memory() {
    let mut input = b"\"".to_vec();
    input.extend(std::iter::repeat_n(b'x', 3 << 20));
    input.extend_from_slice(b"\"\nsmall\n");
    let mut reader = RecordReader::new(&input[..], b',', 64 * 1024);
    let mut record = RawRecord::default();
    assert!(reader.read_record(&mut record).unwrap());
    assert_eq!(record.get(0).unwrap().len(), 3 << 20);
    assert!(reader.fields.len() <= OUTPUT_BYTES);
    assert!(reader.read_record(&mut record).unwrap());
    assert_eq!(record.get(0).unwrap(), b"small");
}

/// A fixed-seed xorshift generator: the same inputs on every run.
fn xorshift(mut seed: u64) -> impl FnMut() -> u64 {
    move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    }
}

#[test]
fn reads_random_input_as_csv_reader_does() {
    // A fixed-seed generator over the bytes that matter to CSV: thousands of inputs.
    let alphabet = b"ab,;\"\r\n \xc3\xa9";
    let mut next = xorshift(0x9e37_79b9_7f4a_7c15);
    for _ in 0..4000 {
        let len = (next() % 60) as usize;
        let input: Vec<u8> = (0..len)
            .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
            .collect();
        let delimiter = if next().is_multiple_of(4) { b';' } else { b',' };
        let expected = by_csv_reader(&input, delimiter);
        for capacity in [1, 4, 16, 1024] {
            check_lines(&input, delimiter, capacity);
            assert_eq!(
                by_record_reader(&input, delimiter, capacity),
                expected,
                "{:?}, delimiter {:?}, {capacity}-byte buffer",
                String::from_utf8_lossy(&input),
                delimiter as char
            );
        }
    }
}

#[test]
fn reads_random_long_lines_as_csv_reader_does() {
    // Lines longer than the shortcut's 16-byte steps, the bytes that matter anywhere in
    // them (at a step's edge too), read whole and in short reads.
    let mut next = xorshift(0x2545_f491_4f6c_dd1d);
    for _ in 0..1500 {
        let len = (next() % 400) as usize;
        let input: Vec<u8> = (0..len)
            .map(|_| match next() % 100 {
                0 => b'\n',
                1 => b'"',
                2 => b'\r',
                3..=12 => b',',
                13..=15 => b';',
                16 => 0xc3,
                17 => 0xa9,
                n => b'a' + (n % 26) as u8,
            })
            .collect();
        let delimiter = if next().is_multiple_of(4) { b';' } else { b',' };
        let expected = by_csv_reader_from(&input[..], delimiter);
        for capacity in [17, 64, 4096] {
            assert_eq!(
                by_record_reader_from(&input[..], delimiter, capacity),
                expected,
                "{:?}, delimiter {:?}, {capacity}-byte buffer",
                String::from_utf8_lossy(&input),
                delimiter as char
            );
        }
        assert_eq!(
            by_record_reader(&input, delimiter, 4096),
            by_csv_reader(&input, delimiter)
        );
    }
}

#[test]
fn a_plain_line_is_split_at_its_delimiters_wherever_they_fall() {
    for len in 0..70 {
        for cut in 0..len {
            let mut line = vec![b'x'; len];
            line[cut] = b',';
            line.push(b'\n');
            let mut cuts = Vec::new();
            assert_eq!(plain_line(&line, b',', b'"', &mut cuts), Some(len));
            assert_eq!(cuts, [cut]);
            for stop in [b'"', b'\r'] {
                line[cut] = stop;
                assert_eq!(
                    plain_line(&line, b',', b'"', &mut cuts),
                    None,
                    "{len} {cut}"
                );
            }
        }
        let unfinished = vec![b'x'; len];
        assert_eq!(plain_line(&unfinished, b',', b'"', &mut Vec::new()), None);
    }
}

#[test]
fn an_escape_inside_quotes_reads_as_the_csv_crate_reads_it() {
    let input: &[u8] =
        b"a,\"x\\\"y\",z\n\"line\\\"\nnext\",q\nplain\\,r\n\"C:\\\\\"\n\"\\\\\"\"\"\n\"end\\\"";
    let mut expected = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .escape(Some(b'\\'))
        .from_reader(input)
        .byte_records()
        .map(|r| r.unwrap().iter().map(<[u8]>::to_vec).collect::<Vec<_>>())
        .collect::<Vec<_>>();
    // The last field's quote is escaped: open at the end, which the csv crate lets pass.
    expected.pop();
    assert_eq!(expected[0][1], b"x\"y");
    assert_eq!(expected[2], [b"plain\\".to_vec(), b"r".to_vec()]);
    for capacity in [1, 3, 7, 64 * 1024] {
        let mut reader =
            RecordReader::new(Trickle(input, 0), b',', capacity).with_escape(Some(b'\\'));
        let mut record = RawRecord::default();
        let (mut records, mut lines) = (Vec::new(), Vec::new());
        let err = loop {
            match reader.read_record(&mut record) {
                Ok(true) => {
                    records.push(record.iter().map(<[u8]>::to_vec).collect::<Vec<_>>());
                    lines.push(reader.record_line());
                }
                Ok(false) => panic!("the open quote at the end is an error"),
                Err(err) => break err,
            }
        };
        assert_eq!(records, expected, "capacity {capacity}");
        assert_eq!(lines, [1, 2, 4, 5, 6], "capacity {capacity}");
        let open = err.get_ref().unwrap().downcast_ref::<UnclosedQuote>();
        assert_eq!(open.map(|o| o.line), Some(7), "capacity {capacity}");
    }
}

/// Reads `input` with records limited to `limit` bytes: the records' first cells, or the line
/// of the record refused.
fn read_limited(input: &[u8], limit: u64, capacity: usize) -> Result<Vec<Vec<u8>>, u64> {
    let mut reader =
        RecordReader::new(Trickle(input, 0), b',', capacity).with_max_record_bytes(limit);
    let mut record = RawRecord::default();
    let mut firsts = Vec::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => firsts.push(record.get(0).unwrap().to_vec()),
            Ok(false) => return Ok(firsts),
            Err(err) => {
                let large = err
                    .get_ref()
                    .and_then(|e| e.downcast_ref::<RecordTooLarge>());
                let large = large.unwrap_or_else(|| panic!("{err}"));
                assert_eq!(large.limit, limit);
                return Err(large.line);
            }
        }
    }
}

#[test]
fn the_record_limit_is_exact_and_names_the_line() {
    // (input, the line of its largest record, that record's bytes without its line break)
    let cases: [(&[u8], u64, u64); 8] = [
        (b"a,b\nccc,dd\ne\n", 2, 6),
        (b"a,b\nccc,dd", 2, 6),
        (b"h\r\n\r\n\"x\r\ny\",z\r\nq\r\n", 3, 8),
        (b"h\rabc\rd", 2, 3),
        (b"h\n\n\n\"a\"\"b\"\n", 4, 6),
        (b"\"multi\nline\",x\ny\n", 1, 14),
        (b"1\n22\n\"\"\n", 2, 2),
        (b"ab\n\ncd,e\n\n", 3, 4),
    ];
    for (input, line, size) in cases {
        let shown = String::from_utf8_lossy(input);
        for capacity in [1, 2, 3, 7, 16, 4096] {
            let whole = read_limited(input, u64::MAX, capacity);
            assert!(whole.is_ok());
            assert_eq!(
                read_limited(input, size, capacity),
                whole,
                "{shown:?} {capacity}"
            );
            assert_eq!(
                read_limited(input, size - 1, capacity),
                Err(line),
                "{shown:?}, one byte less, {capacity}-byte buffer"
            );
        }
    }
}

#[test]
fn a_record_over_the_limit_is_refused_before_it_is_held_whole() {
    // A quote left open swallows the rest of the file into one record.
    let mut input = b"id\n1\n\"open\n".to_vec();
    input.extend(std::iter::repeat_n(b'x', 3 << 20));
    input.extend_from_slice(b"\n2\n");
    let limit = 1 << 20;
    let mut reader = RecordReader::new(&input[..], b',', 64 * 1024).with_max_record_bytes(limit);
    let mut record = RawRecord::default();
    assert!(reader.read_record(&mut record).unwrap());
    assert!(reader.read_record(&mut record).unwrap());
    let err = reader.read_record(&mut record).unwrap_err();
    let large = err
        .get_ref()
        .and_then(|e| e.downcast_ref::<RecordTooLarge>())
        .unwrap();
    assert_eq!((large.line, large.open_quote), (3, Some(3)));
    assert!(reader.fields.len() as u64 <= limit + 64 * 1024);
    assert!(reader.offset() <= limit + 2 * 64 * 1024);
}

#[test]
fn a_large_record_takes_the_parsers_buffer_without_a_copy() {
    let mut input = b"\"".to_vec();
    input.extend(std::iter::repeat_n(b'y', 5 << 20));
    input.extend_from_slice(b"\",z\n");
    let mut reader = RecordReader::new(&input[..], b',', 64 * 1024);
    let mut record = RawRecord::default();
    assert!(reader.read_record(&mut record).unwrap());
    assert_eq!(record.len(), 2);
    assert_eq!(record.get(0).unwrap().len(), 5 << 20);
    assert_eq!(record.get(1).unwrap(), b"z");
    // Grown by an eighth at a time once large: little past the record.
    assert!(record.capacity() <= (5 << 20) * 9 / 8 + 64 * 1024);
    assert!(record.is_too_large_to_keep());
}
