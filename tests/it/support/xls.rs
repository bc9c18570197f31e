//! `.xls` files written by the tests themselves: a compound file (512-byte sectors, one
//! `Workbook` stream, no mini stream) around BIFF8 records the test gives, so that a test can
//! hold what no spreadsheet program writes (cells far apart, loops in the sector chains).

/// A BIFF record: its type and data.
pub fn record(typ: u16, data: &[u8]) -> Vec<u8> {
    let mut out = typ.to_le_bytes().to_vec();
    out.extend_from_slice(&(data.len() as u16).to_le_bytes());
    out.extend_from_slice(data);
    out
}

/// A NUMBER cell (0-based row and column).
pub fn number(row: u16, col: u16, value: f64) -> Vec<u8> {
    let mut data = cell_head(row, col);
    data.extend_from_slice(&value.to_le_bytes());
    record(0x0203, &data)
}

/// A LABEL cell holding Latin-1 `text`.
pub fn label(row: u16, col: u16, text: &str) -> Vec<u8> {
    let mut data = cell_head(row, col);
    data.extend_from_slice(&(text.len() as u16).to_le_bytes());
    data.push(0);
    data.extend_from_slice(text.as_bytes());
    record(0x0204, &data)
}

/// A BIFF8 DIMENSIONS record: rows `first..end`, columns `first_col..end_col` (ends excluded).
pub fn dimensions(first: u32, end: u32, first_col: u16, end_col: u16) -> Vec<u8> {
    let mut data = first.to_le_bytes().to_vec();
    data.extend_from_slice(&end.to_le_bytes());
    data.extend_from_slice(&first_col.to_le_bytes());
    data.extend_from_slice(&end_col.to_le_bytes());
    data.extend_from_slice(&[0, 0]);
    record(0x0200, &data)
}

fn cell_head(row: u16, col: u16) -> Vec<u8> {
    let mut data = row.to_le_bytes().to_vec();
    data.extend_from_slice(&col.to_le_bytes());
    data.extend_from_slice(&0u16.to_le_bytes());
    data
}

fn bof(kind: u16) -> Vec<u8> {
    let mut data = 0x0600u16.to_le_bytes().to_vec();
    data.extend_from_slice(&kind.to_le_bytes());
    data.extend_from_slice(&[0; 12]);
    record(0x0809, &data)
}

const EOF: [u8; 4] = [0x0A, 0, 0, 0];

/// A BIFF8 workbook stream of one sheet, `Sheet1`, whose records (after its BOF) are `cells`.
pub fn workbook_stream(cells: &[Vec<u8>]) -> Vec<u8> {
    let name = b"Sheet1";
    let mut boundsheet = vec![0u8; 4];
    boundsheet.extend_from_slice(&[0, 0, name.len() as u8, 0]);
    boundsheet.extend_from_slice(name);
    let mut stream = bof(0x0005);
    let patch = stream.len() + 4;
    stream.extend(record(0x0085, &boundsheet));
    stream.extend_from_slice(&EOF);
    let at = stream.len() as u32;
    stream[patch..patch + 4].copy_from_slice(&at.to_le_bytes());
    stream.extend(bof(0x0010));
    for cell in cells {
        stream.extend_from_slice(cell);
    }
    stream.extend_from_slice(&EOF);
    // At least 4096 bytes: the stream lives in the FAT's sectors, not the mini stream.
    if stream.len() < 4096 {
        stream.resize(4096, 0);
    }
    stream
}

const FREE: u32 = 0xFFFF_FFFF;
const END: u32 = 0xFFFF_FFFE;

/// A compound file around `stream`: the header, the FAT's sectors, the directory's sector,
/// then the stream's sectors, chained in order.
pub fn compound(stream: &[u8]) -> Vec<u8> {
    let stream_sectors = stream.len().div_ceil(512);
    let mut fat_sectors = 1;
    while fat_sectors * 128 < fat_sectors + 1 + stream_sectors {
        fat_sectors += 1;
    }
    assert!(fat_sectors <= 109, "a test stream this large needs a DIFAT");
    let dir = fat_sectors as u32;
    let first = dir + 1;
    let mut fat = vec![FREE; fat_sectors * 128];
    fat[..fat_sectors].fill(0xFFFF_FFFD);
    fat[dir as usize] = END;
    for i in 0..stream_sectors {
        let id = first as usize + i;
        fat[id] = if i + 1 == stream_sectors {
            END
        } else {
            id as u32 + 1
        };
    }
    let mut out = header(fat_sectors, dir);
    for id in fat {
        out.extend_from_slice(&id.to_le_bytes());
    }
    out.extend(entry("Root Entry", 5, END, 0, 1));
    out.extend(entry("Workbook", 2, first, stream.len() as u32, FREE));
    out.extend(vec![0u8; 256]);
    out.extend_from_slice(stream);
    out.resize(512 * (1 + first as usize + stream_sectors), 0);
    out
}

fn header(fat_sectors: usize, dir: u32) -> Vec<u8> {
    let mut h = vec![0u8; 512];
    h[..8].copy_from_slice(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1");
    h[24..26].copy_from_slice(&0x3Eu16.to_le_bytes());
    h[26..28].copy_from_slice(&3u16.to_le_bytes());
    h[28..30].copy_from_slice(&0xFFFEu16.to_le_bytes());
    h[30..32].copy_from_slice(&9u16.to_le_bytes());
    h[32..34].copy_from_slice(&6u16.to_le_bytes());
    h[44..48].copy_from_slice(&(fat_sectors as u32).to_le_bytes());
    h[48..52].copy_from_slice(&dir.to_le_bytes());
    h[56..60].copy_from_slice(&4096u32.to_le_bytes());
    h[60..64].copy_from_slice(&END.to_le_bytes());
    h[68..72].copy_from_slice(&END.to_le_bytes());
    for (i, slot) in h[76..].chunks_mut(4).enumerate() {
        let id = if i < fat_sectors { i as u32 } else { FREE };
        slot.copy_from_slice(&id.to_le_bytes());
    }
    h
}

fn entry(name: &str, kind: u8, start: u32, len: u32, child: u32) -> Vec<u8> {
    let mut e = vec![0u8; 128];
    let units: Vec<u16> = name.encode_utf16().chain([0]).collect();
    for (i, unit) in units.iter().enumerate() {
        e[2 * i..2 * i + 2].copy_from_slice(&unit.to_le_bytes());
    }
    e[64..66].copy_from_slice(&(2 * units.len() as u16).to_le_bytes());
    e[66] = kind;
    e[67] = 1;
    e[68..72].copy_from_slice(&FREE.to_le_bytes());
    e[72..76].copy_from_slice(&FREE.to_le_bytes());
    e[76..80].copy_from_slice(&child.to_le_bytes());
    e[116..120].copy_from_slice(&start.to_le_bytes());
    e[120..124].copy_from_slice(&len.to_le_bytes());
    e
}

/// An `.xls` of one sheet holding `cells` (records such as `number` and `label` make).
pub fn xls(cells: &[Vec<u8>]) -> Vec<u8> {
    compound(&workbook_stream(cells))
}
