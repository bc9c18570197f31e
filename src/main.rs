//! pulse: push CSV data into webhooks. Parse, dispatch, and map errors to exit codes.
#![deny(clippy::undocumented_unsafe_blocks)]

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

use pulse::cli::{
    command_line_contradiction, command_line_secret_warnings, without_credentials,
    without_environment_flags, Cli,
};
use pulse::exit::Exit;

fn main() -> ExitCode {
    restore_default_sigpipe();
    pulse::memory::tune_allocator();
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let matches = Cli::command()
        .try_get_matches_from(&args)
        .unwrap_or_else(|err| without_credentials(without_environment_flags(err, &args)).exit());
    if let Some(message) = command_line_contradiction(&matches) {
        Cli::command()
            .error(clap::error::ErrorKind::ArgumentConflict, message)
            .exit();
    }
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|err| without_credentials(err).exit());
    for warning in command_line_secret_warnings(&matches) {
        say_error(format_args!("{warning}"));
    }
    let result = pulse::cmd::dispatch(cli);
    // A write to stdout that failed along the way (the work went on, see `pulse::output`):
    // the run's state is in the log, the caller learns that it missed output.
    let output_failure = pulse::output::failure(pulse::output::Stream::Stdout);
    match result {
        Ok(()) => match output_failure {
            None => Exit::Success.into(),
            Some(failure) => {
                say_error(format_args!("error: {failure}"));
                Exit::Failure.into()
            }
        },
        Err(err) => {
            if is_broken_pipe(&err) {
                return Exit::Success.into();
            }
            say_error(format_args!("error: {err:#}"));
            pulse::exit::code_for(&err).into()
        }
    }
}

/// One line on stderr; if stderr itself cannot be written there is nobody left to tell.
fn say_error(line: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// Like other Unix tools, stop quietly when the reader of our output goes away (`pulse log |
/// head`), instead of failing a write on every later line. The log is consistent at every
/// commit, so stopping anywhere is safe.
fn restore_default_sigpipe() {
    #[cfg(unix)]
    // SAFETY: resetting a signal's disposition to the default before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// `pulse log | head` closes stdout early; that is not an error.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    let pipe = std::io::ErrorKind::BrokenPipe;
    pulse::output::find(err).is_some_and(|failure| failure.kind == pipe)
        || err.chain().any(|cause| {
            cause
                .downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
        })
}
