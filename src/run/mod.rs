//! A run's lifecycle: a push stages its input into the outbox, then delivers it; resume and
//! resend continue or repeat a stored run, all from the run's plan (`crate::plan`). Also the
//! signer a command resolves, and the lock that keeps one process per run. `validate` is the
//! dry pass: the same reading and checking, nothing stored or sent.

pub mod delivery;
mod dry_run;
pub mod export;
pub mod infer;
pub mod lock;
pub mod push;
mod repeat;
pub mod resend;
pub mod resume;
pub mod signing;
pub mod staging;
pub mod summary;
pub mod validate;
