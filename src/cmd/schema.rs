//! `pulse schema infer`: a Table Schema inferred from the data.

use anyhow::Result;

use crate::cli::settings::infer_dialect;
use crate::cli::InferArgs;
use crate::read::source::Input;
use crate::run::infer::{infer, InferSettings};

pub fn infer_schema(args: &InferArgs) -> Result<()> {
    if args.sample < 2 {
        return Err(crate::exit::usage(
            "--sample must be at least 2 (the header row and one row of data)",
        ));
    }
    infer(InferSettings {
        input: Input::parse(&args.input),
        dialect: infer_dialect(args)?,
        sample: args.sample,
        output: args.output.clone(),
    })
}
