//! Sending one batch: attempt, record, then wait or stop. Each attempt is recorded (with its
//! batch's mark, one transaction) before the next starts; what an attempt means is decided in
//! `attempt.rs`, so this loop only acts on it.
//!
//! Several batches run this loop at once as futures on one thread (`deliverer.rs`): the log is
//! a `RefCell` borrowed between awaits only, never across one. Before each attempt a batch waits
//! for the pass's pacing (`pacing.rs`: a throttle pause, the receiver's budget) and `--rate`;
//! each attempt tells the pacing how it went.
//!
//! Every record counts toward the WAL's checkpoints and rein, delivered or not; and once a
//! connection to a PostgreSQL log was made again, a batch's status is read before it is tried:
//! another runner may have finished the run while this one was cut off.

use std::cell::{Cell, RefCell};
use std::time::{Duration, Instant};

use anyhow::Result;
use reqwest::Client;

use super::answer::{AnswerRules, RejectedRow};
use super::attempt::{decide, halt, judge, Halt, Outcome, RequestMaker};
use super::body_loader::PreparedBody;
use super::exchange::{exchange, Exchange};
use super::oauth2::renews_after;
use super::pacing::{Pacing, Started};
use super::rate::RateLimiter;
use super::retry::{RetryPolicy, StatusPolicy};
use crate::exit::{DeliveryError, InterruptedError};
use crate::payload::Method;
use crate::progress::Progress;
use crate::store::{AttemptRecord, BatchRef, Checkpointer, EventRecord, Store};
use crate::telemetry::Span;

/// Attempts recorded between two checkpoints of the log: each commit adds a few 64 KiB pages to
/// the WAL (an attempt's row and indexes, a batch's mark), so this keeps it near 16 MB.
const CHECKPOINT_ATTEMPTS: u64 = 64;

/// Attempts recorded between two looks at the WAL's size (`Store::rein_in_wal`): a `stat` each.
const REIN_IN_ATTEMPTS: u64 = 16;

/// Everything one batch's attempts need, shared by all the batches of a deliverer.
pub(super) struct BatchSender {
    pub client: Client,
    pub url: reqwest::Url,
    /// The URL as the log keeps it: its password masked.
    pub shown_url: String,
    pub requests: RequestMaker,
    pub retry: RetryPolicy,
    pub statuses: StatusPolicy,
    /// `--success-if` and `--rejected-rows`: 2xx answers are read whole and judged.
    pub answers: AnswerRules,
    pub rate: Option<RateLimiter>,
    /// Whether answers change batch status: not when resending to another URL than the run's.
    pub updates_status: bool,
}

/// One sending loop's shared state: its batches' futures take turns on one thread.
pub(super) struct Sending<'a> {
    pub store: RefCell<&'a mut Store>,
    pub method: Method,
    /// The bodies' `Content-Type`.
    pub content_type: &'a str,
    pub progress: &'a Progress,
    /// Set when the run stops (a batch failed for good, an error, a signal): batches in flight
    /// finish their current attempt and try no more.
    pub stopping: Cell<bool>,
    /// Copies the WAL into the log as attempts are recorded (delivered or not).
    pub checkpointer: &'a Checkpointer,
    /// Attempts (and failed marks) recorded so far.
    pub recorded: Cell<u64>,
    /// Whether a batch that another process delivered meanwhile is left alone: after a lost
    /// connection to a PostgreSQL log, another runner may have finished the run (not when
    /// resending, which sends delivered batches again on purpose).
    pub skip_delivered: bool,
    /// `Store::connections_made_again` when the plan was read.
    pub planned_on: u64,
    /// The concurrency limit, throttle pauses and the receiver's budget.
    pub pacing: Pacing,
}

impl Sending<'_> {
    /// Counts a transaction just committed on the log, whatever it recorded: every attempt
    /// adds to the WAL, so every attempt counts toward its checkpoints and its rein.
    fn recorded(&self, store: &Store) {
        let recorded = self.recorded.get() + 1;
        self.recorded.set(recorded);
        if recorded.is_multiple_of(REIN_IN_ATTEMPTS) {
            store.rein_in_wal();
        }
        if recorded.is_multiple_of(CHECKPOINT_ATTEMPTS) {
            self.checkpointer.nudge();
        }
    }

    /// Whether `batch` was delivered by another process since this one last looked: asked of
    /// the log only once its connection was made again since `seen` (then `seen` moves on).
    fn delivered_elsewhere(&self, batch: &BatchRef, seen: &mut u64) -> Result<bool> {
        let store = self.store.borrow();
        let now = store.connections_made_again();
        if !self.skip_delivered || now == *seen {
            return Ok(false);
        }
        *seen = now;
        store.is_batch_delivered(&batch.id)
    }
}

