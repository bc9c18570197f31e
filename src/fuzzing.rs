//! What the fuzz targets (`fuzz/`) drive, and the tests that replay their inputs: reading CSV,
//! checking rows against a schema, writing rows as stored payload tokens, and reading stored
//! payloads back.

pub use crate::payload::unpack as unpack_payload;
pub use crate::payload::{RowPosition, RowWriter};
pub use crate::read::{ByteCounter, CsvDialect, Encoding, Input, TableSource, TextRecord};
pub use crate::schema::{RowValidator, Schema};
pub use crate::stage::{write_valid_cell, CheckedRows};
