//! The values that cross to either database: parameters both drivers can bind, columns both
//! can read. `mod.rs` and `postgres.rs` both take them, so they live apart from either.

/// A value bound to a `?N` placeholder: what both drivers can send.
pub trait Param: rusqlite::ToSql + ::postgres::types::ToSql + Sync {}
impl<T: rusqlite::ToSql + ::postgres::types::ToSql + Sync + ?Sized> Param for T {}

/// A column value both drivers can read (integers are `i64`: PostgreSQL's columns are BIGINT).
pub trait ColumnValue: rusqlite::types::FromSql + for<'a> ::postgres::types::FromSql<'a> {}
impl<T: rusqlite::types::FromSql + for<'a> ::postgres::types::FromSql<'a>> ColumnValue for T {}
