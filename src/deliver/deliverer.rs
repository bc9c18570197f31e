//! Sending batches: sign, POST, classify, retry per policy, and record every attempt before the
//! next one starts. One request in flight by default, in order; with `--concurrency N`, up to N
//! batches in flight, each still recorded attempt by attempt.
//!
//! Concurrency is a `FuturesUnordered` of per-batch futures on the current-thread runtime, not
//! threads: the log connection is used between awaits only (a `RefCell`, never borrowed across
//! one), so each attempt and its mark stay one transaction on one connection.

use std::cell::{Cell, RefCell};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result};
use futures_util::stream::{FuturesUnordered, StreamExt};
use reqwest::header::{
    HeaderMap, HeaderName, HeaderValue, CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER, USER_AGENT,
};
use reqwest::Client;

use super::body_loader::{BodyLoader, BodyMaker, PreparedBody};
use super::compress::BodyCompression;
use super::rate::RateLimiter;
use super::retry::{parse_retry_after, RetryPolicy, StatusPolicy, Verdict};
use super::settings::{DeliverySettings, ExtraHeader, OnFailure};
use crate::exit::{usage, DeliveryError, InterruptedError};
use crate::payload::{BodyContext, Method};
use crate::progress::Progress;
use crate::redact::{shown_url, Redactor};
use crate::sign::{unix_now, Signature, Signer};
use crate::store::{
    AttemptRecord, BatchRef, EventRecord, Store, WalRestart, RESPONSE_SNIPPET_BYTES,
};

/// Batches sent between two checkpoints of the log: each attempt's commit adds a few 64 KiB
/// pages to the WAL, so this keeps it near 16 MB.
const CHECKPOINT_BATCHES: usize = 64;

/// Batches between two looks at the WAL's size (`Store::rein_in_wal`): a `stat` each.
const REIN_IN_BATCHES: u64 = 16;

/// Delivery settings of one run, resend or resume.
pub struct Deliverer {
    client: Client,
    /// Drives the client on the sending thread itself. The blocking client hands every request
    /// to a thread of its own and waits for the answer there: two thread wake-ups per batch,
    /// each delayed while the body loaders keep both cores busy (bench/README.md).
    runtime: tokio::runtime::Runtime,
    url: reqwest::Url,
    /// The URL as the log keeps it: its password masked.
    shown_url: String,
    /// Credentials this deliverer sends, replaced wherever a receiver echoes them back.
    redactor: Redactor,
    signer: Signer,
    headers: Vec<ExtraHeader>,
    retry: RetryPolicy,
    statuses: StatusPolicy,
    /// Most batches in flight at once.
    concurrency: usize,
    rate: Option<RateLimiter>,
    compress: Option<BodyCompression>,
    on_failure: OnFailure,
    /// Whether answers change batch status: not when resending to another URL than the run's.
    updates_status: bool,
}

/// One sending loop's shared state: its batches' futures take turns on one thread.
struct Sending<'a> {
    store: RefCell<&'a mut Store>,
    method: Method,
    progress: &'a Progress,
    /// Set when the run stops (a batch failed for good, an error, a signal): batches in flight
    /// finish their current attempt and try no more.
    stopping: Cell<bool>,
}

/// How one batch's sending ended.
enum Sent {
    Delivered {
        attempts: u64,
        rows: u64,
    },
    /// Failed for good, and marked failed.
    Failed {
        attempts: u64,
        /// Its place in the plan.
        position: usize,
        what: String,
        error: anyhow::Error,
        endpoint_gone: bool,
    },
    /// Left undelivered because the run stopped before its next try.
    Abandoned {
        attempts: u64,
    },
}

/// What a delivery pass did.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct DeliveryReport {
    pub batches_delivered: u64,
    pub batches_failed: u64,
    pub rows_delivered: u64,
    pub attempts: u64,
}

/// The result of one HTTP exchange.
struct Exchange {
    status: u16,
    retry_after: Option<Duration>,
    error: Option<String>,
    response: Option<String>,
    /// Without a response: what went wrong in a few words (`connection refused`), for a retry
    /// note that fits on one terminal line.
    failure: Option<String>,
}

