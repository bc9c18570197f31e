//! One file per subcommand, and the dispatch to them.

pub(crate) mod cancel;
pub(crate) mod export;
pub(crate) mod generate;
pub(crate) mod log;
pub(crate) mod prune;
pub(crate) mod push;
pub(crate) mod receive;
pub(crate) mod resend;
pub(crate) mod resume;
pub(crate) mod schema;
pub(crate) mod secret;
pub(crate) mod validate;

use crate::cli::{Cli, Command, LogDb, SchemaCommand, SecretCommand};
use crate::store::Location;

/// Runs the command the command line names.
pub fn dispatch(cli: Cli) -> anyhow::Result<()> {
    let with_log = |log: &LogDb, command: &dyn Fn(&Location) -> anyhow::Result<()>| {
        let db = crate::cli::settings::log_location(log.db.clone())?;
        command(&db)
            .map_err(|err| crate::store::explain_busy(err, &db))
            .map_err(|err| crate::store::explain_full(err, &db))
    };
    match &cli.command {
        Command::Push(args) => with_log(&args.log, &|db| push::run(args, db)),
        Command::Validate(args) => validate::run(args),
        Command::Log(args) => with_log(&args.log, &|db| log::run(args, db)),
        Command::Resend(args) => with_log(&args.log, &|db| resend::run(args, db)),
        Command::Export(args) => with_log(&args.log, &|db| export::run(args, db)),
        Command::Resume(args) => with_log(&args.log, &|db| resume::run(args, db)),
        Command::Cancel(args) => with_log(&args.log, &|db| cancel::run(args, db)),
        Command::Prune(args) => with_log(&args.log, &|db| prune::run(args, db)),
        Command::Receive(args) => receive::run(args),
        Command::Secret {
            command: SecretCommand::New,
        } => {
            secret::new();
            Ok(())
        }
        Command::Secret {
            command: SecretCommand::Show { url, log },
        } => with_log(log, &|db| secret::show(url, db)),
        Command::Schema {
            command: SchemaCommand::Infer(args),
        } => schema::infer_schema(args),
        Command::Completions { shell } => {
            generate::completions(*shell);
            Ok(())
        }
        Command::Man { dir } => generate::man(dir),
    }
}
