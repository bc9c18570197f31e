//! The subcommands of `pulse schema` and their flags.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::input::{RemoteArgs, TableArgs};
use crate::read::Encoding;

#[derive(Debug, Subcommand)]
pub enum SchemaCommand {
    /// Infer a Table Schema from the data with frictionless' rules, ready for --schema
    #[command(after_help = SCHEMA_INFER_EXAMPLES)]
    Infer(InferArgs),
}

const SCHEMA_INFER_EXAMPLES: &str = "\
Examples:
  pulse schema infer customers.csv --output customers.schema.json
  pulse schema infer export.xlsx --sheet Orders --sample 1000";

#[derive(Debug, Args)]
pub struct InferArgs {
    /// CSV file or spreadsheet, - for stdin, or a CSV at an http(s):// URL or s3://BUCKET/KEY
    #[arg(value_name = "FILE|-|URL")]
    pub input: String,

    /// Rows to infer from, the header row included (as frictionless counts its sample)
    #[arg(long, value_name = "N", default_value_t = crate::schema::DEFAULT_SAMPLE)]
    pub sample: usize,

    /// Cells that mean "no value" (the schema's missingValues), e.g. ",NA,n/a" for the empty
    /// cell, NA and n/a; they count for no type, and the schema keeps them [default: ""]
    #[arg(long, value_name = "V[,V]", value_delimiter = ',', num_args = 1)]
    pub missing_values: Vec<String>,

    /// Write the schema to FILE instead of stdout
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Field delimiter (one ASCII character; \t for tab) [default: sniffed]
    #[arg(long, value_name = "C")]
    pub delimiter: Option<String>,

    /// Text encoding of the input: any WHATWG label [default: utf-8]
    #[arg(long, value_parser = Encoding::from_label, default_value = "utf-8", value_name = "LABEL")]
    pub encoding: Encoding,

    #[command(flatten)]
    pub table: TableArgs,

    #[command(flatten)]
    pub remote: RemoteArgs,
}
