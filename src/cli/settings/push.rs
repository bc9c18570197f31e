//! `pulse push` flags become a run plan, where the push goes, and the process knobs.

use anyhow::Result;
use reqwest::header::HeaderValue;

use super::delivery::{delivery_settings, knobs};
use super::values::{parse_events, parse_metadata, parse_size, parse_url, source_read_plan};
use crate::cli::PushArgs;
use crate::deliver::{AnswerRules, DeliverySettings};
use crate::exit::usage;
use crate::payload::{BodyContext, BodyTemplate, Format, Method};
use crate::plan::{
    DeliverPlan, MirrorPlan, OAuth2Plan, RunPlan, ShapePlan, SigningSource, ValidatePlan,
};
use crate::read::Input;
use crate::run::{PushRequest, PushTo};
use crate::sign::Signing;
use crate::stage::SyncMode;

/// Checked `pulse push` flags: the run's plan, where it goes, how it is sent.
pub fn push_request(args: &PushArgs) -> Result<PushRequest> {
    if args.batch_size == 0 {
        return Err(usage("--batch-size must be at least 1"));
    }
    let input = Input::parse(&args.source.input);
    let mut delivery = delivery_settings(&args.delivery)?;
    // Compiled here, once: a bad expression is a usage error before anything is staged.
    delivery.answers =
        AnswerRules::compile(args.success_if.as_deref(), args.rejected_rows.as_deref())?;

    if args.asymmetric {
        match delivery.signing {
            Signing::Generated { .. } => delivery.signing = Signing::Generated { asymmetric: true },
            _ => {
                return Err(usage(
                    "--asymmetric has pulse generate a whsk_ signing key for the URL, but a \
                     secret is given (--secret or PULSE_SECRET) or --no-sign: give a whsk_ key \
                     there instead (`pulse secret new --asymmetric`), or drop --asymmetric",
                ))
            }
        }
    }
    // `--url-password` (or PULSE_URL_PASSWORD) goes into the URL it is sent with; the run
    // keeps that URL masked (`user:***@`), so resume and resend ask for it again.
    let url = args
        .url
        .as_deref()
        .map(|text| delivery.url_with_password(parse_url(text)?))
        .transpose()?;
    delivery.check_oauth2(url.as_ref())?;
    if args.method == Method::Get && !matches!(args.format, Format::Pulse | Format::Valmi) {
        return Err(usage("--method get works with --format pulse or valmi"));
    }
    if args.method == Method::Get && args.delivery.compress.is_some() {
        return Err(usage(
            "--compress needs a body: it works with --method post",
        ));
    }
    if args.mode != SyncMode::Mirror && (!args.key.is_empty() || args.sync.is_some()) {
        return Err(usage("--key and --sync only apply to --mode mirror"));
    }
    let sync_name = sync_name(args, &input, url.as_ref())?;
    let run_id = format!("run_{}", ulid::Ulid::new());
    let events = parse_events(&args.events)?;
    let mut body = body_context(args, &input, &run_id)?;
    let source = &args.source;
    let read = source_read_plan(source)?;
    let max_body_bytes =
        parse_size(&args.max_body_size).map_err(|e| usage(format!("--max-body-size: {e}")))?;
    if let Some(template) = &mut body.template {
        template.max_bytes = max_body_bytes;
    }
    let knobs = knobs(args.quiet, args.json, args.delivery.deadline.as_deref())?;
    // Read here, once: a mirror without --key takes the schema's primaryKey.
    let schema = crate::schema::load_for_flag(source.schema.as_deref())?;
    let mirror = match (args.mode, sync_name) {
        (SyncMode::Mirror, Some(sync)) => Some(MirrorPlan {
            sync,
            key: mirror_key(args, schema.as_ref())?,
        }),
        _ => None,
    };
    let to = match (args.dry_run, url) {
        (false, Some(url)) => PushTo::Url(url),
        (false, None) => return Err(usage("--url is required (only --dry-run does without)")),
        // `pulse log --limit 0` lists all; so does this.
        (true, url) => PushTo::DryRun {
            url,
            limit: args.limit.filter(|&n| n > 0),
        },
    };
    let plan = RunPlan {
        read,
        validate: ValidatePlan {
            schema: source.schema.clone(),
            fail_on_invalid: args.fail_on_invalid,
        },
        shape: ShapePlan {
            batch_size: body.batch_size,
            body,
            events,
            max_body_bytes,
            mode: args.mode,
            mirror,
        },
        deliver: deliver_plan(&delivery, args),
        repeat_shape: None,
    };
    Ok(PushRequest {
        run_id,
        plan,
        schema,
        to,
        delivery,
        force: args.force,
        replaces: args.replaces.clone(),
        knobs,
    })
}

