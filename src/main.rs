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
    let json = json_summary_asked(&args);
    pulse::output::set_json_logs(json_logs_asked(&args));
    // The config file's values and the `PULSE_*` variables laid onto the flags: a config file
    // that is not right is a usage error before anything is read.
    let (command, setup) = pulse::cli::prepare(&args).unwrap_or_else(|err| {
        if help_asked(&args) {
            return (pulse::cli::command(), Default::default());
        }
        say_error(format_args!("error: {err:#}"));
        if json {
            json_error_line(&format!("{err:#}"), Exit::Usage as u8);
        }
        std::process::exit(Exit::Usage as i32)
    });
    let matches = command.try_get_matches_from(&args).unwrap_or_else(|err| {
        exit_clap(
            without_credentials(without_environment_flags(err, &args)),
            json,
        )
    });
    if let Some(message) = command_line_contradiction(&matches) {
        let err = Cli::command().error(clap::error::ErrorKind::ArgumentConflict, message);
        exit_clap(err, json);
    }
    let mut cli = Cli::from_arg_matches(&matches)
        .unwrap_or_else(|err| exit_clap(without_credentials(err), json));
    cli.setup = setup;
    for warning in command_line_secret_warnings(&matches) {
        say_error(format_args!("{warning}"));
    }
    let result = pulse::cmd::dispatch(cli);
    // Written whatever the outcome: a failed run's metrics are the ones a dashboard needs.
    pulse::metrics::finish();
    // The spans of the run sent before any way out (exit 4 and 124 included), within a bound.
    pulse::telemetry::finish();
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
            let said_before = err
                .chain()
                .any(|cause| cause.is::<pulse::exit::QuietDeliveryError>());
            if !said_before {
                say_error(format_args!("error: {err:#}"));
            }
            let code = pulse::exit::code_for(&err);
            if json && matches!(code, Exit::Failure | Exit::Usage) {
                json_error_line(&format!("{err:#}"), code as u8);
            }
            code.into()
        }
    }
}

/// Whether the command prints the JSON summary (`--json` on push, resume or cancel), read from
/// the raw arguments so that even a command line clap refuses gets its JSON line.
fn json_summary_asked(args: &[std::ffi::OsString]) -> bool {
    let words = leading_words(args);
    let command = words.iter().find(|w| !w.starts_with('-'));
    let from_env = || {
        // clap's reading of a flag's variable: anything but these turns it on.
        std::env::var("PULSE_JSON").is_ok_and(|value| {
            !["", "0", "false", "no", "off", "n", "f"].contains(&value.to_lowercase().as_str())
        })
    };
    match command {
        Some(&"push") => words.contains(&"--json") || from_env(),
        Some(&"resume" | &"cancel") => words.contains(&"--json"),
        _ => false,
    }
}

/// `--log-format json` (or `PULSE_LOG_FORMAT=json`), read from the raw arguments so that even
/// a command line clap refuses is said in JSON.
fn json_logs_asked(args: &[std::ffi::OsString]) -> bool {
    let words = leading_words(args);
    let given = words
        .iter()
        .enumerate()
        .rev()
        .find_map(|(i, word)| match *word {
            "--log-format" => words.get(i + 1).copied(),
            word => word.strip_prefix("--log-format="),
        });
    match given {
        Some(format) => format == "json",
        None => std::env::var("PULSE_LOG_FORMAT").is_ok_and(|v| v == "json"),
    }
}

/// `--help` or `-h` before `--`: help is printed even when the config file is broken.
fn help_asked(args: &[std::ffi::OsString]) -> bool {
    leading_words(args)
        .iter()
        .any(|a| *a == "--help" || *a == "-h")
}

/// The raw arguments after the program's name and before `--` (not UTF-8: empty), for what
/// must be known before clap parses them.
fn leading_words(args: &[std::ffi::OsString]) -> Vec<&str> {
    args.iter()
        .skip(1)
        .map(|a| a.to_str().unwrap_or(""))
        .take_while(|a| *a != "--")
        .collect()
}

/// With `--json`, an error that ends the command before any summary (exit 1 or 2) is a line
/// too, so that `jq .status` on the output always reads something.
fn json_error_line(message: &str, exit_code: u8) {
    use std::io::Write;
    let line = serde_json::json!({
        "status": "error",
        "error": {"message": message, "exit_code": exit_code},
    });
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

/// Exits as clap would, after the JSON error line when `--json` asked for one (not for help or
/// the version, which are no errors).
fn exit_clap(err: clap::Error, json: bool) -> ! {
    if json && err.use_stderr() {
        let rendered = err.render().to_string();
        let first = rendered.lines().next().unwrap_or_default();
        json_error_line(first.trim_start_matches("error: "), Exit::Usage as u8);
    }
    if pulse::output::json_logs() && err.use_stderr() {
        // One JSON line for the mistake, not clap's usage text.
        let rendered = err.render().to_string();
        say_error(format_args!(
            "{}",
            rendered.lines().next().unwrap_or_default()
        ));
        std::process::exit(err.exit_code());
    }
    err.exit()
}

/// One line on stderr; if stderr itself cannot be written there is nobody left to tell.
fn say_error(line: std::fmt::Arguments<'_>) {
    use std::io::Write;
    if pulse::output::json_logs() {
        let _ = writeln!(
            std::io::stderr().lock(),
            "{}",
            pulse::output::json_log_line(&line.to_string())
        );
        return;
    }
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
