//! What the fuzz targets (`fuzz/`) drive, and the tests that replay their inputs: reading CSV,
//! checking rows against a schema, and writing rows as stored payload tokens.

pub use crate::payload::{RowPosition, RowWriter};
pub use crate::read::source::{ByteCounter, CsvSource, Dialect, Encoding};
pub use crate::schema::{RowValidator, Schema};
pub use crate::stage::checked_rows::CheckedRows;
