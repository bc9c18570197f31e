//! Bytes to records: the input source (file, stdin, BOM, encoding), the fast record reader,
//! and reading ahead on a thread of its own.

pub mod columns;
pub mod decompress;
pub mod encoding;
#[cfg(test)]
mod one_byte;
pub mod peeked;
pub mod read_ahead;
pub mod records;
pub mod sheet;
pub mod sniff;
pub mod source;
pub mod tap;
pub mod text_record;