impl Deliverer {
    /// A deliverer for `url` signing with `signer`.
    pub fn new(url: reqwest::Url, signer: Signer, config: &DeliverySettings) -> Result<Deliverer> {
        // The operating system's trust store is added to the bundled roots (the reqwest
        // feature `rustls-tls-native-roots`; it reads SSL_CERT_FILE and SSL_CERT_DIR too), and
        // HTTPS_PROXY, HTTP_PROXY and NO_PROXY are honoured (reqwest's system proxy).
        let mut builder = Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            // Redirects are reported, never followed: a webhook that moved is a misconfiguration.
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(std::sync::Arc::new(super::dns::SystemResolver))
            // Reading the system store costs a few milliseconds at start-up: only for https.
            .tls_built_in_native_certs(url.scheme() == "https");
        if let Some(path) = &config.cacert {
            let pem = std::fs::read(path)
                .with_context(|| format!("--cacert {}: cannot read", path.display()))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .ok()
                .filter(|certs| !certs.is_empty())
                .ok_or_else(|| {
                    usage(format!(
                        "--cacert {}: no PEM certificate in it",
                        path.display()
                    ))
                })?;
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        if let Some(cert) = &config.client_cert {
            builder = builder.identity(client_identity(cert, config.client_key.as_deref())?);
        }
        if config.insecure {
            eprintln!("pulse: warning: --insecure: TLS certificates are NOT verified");
            builder = builder.danger_accept_invalid_certs(true);
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot set up the HTTP client")?;
        // Built inside the runtime, which the client's connection pool belongs to.
        let client = runtime
            .block_on(async { builder.build() })
            .context("cannot set up the HTTP client")?;
        Ok(Deliverer {
            client,
            runtime,
            shown_url: shown_url(url.as_str()),
            redactor: config.redactor(&url, signer.secrets()),
            url,
            signer,
            headers: config.headers.clone(),
            retry: config.retry.clone(),
            statuses: config.statuses.clone(),
            concurrency: config.concurrency.max(1),
            rate: config.rate.map(RateLimiter::new),
            compress: config.compress,
            on_failure: config.on_failure,
            updates_status: true,
        })
    }

    /// Attempts are still recorded, but a 2xx no longer marks a batch delivered nor a final
    /// failure marks it failed: for resending to a URL that is not the run's own.
    pub fn without_status_updates(mut self) -> Deliverer {
        self.updates_status = false;
        self
    }

    /// Delivers the undelivered batches of `events` in order (up to `--concurrency` at once),
    /// stopping at the first batch that finally fails unless failures are skipped.
    pub fn deliver(
        &self,
        store: &mut Store,
        ctx: &BodyContext,
        events: &[EventRecord],
        progress: &Progress,
    ) -> Result<DeliveryReport> {
        let mut report = DeliveryReport::default();
        let mut plan = Vec::new();
        let mut done = 0;
        for event in events {
            for batch in store.batches_of_event(&event.id)? {
                if batch.delivered {
                    done += 1;
                } else {
                    plan.push((event.clone(), batch));
                }
            }
        }
        progress.delivered(done, 0);
        self.send_all(store, ctx, &plan, done, progress, &mut report)?;
        Ok(report)
    }

    /// Sends `plan` in order, up to `concurrency` requests at once; the next bodies are built
    /// (read, decompressed, wrapped, signed) on loader threads while requests are in flight.
    fn send_all(
        &self,
        store: &mut Store,
        ctx: &BodyContext,
        plan: &[(EventRecord, BatchRef)],
        done_before: u64,
        progress: &Progress,
        report: &mut DeliveryReport,
    ) -> Result<()> {
        let mut bodies = BodyLoader::start(store, self.body_maker(ctx), plan)?;
        store.with_checkpointer(WalRestart::ByCheckpointer, |store, checkpointer| {
            let sending = Sending {
                store: RefCell::new(store),
                method: ctx.method,
                progress,
                stopping: Cell::new(false),
            };
            let mut delivered = done_before;
            let outcome = self.runtime.block_on(self.send_plan(
                &sending,
                &mut bodies,
                plan,
                report,
                |report: &DeliveryReport, store: &Store| {
                    delivered += 1;
                    progress.delivered(delivered, report.rows_delivered);
                    if delivered.is_multiple_of(REIN_IN_BATCHES) {
                        store.rein_in_wal();
                    }
                    if delivered.is_multiple_of(CHECKPOINT_BATCHES as u64) {
                        checkpointer.nudge();
                    }
                },
            ));
            progress.in_flight(0);
            outcome
        })
    }

    /// The sending loop: keeps up to `concurrency` batches in flight, each trying until it is
    /// delivered, fails for good, or the run stops. A batch that fails stops the run (its
    /// batches in flight finish their current attempt and try no more), or with
    /// `--on-failure skip` is left failed while the others go on.
    async fn send_plan(
        &self,
        sending: &Sending<'_>,
        bodies: &mut BodyLoader,
        plan: &[(EventRecord, BatchRef)],
        report: &mut DeliveryReport,
        mut on_delivered: impl FnMut(&DeliveryReport, &Store),
    ) -> Result<()> {
        let mut pending = plan.iter().enumerate();
        let mut in_flight = FuturesUnordered::new();
        let mut stop: Option<anyhow::Error> = None;
        let mut skipped = Vec::new();
        loop {
            while stop.is_none() && in_flight.len() < self.concurrency {
                let Some((position, (event, batch))) = pending.next() else {
                    break;
                };
                let body = if crate::signals::interrupted() {
                    Err(interrupted_before(&describe_batch(event, batch)))
                } else {
                    bodies.next_body(&sending.store.borrow(), event, batch)
                };
                match body {
                    Ok(body) => {
                        in_flight.push(self.deliver_batch(sending, position, event, batch, body))
                    }
                    Err(err) => {
                        // The batches in flight finish their current attempt, and no more.
                        sending.stopping.set(true);
                        stop = Some(err);
                    }
                }
            }
            sending.progress.in_flight(in_flight.len());
            let Some(sent) = in_flight.next().await else {
                break;
            };
            match sent {
                Ok(Sent::Delivered { attempts, rows }) => {
                    report.attempts += attempts;
                    report.batches_delivered += 1;
                    report.rows_delivered += rows;
                    on_delivered(report, &sending.store.borrow());
                }
                Ok(Sent::Failed {
                    attempts,
                    position,
                    what,
                    error,
                    endpoint_gone,
                }) => {
                    report.attempts += attempts;
                    report.batches_failed += 1;
                    if self.on_failure == OnFailure::Skip && !endpoint_gone {
                        sending
                            .progress
                            .note(&format!("{error}; going on (--on-failure skip)"));
                        skipped.push((position, what));
                    } else if stop.is_none() {
                        sending.stopping.set(true);
                        stop = Some(error);
                    }
                }
                Ok(Sent::Abandoned { attempts }) => report.attempts += attempts,
                Err(err) => {
                    sending.stopping.set(true);
                    stop.get_or_insert(err);
                }
            }
        }
        if let Some(err) = stop {
            return Err(err);
        }
        if !skipped.is_empty() {
            // Listed in the run's order, not the order their failures came in.
            skipped.sort_unstable();
            let skipped: Vec<String> = skipped.into_iter().map(|(_, what)| what).collect();
            return Err(DeliveryError(skipped_text(&skipped)).into());
        }
        Ok(())
    }

    /// Sends the given batches in order whatever their status (resend), stopping at the first
    /// that finally fails. A delivered batch stays delivered whatever the answer.
    pub fn resend(
        &self,
        store: &mut Store,
        ctx: &BodyContext,
        batches: &[(EventRecord, BatchRef)],
        progress: &Progress,
        report: &mut DeliveryReport,
    ) -> Result<()> {
        self.send_all(store, ctx, batches, 0, progress, report)
    }

    /// What the body loaders need to build and sign this deliverer's bodies.
    fn body_maker(&self, ctx: &BodyContext) -> BodyMaker {
        BodyMaker {
            ctx: ctx.clone(),
            url_query: self.url.query().map(str::to_string),
            signer: self.signer.clone(),
            // A GET request has no body to encode.
            compress: self.compress.filter(|_| ctx.method == Method::Post),
        }
    }

    /// Sends one batch until it is delivered, retries run out, the answer is final, or the run
    /// stops. Every attempt is recorded before the next one starts.
    async fn deliver_batch(
        &self,
        sending: &Sending<'_>,
        position: usize,
        event: &EventRecord,
        batch: &BatchRef,
        body: PreparedBody,
    ) -> Result<Sent> {
        let method = sending.method;
        let PreparedBody {
            content,
            wire,
            mut signed,
        } = body;
        let what = describe_batch(event, batch);
        let mut retry = 0;
        let mut attempts = 0;
        loop {
            if crate::signals::interrupted() {
                return Err(interrupted_before(&what));
            }
            if sending.stopping.get() {
                return Ok(Sent::Abandoned { attempts });
            }
            if let Some(rate) = &self.rate {
                if !rate.wait_turn().await {
                    return Err(interrupted_before(&what));
                }
            }
            let started_at = crate::store::now_ms();
            let clock = Instant::now();
            // A signature made ahead is used while its second is current; retries sign anew.
            // It covers the decoded body, whatever the encoding on the wire.
            let signature = match signed.take() {
                Some(early) if unix_now() - early.timestamp <= 1 => Some(early),
                _ => self.signer.sign_now(&batch.id, &content),
            };
            let (headers, logged_headers) = self.request_headers(&batch.id, method, signature)?;
            let exchange = self.exchange(method, headers, wire.clone()).await;
            let exchange = self.without_credentials(exchange);
            let verdict = self
                .statuses
                .classify(exchange.status, exchange.retry_after);
            let delivered = verdict == Verdict::Delivered;
            attempts += 1;
            let recorded = sending.store.borrow_mut().record_attempt(
                &AttemptRecord {
                    batch_id: &batch.id,
                    started_at,
                    duration_ms: clock.elapsed().as_millis() as i64,
                    url: &self.shown_url,
                    http_status: exchange.status,
                    error: exchange.error.clone(),
                    response: exchange.response.clone(),
                    request_headers: logged_headers,
                },
                delivered && self.updates_status,
            );
            recorded.map_err(|err| {
                if delivered {
                    // The receiver has it; the log does not say so. Resume sends it again
                    // under the same webhook-id, which receivers deduplicate by.
                    err.context(format!(
                        "{what} was delivered (HTTP {}) but could not be recorded; `pulse \
                         resume` sends it again under the same webhook-id",
                        exchange.status
                    ))
                } else {
                    err
                }
            })?;
            let problem = describe(&exchange);
            let give_up = |why: &str| -> Result<Sent> {
                self.mark_failed(&sending.store.borrow(), &batch.id)?;
                Ok(Sent::Failed {
                    attempts,
                    position,
                    error: DeliveryError(format!("{what} failed{why}")).into(),
                    what: what.clone(),
                    endpoint_gone: verdict == Verdict::Gone,
                })
            };
            match verdict {
                Verdict::Delivered => {
                    return Ok(Sent::Delivered {
                        attempts,
                        rows: batch.rows,
                    })
                }
                Verdict::Retryable { retry_after } => {
                    retry += 1;
                    let Some(wait) = self.retry.delay_before(retry, retry_after) else {
                        let tries = if retry > 1 {
                            format!(" after {retry} attempts")
                        } else {
                            String::new()
                        };
                        return give_up(&format!("{tries}: {problem}"));
                    };
                    // Short enough for one terminal line: the status, not the body.
                    let status = match exchange.status {
                        0 => exchange
                            .failure
                            .clone()
                            .unwrap_or_else(|| "network error".into()),
                        code => format!("HTTP {code}"),
                    };
                    sending.progress.waiting(&format!(
                        "batch {}/{} ({}): {status}, retry {retry}/{} in {:.1}s",
                        batch.idx,
                        event.batch_count,
                        event.name,
                        self.retry.max_retries,
                        wait.as_secs_f64()
                    ));
                    match pause(wait, &sending.stopping).await {
                        Pause::Over => {}
                        Pause::Stopping => return Ok(Sent::Abandoned { attempts }),
                        Pause::Interrupted => {
                            return Err(InterruptedError(format!(
                                "{} while waiting to retry {what}",
                                crate::signals::stopped()
                            ))
                            .into())
                        }
                    }
                }
                Verdict::Fatal | Verdict::Gone => {
                    let why = if verdict == Verdict::Gone {
                        " (410: the endpoint is gone)"
                    } else if (300..400).contains(&exchange.status) {
                        " (redirects are not followed)"
                    } else {
                        ""
                    };
                    return give_up(&format!(": {problem}{why}"));
                }
            }
        }
    }

    /// The exchange with every credential this deliverer sends taken out of what the receiver
    /// said (a receiver may echo request headers): it is stored and printed.
    fn without_credentials(&self, mut exchange: Exchange) -> Exchange {
        for text in [&mut exchange.response, &mut exchange.error]
            .into_iter()
            .flatten()
        {
            if let std::borrow::Cow::Owned(clean) = self.redactor.redact(text) {
                *text = clean;
            }
        }
        exchange
    }

    fn mark_failed(&self, store: &Store, batch_id: &str) -> Result<()> {
        if self.updates_status {
            store.mark_batch_failed(batch_id)?;
        }
        Ok(())
    }

    /// The request headers, and their JSON for the log with secret values redacted.
    fn request_headers(
        &self,
        webhook_id: &str,
        method: Method,
        signature: Option<Signature>,
    ) -> Result<(HeaderMap, String)> {
        let mut headers = HeaderMap::new();
        let mut logged = serde_json::Map::new();
        let planned = RequestHeaders {
            method,
            compress: self.compress,
            extra: &self.headers,
        };
        for (name, value, secret) in planned.list(webhook_id, signature.as_ref())? {
            logged.insert(
                name.as_str().to_string(),
                shown_value(&value, secret).into(),
            );
            headers.insert(name, value);
        }
        Ok((headers, serde_json::Value::Object(logged).to_string()))
    }

    /// One request: POST with `content` as the body, or GET with `content` as the whole query.
    async fn exchange(
        &self,
        method: Method,
        headers: HeaderMap,
        content: bytes::Bytes,
    ) -> Exchange {
        let request = match method {
            Method::Post => self.client.post(self.url.clone()).body(content),
            Method::Get => {
                let mut url = self.url.clone();
                url.set_query(Some(&String::from_utf8_lossy(&content)));
                self.client.get(url)
            }
        };
        {
            let response = match request.headers(headers).send().await {
                Ok(response) => response,
                Err(err) => {
                    return Exchange {
                        status: 0,
                        retry_after: None,
                        error: Some(network_error_text(&err)),
                        response: None,
                        failure: Some(network_error_kind(&err)),
                    }
                }
            };
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| parse_retry_after(v, SystemTime::now()));
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(|v| format!(" to {v}"));
            let (snippet, read) = read_snippet(response).await;
            let error = match (read, (300..400).contains(&status)) {
                (Err(err), _) => Some(format!(
                    "reading the response: {}",
                    network_error_text(&err)
                )),
                (Ok(()), true) => Some(format!("redirect{}", location.unwrap_or_default())),
                _ => None,
            };
            Exchange {
                status,
                retry_after,
                error,
                response: Some(String::from_utf8_lossy(&snippet).into_owned()),
                failure: None,
            }
        }
    }
}

/// `--cert` (and `--cert-key`, unless the key is in the same file): the client certificate
/// for servers that ask for one (mutual TLS).
fn client_identity(
    cert: &std::path::Path,
    key: Option<&std::path::Path>,
) -> Result<reqwest::Identity> {
    let mut pem =
        std::fs::read(cert).with_context(|| format!("--cert {}: cannot read", cert.display()))?;
    if let Some(key) = key {
        let key_pem = std::fs::read(key)
            .with_context(|| format!("--cert-key {}: cannot read", key.display()))?;
        pem.push(b'\n');
        pem.extend_from_slice(&key_pem);
    }
    // The error text may quote the PEM parser, never the key itself.
    reqwest::Identity::from_pem(&pem).map_err(|_| {
        usage(format!(
            "--cert {}: not a PEM certificate with its private key (give the key with --cert-key)",
            cert.display()
        ))
    })
}

/// How a wait before a retry ended.
enum Pause {
    Over,
    /// The run is stopping: no retry.
    Stopping,
    Interrupted,
}

/// Waits `wait`, waking early when the run stops or pulse is interrupted.
async fn pause(wait: Duration, stopping: &Cell<bool>) -> Pause {
    let until = Instant::now() + wait;
    loop {
        if crate::signals::interrupted() {
            return Pause::Interrupted;
        }
        if stopping.get() {
            return Pause::Stopping;
        }
        let now = Instant::now();
        if now >= until {
            return Pause::Over;
        }
        tokio::time::sleep((until - now).min(Duration::from_millis(50))).await;
    }
}

/// `batch 3/10 of event all (msg_...)`: how errors name a batch.
fn describe_batch(event: &EventRecord, batch: &BatchRef) -> String {
    format!(
        "batch {}/{} of event {} ({})",
        batch.idx, event.batch_count, event.name, batch.id
    )
}

fn interrupted_before(what: &str) -> anyhow::Error {
    InterruptedError(format!("{} before {what}", crate::signals::stopped())).into()
}

/// The error at the end of a run that skipped failed batches: how many, and which.
fn skipped_text(skipped: &[String]) -> String {
    const LISTED: usize = 10;
    let count = skipped.len();
    let mut text = format!(
        "{count} batch{} failed and {} skipped (--on-failure skip): {}",
        if count == 1 { "" } else { "es" },
        if count == 1 { "was" } else { "were" },
        skipped[..count.min(LISTED)].join(", ")
    );
    if count > LISTED {
        text.push_str(&format!(
            ", and {} more (`pulse log --failed`)",
            count - LISTED
        ));
    }
    text
}

/// The first `RESPONSE_SNIPPET_BYTES` of a response body; the rest is not read.
async fn read_snippet(mut response: reqwest::Response) -> (Vec<u8>, reqwest::Result<()>) {
    let mut snippet = Vec::new();
    while snippet.len() < RESPONSE_SNIPPET_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = RESPONSE_SNIPPET_BYTES - snippet.len();
                snippet.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            Ok(None) => break,
            Err(err) => return (snippet, Err(err)),
        }
    }
    (snippet, Ok(()))
}

