//! Bytes to records: the input source (file, stdin, BOM, encoding), the fast record reader,
//! and reading ahead on a thread of its own.

mod columns;
mod decompress;
mod dialect;
mod encoding;
mod format;
mod input;
mod json_input;
mod json_rows;
mod json_split;
mod ods_guard;
#[cfg(test)]
mod one_byte;
mod peeked;
mod raw_record;
mod read_ahead;
mod records;
mod sheet;
mod sheet_bounds;
mod sniff;
mod source;
mod tap;
mod text_record;
mod typed_columns;
mod xls_guard;
mod xlsx_guard;
mod xlsx_scan;
pub use columns::TableShape;
pub use dialect::{parse_delimiter, DEFAULT_MAX_RECORD_BYTES, MAX_RECORD_BYTES_CEILING};
pub use format::InputFormat;
pub use input::RemoteObject;
pub use raw_record::CellKind;
pub use read_ahead::ReadAhead;
pub use sniff::CANDIDATES as SNIFFED_DELIMITERS;
pub use source::{
    prefix_hash, prefix_hash_of, ByteCounter, CsvDialect, Encoding, Input, SourcePosition,
    TableSource,
};
pub use text_record::TextRecord;
pub use typed_columns::{ColumnType, SQL_NULL};
