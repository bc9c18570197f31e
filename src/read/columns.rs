//! The table's columns as the user shapes them: the header row (or names given for a file
//! without one), Excel's empty trailing columns dropped, `--select` and `--rename`.

use std::collections::{HashMap, HashSet};

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

use crate::read::format::InputFormat;
use crate::read::text_record::TextRecord;

/// How the table is laid out and which of its columns are wanted (stored with a run, so that
/// resume reads the file the same way).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TableShape {
    /// The first row is data (`--no-header`), its columns named by `columns` or
    /// `column1..N`.
    pub no_header: bool,
    pub columns: Vec<String>,
    /// Lines before the header that are no part of the table (`--skip-lines`).
    pub skip_lines: u64,
    /// Rows whose first cell starts with this character are skipped (`--comment`).
    pub comment: Option<u8>,
    /// Inside a quoted field, this byte makes the next one literal (`--escape`, e.g. `\\`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub escape: Option<u8>,
    /// The columns wanted, in this order, by their names in the file (`--select`).
    pub select: Vec<String>,
    /// New names for columns, by their names in the file (`--rename old=new`).
    pub rename: Vec<(String, String)>,
    /// The sheet of a spreadsheet (`--sheet`: a name or a 1-based position; the first without).
    pub sheet: Option<String>,
    /// `--input-format`; None: by the input's name, else by its first bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<InputFormat>,
    /// JSON input: a nested object's keys become dotted columns (`--flatten`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub flatten: bool,
}

impl TableShape {
    pub fn is_default(&self) -> bool {
        *self == TableShape::default()
    }
}

/// Turns the file's records into the table's: which cells, in which order, and the check that
/// dropped blank-header columns hold nothing.
#[derive(Debug, Default)]
pub struct Columns {
    /// The file's cell behind each column of the table; None: every cell as it is.
    pick: Option<Vec<usize>>,
    /// Columns `from..to` of the file have a blank header and were dropped: they must be empty.
    blank: Option<(usize, usize)>,
    scratch: TextRecord,
}

/// The table's header, how to shape its records, and what the user should be told.
pub struct Planned {
    pub headers: Vec<String>,
    pub columns: Columns,
    pub notice: Option<String>,
}

/// Plans the table from the file's header names (`where_` names them in messages: the file
/// and line).
pub fn plan(names: Vec<String>, shape: &TableShape, where_: &str) -> Result<Planned> {
    let width = names.len();
    let kept = named_columns(&names, where_)?;
    let notice = (kept < width).then(|| blank_columns_notice(where_, kept, width));
    let blank = (kept < width).then_some((kept, width));
    let mut names = names;
    names.truncate(kept);
    let index = column_index(&names, where_)?;
    let pick = selected_columns(&shape.select, &names, &index)?;
    let headers = renamed_headers(&shape.rename, &names, &index, pick.as_deref())?;
    Ok(Planned {
        headers,
        columns: Columns {
            pick,
            blank,
            scratch: TextRecord::new(),
        },
        notice,
    })
}

/// How many columns the header names, Excel's blank trailing ones left out (Excel saves cells
/// that were once touched as empty columns with empty headers); a blank name before the last
/// one given is an error.
fn named_columns(names: &[String], where_: &str) -> Result<usize> {
    let kept = names
        .iter()
        .rposition(|name| !name.trim().is_empty())
        .map_or(0, |last| last + 1);
    if let Some(blank) = names[..kept].iter().position(|n| n.trim().is_empty()) {
        bail!("{where_}: column {} has a blank header name", blank + 1);
    }
    if kept == 0 {
        bail!("{where_}: column 1 has a blank header name");
    }
    Ok(kept)
}

/// What the user is told when columns `kept + 1..=width` are dropped for their blank header.
fn blank_columns_notice(where_: &str, kept: usize, width: usize) -> String {
    let dropped = width - kept;
    format!(
        "{where_}: {dropped} trailing column{} with a blank header dropped (column{} {}); a value under one is an error",
        if dropped == 1 { "" } else { "s" },
        if dropped == 1 { "" } else { "s" },
        if dropped == 1 { format!("{}", kept + 1) } else { format!("{}-{width}", kept + 1) },
    )
}

