//! A run's lifecycle: a push stages its input into the outbox, then delivers it; resume and
//! resend continue or repeat a stored run, all from the run's plan (`crate::plan`). Also the
//! signer a command resolves, and the lock that keeps one process per run. `validate` is the
//! dry pass: the same reading and checking, nothing stored or sent.

mod abandon;
mod delivery;
mod dry_run;
mod export;
mod infer;
mod lock;
mod outage;
mod push;
mod push_request;
mod remote;
mod repeat;
mod replace;
mod resend;
mod resume;
mod signing;
mod staging;
mod summary;
mod validate;
pub use export::{export, ExportFormat, ExportSettings};
pub use infer::{infer, InferSettings};
pub use lock::RunLock;
pub use push::push;
pub use push_request::{PushRequest, PushTo};
pub use remote::{configure as configure_input_access, Access as InputAccess};
pub use resend::{resend, ResendSettings};
pub use resume::{resume, ForDestination, ResumeSettings};
pub use summary::run_summary;
pub use validate::{validate, ValidateSettings};
