//! `pulse receive`: a local webhook receiver for trying pulse and testing integrations. It
//! verifies Standard Webhooks signatures, prints a line per batch, notes duplicates, writes rows
//! with `--out`, and injects faults on request.

use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::cli::{ReceiveArgs, ReceiveSettings};
use crate::deliver::decode;
use crate::sign::Verifier;

/// Largest body `pulse receive` decodes: ten times pulse's default --max-body-size, far above
/// any batch pulse sends, and a stop for compression bombs.
const MAX_DECODED_BODY: u64 = 640 << 20;

/// Signatures older or newer than this are refused, as the reference libraries do.
const TIMESTAMP_TOLERANCE_SECS: i64 = 5 * 60;

/// What the receiver remembers between requests.
struct State {
    /// Requests seen per webhook-id, and whether one of them was accepted.
    seen: HashMap<String, (u32, bool)>,
    rng: ChaCha8Rng,
    out: Option<File>,
}

pub fn run(args: &ReceiveArgs, settings: ReceiveSettings) -> Result<()> {
    let settings = Arc::new(settings);
    let out = match &args.out {
        Some(path) => Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("--out {}: cannot open", path.display()))?,
        ),
        None => None,
    };
    let state = Arc::new(Mutex::new(State {
        seen: HashMap::new(),
        rng: match args.seed {
            Some(seed) => ChaCha8Rng::seed_from_u64(seed),
            None => ChaCha8Rng::from_entropy(),
        },
        out,
    }));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve(settings, state))
}

async fn serve(settings: Arc<ReceiveSettings>, state: Arc<Mutex<State>>) -> Result<()> {
    let addr = settings.addr;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    if settings.verifier.is_empty() {
        // Once, up front: every line below says "not verified" or "unsigned" too.
        crate::output::errln!(
            "pulse receive: warning: no --secret, --public-key, PULSE_SECRET or \
             PULSE_PUBLIC_KEY: signatures are not verified, every request is accepted"
        );
    }
    crate::output::outln!("pulse receive: listening on http://{local}/");
    crate::output::stdout().flush()?;
    loop {
        let (stream, _) = listener.accept().await?;
        let io = hyper_util::rt::TokioIo::new(stream);
        let settings = settings.clone();
        let state = state.clone();
        tokio::spawn(async move {
            let service =
                hyper::service::service_fn(move |req| handle(req, settings.clone(), state.clone()));
            // Errors here are dropped connections (injected or by the client): nothing to do.
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(io, service)
                .await;
        });
    }
}

/// An injected dropped connection: returning an error makes hyper close without answering.
#[derive(Debug)]
struct Dropped;
impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped on purpose")
    }
}
impl std::error::Error for Dropped {}

async fn handle(
    req: Request<Incoming>,
    settings: Arc<ReceiveSettings>,
    state: Arc<Mutex<State>>,
) -> Result<Response<Full<Bytes>>, Dropped> {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let id = header("webhook-id");
    let timestamp = header("webhook-timestamp");
    let signature = header("webhook-signature");
    let query = req.uri().query().map(str::to_string);
    let encoding = header("content-encoding").filter(|e| !e.eq_ignore_ascii_case("identity"));
    let body = match req.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return Err(Dropped),
    };
    let body = match decoded_body(encoding.as_deref(), body) {
        Ok(body) => body,
        Err(refusal) => return Ok(refuse(&settings, id.as_deref(), refusal)),
    };
    if let Some(delay) = settings.delay {
        tokio::time::sleep(delay).await;
    }
    let mut state = state.lock().expect("receiver state");
    if settings.drop_rate > 0.0 && state.rng.r#gen::<f64>() < settings.drop_rate {
        say(
            &settings,
            &format!("dropped connection {}", id.as_deref().unwrap_or("-")),
        );
        return Err(Dropped);
    }
    let signed_content = query.as_deref().map(str::as_bytes).unwrap_or(&body);
    let verified = match verified_signature(
        &settings.verifier,
        id.as_deref(),
        timestamp.as_deref(),
        signature.as_deref(),
        signed_content,
    ) {
        Ok(verified) => verified,
        Err(refusal) => return Ok(refuse(&settings, id.as_deref(), refusal)),
    };
    let key = id.clone().unwrap_or_default();
    let entry = state.seen.entry(key.clone()).or_insert((0, false));
    entry.0 += 1;
    let tries = entry.0;
    let duplicate = entry.1;
    let injected = injected_status(&settings, &mut state.rng, tries);
    if let Some(code) = injected.filter(|c| !(200..300).contains(c)) {
        say(
            &settings,
            &format!(
                "{code} {} (injected, try {tries})",
                id.as_deref().unwrap_or("-")
            ),
        );
        return Ok(answer(
            code,
            settings.retry_after.as_deref(),
            "{\"error\":\"injected failure\"}",
        ));
    }
    if !key.is_empty() {
        state.seen.get_mut(&key).expect("entry exists").1 = true;
    }
    let summary = describe_batch(&body);
    let mark = match (verified, signature.is_some()) {
        (Some(true), _) => "verified",
        // Signed, but this receiver has nothing to check the signature with.
        (_, true) => "not verified (no --secret)",
        (_, false) => "unsigned",
    };
    let dup = if duplicate { " duplicate" } else { "" };
    let encoded = encoding.map(|e| format!(" ({e})")).unwrap_or_default();
    say(
        &settings,
        &format!(
            "{summary} {mark} {}{dup}{encoded}",
            id.as_deref().unwrap_or("-")
        ),
    );
    if settings.print_bodies {
        let shown = query.as_deref().map(str::as_bytes).unwrap_or(&body);
        say(&settings, String::from_utf8_lossy(shown).trim_end());
    }
    if !duplicate
        && let Some(out) = state.out.as_mut()
        && let Err(err) = write_rows(out, &body)
    {
        crate::output::errln!("pulse receive: --out: {err}");
        return Ok(answer(500, None, "{\"error\":\"cannot write rows\"}"));
    }
    Ok(answer(injected.unwrap_or(200), None, &settings.answer))
}

