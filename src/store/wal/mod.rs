//! The log's write-ahead log: checkpoints on a thread of their own, and how a connection waits
//! for another's lock.

pub mod checkpoint;
pub mod lock_wait;