/// Header name -> its column: linear in the number of columns, however many. A name given
/// twice is an error.
fn column_index<'n>(names: &'n [String], where_: &str) -> Result<HashMap<&'n str, usize>> {
    let mut index = HashMap::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        if let Some(&first) = index.get(name.as_str()) {
            bail!(
                "{where_}: duplicate header name {name:?} in columns {} and {}",
                first + 1,
                i + 1
            );
        }
        index.insert(name.as_str(), i);
    }
    Ok(index)
}

/// The file's columns `--select` picks, in its order; None without `--select`.
fn selected_columns(
    select: &[String],
    names: &[String],
    index: &HashMap<&str, usize>,
) -> Result<Option<Vec<usize>>> {
    if select.is_empty() {
        return Ok(None);
    }
    let mut picked = Vec::with_capacity(select.len());
    for name in select {
        let &at = index
            .get(name.as_str())
            .ok_or_else(|| no_such_column(names, "--select", name))?;
        if picked.contains(&at) {
            return Err(crate::exit::usage(format!(
                "--select: column {name:?} is named twice"
            )));
        }
        picked.push(at);
    }
    Ok(Some(picked))
}

/// The table's header: the picked columns' names, with `--rename`'s new names; two columns
/// named alike are an error.
fn renamed_headers(
    rename: &[(String, String)],
    names: &[String],
    index: &HashMap<&str, usize>,
    pick: Option<&[usize]>,
) -> Result<Vec<String>> {
    let mut headers: Vec<String> = match pick {
        Some(picked) => picked.iter().map(|&i| names[i].clone()).collect(),
        None => names.to_vec(),
    };
    for (old, new) in rename {
        let &at = index
            .get(old.as_str())
            .ok_or_else(|| no_such_column(names, &format!("--rename {old}={new}"), old))?;
        let column = match pick {
            Some(picked) => picked.iter().position(|&i| i == at).ok_or_else(|| {
                crate::exit::usage(format!(
                    "--rename {old}={new}: column {old:?} is not among --select"
                ))
            })?,
            None => at,
        };
        headers[column] = new.clone();
    }
    let mut seen = HashSet::with_capacity(headers.len());
    for name in &headers {
        if !seen.insert(name.as_str()) {
            return Err(crate::exit::usage(format!(
                "--rename: two columns would be named {name:?}"
            )));
        }
    }
    Ok(headers)
}

/// The error for a `flag` naming a column the input lacks, listing the first it has.
fn no_such_column(names: &[String], flag: &str, name: &str) -> anyhow::Error {
    let mut shown: Vec<&str> = names.iter().take(20).map(String::as_str).collect();
    if names.len() > 20 {
        shown.push("...");
    }
    crate::exit::usage(format!(
        "{flag}: the input has no column {name:?} (its columns: {})",
        shown.join(", ")
    ))
}

impl Columns {
    /// The file's column (0-based) behind the table's column `column`.
    pub fn file_column(&self, column: usize) -> usize {
        match (&self.pick, self.blank) {
            (Some(picked), _) => picked.get(column).copied().unwrap_or(column),
            (None, Some((from, to))) if column >= from => column + (to - from),
            _ => column,
        }
    }

    /// Whether records are used as read.
    pub fn is_identity(&self) -> bool {
        self.pick.is_none() && self.blank.is_none()
    }

