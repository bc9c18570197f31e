//! Exit codes in one place: the documented values and the mapping from typed errors to them.

use std::process::ExitCode;

/// The exit codes pulse documents (README "Exit codes", the man page's EXIT STATUS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Everything asked for was done (all batches delivered, or nothing to send).
    Success = 0,
    /// Runtime error: I/O, database, unreadable input.
    Failure = 1,
    /// Usage error: a bad flag, value or combination.
    Usage = 2,
    /// Invalid rows found with `--fail-on-invalid` (nothing was sent), or by `pulse validate`.
    Invalid = 3,
    /// Delivery failed: some batches are undelivered; `pulse resume` continues.
    Undelivered = 4,
    /// `--fail-on-rejected`: every batch was delivered, but the receiver refused some of their
    /// rows (`--rejected-rows`; `pulse export RUN --rejected` writes them).
    Rejected = 5,
    /// `--deadline` passed; the run stopped as on SIGTERM and is resumable (as timeout(1)).
    DeadlinePassed = 124,
    /// Interrupted by SIGINT (Ctrl-C); the run is resumable.
    Interrupted = 130,
    /// Stopped by SIGTERM (128 + 15, as shells report it); the run is resumable.
    Terminated = 143,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit as u8)
    }
}

/// A bad flag value or flag combination found after clap parsed the command line.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Delivery stopped with batches left undelivered.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DeliveryError(pub String);

/// Not delivered, and said before: a destination still down under `--quiet` (`run::outage`).
/// Exit 4 as `DeliveryError`, but `main` prints nothing, so cron mails only when an outage
/// starts or ends.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct QuietDeliveryError(pub String);

/// Delivered, but the receiver refused rows, and `--fail-on-rejected` makes that an error.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct RejectedRowsError(pub String);

/// Rows failed validation where that is an error.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InvalidRowsError(pub String);

/// The user asked pulse to stop (Ctrl-C, SIGTERM, or `--deadline`).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InterruptedError(pub String);

/// A stopped delivery's error with `hint` (how to continue) added, its exit code kept.
pub fn with_hint(err: anyhow::Error, hint: &str) -> anyhow::Error {
    if err.is::<InterruptedError>() {
        InterruptedError(format!("{err:#}; {hint}")).into()
    } else if err.is::<DeliveryError>() {
        DeliveryError(format!("{err:#}; {hint}")).into()
    } else {
        err
    }
}

/// Maps an error chain to its exit code: the first typed error found decides, anything else is 1.
pub fn code_for(err: &anyhow::Error) -> Exit {
    for cause in err.chain() {
        if cause.is::<UsageError>() {
            return Exit::Usage;
        }
        if cause.is::<DeliveryError>() || cause.is::<QuietDeliveryError>() {
            return Exit::Undelivered;
        }
        if cause.is::<InvalidRowsError>() {
            return Exit::Invalid;
        }
        if cause.is::<RejectedRowsError>() {
            return Exit::Rejected;
        }
        if cause.is::<InterruptedError>() {
            return if crate::signals::deadline_passed() {
                Exit::DeadlinePassed
            } else if crate::signals::stop_code() == Exit::Terminated as u8 {
                Exit::Terminated
            } else {
                Exit::Interrupted
            };
        }
    }
    Exit::Failure
}

/// Shorthand for returning a usage error from a checked-config step.
pub fn usage(msg: impl Into<String>) -> anyhow::Error {
    UsageError(msg.into()).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn documented_values() {
        assert_eq!(Exit::Success as u8, 0);
        assert_eq!(Exit::Failure as u8, 1);
        assert_eq!(Exit::Usage as u8, 2);
        assert_eq!(Exit::Invalid as u8, 3);
        assert_eq!(Exit::Undelivered as u8, 4);
        assert_eq!(Exit::Rejected as u8, 5);
        assert_eq!(Exit::DeadlinePassed as u8, 124);
        assert_eq!(Exit::Interrupted as u8, 130);
        assert_eq!(Exit::Terminated as u8, 143);
    }

    #[test]
    fn typed_errors_keep_their_code_under_context() {
        let err = Err::<(), _>(usage("--batch-size must be at least 1"))
            .context("push")
            .unwrap_err();
        assert_eq!(code_for(&err), Exit::Usage);
        let err = anyhow::Error::new(DeliveryError("batch 1 failed".into())).context("x");
        assert_eq!(code_for(&err), Exit::Undelivered);
        let err = anyhow::Error::new(InvalidRowsError("3 invalid rows".into()));
        assert_eq!(code_for(&err), Exit::Invalid);
        let err = anyhow::Error::new(RejectedRowsError("3 rows".into())).context("x");
        assert_eq!(code_for(&err), Exit::Rejected);
        let err = anyhow::Error::new(InterruptedError("stopped".into()));
        assert_eq!(code_for(&err), Exit::Interrupted);
    }

    #[test]
    fn other_errors_are_runtime_failures() {
        let err = anyhow::anyhow!("disk full");
        assert_eq!(code_for(&err), Exit::Failure);
    }
}
