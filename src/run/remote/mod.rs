//! Remote inputs: an HTTP(S) URL or an S3 object, downloaded as it is read (`pulse push URL`,
//! `validate`, `schema infer`, a restage), and asked about without downloading for the repeat
//! check (`head`: an unchanged `ETag` is unchanged content); and a database query's result,
//! streamed as CSV (`sql.rs`), which has no `ETag`. Files and stdin open as before.
//!
//! How to reach them (`--input-header`, delivery's TLS settings) is this process's, set once by
//! `cmd/` from the command's flags before it runs (`configure`), never kept with a run: a
//! resume takes them again from its own flags.

mod access;
mod chunks;
mod http;
mod s3;
mod sql;

use anyhow::{Context, Result};

use crate::read::{ByteCounter, CsvDialect, Input, RemoteObject, TableSource};
pub use access::Access;

static ACCESS: std::sync::OnceLock<Access> = std::sync::OnceLock::new();

/// How this process reaches remote inputs; the first call counts.
pub fn configure(access: Access) {
    let _ = ACCESS.set(access);
}

fn access() -> &'static Access {
    ACCESS.get_or_init(Access::default)
}

/// Opens the input: a file or stdin as `TableSource::open` does, a remote one downloaded as it
/// is read (with what its answer told of it).
pub fn open_source(
    input: &Input,
    dialect: &CsvDialect,
    counter: ByteCounter,
) -> Result<(TableSource, RemoteObject)> {
    let (reader, object) = match input {
        Input::Url(url) => http::get(url, access())?,
        Input::S3(url) => s3::get(url)?,
        Input::Database { url, query } => {
            let (reader, types) = sql::query(url, query)?;
            // Written by PostgreSQL's COPY or the csv crate: comma-separated CSV, whatever
            // the query's text looks like.
            let mut dialect = dialect.clone();
            dialect.delimiter = Some(b',');
            dialect.table.format = Some(crate::read::InputFormat::Csv);
            let mut source =
                TableSource::from_reader(Box::new(reader), input.label(), &dialect, counter)?;
            source.set_column_types(types);
            return Ok((source, RemoteObject::default()));
        }
        _ => {
            return Ok((
                TableSource::open(input, dialect, counter)?,
                RemoteObject::default(),
            ))
        }
    };
    let source = TableSource::from_reader(Box::new(reader), input.label(), dialect, counter)?;
    Ok((source, object))
}

/// What a remote input is now, without downloading it (a HEAD; S3's `head`).
pub fn head(input: &Input) -> Result<RemoteObject> {
    match input {
        Input::Url(url) => http::head(url, access()),
        Input::S3(url) => s3::head(url),
        _ => Ok(RemoteObject::default()),
    }
}

/// The hash of the first `len` bytes of a remote input, downloaded again (and no further); none
/// when it is shorter now.
pub fn prefix_hash(input: &Input, len: u64) -> Result<Option<String>> {
    let reader = match input {
        Input::Url(url) => http::get(url, access())?.0,
        Input::S3(url) => s3::get(url)?.0,
        Input::Database { url, query } => sql::query(url, query)?.0,
        _ => anyhow::bail!("{}: not a remote input", input.label()),
    };
    crate::read::prefix_hash_of(reader, len)
        .with_context(|| format!("{}: cannot read", input.label()))
}
