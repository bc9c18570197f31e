//! One file per subcommand.

pub mod generate;
pub mod log;
pub mod prune;
pub mod push;
pub mod receive;
pub mod resend;
pub mod resume;
pub mod secret;
pub mod validate;
