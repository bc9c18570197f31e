//! An `.xlsx` file as calamine reads it, each part checked before calamine parses it.
//!
//! calamine opens a part of the workbook (a zip entry) by seeking to where its data starts;
//! `Guarded` is the file it is given, and on that seek, before any byte of the part reaches
//! calamine, the part is read here from a second handle on the file and scanned
//! (`xlsx_scan`). A refused part fails the seek; the refusal is kept for `WorkbookGuard` to
//! report instead of calamine's I/O error. So every part calamine parses is checked, found
//! as calamine finds it (by its own relationships), without pulse finding parts itself.
//!
//! The parts calamine opens with the workbook (shared strings, styles, relationships, the
//! workbook's names) are held whole by calamine; each is also refused when it inflates to more
//! than `MAX_INFLATION` times its compressed size (past `INFLATION_FLOOR`), as Apache POI
//! refuses zip bombs: a small file cannot grow into a large table in memory. A sheet, which
//! calamine streams, may inflate as it likes.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::Path;
use std::rc::Rc;

use anyhow::{anyhow, Context, Result};

use crate::read::xlsx_scan::{self, Limits, ScanError};

/// A part held whole may inflate this many times over its compressed size...
const MAX_INFLATION: u64 = 100;
/// ...once it is larger than this.
const INFLATION_FLOOR: u64 = 1024 * 1024;

/// A token outside cells may be this long even under a smaller `--max-record-size`.
const TOKEN_FLOOR: u64 = 1024 * 1024;

/// What calamine is reading: the workbook's own parts as it opens, or a sheet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Opening,
    Sheet,
}

struct State {
    archive: zip::ZipArchive<BufReader<File>>,
    /// The entries whose data starts at an offset.
    starts: HashMap<u64, Vec<usize>>,
    checked: Vec<bool>,
    stage: Stage,
    limits: Limits,
    refusal: Option<String>,
}

/// Reports what the checks refused; tells them what calamine reads next.
pub struct WorkbookGuard(Rc<RefCell<State>>);

/// The file handed to calamine.
pub struct Guarded {
    file: BufReader<File>,
    state: Rc<RefCell<State>>,
}

/// Opens the workbook at `path` twice: a guard, and the file calamine is to read through it.
pub fn open(path: &Path, max_record_bytes: u64) -> Result<(WorkbookGuard, Guarded)> {
    let mut archive =
        zip::ZipArchive::new(BufReader::new(File::open(path)?)).context("not a zip file")?;
    let mut starts: HashMap<u64, Vec<usize>> = HashMap::new();
    for index in 0..archive.len() {
        // Where calamine's zip reader (the same crate) will seek to read the entry.
        let entry = archive.by_index_raw(index)?;
        if let Some(start) = entry.data_start() {
            starts.entry(start).or_default().push(index);
        }
    }
    let checked = vec![false; archive.len()];
    let state = Rc::new(RefCell::new(State {
        archive,
        starts,
        checked,
        stage: Stage::Opening,
        limits: Limits {
            cell: max_record_bytes,
            token: max_record_bytes.max(TOKEN_FLOOR),
        },
        refusal: None,
    }));
    let file = Guarded {
        file: BufReader::new(File::open(path)?),
        state: state.clone(),
    };
    Ok((WorkbookGuard(state), file))
}

impl WorkbookGuard {
    pub fn stage(&self, stage: Stage) {
        self.0.borrow_mut().stage = stage;
    }

    /// `err` from calamine, or what the checks refused if they refused something (calamine's
    /// error is then only the failed seek).
    pub fn explain(&self, err: impl Into<anyhow::Error>) -> anyhow::Error {
        match self.0.borrow().refusal.clone() {
            Some(refusal) => anyhow!(refusal),
            None => err.into(),
        }
    }

    /// Fails if the checks refused a part that calamine then did without (it reads the theme's
    /// colours only if it can).
    pub fn check(&self) -> Result<()> {
        match self.0.borrow().refusal.clone() {
            Some(refusal) => Err(anyhow!(refusal)),
            None => Ok(()),
        }
    }
}

impl State {
    /// Checks the entries whose data starts at `offset`, once each.
    fn check_at(&mut self, offset: u64) -> io::Result<()> {
        if let Some(refusal) = &self.refusal {
            return Err(io::Error::other(refusal.clone()));
        }
        let Some(indexes) = self.starts.get(&offset).cloned() else {
            return Ok(());
        };
        for index in indexes {
            if self.checked[index] {
                continue;
            }
            if let Err(refusal) = self.check_entry(index) {
                self.refusal = Some(refusal.clone());
                return Err(io::Error::other(refusal));
            }
            self.checked[index] = true;
        }
        Ok(())
    }

    fn check_entry(&mut self, index: usize) -> Result<(), String> {
        let (limits, stage) = (self.limits, self.stage);
        let entry = self
            .archive
            .by_index(index)
            .map_err(|err| format!("part {index}: cannot read: {err}"))?;
        let name = entry
            .name()
            .map_or_else(|_| format!("part {index}"), |name| name.into_owned());
        let compressed = entry.compressed_size();
        let most = match stage {
            Stage::Opening => compressed
                .saturating_mul(MAX_INFLATION)
                .max(INFLATION_FLOOR),
            Stage::Sheet => u64::MAX,
        };
        let part = BufReader::with_capacity(64 * 1024, entry.take(most.saturating_add(1)));
        match xlsx_scan::scan(part, limits) {
            Ok(scanned) if scanned.bytes > most => Err(format!(
                "{name}: inflates to more than {most} bytes from {compressed} (more than \
                 {MAX_INFLATION} times), as a zip bomb does"
            )),
            Ok(_) => Ok(()),
            Err(ScanError::Refused(why)) => Err(format!("{name}: {why}")),
            Err(ScanError::Io(err)) => Err(format!("{name}: cannot read: {err}")),
        }
    }
}

impl Read for Guarded {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.file.read(buf)
    }
}

impl Seek for Guarded {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        if let SeekFrom::Start(offset) = pos {
            self.state.borrow_mut().check_at(offset)?;
        }
        self.file.seek(pos)
    }
}