    /// Shapes `record` into the table's columns; `cell` names a cell of the record by its
    /// 0-based column in messages (the file, line and column).
    pub fn apply(&mut self, record: &mut TextRecord, cell: impl Fn(usize) -> String) -> Result<()> {
        if let Some((from, to)) = self.blank {
            for i in from..to.min(record.len()) {
                if !record[i].is_empty() {
                    bail!(
                        "{}: a value under a blank header name (name the column in the header, or leave it out with --select)",
                        cell(i)
                    );
                }
            }
        }
        let out = &mut self.scratch;
        out.clear();
        match (&self.pick, self.blank) {
            (Some(picked), _) => {
                // A row too short for a selected column misses it and every one after it.
                for &i in picked.iter().take_while(|&&i| i < record.len()) {
                    out.push_cell_of(record, i);
                }
            }
            (None, Some((from, to))) => {
                // Cells past the file's header width stay: they are extra cells.
                for i in 0..record.len() {
                    if i < from || i >= to {
                        out.push_cell_of(record, i);
                    }
                }
            }
            (None, None) => return Ok(()),
        }
        std::mem::swap(record, out);
        Ok(())
    }
}

/// Names for the columns of a file without a header: `--columns`, else `column1..N`.
pub fn generated_names(shape: &TableShape, width: usize) -> Vec<String> {
    if shape.columns.is_empty() {
        (1..=width).map(|i| format!("column{i}")).collect()
    } else {
        shape.columns.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn shaped(planned: &mut Planned, cells: &[&str]) -> Result<Vec<String>> {
        let mut record: TextRecord = cells.iter().copied().collect();
        planned
            .columns
            .apply(&mut record, |i| format!("f.csv: line 2, column {}", i + 1))?;
        Ok(record.iter().map(String::from).collect())
    }

    #[test]
    fn trailing_blank_columns_are_dropped_unless_they_hold_data() {
        let mut planned =
            plan(names(&["id", "name", "", " "]), &TableShape::default(), "f").unwrap();
        assert_eq!(planned.headers, ["id", "name"]);
        assert!(planned.notice.as_deref().unwrap().contains("columns 3-4"));
        assert_eq!(
            shaped(&mut planned, &["1", "a", "", ""]).unwrap(),
            ["1", "a"]
        );
        assert_eq!(shaped(&mut planned, &["1"]).unwrap(), ["1"]);
        assert_eq!(
            shaped(&mut planned, &["1", "a", "", "", "x"]).unwrap(),
            ["1", "a", "x"]
        );
        let err = shaped(&mut planned, &["1", "a", "", "oops"]).unwrap_err();
        assert!(err
            .to_string()
            .starts_with("f.csv: line 2, column 4: a value under a blank"));
        let err = plan(names(&["id", "", "x"]), &TableShape::default(), "f")
            .err()
            .unwrap();
        assert_eq!(err.to_string(), "f: column 2 has a blank header name");
    }

    #[test]
    fn select_and_rename_by_the_file_names() {
        let shape = TableShape {
            select: names(&["c", "a"]),
            rename: vec![("a".into(), "alpha".into())],
            ..TableShape::default()
        };
        let mut planned = plan(names(&["a", "b", "c"]), &shape, "f").unwrap();
        assert_eq!(planned.headers, ["c", "alpha"]);
        assert_eq!(
            shaped(&mut planned, &["1", "2", "3", "4"]).unwrap(),
            ["3", "1"]
        );
        assert_eq!(
            shaped(&mut planned, &["1", "2"]).unwrap(),
            Vec::<String>::new()
        );
        let bad = |shape: TableShape| {
            plan(names(&["a", "b"]), &shape, "f")
                .err()
                .unwrap()
                .to_string()
        };
        let select = |list: &[&str]| TableShape {
            select: names(list),
            ..TableShape::default()
        };
        assert!(bad(select(&["z"]))
            .contains("--select: the input has no column \"z\" (its columns: a, b)"));
        assert!(bad(select(&["a", "a"])).contains("named twice"));
        let rename = |old: &str, new: &str| TableShape {
            rename: vec![(old.into(), new.into())],
            ..TableShape::default()
        };
        assert!(bad(rename("z", "y")).contains("--rename z=y: the input has no column \"z\""));
        assert!(bad(rename("a", "b")).contains("two columns would be named \"b\""));
    }
}
