//! Bytes to records: the input source (file, stdin, BOM, encoding), the fast record reader,
//! and reading ahead on a thread of its own.

mod columns;
mod decompress;
mod encoding;
#[cfg(test)]
mod one_byte;
mod peeked;
mod read_ahead;
mod records;
mod sheet;
mod sniff;
mod source;
mod tap;
mod text_record;
mod xlsx_guard;
mod xlsx_scan;
pub use columns::TableShape;
pub use read_ahead::ReadAhead;
pub use source::{
    parse_delimiter, prefix_hash, ByteCounter, CsvDialect, Encoding, Input, SourcePosition,
    TableSource, DEFAULT_MAX_RECORD_BYTES,
};
pub use text_record::TextRecord;
