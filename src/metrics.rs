//! A run's metrics in Prometheus' text format (`--metrics-file`, `--push-gateway`): rows,
//! batches, requests by status, request durations, retries, the run's duration and each
//! destination's last success. Off unless a command asks for them (`start`): then every call
//! below is one relaxed atomic load. On, they are counted under one mutex (a few hundred
//! nanoseconds per attempt, nothing per row), written to the file every few seconds by a
//! thread of its own and once more at the end (`finish`), each time whole: into a temporary
//! file beside it, then renamed over it, so that node_exporter's textfile collector never reads
//! half a file.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};

/// How often the file is written during a run.
const WRITE_EVERY: Duration = Duration::from_secs(2);

/// Upper bounds of the request duration histogram's buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

static ON: AtomicBool = AtomicBool::new(false);
static STATE: OnceLock<State> = OnceLock::new();

struct State {
    file: Option<PathBuf>,
    gateway: Option<String>,
    started: Instant,
    counts: Mutex<Counts>,
}

#[derive(Default)]
struct Counts {
    /// (event, outcome) -> rows.
    rows: BTreeMap<(String, &'static str), u64>,
    /// outcome -> batches.
    batches: BTreeMap<&'static str, u64>,
    /// status code (or `error` for no answer) -> requests.
    requests: BTreeMap<String, u64>,
    /// Requests per bucket (not cumulative; the last one is +Inf), and their sum and count.
    durations: [u64; BUCKETS.len() + 1],
    duration_sum: f64,
    retries: u64,
    /// destination -> Unix time of its last delivered batch.
    last_success: BTreeMap<String, f64>,
}

/// What a command asked for: a file to keep written, a Pushgateway to send to at the end.
pub fn start(file: Option<&Path>, gateway: Option<&str>) -> Result<()> {
    if file.is_none() && gateway.is_none() {
        return Ok(());
    }
    if let Some(file) = file {
        // Said now rather than at the end: a directory that is not there is the flag's mistake.
        let dir = parent_of(file);
        if !dir.is_dir() {
            return Err(crate::exit::usage(format!(
                "--metrics-file {}: {} is not a directory",
                file.display(),
                dir.display()
            )));
        }
    }
    let state = State {
        file: file.map(Path::to_path_buf),
        gateway: gateway.map(str::to_string),
        started: Instant::now(),
        counts: Mutex::new(Counts::default()),
    };
    if STATE.set(state).is_err() {
        return Ok(());
    }
    ON.store(true, Ordering::Relaxed);
    if let Some(file) = file {
        write_file(file).with_context(|| format!("--metrics-file {}", file.display()))?;
        std::thread::Builder::new()
            .name("pulse-metrics".into())
            .spawn(|| loop {
                std::thread::sleep(WRITE_EVERY);
                if let Some(file) = STATE.get().and_then(|s| s.file.as_deref()) {
                    // A failed write is tried again at the next tick and at the end.
                    let _ = write_file(file);
                }
            })
            .context("cannot start the metrics writer")?;
    }
    Ok(())
}

fn counts() -> Option<std::sync::MutexGuard<'static, Counts>> {
    if !ON.load(Ordering::Relaxed) {
        return None;
    }
    let state = STATE.get()?;
    Some(
        state
            .counts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()),
    )
}

/// One request's answer (`None`: none came) and how long it took; `retried`: another try follows.
pub fn request(status: Option<u16>, took: Duration, retried: bool) {
    let Some(mut counts) = counts() else { return };
    let code = status.map_or_else(|| "error".to_string(), |s| s.to_string());
    *counts.requests.entry(code).or_default() += 1;
    let seconds = took.as_secs_f64();
    let bucket = BUCKETS
        .iter()
        .position(|&le| seconds <= le)
        .unwrap_or(BUCKETS.len());
    counts.durations[bucket] += 1;
    counts.duration_sum += seconds;
    counts.retries += u64::from(retried);
}

/// How a batch of `event` ended: `delivered` (its `rejected` rows refused by the receiver),
/// `failed`; and where it went.
pub fn batch(event: &str, outcome: &'static str, (rows, rejected): (u64, u64), destination: &str) {
    let Some(mut counts) = counts() else { return };
    *counts.batches.entry(outcome).or_default() += 1;
    let rows_outcome = if outcome == "delivered" {
        "delivered"
    } else {
        "failed"
    };
    *counts
        .rows
        .entry((event.to_string(), rows_outcome))
        .or_default() += rows - rejected.min(rows);
    if rejected > 0 {
        *counts
            .rows
            .entry((event.to_string(), "rejected"))
            .or_default() += rejected;
    }
    if outcome == "delivered" {
        counts
            .last_success
            .insert(destination.to_string(), unix_now());
    }
}

/// Writes the file a last time and sends the metrics to the Pushgateway, if asked for; a
/// failure is a warning (the run's outcome is what it was).
pub fn finish() {
    let Some(state) = STATE.get() else { return };
    if let Some(file) = &state.file
        && let Err(err) = write_file(file)
    {
        crate::output::errln!("pulse: warning: --metrics-file {}: {err:#}", file.display());
    }
    if let Some(gateway) = &state.gateway
        && let Err(err) = push_to_gateway(gateway, &render())
    {
        crate::output::errln!(
            "pulse: warning: --push-gateway {}: {err:#}",
            crate::redact::shown_url(gateway)
        );
    }
}

