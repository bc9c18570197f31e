//! One file per subcommand.

pub mod generate;
pub mod push;
pub mod receive;
pub mod secret;
pub mod validate;
