//! The compound file around an `.xls` workbook, walked as calamine's `cfb.rs` walks it, each
//! chain checked before calamine follows it. Memory: the FAT and the directory (a 250th of the
//! file and less, as calamine holds them), a bit a sector for the chain being walked, and at
//! the end the workbook stream, which calamine holds too.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};

use super::bytes::{u16_at, u32_at};

const SIGNATURE: [u8; 8] = *b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";
/// Sector numbers from here up are markers, not sectors.
const RESERVED_SECTORS: u32 = 0xFFFF_FFFA;
const DIFSECT: u32 = 0xFFFF_FFFC;
const ENDOFCHAIN: u32 = 0xFFFF_FFFE;
const MINI_SECTOR: u64 = 64;
/// Streams shorter than this live in the mini stream.
const MINI_CUTOFF: u64 = 4096;

/// An opened compound file: its FAT, read and checked.
pub struct Compound {
    file: File,
    len: u64,
    /// 512 or 4096; the header takes the first sector's room.
    sector: u64,
    /// Sectors that start inside the file.
    sectors: u64,
    fat: Vec<u32>,
    dir_start: u32,
    mini_fat_start: u32,
    mini_fat_sectors: u64,
}

/// A directory entry: a stream's name, first sector and declared length.
struct Entry {
    name: String,
    start: u32,
    len: u64,
}

/// Reads the header, the DIFAT and the FAT of `file`, `len` bytes long.
pub fn open(mut file: File, len: u64) -> Result<Compound, String> {
    let mut header = [0u8; 512];
    if len < 512 || file.read_exact(&mut header).is_err() {
        return Err("not an .xls file: too short for a compound file's header".into());
    }
    if header[..8] != SIGNATURE {
        return Err("not an .xls file: no compound file signature".into());
    }
    let sector = match u16_at(&header, 30) {
        9 => 512,
        12 => 4096,
        shift => return Err(format!("its sector shift is {shift}, neither 9 nor 12")),
    };
    if u16_at(&header, 32) != 6 {
        return Err(format!(
            "its mini sector shift is {}, not 6",
            u16_at(&header, 32)
        ));
    }
    let mut compound = Compound {
        file,
        len,
        sector,
        sectors: len.saturating_sub(sector).div_ceil(sector),
        fat: Vec::new(),
        dir_start: u32_at(&header, 48),
        mini_fat_start: u32_at(&header, 60),
        mini_fat_sectors: u64::from(u32_at(&header, 64)),
    };
    let mut difat: Vec<u32> = header[76..].chunks(4).map(|c| u32_at(c, 0)).collect();
    compound.difat(u32_at(&header, 68), &mut difat)?;
    compound.fat(&difat)?;
    Ok(compound)
}

impl Compound {
    /// Follows the DIFAT's own chain (calamine bounds its length, not its loops).
    fn difat(&mut self, start: u32, difat: &mut Vec<u32>) -> Result<(), String> {
        let mut seen = Seen::new(self.sectors);
        let mut id = start;
        while id < RESERVED_SECTORS {
            self.valid(id, "the DIFAT")?;
            seen.once(id, "the DIFAT")?;
            let bytes = self.sector_bytes(id)?;
            let mut ids: Vec<u32> = bytes.chunks_exact(4).map(|c| u32_at(c, 0)).collect();
            id = ids.pop().unwrap_or(ENDOFCHAIN);
            difat.extend(ids);
        }
        Ok(())
    }

    /// Reads the FAT from the sectors the DIFAT lists: each in the file, none twice (so the
    /// FAT is no larger than the file).
    fn fat(&mut self, difat: &[u32]) -> Result<(), String> {
        let mut seen = Seen::new(self.sectors);
        for &id in difat.iter().filter(|&&id| id < DIFSECT) {
            self.valid(id, "the FAT")?;
            seen.once(id, "the FAT")?;
            let bytes = self.sector_bytes(id)?;
            self.fat.extend(bytes.chunks_exact(4).map(|c| u32_at(c, 0)));
        }
        Ok(())
    }

    /// The workbook stream (`Workbook`, or `Book` before Excel 97) as calamine reads it, every
    /// chain on the way checked: the directory's, the mini stream's and the mini FAT's, and
    /// the stream's own.
    pub fn workbook(&mut self) -> Result<Vec<u8>, String> {
        let directory = self.chain(self.dir_start, u64::MAX, "the directory")?;
        let directory = self.read_chain(&directory, u64::MAX)?;
        let entries: Vec<Entry> = directory
            .chunks(128)
            .filter(|c| c.len() == 128)
            .map(|c| self.entry(c))
            .collect();
        let Some(root) = entries.first() else {
            return Err("its directory is empty".into());
        };
        let (mini_fat, mini_stream) = if self.mini_fat_sectors > 0 {
            let stream = self.chain(root.start, root.len, "the mini stream")?;
            let fat_len = self.mini_fat_sectors.saturating_mul(self.sector);
            let fat = self.chain(self.mini_fat_start, fat_len, "the mini FAT")?;
            (Some(fat), Some(stream))
        } else {
            (None, None)
        };
        let found = ["Workbook", "Book"].iter().find_map(|name| {
            entries
                .iter()
                .find(|e| e.name.eq_ignore_ascii_case(name))
                .map(|e| (e.start, e.len, e.name.clone()))
        });
        let Some((start, len, name)) = found else {
            return Err("it holds no workbook stream (neither Workbook nor Book)".into());
        };
        let what = format!("the {name} stream");
        if len >= MINI_CUTOFF {
            let ids = self.chain(start, len, &what)?;
            return self.read_chain(&ids, len);
        }
        let (Some(mini_fat), Some(mini_stream)) = (mini_fat, mini_stream) else {
            return Err(format!(
                "{what} lies in a mini stream the file does not have"
            ));
        };
        let mini_fat: Vec<u32> = self
            .read_chain(&mini_fat, u64::MAX)?
            .chunks_exact(4)
            .map(|c| u32_at(c, 0))
            .collect();
        let mini_stream = self.read_chain(&mini_stream, root.len)?;
        mini_chain(&mini_fat, &mini_stream, start, len, &what)
    }