/// How one batch's sending ended.
pub(super) enum Sent {
    Delivered {
        attempts: u64,
        rows: u64,
        /// Rows the receiver refused (`--rejected-rows`).
        rejected: u64,
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
    Abandoned { attempts: u64 },
    /// Found delivered by another process (after a lost connection to the log): not sent.
    DeliveredElsewhere { attempts: u64 },
}

impl BatchSender {
    /// Sends one batch until it is delivered, retries run out, the answer is final, or the run
    /// stops. Every attempt is recorded before the next one starts.
    pub async fn send(
        &self,
        sending: &Sending<'_>,
        position: usize,
        event: &EventRecord,
        batch: &BatchRef,
        mut body: PreparedBody,
    ) -> Result<Sent> {
        let what = describe_batch(event, batch);
        let mut retries = 0;
        let mut attempts = 0;
        // Whether the last attempt got a 401 and a new OAuth2 token was asked for.
        let mut renewed = false;
        let mut seen = sending.planned_on;
        let mut span = batch_span(event, batch, &body);
        loop {
            match halt(crate::signals::interrupted(), sending.stopping.get()) {
                Some(Halt::Interrupted) => return Err(interrupted_before(&what)),
                Some(Halt::Abandoned) => return Ok(Sent::Abandoned { attempts }),
                None => {}
            }
            if sending.delivered_elsewhere(batch, &mut seen)? {
                return Ok(Sent::DeliveredElsewhere { attempts });
            }
            match self.turn(sending).await {
                None => {}
                Some(Halt::Abandoned) => return Ok(Sent::Abandoned { attempts }),
                Some(Halt::Interrupted) => return Err(interrupted_before(&what)),
            }
            let tried = self.attempt(
                sending,
                (batch, &what, &span),
                &mut body,
                (retries, renewed),
            );
            let (outcome, words, rejected) = tried.await?;
            attempts += 1;
            renewed = outcome == Outcome::Reauthorize;
            match outcome {
                Outcome::Reauthorize => sending.progress.waiting(&format!(
                    "batch {}/{} ({}): {words}, trying again at once with a new OAuth2 token",
                    batch.idx, event.batch_count, event.name
                )),
                Outcome::Delivered => {
                    self.tell_delivered(sending, (event, batch, &what), rejected);
                    span.set("pulse.attempts", attempts as i64);
                    return Ok(Sent::Delivered {
                        attempts,
                        rows: batch.rows,
                        rejected,
                    });
                }
                Outcome::Failed(failure) => {
                    crate::metrics::batch(&event.name, "failed", (batch.rows, 0), &self.shown_url);
                    if self.updates_status {
                        let store = sending.store.borrow();
                        store.mark_batch_failed(&batch.id)?;
                        sending.recorded(&store);
                    }
                    let text = failure.text(&what, &words);
                    span.fail(&text);
                    return Ok(Sent::Failed {
                        attempts,
                        position,
                        error: DeliveryError(text).into(),
                        what,
                        endpoint_gone: failure.endpoint_gone(),
                    });
                }
                Outcome::Retry { retry, wait } => {
                    retries = retry;
                    sending.progress.waiting(&format!(
                        "batch {}/{} ({}): {words}, retry {retry}/{} in {:.1}s",
                        batch.idx,
                        event.batch_count,
                        event.name,
                        self.retry.max_retries,
                        wait.as_secs_f64()
                    ));
                    match pause(wait, &sending.stopping).await {
                        None => {}
                        Some(Halt::Abandoned) => return Ok(Sent::Abandoned { attempts }),
                        Some(Halt::Interrupted) => {
                            return Err(InterruptedError(format!(
                                "{} while waiting to retry {what}",
                                crate::signals::stopped()
                            ))
                            .into())
                        }
                    }
                }
            }
        }
    }

    /// What a delivered batch tells: the rows its receiver refused, and its metrics.
    fn tell_delivered(
        &self,
        sending: &Sending<'_>,
        (event, batch, what): (&EventRecord, &BatchRef, &str),
        rejected: u64,
    ) {
        if rejected > 0 {
            sending.progress.note(&format!(
                "{what}: the receiver refused {} (`pulse export {} --rejected`)",
                crate::plural::part_of(rejected, batch.rows, "row", "rows"),
                batch.id
            ));
        }
        let rows = (batch.rows, rejected);
        crate::metrics::batch(&event.name, "delivered", rows, &self.shown_url);
    }