/// The metrics now, in Prometheus' text format.
pub fn render() -> String {
    let Some(state) = STATE.get() else {
        return String::new();
    };
    let counts = state.counts.lock().unwrap_or_else(|p| p.into_inner());
    let mut text = section(
        "pulse_rows_total",
        "counter",
        "Rows sent, by event and outcome (delivered, failed, rejected by the receiver).",
        counts.rows.iter().map(|((event, outcome), n)| {
            (
                format!("event=\"{}\",outcome=\"{outcome}\"", label(event)),
                n.to_string(),
            )
        }),
    );
    text.push_str(&section(
        "pulse_batches_total",
        "counter",
        "Batches, by outcome.",
        counts
            .batches
            .iter()
            .map(|(o, n)| (format!("outcome=\"{o}\""), n.to_string())),
    ));
    text.push_str(&section(
        "pulse_requests_total",
        "counter",
        "Requests, by the status code answered (error: no answer).",
        counts
            .requests
            .iter()
            .map(|(c, n)| (format!("code=\"{c}\""), n.to_string())),
    ));
    text.push_str(&histogram(&counts));
    text.push_str(&section(
        "pulse_retries_total",
        "counter",
        "Requests tried again after a failed attempt.",
        std::iter::once((String::new(), counts.retries.to_string())),
    ));
    text.push_str(&section(
        "pulse_run_duration_seconds",
        "gauge",
        "Seconds since the command started.",
        std::iter::once((
            String::new(),
            format!("{:.3}", state.started.elapsed().as_secs_f64()),
        )),
    ));
    text.push_str(&section(
        "pulse_last_success_timestamp_seconds",
        "gauge",
        "When a batch was last delivered to the destination (Unix time).",
        counts
            .last_success
            .iter()
            .map(|(d, t)| (format!("destination=\"{}\"", label(d)), format!("{t:.3}"))),
    ));
    text
}

/// A family's HELP and TYPE lines and one line per (labels, value).
fn section(
    name: &str,
    kind: &str,
    help: &str,
    samples: impl Iterator<Item = (String, String)>,
) -> String {
    let mut out = format!("# HELP {name} {help}\n# TYPE {name} {kind}\n");
    for (labels, value) in samples {
        if labels.is_empty() {
            let _ = writeln!(out, "{name} {value}");
        } else {
            let _ = writeln!(out, "{name}{{{labels}}} {value}");
        }
    }
    out
}

fn histogram(counts: &Counts) -> String {
    let name = "pulse_request_duration_seconds";
    let mut out = format!(
        "# HELP {name} How long requests took, from sending to the answer's end.\n# TYPE {name} histogram\n"
    );
    let mut cumulative = 0;
    for (le, n) in BUCKETS.iter().zip(counts.durations) {
        cumulative += n;
        let _ = writeln!(out, "{name}_bucket{{le=\"{le}\"}} {cumulative}");
    }
    cumulative += counts.durations[BUCKETS.len()];
    let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {cumulative}");
    let _ = writeln!(out, "{name}_sum {:.6}", counts.duration_sum);
    let _ = writeln!(out, "{name}_count {cumulative}");
    out
}

/// A label value as the text format escapes it.
pub fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn parent_of(file: &Path) -> &Path {
    match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Writes the metrics whole into a temporary file beside `file`, then renames it over `file`.
fn write_file(file: &Path) -> Result<()> {
    write_whole(file, &render())
}

/// Writes `text` into a temporary file beside `file`, then renames it over `file`: a reader
/// sees the old file or the new one, never half of one.
pub fn write_whole(file: &Path, text: &str) -> Result<()> {
    let mut temporary = tempfile::Builder::new()
        .prefix(".pulse-metrics")
        .tempfile_in(parent_of(file))
        .context("cannot create a temporary file beside it")?;
    std::io::Write::write_all(&mut temporary, text.as_bytes()).context("cannot write")?;
    // Readable by the collector, as a file written with the usual umask would be.
    let _ = std::fs::set_permissions(
        temporary.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    );
    temporary
        .persist(file)
        .map_err(|err| err.error)
        .context("cannot rename it into place")?;
    Ok(())
}

/// Sends the metrics to a Pushgateway (`PUT URL/metrics/job/pulse`), within 10 seconds.
fn push_to_gateway(gateway: &str, text: &str) -> Result<()> {
    let url = format!("{}/metrics/job/pulse", gateway.trim_end_matches('/'));
    let body = text.to_string();
    std::thread::spawn(move || -> Result<()> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async move {
            let answer = reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()?
                .put(&url)
                .header("content-type", "text/plain; version=0.0.4")
                .body(body)
                .send()
                .await?;
            let status = answer.status();
            if !status.is_success() {
                anyhow::bail!("the gateway answered {status}");
            }
            Ok(())
        })
    })
    .join()
    .map_err(|_| anyhow::anyhow!("the push thread panicked"))?
}
