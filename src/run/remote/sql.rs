//! A database query as the input (`pulse push postgres://.../db --query 'SELECT ...'`, or
//! `sqlite:///path/to.db`): its result streamed as CSV into the same reading path as a file's,
//! on a thread of its own, a few chunks ahead of the parser. PostgreSQL writes it itself
//! (`COPY (query) TO STDOUT (FORMAT csv, HEADER, NULL '\N')`); SQLite's rows are written so by
//! the csv crate. Each column's type from the query's result types the cells (numbers,
//! booleans and JSON stay so in the payload; `\N` is NULL), as `read::ColumnType` says.

use anyhow::{anyhow, Context, Result};

use super::chunks::{spawn_writer, ChunkReader, Started};
use crate::read::ColumnType;

/// Starts the query; returns once the database accepted it (its message is the error), with
/// the column types and the result read as it comes.
pub fn query(url: &str, sql: &str) -> Result<(ChunkReader, Vec<ColumnType>)> {
    let (url, sql) = (
        url.to_string(),
        sql.trim().trim_end_matches(';').to_string(),
    );
    let shown = crate::redact::shown_url(&url);
    if sql.is_empty() {
        return Err(crate::exit::usage(format!(
            "{shown}: a database input needs --query SQL or --query-file FILE"
        )));
    }
    if url.starts_with("sqlite:") {
        spawn_writer(move || sqlite(&url, sql))
    } else {
        spawn_writer(move || postgres(&url, sql))
    }
    .map_err(|err| err.context(format!("{shown}: the query failed")))
}

/// PostgreSQL: the statement prepared for its result's types, then `COPY` of it.
fn postgres(url: &str, sql: String) -> Result<Started<Vec<ColumnType>>> {
    let mut client = crate::store::postgres_client(url)?;
    let statement = client
        .prepare(&sql)
        .map_err(|err| anyhow!(crate::store::pg_message(&err)))?;
    let types = statement
        .columns()
        .iter()
        .map(|column| postgres_type(column.type_()))
        .collect();
    let copy = format!("COPY ({sql}) TO STDOUT (FORMAT csv, HEADER, NULL '\\N')");
    let work = Box::new(move |out: &mut super::chunks::ChunkWriter| -> Result<()> {
        let mut reader = client
            .copy_out(copy.as_str())
            .map_err(|err| anyhow!(crate::store::pg_message(&err)))?;
        std::io::copy(&mut reader, out).context("the result stopped")?;
        Ok(())
    });
    Ok((types, work))
}

fn postgres_type(kind: &postgres::types::Type) -> ColumnType {
    use postgres::types::Type;
    match *kind {
        Type::INT2
        | Type::INT4
        | Type::INT8
        | Type::OID
        | Type::FLOAT4
        | Type::FLOAT8
        | Type::NUMERIC => ColumnType::Number,
        Type::BOOL => ColumnType::Boolean,
        Type::JSON | Type::JSONB => ColumnType::Json,
        _ => ColumnType::Text,
    }
}

/// SQLite: the database opened read-only, the statement's declared column types, then its
/// rows written as CSV.
fn sqlite(url: &str, sql: String) -> Result<Started<Vec<ColumnType>>> {
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url)
        .to_string();
    let open = || {
        rusqlite::Connection::open_with_flags(
            &path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .with_context(|| format!("cannot open {path}"))
    };
    let connection = open()?;
    let types = {
        let statement = connection.prepare(&sql)?;
        statement
            .columns()
            .iter()
            .map(|column| sqlite_type(column.decl_type()))
            .collect()
    };
    let work = Box::new(move |out: &mut super::chunks::ChunkWriter| -> Result<()> {
        let mut statement = connection.prepare(&sql)?;
        let names: Vec<String> = statement
            .column_names()
            .iter()
            .map(|n| n.to_string())
            .collect();
        let width = names.len();
        let mut csv = csv::WriterBuilder::new().from_writer(out);
        csv.write_record(&names)?;
        let mut rows = statement.query([])?;
        let mut cells: Vec<String> = Vec::with_capacity(width);
        while let Some(row) = rows.next()? {
            cells.clear();
            for i in 0..width {
                cells.push(sqlite_text(row.get_ref(i)?));
            }
            csv.write_record(&cells)?;
        }
        csv.flush()?;
        Ok(())
    });
    Ok((types, work))
}

/// A declared type's affinity, by SQLite's rules (and BOOLEAN, which SQLite stores as 0/1).
fn sqlite_type(declared: Option<&str>) -> ColumnType {
    let Some(declared) = declared.map(str::to_ascii_uppercase) else {
        return ColumnType::Text;
    };
    if declared.contains("BOOL") {
        ColumnType::Boolean
    } else if declared.contains("INT")
        || ["REAL", "FLOA", "DOUB", "NUMERIC", "DECIMAL"]
            .iter()
            .any(|t| declared.contains(t))
    {
        ColumnType::Number
    } else if declared == "JSON" {
        ColumnType::Json
    } else {
        ColumnType::Text
    }
}

/// A value as the CSV holds it: NULL as `\N`, a blob as its hex.
fn sqlite_text(value: rusqlite::types::ValueRef) -> String {
    use rusqlite::types::ValueRef;
    match value {
        ValueRef::Null => crate::read::SQL_NULL.to_string(),
        ValueRef::Integer(n) => n.to_string(),
        ValueRef::Real(x) => x.to_string(),
        ValueRef::Text(text) => String::from_utf8_lossy(text).into_owned(),
        ValueRef::Blob(bytes) => bytes.iter().map(|b| format!("{b:02x}")).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_declared_types_give_column_types() {
        assert_eq!(sqlite_type(Some("INTEGER")), ColumnType::Number);
        assert_eq!(sqlite_type(Some("numeric(10,2)")), ColumnType::Number);
        assert_eq!(sqlite_type(Some("double precision")), ColumnType::Number);
        assert_eq!(sqlite_type(Some("BOOLEAN")), ColumnType::Boolean);
        assert_eq!(sqlite_type(Some("json")), ColumnType::Json);
        assert_eq!(sqlite_type(Some("VARCHAR(20)")), ColumnType::Text);
        assert_eq!(sqlite_type(None), ColumnType::Text);
    }
}
