//! `pulse schema infer`: the first rows of the input sampled, a Table Schema inferred from them
//! (`schema::infer`), written as JSON to stdout or a file.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::plan::ReadPlan;
use crate::read::ByteCounter;
use crate::schema::Inference;

/// What `pulse schema infer` was asked.
pub struct InferSettings {
    pub read: ReadPlan,
    /// Rows sampled, the header row included (frictionless' `sample_size`).
    pub sample: usize,
    pub output: Option<PathBuf>,
    /// `--missing-values`: empty for frictionless' default `[""]`.
    pub missing_values: Vec<String>,
}

pub fn infer(asked: InferSettings) -> Result<()> {
    let mut source = super::remote::open_source(
        &asked.read.input,
        &asked.read.dialect,
        ByteCounter::default(),
    )?
    .0;
    for notice in source.notices() {
        crate::output::errln!("pulse: {notice}");
    }
    let mut inference = Inference::new(source.headers().to_vec(), asked.missing_values);
    // frictionless counts the header and blank rows in its sample.
    let mut rows = 1u64;
    let sample = asked.sample as u64;
    while rows + source.blank_rows() < sample {
        // Blank rows skipped on the way may fill the sample before this row.
        if source.advance()?.is_none() || rows + source.blank_rows() >= sample {
            break;
        }
        inference.add_row(source.record().iter());
        rows += 1;
    }
    let mut text = serde_json::to_string_pretty(&inference.schema())?;
    text.push('\n');
    match &asked.output {
        Some(path) => std::fs::write(path, text)
            .with_context(|| format!("--output {}: cannot write", path.display()))?,
        None => {
            let mut out = crate::output::stdout();
            out.write_all(text.as_bytes())?;
            out.flush()?;
        }
    }
    Ok(())
}
