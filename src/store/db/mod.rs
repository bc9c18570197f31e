//! One way for the store's queries to reach either database: SQL written once with `?N`
//! placeholders, parameters and columns of the types both take, and the few statements that
//! differ spelled per `SqlDialect`.
//!
//! SQLite runs through rusqlite exactly as before (its statements cached per connection);
//! PostgreSQL through `postgres.rs`, which also retries a lost connection.

mod pgpass;
pub mod postgres;
mod values;

use anyhow::{Context, Result};

pub use self::postgres::{client_for as postgres_client, pg_message, PgConn};
pub use values::{ColumnValue, Param};

/// Which SQL a statement that differs between the two must be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqlDialect {
    Sqlite,
    Postgres,
}

/// An open connection to the log.
pub enum Db {
    Sqlite(rusqlite::Connection),
    Postgres(PgConn),
}

/// One result row.
pub enum Row<'a> {
    Sqlite(&'a rusqlite::Row<'a>),
    Postgres(&'a ::postgres::Row),
}

impl Row<'_> {
    pub fn get<T: ColumnValue>(&self, column: usize) -> Result<T> {
        Ok(match self {
            Row::Sqlite(row) => row.get(column)?,
            Row::Postgres(row) => row.try_get(column)?,
        })
    }

    /// An integer column that holds a count or size: never negative.
    pub fn count(&self, column: usize) -> Result<u64> {
        Ok(self.get::<i64>(column)?.max(0) as u64)
    }

    /// A nullable count or size.
    pub fn opt_count(&self, column: usize) -> Result<Option<u64>> {
        Ok(self.get::<Option<i64>>(column)?.map(|v| v.max(0) as u64))
    }

    /// A blob column, borrowed from the row.
    pub fn blob(&self, column: usize) -> Result<&[u8]> {
        Ok(match self {
            Row::Sqlite(row) => row.get_ref(column)?.as_blob()?,
            Row::Postgres(row) => row.try_get(column)?,
        })
    }
}

impl Db {
    pub fn dialect(&self) -> SqlDialect {
        match self {
            Db::Sqlite(_) => SqlDialect::Sqlite,
            Db::Postgres(_) => SqlDialect::Postgres,
        }
    }

    /// The SQLite connection, for what only SQLite has (WAL upkeep, pragmas).
    pub fn sqlite(&self) -> Option<&rusqlite::Connection> {
        match self {
            Db::Sqlite(conn) => Some(conn),
            Db::Postgres(_) => None,
        }
    }

    /// Runs a statement; the rows it changed.
    pub fn execute(&self, sql: &str, params: &[&dyn Param]) -> Result<usize> {
        match self {
            Db::Sqlite(conn) => Ok(conn.prepare_cached(sql)?.execute(sqlite_params(params))?),
            Db::Postgres(conn) => conn.execute(sql, &self::postgres::pg_params(params)),
        }
    }

    /// Every row of a query, each turned into a `T` by `read`.
    pub fn query<T>(
        &self,
        sql: &str,
        params: &[&dyn Param],
        mut read: impl FnMut(&Row) -> Result<T>,
    ) -> Result<Vec<T>> {
        match self {
            Db::Sqlite(conn) => {
                let mut stmt = conn.prepare_cached(sql)?;
                let mut rows = stmt.query(sqlite_params(params))?;
                let mut out = Vec::new();
                while let Some(row) = rows.next()? {
                    out.push(read(&Row::Sqlite(row))?);
                }
                Ok(out)
            }
            Db::Postgres(conn) => conn
                .query(sql, &self::postgres::pg_params(params))?
                .iter()
                .map(|row| read(&Row::Postgres(row)))
                .collect(),
        }
    }

    /// The first row of a query, if any.
    pub fn query_opt<T>(
        &self,
        sql: &str,
        params: &[&dyn Param],
        read: impl FnOnce(&Row) -> Result<T>,
    ) -> Result<Option<T>> {
        match self {
            Db::Sqlite(conn) => {
                let mut stmt = conn.prepare_cached(sql)?;
                let mut rows = stmt.query(sqlite_params(params))?;
                match rows.next()? {
                    Some(row) => Ok(Some(read(&Row::Sqlite(row))?)),
                    None => Ok(None),
                }
            }
            Db::Postgres(conn) => {
                match conn.query(sql, &self::postgres::pg_params(params))?.first() {
                    Some(row) => Ok(Some(read(&Row::Postgres(row))?)),
                    None => Ok(None),
                }
            }
        }
    }

    /// The one value a query such as `SELECT count(*)` answers.
    pub fn query_value<T: ColumnValue>(&self, sql: &str, params: &[&dyn Param]) -> Result<T> {
        self.query_opt(sql, params, |row| row.get(0))?
            .context("the query found no row")
    }

    /// Runs `body` in one transaction (SQLite's begins as a writer, see `Store::configure`),
    /// committed when it returns `Ok`, rolled back otherwise. On PostgreSQL a connection lost
    /// before the commit is answered reconnects and runs `body` again from the start, so
    /// `body` must do nothing but its statements.
    pub fn transaction<T>(
        &self,
        what: &'static str,
        mut body: impl FnMut(&Db) -> Result<T>,
    ) -> Result<T> {
        match self {
            Db::Sqlite(conn) => {
                conn.execute_batch("BEGIN IMMEDIATE").context(what)?;
                match body(self) {
                    Ok(value) => {
                        if let Err(err) = conn.execute_batch("COMMIT") {
                            let _ = conn.execute_batch("ROLLBACK");
                            return Err(anyhow::Error::new(err).context(what));
                        }
                        Ok(value)
                    }
                    Err(err) => {
                        let _ = conn.execute_batch("ROLLBACK");
                        Err(err.context(what))
                    }
                }
            }
            Db::Postgres(conn) => conn
                .transaction(|| body(self))
                .map_err(|err| err.context(what)),
        }
    }
}

fn sqlite_params<'a>(
    params: &'a [&'a dyn Param],
) -> rusqlite::ParamsFromIter<impl Iterator<Item = &'a dyn rusqlite::ToSql>> {
    rusqlite::params_from_iter(params.iter().map(|p| *p as &dyn rusqlite::ToSql))
}
