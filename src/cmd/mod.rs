//! The dispatch: each subcommand's flags made settings by `cli::settings`, handed to `run/`;
//! the commands that do their own work (log, prune, cancel, secret, receive, and the generated
//! completions and man page) have a file each here.

mod cancel;
mod config;
mod generate;
mod log;
mod metrics;
mod prune;
mod receive;
mod secret;

use crate::cli::{self, Cli, Command, LogDb, SchemaCommand, SecretCommand};
use crate::run;
use crate::store::Location;
use crate::telemetry::Value;

/// `--metrics-file` and `--push-gateway` of the commands that deliver.
fn start_metrics(delivery: &crate::cli::DeliveryArgs) -> anyhow::Result<()> {
    crate::metrics::start(
        delivery.metrics_file.as_deref(),
        delivery.push_gateway.as_deref(),
    )
}

/// Runs the command the command line names.
pub fn dispatch(cli: Cli) -> anyhow::Result<()> {
    let with_log = |log: &LogDb, command: &dyn Fn(&Location) -> anyhow::Result<()>| {
        let db = crate::cli::log_location(log.db.clone())?;
        command(&db)
            .map_err(|err| crate::store::explain_busy(err, &db))
            .map_err(|err| crate::store::explain_full(err, &db))
    };
    match &cli.command {
        Command::Push(args) => with_log(&args.log, &|db| {
            start_metrics(&args.delivery)?;
            let request = cli::push_request(args)?;
            let access = cli::input_access(&args.source.remote, Some(&request.delivery))?;
            run::configure_input_access(access);
            let attributes = vec![
                ("pulse.run.id", request.run_id.clone().into()),
                ("pulse.source", request.plan.read.input.label().into()),
                ("url.full", shown(request.url()).into()),
            ];
            traced("pulse push", attributes, || run::push(request, db))
        }),
        Command::Validate(args) => {
            run::configure_input_access(cli::input_access(&args.source.remote, None)?);
            run::validate(cli::validate_settings(args)?)
        }
        Command::Log(args) => with_log(&args.log, &|db| log::run(&cli::log_settings(args)?, db)),
        Command::Resend(args) => with_log(&args.log, &|db| {
            start_metrics(&args.delivery)?;
            let settings = cli::resend_settings(args, &cli.setup)?;
            let attributes = vec![
                ("pulse.resend.id", settings.id.clone().into()),
                ("url.full", shown(settings.url.as_ref()).into()),
            ];
            traced("pulse resend", attributes, || run::resend(settings, db))
        }),
        Command::Export(args) => with_log(&args.log, &|db| {
            run::export(cli::export_settings(args), db).map(|_| ())
        }),
        Command::Resume(args) => with_log(&args.log, &|db| {
            start_metrics(&args.delivery)?;
            let settings = cli::resume_settings(args, &cli.setup)?;
            let access = cli::input_access(&args.remote, Some(&settings.delivery))?;
            run::configure_input_access(access);
            let run_id = settings.run_id.clone().unwrap_or_default();
            let attributes = vec![("pulse.run.id", run_id.into())];
            traced("pulse resume", attributes, || run::resume(settings, db))
        }),
        Command::Cancel(args) => with_log(&args.log, &|db| cancel::run(args, db)),
        Command::Metrics(args) => with_log(&args.log, &|db| metrics::run(args, db)),
        Command::Ui(args) => with_log(&args.log, &|db| {
            let settings = crate::ui::UiSettings {
                bind: args.bind,
                port: args.port,
                token: args.token.clone(),
                config: args.config.clone(),
            };
            crate::ui::run(settings, db)
        }),
        Command::Prune(args) => {
            with_log(&args.log, &|db| prune::run(&cli::prune_settings(args)?, db))
        }
        Command::Receive(args) => receive::run(args, cli::receive_settings(args)?),
        Command::Secret {
            command: SecretCommand::New { asymmetric },
        } => {
            secret::new(*asymmetric);
            Ok(())
        }
        Command::Secret {
            command: SecretCommand::Public { keys },
        } => secret::public(keys),
        Command::Secret {
            command: SecretCommand::Show { url, log },
        } => with_log(log, &|db| secret::show(url, db)),
        Command::Schema {
            command: SchemaCommand::Infer(args),
        } => {
            run::configure_input_access(cli::input_access(&args.remote, None)?);
            run::infer(cli::infer_settings(args)?)
        }
        Command::Config { command } => config::run(command, &cli.setup),
        Command::Completions { shell } => {
            generate::completions(*shell)?;
            Ok(())
        }
        Command::Man { dir } => generate::man(dir),
    }
}

/// Runs `command` in a run span (`telemetry`), ended with its outcome and exit code.
fn traced(
    name: &'static str,
    attributes: Vec<(&'static str, Value)>,
    command: impl FnOnce() -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    crate::telemetry::start_run(name, attributes);
    let result = command();
    let exit = match &result {
        Ok(()) => crate::exit::Exit::Success,
        Err(err) => crate::exit::code_for(err),
    };
    crate::telemetry::end_run(result.as_ref().err(), exit as u8);
    result
}

/// A destination URL as the log shows it (its password masked); empty when there is none.
fn shown(url: Option<&reqwest::Url>) -> String {
    url.map(|url| crate::redact::shown_url(url.as_str()))
        .unwrap_or_default()
}