    /// The sectors of the chain from `start`, as calamine follows it until `len` bytes or the
    /// chain's end: each in the file, none twice, each but the last with a FAT entry. A chain
    /// that ends before `len` bytes (a stream's declared length) is refused too.
    fn chain(&self, start: u32, len: u64, what: &str) -> Result<Vec<u32>, String> {
        let mut seen = Seen::new(self.sectors);
        let mut ids = Vec::new();
        let mut bytes = 0u64;
        let mut id = start;
        while id != ENDOFCHAIN {
            self.valid(id, what)?;
            seen.once(id, what)?;
            ids.push(id);
            bytes += self.sector.min(self.len - self.offset(id));
            if bytes >= len {
                return Ok(ids);
            }
            id = *self.fat.get(id as usize).ok_or_else(|| {
                format!("{what} goes through sector {id}, which the FAT does not cover")
            })?;
        }
        if len != u64::MAX && bytes < len {
            return Err(format!(
                "{what} declares {len} bytes but its sectors hold {bytes}"
            ));
        }
        Ok(ids)
    }

    fn offset(&self, id: u32) -> u64 {
        (u64::from(id) + 1) * self.sector
    }

    fn valid(&self, id: u32, what: &str) -> Result<(), String> {
        if u64::from(id) < self.sectors {
            Ok(())
        } else {
            Err(format!(
                "{what} names sector {id}, past the end of the file ({} sectors)",
                self.sectors
            ))
        }
    }

    /// The bytes of sector `id` (fewer for a last sector cut short).
    fn sector_bytes(&mut self, id: u32) -> Result<Vec<u8>, String> {
        let offset = self.offset(id);
        let mut bytes = vec![0u8; self.sector.min(self.len - offset) as usize];
        self.file
            .seek(SeekFrom::Start(offset))
            .and_then(|_| self.file.read_exact(&mut bytes))
            .map_err(|err| format!("cannot read sector {id}: {err}"))?;
        Ok(bytes)
    }

    /// The chain's sectors one after another, at most `len` bytes.
    fn read_chain(&mut self, ids: &[u32], len: u64) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        for &id in ids {
            let bytes = self.sector_bytes(id)?;
            let room = len.saturating_sub(out.len() as u64);
            out.extend_from_slice(&bytes[..bytes.len().min(room as usize)]);
        }
        Ok(out)
    }

    fn entry(&self, raw: &[u8]) -> Entry {
        let units: Vec<u16> = raw[..64].chunks(2).map(|c| u16_at(c, 0)).collect();
        let mut name = String::from_utf16_lossy(&units);
        if let Some(end) = name.find('\0') {
            name.truncate(end);
        }
        let len = if self.sector == 512 {
            u64::from(u32_at(raw, 120))
        } else {
            u64::from(u32_at(raw, 120)) | u64::from(u32_at(raw, 124)) << 32
        };
        Entry {
            name,
            start: u32_at(raw, 116),
            len,
        }
    }
}

/// A stream in the mini stream, checked and read as calamine reads it.
fn mini_chain(
    fat: &[u32],
    stream: &[u8],
    start: u32,
    len: u64,
    what: &str,
) -> Result<Vec<u8>, String> {
    let sectors = stream.len() as u64 / MINI_SECTOR;
    let mut seen = Seen::new(sectors);
    let mut out = Vec::new();
    let mut id = start;
    while id != ENDOFCHAIN {
        if u64::from(id) >= sectors {
            return Err(format!(
                "{what} names mini sector {id}, past the end of the mini stream ({sectors})"
            ));
        }
        seen.once(id, what)?;
        let at = u64::from(id) * MINI_SECTOR;
        let room = (len - out.len() as u64).min(MINI_SECTOR);
        out.extend_from_slice(&stream[at as usize..(at + room) as usize]);
        if out.len() as u64 >= len {
            return Ok(out);
        }
        id = *fat.get(id as usize).ok_or_else(|| {
            format!("{what} goes through mini sector {id}, which the mini FAT does not cover")
        })?;
    }
    Err(format!(
        "{what} declares {len} bytes but its mini sectors hold {}",
        out.len()
    ))
}

/// The sectors a chain went through, a bit each: a chain going back is a loop.
struct Seen(Vec<u64>);

impl Seen {
    fn new(sectors: u64) -> Seen {
        Seen(vec![0; sectors.div_ceil(64) as usize])
    }

    /// `id` is known to be below the count given to `new`.
    fn once(&mut self, id: u32, what: &str) -> Result<(), String> {
        let (word, bit) = (id as usize / 64, 1u64 << (id % 64));
        if self.0[word] & bit != 0 {
            return Err(format!(
                "{what} goes back to sector {id}: its chain loops, which would make calamine \
                 read without end"
            ));
        }
        self.0[word] |= bit;
        Ok(())
    }
}