    /// Waits until the pass lets a request start (no throttle pause, budget left) and `--rate`
    /// gives it a turn; a pause that begins while waiting for the turn is waited for too.
    async fn turn(&self, sending: &Sending<'_>) -> Option<Halt> {
        loop {
            if let Some(until) = sending.pacing.closed_until(Instant::now()) {
                let wait = until.saturating_duration_since(Instant::now());
                // Then look again: the pause or the budget's reset may have moved meanwhile.
                if let Some(halt) = pause(wait, &sending.stopping).await {
                    return Some(halt);
                }
                continue;
            }
            if let Some(rate) = &self.rate
                && !rate.wait_turn().await
            {
                return Some(Halt::Interrupted);
            }
            if sending.pacing.closed_until(Instant::now()).is_none() {
                return halt(crate::signals::interrupted(), sending.stopping.get());
            }
        }
    }

    /// The exchange of one attempt, counted in flight by the pass's pacing and told to it with
    /// what its status decides; the round trip's time.
    async fn paced_exchange(
        &self,
        sending: &Sending<'_>,
        headers: reqwest::header::HeaderMap,
        body: &PreparedBody,
        retries: u32,
    ) -> (Exchange, Outcome, Started, Duration) {
        let reads = (sending.method, self.answers.reads_answers());
        let started = sending.pacing.start(Instant::now());
        let clock = Instant::now();
        let exchange = exchange(&self.client, &self.url, reads, headers, body.wire.clone()).await;
        let rtt = clock.elapsed();
        let decided = decide(
            exchange.status,
            exchange.retry_after,
            retries,
            &self.retry,
            &self.statuses,
        );
        // A 429 or 503 to retry holds back the whole pass for as long as its batch waits.
        let throttle = match decided {
            Outcome::Retry { wait, .. } if matches!(exchange.status, 429 | 503) => Some(wait),
            _ => None,
        };
        let answered = (exchange.status, rtt);
        let budget = exchange.budget;
        (sending.pacing).finished(started.seq, answered, budget, throttle, Instant::now());
        (exchange, decided, started, rtt)
    }

