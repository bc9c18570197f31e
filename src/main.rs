//! pulse: push CSV data into webhooks. Parse, dispatch, and map errors to exit codes.

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

use pulse::cli::{Cli, Command, SecretCommand};
use pulse::exit::Exit;
use pulse::{cmd, config, exit};

fn main() -> ExitCode {
    restore_default_sigpipe();
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|err| err.exit());
    for warning in config::command_line_secret_warnings(&matches) {
        eprintln!("{warning}");
    }
    match run(cli) {
        Ok(()) => Exit::Success.into(),
        Err(err) => {
            if is_broken_pipe(&err) {
                return Exit::Success.into();
            }
            eprintln!("error: {err:#}");
            exit::code_for(&err).into()
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match &cli.command {
        Command::Push(args) => cmd::push::run(args, &config::db_path(cli.db.clone())?),
        Command::Validate(args) => cmd::validate::run(args),
        Command::Log(args) => cmd::log::run(args, &config::db_path(cli.db.clone())?),
        Command::Resend(args) => cmd::resend::run(args, &config::db_path(cli.db.clone())?),
        Command::Resume(args) => cmd::resume::run(args, &config::db_path(cli.db.clone())?),
        Command::Prune(args) => cmd::prune::run(args, &config::db_path(cli.db.clone())?),
        Command::Receive(args) => cmd::receive::run(args),
        Command::Secret {
            command: SecretCommand::New,
        } => {
            cmd::secret::new();
            Ok(())
        }
        Command::Completions { shell } => {
            cmd::generate::completions(*shell);
            Ok(())
        }
        Command::Man { dir } => cmd::generate::man(dir),
    }
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
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