/// One line on what went wrong with an exchange: status and response start, or the network error.
fn describe(exchange: &Exchange) -> String {
    if exchange.status == 0 {
        return exchange
            .error
            .clone()
            .unwrap_or_else(|| "network error".into());
    }
    let mut text = format!("HTTP {}", exchange.status);
    if let Some(err) = &exchange.error {
        text.push_str(&format!(" ({err})"));
    }
    let snippet = exchange.response.as_deref().unwrap_or("").trim();
    if !snippet.is_empty() {
        let short: String = snippet.chars().take(200).collect();
        text.push_str(&format!(": {}", short.replace(['\n', '\r'], " ")));
    }
    text
}

/// What the headers of a request depend on, besides its batch and signature.
pub struct RequestHeaders<'a> {
    pub method: Method,
    pub compress: Option<BodyCompression>,
    /// `--header` values and the auth header.
    pub extra: &'a [ExtraHeader],
}

impl RequestHeaders<'_> {
    /// The headers pulse sets on a request, in the order it sets them, each marked when its
    /// value is a credential: content type and encoding (POST), user agent, the Standard
    /// Webhooks headers (timestamp and signature when signed), then `--header` and the auth
    /// header. The HTTP client adds `Host`, `Accept` and `Content-Length`.
    pub fn list(
        &self,
        webhook_id: &str,
        signature: Option<&Signature>,
    ) -> Result<Vec<(HeaderName, HeaderValue, bool)>> {
        // The id comes from the log: a damaged one is an error, not a panic.
        let id = HeaderValue::from_str(webhook_id)
            .map_err(|_| anyhow::anyhow!("batch id {webhook_id:?} in the log is damaged"))?;
        let mut headers = Vec::with_capacity(6 + self.extra.len());
        if self.method == Method::Post {
            let json = HeaderValue::from_static("application/json");
            headers.push((CONTENT_TYPE, json, false));
            if let Some(compress) = self.compress {
                // Set only with POST, whose bodies the loaders encode.
                let name = HeaderValue::from_static(compress.name());
                headers.push((CONTENT_ENCODING, name, false));
            }
        }
        let agent = HeaderValue::from_static(concat!("pulse/", env!("CARGO_PKG_VERSION")));
        headers.push((USER_AGENT, agent, false));
        headers.push((HeaderName::from_static("webhook-id"), id, false));
        if let Some(signature) = signature {
            headers.push((
                HeaderName::from_static("webhook-timestamp"),
                HeaderValue::from(signature.timestamp),
                false,
            ));
            headers.push((
                HeaderName::from_static("webhook-signature"),
                HeaderValue::from_str(&signature.header).expect("base64 is ASCII"),
                false,
            ));
        }
        for header in self.extra {
            headers.push((header.name.clone(), header.value.clone(), header.secret));
        }
        Ok(headers)
    }
}

/// A header's value as the log and messages show it: a credential as `[redacted]`.
pub fn shown_value(value: &HeaderValue, secret: bool) -> String {
    if secret {
        "[redacted]".to_string()
    } else {
        value.to_str().unwrap_or("[binary]").to_string()
    }
}

/// The innermost cause of a reqwest error, which is where the useful words are.
fn network_error_text(err: &reqwest::Error) -> String {
    let kind = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    let mut source: &dyn std::error::Error = err;
    while let Some(next) = source.source() {
        source = next;
    }
    format!("{kind}: {source}")
}

/// What kind of network error it was, in a few words: `connection refused`, `timed out`,
/// `connection closed` (the receiver closed it without answering), ...
fn network_error_kind(err: &reqwest::Error) -> String {
    if err.is_timeout() {
        return "timed out".into();
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            // `ErrorKind` reads as "connection refused", "connection reset", ...
            return io.kind().to_string();
        }
        if cause
            .downcast_ref::<hyper::Error>()
            .is_some_and(|e| e.is_incomplete_message() || e.is_canceled())
        {
            return "connection closed".into();
        }
        source = cause.source();
    }
    if err.is_connect() {
        "cannot connect".into()
    } else {
        "request failed".into()
    }
}