    /// One attempt: headers, exchange, outcome, and the attempt recorded (its batch marked
    /// delivered in the same transaction when it was, with the rows the receiver refused) before
    /// this returns. With the outcome come the exchange's words for it: the whole `describe` of
    /// a failure, the short status of a retry, nothing for a delivery; and how many rows the
    /// receiver refused.
    ///
    /// `renewed`: the attempt before got a 401 and this one goes with a new OAuth2 token, so a
    /// 401 now is the receiver's answer. A token endpoint that gives no token stops the run
    /// (nothing is sent, no attempt recorded: the batch waits for `pulse resume`).
    async fn attempt(
        &self,
        sending: &Sending<'_>,
        (batch, what, span): (&BatchRef, &str, &Span),
        body: &mut PreparedBody,
        (retries, renewed): (u32, bool),
    ) -> Result<(Outcome, String, u64)> {
        let method = sending.method;
        let mut traced = span.child("attempt");
        let bearer = self
            .requests
            .bearer(&self.client)
            .await
            .map_err(|words| DeliveryError(format!("{what} was not sent: {words}")))?;
        let started_at = crate::store::now_ms();
        // A signature made ahead serves the first attempt at most.
        let early = body.signed.take();
        let (headers, logged_headers) = self.requests.headers(
            &batch.id,
            (method, sending.content_type),
            &body.content,
            (early, bearer.as_deref(), traced.headers().as_ref()),
        )?;
        let (mut exchange, decided, started, rtt) =
            self.paced_exchange(sending, headers, body, retries).await;
        let duration_ms = rtt.as_millis() as i64;
        let answer = (exchange.status, exchange.answer.bytes());
        let judged = judge(decided, answer, &self.answers, batch.rows);
        if let Some(refusal) = judged.refusal {
            exchange.error = Some(refusal);
        }
        // What the receiver said is redacted before it is recorded or printed.
        let redactor = self.requests.redactor();
        let exchange = exchange.without_credentials(&redactor);
        let rejected = without_credentials(judged.rejected, &redactor);
        drop(redactor);
        let outcome = match (
            &bearer,
            renews_after(exchange.status, bearer.is_some(), renewed),
        ) {
            (Some(token), true) if judged.outcome != Outcome::Delivered => {
                self.requests.token_refused(token);
                Outcome::Reauthorize
            }
            _ => judged.outcome,
        };
        let words = match outcome {
            Outcome::Delivered => String::new(),
            Outcome::Retry { .. } | Outcome::Reauthorize => exchange.short_status(),
            Outcome::Failed(_) => exchange.describe(),
        };
        let delivered = outcome == Outcome::Delivered;
        let retried = matches!(outcome, Outcome::Retry { .. } | Outcome::Reauthorize);
        crate::metrics::request(
            (exchange.status != 0).then_some(exchange.status),
            rtt,
            retried,
        );
        let Exchange {
            status,
            error,
            response,
            ..
        } = exchange;
        attempt_attributes(&mut traced, (status, retries), error.as_deref(), &outcome);
        let record = AttemptRecord {
            batch_id: &batch.id,
            started_at,
            duration_ms,
            url: &self.shown_url,
            http_status: status,
            error,
            response,
            request_headers: logged_headers,
            rejected: rejected_json(&rejected)?,
            rejected_count: rejected.len() as u64,
            in_flight: Some(started.in_flight as i64),
            in_flight_limit: Some(started.limit as i64),
        };
        let recorded = sending
            .store
            .borrow_mut()
            .record_attempt(&record, delivered && self.updates_status);
        if recorded.is_ok() {
            sending.recorded(&sending.store.borrow());
        }
        recorded.map_err(|err| {
            if delivered {
                // The receiver has it; the log does not say so. Resume sends it again
                // under the same webhook-id, which receivers deduplicate by.
                err.context(format!(
                    "{what} was delivered (HTTP {status}) but could not be recorded; `pulse \
                     resume` sends it again under the same webhook-id"
                ))
            } else {
                err
            }
        })?;
        Ok((outcome, words, rejected.len() as u64))
    }
}

/// The rows a receiver refused, with every credential it may have echoed in their messages
/// taken out.
fn without_credentials(
    mut rejected: Vec<RejectedRow>,
    redactor: &crate::redact::Redactor,
) -> Vec<RejectedRow> {
    for row in &mut rejected {
        if let Some(error) = &mut row.error
            && let std::borrow::Cow::Owned(clean) = redactor.redact(error)
        {
            *error = clean;
        }
    }
    rejected
}

/// The refused rows as the log keeps them with the attempt: a JSON array of `{position,
/// error}`; none when no row was refused.
fn rejected_json(rejected: &[RejectedRow]) -> Result<Option<String>> {
    if rejected.is_empty() {
        return Ok(None);
    }
    Ok(Some(serde_json::to_string(rejected)?))
}

/// A batch's span: its place, event, rows and bytes on the wire.
fn batch_span(event: &EventRecord, batch: &BatchRef, body: &PreparedBody) -> Span {
    let mut span = crate::telemetry::span("batch");
    if !span.is_on() {
        return span;
    }
    span.set("pulse.batch.id", batch.id.clone());
    span.set("pulse.batch.index", batch.idx as i64);
    span.set("pulse.event", event.name.clone());
    span.set("pulse.rows", batch.rows as i64);
    span.set("pulse.bytes", body.wire.len() as i64);
    span
}

/// What an attempt's span tells: the status (none without an answer), which retry it was, and
/// the error as the log keeps it (credentials taken out).
fn attempt_attributes(
    span: &mut Span,
    (status, retry): (u16, u32),
    error: Option<&str>,
    outcome: &Outcome,
) {
    if status != 0 {
        span.set("http.response.status_code", i64::from(status));
    }
    span.set("pulse.retry", i64::from(retry));
    match (error, outcome) {
        (Some(error), _) => span.fail(error),
        (None, Outcome::Delivered) => {}
        (None, _) => span.fail(&format!("HTTP {status}")),
    }
}

/// Waits `wait` before a retry, ending early when the run stops or pulse is interrupted.
async fn pause(wait: Duration, stopping: &Cell<bool>) -> Option<Halt> {
    let until = Instant::now() + wait;
    loop {
        if let Some(halt) = halt(crate::signals::interrupted(), stopping.get()) {
            return Some(halt);
        }
        let now = Instant::now();
        if now >= until {
            return None;
        }
        tokio::time::sleep((until - now).min(Duration::from_millis(50))).await;
    }
}

/// `batch 3/10 of event all (msg_...)`: how errors name a batch.
pub(super) fn describe_batch(event: &EventRecord, batch: &BatchRef) -> String {
    format!(
        "batch {}/{} of event {} ({})",
        batch.idx, event.batch_count, event.name, batch.id
    )
}

pub(super) fn interrupted_before(what: &str) -> anyhow::Error {
    InterruptedError(format!("{} before {what}", crate::signals::stopped())).into()
}