/// The body as sent, decoded per its Content-Encoding (signatures cover the decoded body, as a
/// receiver's framework hands it on); or why an encoding that cannot be decoded is refused.
fn decoded_body(encoding: Option<&str>, body: Bytes) -> Result<Bytes, Refusal> {
    let Some(name) = encoding else {
        return Ok(body);
    };
    match decode(name, &body, MAX_DECODED_BODY) {
        Some(Ok(decoded)) => Ok(Bytes::from(decoded)),
        Some(Err(err)) => Err(Refusal {
            status: 400,
            why: format!("cannot decode the {name} body: {err}"),
        }),
        None => Err(Refusal {
            status: 415,
            why: format!("Content-Encoding {name:?} is not supported (gzip, zstd)"),
        }),
    }
}

/// `Some(true)` when the signature checks out, `None` when there is no `--secret` or
/// `--public-key` to check it with; or why a request whose signature does not check out is
/// refused.
fn verified_signature(
    verifier: &Verifier,
    id: Option<&str>,
    timestamp: Option<&str>,
    signature: Option<&str>,
    signed_content: &[u8],
) -> Result<Option<bool>, Refusal> {
    if verifier.is_empty() {
        return Ok(None);
    }
    match check_signature(verifier, id, timestamp, signature, signed_content) {
        Ok(()) => Ok(Some(true)),
        Err(why) => Err(Refusal { status: 401, why }),
    }
}

/// The status a fault injection asks for on this request (`tries` is how many requests this
/// webhook-id has made, this one included), if any.
fn injected_status(settings: &ReceiveSettings, rng: &mut ChaCha8Rng, tries: u32) -> Option<u16> {
    if let Some(code) = settings.always_status {
        Some(code)
    } else if tries <= settings.fail_first
        || (settings.fail_rate > 0.0 && rng.r#gen::<f64>() < settings.fail_rate)
    {
        Some(settings.fail_status)
    } else {
        None
    }
}

/// Why a request is refused: the status it is answered with, and the reason.
struct Refusal {
    status: u16,
    why: String,
}

/// Prints why a request is refused and answers it with the status and the reason as JSON.
fn refuse(settings: &ReceiveSettings, id: Option<&str>, refusal: Refusal) -> Response<Full<Bytes>> {
    let Refusal { status, why } = refusal;
    say(settings, &format!("{status} {}: {why}", id.unwrap_or("-")));
    answer(status, None, &format!("{{\"error\":{why:?}}}"))
}

fn say(settings: &ReceiveSettings, line: &str) {
    if !settings.quiet {
        crate::output::outln!("{line}");
    }
}

fn answer(status: u16, retry_after: Option<&str>, body: &str) -> Response<Full<Bytes>> {
    let mut response = Response::builder()
        .status(status)
        .header("content-type", "application/json");
    if let Some(value) = retry_after {
        response = response.header("retry-after", value);
    }
    response
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("valid response")
}

/// Verifies the three Standard Webhooks headers; the error says which part is wrong.
fn check_signature(
    verifier: &Verifier,
    id: Option<&str>,
    timestamp: Option<&str>,
    signature: Option<&str>,
    content: &[u8],
) -> Result<(), String> {
    let (Some(id), Some(timestamp), Some(signature)) = (id, timestamp, signature) else {
        return Err("missing webhook-id, webhook-timestamp or webhook-signature".into());
    };
    let ts: i64 = timestamp
        .parse()
        .map_err(|_| "bad webhook-timestamp".to_string())?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    if (now - ts).abs() > TIMESTAMP_TOLERANCE_SECS {
        return Err("webhook-timestamp too far from now".into());
    }
    if verifier.verify(signature, id, ts, content) {
        Ok(())
    } else {
        Err("signature does not match".into())
    }
}

/// `all 2/5 5000 rows` for pulse bodies; a byte count for anything else.
fn describe_batch(body: &[u8]) -> String {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return format!("{} bytes", body.len());
    };
    let rows = value["data"].as_array().map(Vec::len);
    match (
        value["event_name"].as_str(),
        value["index"].as_u64(),
        value["count"].as_u64(),
        rows,
    ) {
        (Some(name), Some(index), Some(count), Some(rows)) => {
            format!(
                "{name} {index}/{count} {}",
                crate::plural::count(rows as u64, "row", "rows")
            )
        }
        _ => format!("{} bytes", body.len()),
    }
}

/// Appends the rows of a body (its `data` array, or the body itself) as JSON lines.
fn write_rows(out: &mut File, body: &[u8]) -> std::io::Result<()> {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return Ok(());
    };
    let mut buf = Vec::new();
    match value.get("data").and_then(|d| d.as_array()) {
        Some(rows) => {
            for row in rows {
                serde_json::to_writer(&mut buf, row)?;
                buf.push(b'\n');
            }
        }
        None => {
            serde_json::to_writer(&mut buf, &value)?;
            buf.push(b'\n');
        }
    }
    out.write_all(&buf)
}
