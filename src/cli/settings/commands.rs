//! The flags of resume, resend, validate, export and schema infer become their settings.

use anyhow::Result;
use clap::FromArgMatches;

use super::delivery::{delivery_settings, knobs};
use super::values::{parse_record_size, parse_size, parse_url, read_plan, source_read_plan};
use crate::cli::{
    DeliveryArgs, ExportArgs, InferArgs, LogArgs, PruneArgs, ReceiveArgs, RemoteArgs, ResendArgs,
    ResumeArgs, Setup, ValidateArgs,
};
use crate::deliver::DeliverySettings;
use crate::exit::usage;
use crate::run::{
    ExportSettings, ForDestination, InferSettings, InputAccess, ResendSettings, ResumeSettings,
    ValidateSettings,
};

/// Checked `pulse resume` flags: flag mistakes are reported before anything is touched.
pub fn resume_settings(args: &ResumeArgs, setup: &Setup) -> Result<ResumeSettings> {
    let size = |flag: &str, text: &Option<String>| {
        text.as_deref()
            .map(|text| parse_size(text).map_err(|e| usage(format!("{flag}: {e}"))))
            .transpose()
    };
    Ok(ResumeSettings {
        run_id: args.run_id.clone(),
        out_of_order: args.out_of_order,
        max_record_bytes: args
            .max_record_size
            .as_deref()
            .map(parse_record_size)
            .transpose()?,
        max_body_bytes: size("--max-body-size", &args.max_body_size)?,
        delivery: delivery_settings(&args.delivery)?,
        for_destination: Some(for_destination(setup, "resume", |sub| {
            Ok(ResumeArgs::from_arg_matches(sub)?.delivery)
        })),
        knobs: knobs(args.quiet, args.json, args.delivery.deadline.as_deref())?,
    })
}

/// How a command reads a run's destination from the config: its command line parsed again
/// with the destination's values under it, and its delivery flags made settings.
fn for_destination(
    setup: &Setup,
    command: &'static str,
    delivery_args: fn(&clap::ArgMatches) -> Result<DeliveryArgs>,
) -> ForDestination {
    let setup = setup.clone();
    Box::new(move |name: &str| {
        let matches = crate::cli::for_destination(&setup, command, name)?;
        let sub = matches
            .subcommand_matches(command)
            .ok_or_else(|| usage(format!("not a {command} command line")))?;
        delivery_settings(&delivery_args(sub)?)
    })
}

/// Checked `pulse resend` flags.
pub fn resend_settings(args: &ResendArgs, setup: &Setup) -> Result<ResendSettings> {
    Ok(ResendSettings {
        id: args.id.clone(),
        url: args.url.as_deref().map(parse_url).transpose()?,
        failed: args.failed,
        delivery: delivery_settings(&args.delivery)?,
        for_destination: Some(for_destination(setup, "resend", |sub| {
            Ok(ResendArgs::from_arg_matches(sub)?.delivery)
        })),
        knobs: knobs(args.quiet, args.json, args.delivery.deadline.as_deref())?,
    })
}

/// Checked `pulse validate` flags.
pub fn validate_settings(args: &ValidateArgs) -> Result<ValidateSettings> {
    Ok(ValidateSettings {
        read: source_read_plan(&args.source)?,
        schema: args.source.schema.clone(),
        invalid_out: args.invalid_out.clone(),
        max_errors: args.max_errors,
        json: args.json,
    })
}

/// Checked `pulse export` flags.
pub fn export_settings(args: &ExportArgs) -> ExportSettings {
    ExportSettings {
        id: args.id.clone(),
        failed: args.failed,
        rejected: args.rejected,
        with_errors: args.with_errors,
        format: args.format,
        output: args.output.clone(),
        quiet: args.quiet,
    }
}

/// Checked `pulse schema infer` flags.
pub fn infer_settings(args: &InferArgs) -> Result<InferSettings> {
    if args.sample < 2 {
        return Err(usage(
            "--sample must be at least 2 (the header row and one row of data)",
        ));
    }
    Ok(InferSettings {
        read: read_plan(
            &args.input,
            (args.delimiter.as_deref(), args.encoding),
            None,
            &args.table,
        )?,
        sample: args.sample,
        output: args.output.clone(),
        missing_values: args.missing_values.clone(),
    })
}

/// `pulse log`'s flags, with its points in time read.
pub struct LogSettings<'a> {
    pub args: &'a LogArgs,
    /// `--since`, in ms since the epoch.
    pub since: Option<i64>,
    /// `--limit`; none: all (`--limit 0`).
    pub limit: Option<u64>,
}

