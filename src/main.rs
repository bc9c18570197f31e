//! pulse: push CSV data into webhooks. Parse, dispatch, and map errors to exit codes.

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

use pulse::cli::settings as config;
use pulse::cli::{Cli, Command, SecretCommand};
use pulse::exit::Exit;
use pulse::{cmd, exit};

fn main() -> ExitCode {
    restore_default_sigpipe();
    pulse::memory::tune_allocator();
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
    let with_log = |command: &dyn Fn(&std::path::Path) -> anyhow::Result<()>| {
        let db = config::db_path(cli.db.clone())?;
        command(&db).map_err(|err| pulse::store::explain_busy(err, &db))
    };
    match &cli.command {
        Command::Push(args) => with_log(&|db| cmd::push::run(args, db)),
        Command::Validate(args) => cmd::validate::run(args),
        Command::Log(args) => with_log(&|db| cmd::log::run(args, db)),
        Command::Resend(args) => with_log(&|db| cmd::resend::run(args, db)),
        Command::Resume(args) => with_log(&|db| cmd::resume::run(args, db)),
        Command::Prune(args) => with_log(&|db| cmd::prune::run(args, db)),
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