/// What the bodies carry besides the rows.
fn body_context(args: &PushArgs, input: &Input, run_id: &str) -> Result<BodyContext> {
    let template_id = args.template_id.clone().unwrap_or_else(|| match input {
        Input::Stdin => "stdin".to_string(),
        Input::File(path) => path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "data".into()),
        // The last path segment without its extensions, as for a file.
        remote => remote
            .file_name()
            .and_then(|name| name.split('.').next().map(str::to_string))
            .filter(|stem| !stem.is_empty())
            .unwrap_or_else(|| "data".into()),
    });
    // valmi and GET carry one row per request: each row is its own batch in the outbox.
    let one_row_per_request = args.format == Format::Valmi || args.method == Method::Get;
    let batch_size = if one_row_per_request {
        1
    } else {
        args.batch_size
    };
    let (template, content_type) = template_and_type(args)?;
    Ok(BodyContext {
        template,
        content_type,
        nest: args.nest,
        template_id,
        user_id: args.user_id.clone(),
        metadata: parse_metadata(&args.metadata)?,
        format: args.format,
        method: args.method,
        mode: args.mode.name().to_string(),
        file_name: file_name(input),
        run_id: run_id.to_string(),
        batch_size,
    })
}

/// `--template`, read and parsed, and `--content-type`, checked: usage errors naming them.
fn template_and_type(args: &PushArgs) -> Result<(Option<BodyTemplate>, Option<String>)> {
    if let Some(content_type) = &args.content_type {
        let media = content_type.split(';').next().unwrap_or_default().trim();
        let (kind, sub) = media.split_once('/').unwrap_or_default();
        if kind.is_empty() || sub.is_empty() || HeaderValue::from_str(content_type).is_err() {
            return Err(usage(format!(
                "--content-type {content_type:?} is not a media type (like application/x-ndjson)"
            )));
        }
        if args.method == Method::Get {
            return Err(usage(
                "--content-type needs a body: it works with --method post",
            ));
        }
    }
    let Some(path) = &args.template else {
        return Ok((None, args.content_type.clone()));
    };
    if args.method == Method::Get {
        return Err(usage(
            "--template renders a body: it works with --method post",
        ));
    }
    if args.format != Format::Pulse {
        return Err(usage("--template replaces --format: give one or the other"));
    }
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|err| usage(format!("--template {file}: cannot read it ({err})")))?;
    let template = BodyTemplate {
        file,
        text,
        max_bytes: u64::MAX,
    };
    let content_type = args.content_type.as_deref().unwrap_or("application/json");
    template
        .check(content_type)
        .map_err(|err| usage(format!("{err:#}")))?;
    Ok((Some(template), args.content_type.clone()))
}

/// The input's file name, as impler's `fileName` and the default sync name carry it.
fn file_name(input: &Input) -> String {
    match input {
        Input::Stdin => "-".to_string(),
        other => other.file_name().unwrap_or_default(),
    }
}

/// Mirror mode's sync: `--sync`, else the URL (password masked) and the file name; none for a
/// push that is not a mirror and has no URL.
fn sync_name(args: &PushArgs, input: &Input, url: Option<&reqwest::Url>) -> Result<Option<String>> {
    match (&args.sync, url) {
        (Some(name), _) => Ok(Some(name.clone())),
        (None, Some(url)) => Ok(Some(format!(
            "{} {}",
            crate::redact::shown_url(url.as_str()),
            file_name(input)
        ))),
        (None, None) if args.mode == SyncMode::Mirror => Err(usage(
            "a mirror dry run without --url needs --sync NAME: the sync to compare with",
        )),
        (None, None) => Ok(None),
    }
}

/// The columns that identify a row in mirror mode: `--key`, else the schema's primaryKey.
fn mirror_key(args: &PushArgs, schema: Option<&crate::schema::Schema>) -> Result<Vec<String>> {
    if !args.key.is_empty() {
        return Ok(args.key.clone());
    }
    schema
        .map(|s| s.primary_key().to_vec())
        .filter(|key| !key.is_empty())
        .ok_or_else(|| usage("--mode mirror needs --key COL or a schema with a primaryKey"))
}

/// What the run keeps of how it is delivered: never a secret or an auth value. The secrets'
/// fingerprints are added once the signer is resolved.
fn deliver_plan(delivery: &DeliverySettings, args: &PushArgs) -> DeliverPlan {
    let (headers, credential_headers) = delivery.storable_headers();
    DeliverPlan {
        signing: match delivery.signing {
            Signing::Secrets(_) => SigningSource::Given,
            Signing::Generated { .. } => SigningSource::Generated,
            Signing::Unsigned => SigningSource::None,
        },
        secret_fingerprints: Vec::new(),
        auth_header_name: delivery.auth_header_name.clone(),
        headers,
        credential_headers,
        success_if: args.success_if.clone(),
        rejected_rows: args.rejected_rows.clone(),
        oauth2: delivery.oauth2.as_ref().map(|oauth2| OAuth2Plan {
            token_url: oauth2.token_url.to_string(),
            client_id: oauth2.client_id.clone(),
            scope: oauth2.scope.clone(),
            audience: oauth2.audience.clone(),
            auth_style: oauth2.client_auth.name().to_string(),
        }),
        destination: args.to.clone(),
    }
}
