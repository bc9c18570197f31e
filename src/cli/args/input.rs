//! The input and how to read and check it: the flag groups push, validate and schema infer share.

use std::path::PathBuf;

use clap::Args;

use crate::read::{Encoding, InputFormat};

/// The input and how to read and check it. Shared by push and validate.
#[derive(Debug, Args)]
pub struct SourceArgs {
    /// CSV or JSON file (a JSON array of objects, or JSON lines; also gzip or zstd compressed),
    /// spreadsheet (.xlsx, .xls, .ods), - for stdin, or the same at an http(s):// URL or
    /// s3://BUCKET/KEY (downloaded as it is read)
    #[arg(value_name = "FILE|-|URL")]
    pub input: String,

    /// Frictionless Table Schema (JSON) to validate rows against and cast values with
    #[arg(long, value_name = "FILE")]
    pub schema: Option<PathBuf>,

    /// Field delimiter (one ASCII character; \t for tab) [default: sniffed: an Excel sep= line,
    /// .tsv/.tab/.psv, else , ; tab or | from the first 64 KiB]
    #[arg(long, value_name = "C")]
    pub delimiter: Option<String>,

    /// Text encoding of the input: any WHATWG label (utf-8, windows-1252, iso-8859-2, utf-16le,
    /// shift_jis, ...; latin1 is ISO-8859-1). UTF-16 with a byte order mark is recognised (and
    /// checked, as UTF-8 is; --encoding utf-16 reads malformed UTF-16 as U+FFFD)
    #[arg(long, value_parser = Encoding::from_label, default_value = "utf-8", value_name = "LABEL")]
    pub encoding: Encoding,

    /// Largest CSV record (in bytes from its first to its line break), spreadsheet row or .xlsx
    /// cell accepted (e.g. 64MiB, 500KB; at most 1GiB)
    #[arg(long, default_value = "64MiB", value_name = "SIZE")]
    pub max_record_size: String,

    #[command(flatten)]
    pub table: TableArgs,

    #[command(flatten)]
    pub remote: RemoteArgs,
}

/// How a remote input (a URL) is reached. Shared by push, validate, schema infer and resume.
#[derive(Debug, Args)]
pub struct RemoteArgs {
    /// A header sent with the download of an http(s):// input, 'Name: value' (an auth header,
    /// e.g. 'Authorization: Bearer TOKEN'); repeatable; never stored or printed
    // A credential: `config show` masks it (`hide_env_values` marks one).
    #[arg(
        long = "input-header",
        value_name = "'NAME: VALUE'",
        hide_env_values = true
    )]
    pub input_headers: Vec<String>,
}

/// The input's header, lines and columns. Shared by push and validate.
#[derive(Debug, Args)]
pub struct TableArgs {
    /// The first row is data, not a header: columns named by --columns, else column1..N
    #[arg(long)]
    pub no_header: bool,

    /// Names of the columns of CSV without a header (with --no-header), or of JSON input (its
    /// objects' keys; default: the first object's), comma-separated
    #[arg(long, value_name = "NAME[,NAME]", value_delimiter = ',')]
    pub columns: Vec<String>,

    /// How to read the input [default: by its name (.json, .jsonl, .ndjson; .xlsx, .xls, .ods),
    /// else JSON when it starts with { or [{, else CSV]
    #[arg(long, value_name = "FORMAT")]
    pub input_format: Option<InputFormat>,

    /// The SQL whose result is the input, when the input is a database: postgres://USER@HOST/DB
    /// (libpq's environment and ~/.pgpass supply what the URL leaves out) or
    /// sqlite:///PATH/TO.db (read-only)
    #[arg(long, value_name = "SQL", conflicts_with = "query_file")]
    pub query: Option<String>,

    /// --query's SQL read from a file
    #[arg(long, value_name = "FILE")]
    pub query_file: Option<PathBuf>,

    /// JSON input: the keys of nested objects become dotted columns (address.city), the
    /// inverse of --nest [default: a nested object or array is one cell holding its JSON]
    #[arg(long)]
    pub flatten: bool,

    /// Lines to skip before the header (a title, notes); an Excel sep= line counts as one
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub skip_lines: u64,

    /// Skip rows whose first cell starts with this character (e.g. '#')
    #[arg(long, value_name = "C")]
    pub comment: Option<String>,

    /// Inside quoted fields, this character makes the next one literal: \" is a quote, as MySQL
    /// and some exporters write (e.g. '\') [default: none; a quote is doubled, as RFC 4180 has it]
    #[arg(long, value_name = "C")]
    pub escape: Option<String>,

    /// Keep only these columns, in this order (names as in the file), comma-separated
    #[arg(long, value_name = "COL[,COL]", value_delimiter = ',')]
    pub select: Vec<String>,

    /// Rename a column (OLD as in the file), before validation and payload; repeatable
    #[arg(long, value_name = "OLD=NEW")]
    pub rename: Vec<String>,

    /// The sheet of a spreadsheet (.xlsx, .xlsm, .xls, .ods) to read: a name or a 1-based
    /// position [default: the first]
    #[arg(long, value_name = "NAME|INDEX")]
    pub sheet: Option<String>,
}