/// Checked `pulse log` flags.
pub fn log_settings(args: &LogArgs) -> Result<LogSettings<'_>> {
    let since = args.since.as_deref();
    Ok(LogSettings {
        args,
        since: since
            .map(|text| point_in_time("--since", text))
            .transpose()?,
        limit: (args.limit > 0).then_some(args.limit),
    })
}

/// `pulse prune`'s flags, with `--older-than` read.
pub struct PruneSettings<'a> {
    pub args: &'a PruneArgs,
    /// Runs started before this (ms since the epoch) go.
    pub cutoff: i64,
}

/// Checked `pulse prune` flags.
pub fn prune_settings(args: &PruneArgs) -> Result<PruneSettings<'_>> {
    Ok(PruneSettings {
        args,
        cutoff: point_in_time("--older-than", &args.older_than)?,
    })
}

/// A point in time as users write it (`7d`, `2024-05-01`), relative to now.
fn point_in_time(flag: &str, text: &str) -> Result<i64> {
    crate::time_text::parse_point(text, crate::store::now_ms())
        .map_err(|e| usage(format!("{flag} {e}")))
}

/// Checked `pulse receive` settings.
pub struct ReceiveSettings {
    /// `--bind` and `--port`.
    pub addr: std::net::SocketAddr,
    /// `--secret` and `--public-key`: what signatures are verified with.
    pub verifier: crate::sign::Verifier,
    pub fail_status: u16,
    pub always_status: Option<u16>,
    pub fail_rate: f64,
    pub fail_first: u32,
    pub retry_after: Option<String>,
    pub delay: Option<std::time::Duration>,
    pub drop_rate: f64,
    /// `--print-bodies`.
    pub print_bodies: bool,
    /// The body of a 2xx answer.
    pub answer: String,
    pub quiet: bool,
}

/// Checked `pulse receive` flags.
pub fn receive_settings(args: &ReceiveArgs) -> Result<ReceiveSettings> {
    for (flag, p) in [
        ("--fail-rate", args.fail_rate),
        ("--drop-rate", args.drop_rate),
    ] {
        if !(0.0..=1.0).contains(&p) {
            return Err(usage(format!("{flag} must be between 0 and 1")));
        }
    }
    let secrets = super::parse_secrets(&args.secrets)?;
    let public_keys = super::parse_public_keys(&args.public_keys)?;
    if let Some(code) = args.status
        && (hyper::StatusCode::from_u16(code).is_err() || code < 200)
    {
        return Err(usage(format!(
            "--status {code} is not an HTTP status (200-999)"
        )));
    }
    let faults = args.fail_rate > 0.0 || args.fail_first > 0;
    let addr = format!("{}:{}", args.bind, args.port)
        .parse()
        .map_err(|_| usage(format!("--bind {:?} is not an IP address", args.bind)))?;
    Ok(ReceiveSettings {
        addr,
        verifier: crate::sign::Verifier::new(secrets, public_keys),
        fail_status: args.status.unwrap_or(503),
        always_status: if faults { None } else { args.status },
        fail_rate: args.fail_rate,
        fail_first: args.fail_first,
        retry_after: args.retry_after.clone(),
        delay: args
            .delay
            .as_deref()
            .map(crate::deliver::parse_duration)
            .transpose()
            .map_err(|e| usage(format!("--delay: {e}")))?,
        drop_rate: args.drop_rate,
        print_bodies: args.print_bodies,
        answer: args
            .answer
            .clone()
            .unwrap_or_else(|| "{\"ok\":true}".to_string()),
        quiet: args.quiet,
    })
}

/// How this process reaches a remote input: `--input-header`, and the TLS settings of
/// delivery when the command has them (push, resume).
pub fn input_access(args: &RemoteArgs, tls: Option<&DeliverySettings>) -> Result<InputAccess> {
    InputAccess::new(&args.input_headers, tls.cloned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_in_time_are_usage_errors_when_unreadable() {
        let err = point_in_time("--since", "someday").unwrap_err();
        assert_eq!(crate::exit::code_for(&err), crate::exit::Exit::Usage);
        assert!(err.to_string().starts_with("--since "), "{err}");
        let day = point_in_time("--since", "1d").unwrap();
        assert!((crate::store::now_ms() - day - 86_400_000).abs() < 60_000);
    }
}
