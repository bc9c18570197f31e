//! Sending a run's batches: in order, one request in flight by default; with `--concurrency N`,
//! up to N batches in flight, each still recorded attempt by attempt (`batch.rs`); with `auto`,
//! up to the limit the pass's pacing sets as answers come (`pacing.rs`, `adaptive.rs`). A
//! batch's body is taken from the loaders only when a slot is free, so the bodies held are the
//! batches in flight and the few the loaders build ahead (`body_loader.rs`). A batch that fails
//! for good stops the run, or with `--on-failure skip` is left failed while the others go on.
//!
//! Concurrency is a `FuturesUnordered` of per-batch futures on the current-thread runtime, not
//! threads: the log connection is used between awaits only (a `RefCell`, never borrowed across
//! one), so each attempt and its mark stay one transaction on one connection.

use std::cell::{Cell, RefCell};

use anyhow::Result;
use futures_util::stream::{FuturesUnordered, StreamExt};

use super::attempt::RequestMaker;
use super::batch::{describe_batch, interrupted_before, BatchSender, Sending, Sent};
use super::body_loader::{BodyLoader, BodyMaker};
use super::pacing::Pacing;
use super::rate::RateLimiter;
use super::settings::{Concurrency, DeliverySettings, OnFailure};
use crate::exit::DeliveryError;
use crate::payload::BodyContext;
use crate::progress::Progress;
use crate::redact::shown_url;
use crate::sign::Signer;
use crate::store::{BatchRef, EventRecord, Store, WalRestart};

/// Delivery settings of one run, resend or resume.
pub struct Deliverer {
    /// Declared before the runtime, so that the client it holds is dropped first.
    sender: BatchSender,
    /// Drives the client on the sending thread itself (`client.rs` says why).
    runtime: tokio::runtime::Runtime,
    /// Most batches in flight at once, or `auto`.
    concurrency: Concurrency,
    on_failure: OnFailure,
    /// `--fail-on-rejected`.
    fail_on_rejected: bool,
}

/// What a delivery pass did.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct DeliveryReport {
    pub batches_delivered: u64,
    pub batches_failed: u64,
    pub rows_delivered: u64,
    /// Rows of delivered batches the receiver refused (`--rejected-rows`).
    pub rows_rejected: u64,
    pub attempts: u64,
}

impl Deliverer {
    /// A deliverer for `url` signing with `signer`.
    pub fn new(url: reqwest::Url, signer: Signer, config: &DeliverySettings) -> Result<Deliverer> {
        let (client, runtime) = super::client::build(&url, config)?;
        Ok(Deliverer {
            sender: BatchSender {
                client,
                shown_url: shown_url(url.as_str()),
                requests: RequestMaker::new(&url, signer, config),
                url,
                retry: config.retry.clone(),
                statuses: config.statuses.clone(),
                answers: config.answers.clone(),
                rate: config.rate.map(RateLimiter::new),
                updates_status: true,
            },
            runtime,
            concurrency: config.concurrency,
            on_failure: config.on_failure,
            fail_on_rejected: config.fail_on_rejected,
        })
    }

    /// Attempts are still recorded, but a 2xx no longer marks a batch delivered nor a final
    /// failure marks it failed: for resending to a URL that is not the run's own.
    pub fn without_status_updates(mut self) -> Deliverer {
        self.sender.updates_status = false;
        self
    }

    /// `--concurrency` as given.
    pub fn concurrency(&self) -> Concurrency {
        self.concurrency
    }

    /// Whether rows a receiver refused make the command fail (`--fail-on-rejected`, exit 5).
    pub fn fails_on_rejected(&self) -> bool {
        self.fail_on_rejected
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
        self.send_all(
            store,
            ctx,
            &plan,
            Pass::Deliver { done },
            progress,
            &mut report,
        )?;
        Ok(report)
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
        self.send_all(store, ctx, batches, Pass::Resend, progress, report)
    }

    /// Sends `plan` in order, up to `concurrency` requests at once; the next bodies are built
    /// (read, decompressed, wrapped, signed) on loader threads while requests are in flight.
    fn send_all(
        &self,
        store: &mut Store,
        ctx: &BodyContext,
        plan: &[(EventRecord, BatchRef)],
        pass: Pass,
        progress: &Progress,
        report: &mut DeliveryReport,
    ) -> Result<()> {
        let (done_before, skip_delivered) = match pass {
            Pass::Deliver { done } => (done, true),
            Pass::Resend => (0, false),
        };
        let planned_on = store.connections_made_again();
        let mut bodies = BodyLoader::start(store, self.body_maker(ctx), plan)?;
        store.with_checkpointer(WalRestart::ByCheckpointer, |store, checkpointer| {
            let sending = Sending {
                store: RefCell::new(store),
                method: ctx.method,
                content_type: ctx.content_type(),
                progress,
                stopping: Cell::new(false),
                checkpointer,
                recorded: Cell::new(0),
                skip_delivered,
                planned_on,
                pacing: Pacing::new(self.concurrency, std::time::Instant::now()),
            };
            let mut delivered = done_before;
            let outcome = self.runtime.block_on(self.send_plan(
                &sending,
                &mut bodies,
                plan,
                report,
                |report: &DeliveryReport| {
                    delivered += 1;
                    progress.delivered(delivered, report.rows_delivered);
                },
            ));
            progress.in_flight(0, None);
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
        mut on_delivered: impl FnMut(&DeliveryReport),
    ) -> Result<()> {
        let mut pending = plan.iter().enumerate();
        let mut in_flight = FuturesUnordered::new();
        let mut end = RunEnd::default();
        // The OAuth2 token, before the first batch: a token endpoint that refuses stops the
        // run before any batch is tried.
        if !plan.is_empty() {
            let requests = &self.sender.requests;
            if let Err(words) = requests.bearer(&self.sender.client).await {
                return Err(DeliveryError(format!("{words}; no batch was sent")).into());
            }
        }
        loop {
            while !end.stopped() && in_flight.len() < sending.pacing.limit() {
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
                        in_flight.push(self.sender.send(sending, position, event, batch, body))
                    }
                    Err(err) => {
                        // The batches in flight finish their current attempt, and no more.
                        sending.stopping.set(true);
                        end.stop(err);
                    }
                }
            }
            let auto = matches!(self.concurrency, Concurrency::Auto { .. });
            let limit = auto.then(|| sending.pacing.limit());
            sending.progress.in_flight(in_flight.len(), limit);
            let Some(sent) = in_flight.next().await else {
                break;
            };
            match sent {
                Ok(Sent::Delivered {
                    attempts,
                    rows,
                    rejected,
                }) => {
                    report.attempts += attempts;
                    report.batches_delivered += 1;
                    report.rows_delivered += rows;
                    report.rows_rejected += rejected;
                    on_delivered(report);
                }
                Ok(Sent::DeliveredElsewhere { attempts }) => {
                    report.attempts += attempts;
                    on_delivered(report);
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
                    let failed = FailedBatch {
                        position,
                        what,
                        error,
                        endpoint_gone,
                    };
                    match end.failed(self.on_failure, failed) {
                        Some(note) => sending.progress.note(&note),
                        None => sending.stopping.set(true),
                    }
                }
                Ok(Sent::Abandoned { attempts }) => report.attempts += attempts,
                Err(err) => {
                    sending.stopping.set(true);
                    end.stop(err);
                }
            }
        }
        end.finish()
    }

    /// What the body loaders need to build and sign this deliverer's bodies.
    fn body_maker(&self, ctx: &BodyContext) -> BodyMaker {
        self.sender.requests.body_maker(ctx, &self.sender.url)
    }
}

/// What a sending pass is for.
#[derive(Clone, Copy)]
enum Pass {
    /// The undelivered batches (`done` of the events' batches were delivered before): a batch
    /// that another process delivered meanwhile is not sent again.
    Deliver { done: u64 },
    /// Chosen batches, whatever their status.
    Resend,
}

/// A batch that failed for good, as `Sent::Failed` tells it.
struct FailedBatch {
    /// Its place in the plan.
    position: usize,
    what: String,
    error: anyhow::Error,
    endpoint_gone: bool,
}

/// How a run's sending ends, gathered as its batches finish: the first error that stopped it,
/// else the batches that failed and were skipped (`--on-failure skip`).
#[derive(Default)]
struct RunEnd {
    stop: Option<anyhow::Error>,
    /// Each skipped batch's place in the plan, and its name.
    skipped: Vec<(usize, String)>,
}

impl RunEnd {
    fn stopped(&self) -> bool {
        self.stop.is_some()
    }

    /// The run stops with `err`, unless an earlier error already stopped it.
    fn stop(&mut self, err: anyhow::Error) {
        self.stop.get_or_insert(err);
    }

    /// A batch failed for good. With `--on-failure skip` it is skipped and the run goes on
    /// (the note returned says so), unless its endpoint is gone; otherwise the run stops.
    fn failed(&mut self, on_failure: OnFailure, batch: FailedBatch) -> Option<String> {
        if on_failure == OnFailure::Skip && !batch.endpoint_gone {
            let note = format!("{}; going on (--on-failure skip)", batch.error);
            self.skipped.push((batch.position, batch.what));
            Some(note)
        } else {
            self.stop(batch.error);
            None
        }
    }

    /// The run's result: the error that stopped it, or the skipped batches in the run's order
    /// (not the order their failures came in).
    fn finish(self) -> Result<()> {
        if let Some(err) = self.stop {
            return Err(err);
        }
        if self.skipped.is_empty() {
            return Ok(());
        }
        let mut skipped = self.skipped;
        skipped.sort_unstable();
        let skipped: Vec<String> = skipped.into_iter().map(|(_, what)| what).collect();
        Err(DeliveryError(skipped_text(&skipped)).into())
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn names(range: std::ops::RangeInclusive<usize>) -> Vec<String> {
        range.map(|n| format!("batch {n}/12")).collect()
    }

    #[test]
    fn skipped_text_counts_and_lists_at_most_ten() {
        assert_eq!(
            skipped_text(&names(1..=1)),
            "1 batch failed and was skipped (--on-failure skip): batch 1/12"
        );
        assert_eq!(
            skipped_text(&names(2..=3)),
            "2 batches failed and were skipped (--on-failure skip): batch 2/12, batch 3/12"
        );
        let text = skipped_text(&names(1..=12));
        assert!(text
            .starts_with("12 batches failed and were skipped (--on-failure skip): batch 1/12, "));
        assert!(text.contains("batch 10/12, and 2 more (`pulse log --failed`)"));
        assert!(!text.contains("batch 11/12"), "{text}");
    }

    fn failed(position: usize, endpoint_gone: bool) -> FailedBatch {
        let what = format!("batch {}/9", position + 1);
        FailedBatch {
            error: DeliveryError(format!("{what} failed: HTTP 422")).into(),
            what,
            position,
            endpoint_gone,
        }
    }

    #[test]
    fn a_run_with_nothing_skipped_or_stopped_ends_well() {
        let end = RunEnd::default();
        assert!(!end.stopped());
        assert!(end.finish().is_ok());
    }

    #[test]
    fn skipped_batches_go_on_and_are_listed_in_run_order_as_a_delivery_error() {
        let mut end = RunEnd::default();
        let note = end.failed(OnFailure::Skip, failed(7, false));
        assert_eq!(
            note.as_deref(),
            Some("batch 8/9 failed: HTTP 422; going on (--on-failure skip)")
        );
        assert!(end.failed(OnFailure::Skip, failed(2, false)).is_some());
        assert!(end.failed(OnFailure::Skip, failed(4, false)).is_some());
        assert!(!end.stopped(), "a skipped batch does not stop the run");
        let err = end.finish().unwrap_err();
        assert!(err.is::<DeliveryError>());
        assert_eq!(
            err.to_string(),
            "3 batches failed and were skipped (--on-failure skip): batch 3/9, batch 5/9, \
             batch 8/9"
        );
    }

    #[test]
    fn a_gone_endpoint_stops_the_run_even_when_skipping() {
        let mut end = RunEnd::default();
        assert!(end.failed(OnFailure::Skip, failed(1, false)).is_some());
        let mut gone = failed(3, true);
        gone.error =
            DeliveryError("batch 4/9 failed: HTTP 410 (410: the endpoint is gone)".into()).into();
        assert_eq!(end.failed(OnFailure::Skip, gone), None);
        assert!(end.stopped());
        // The first stop is the run's error; later ones are dropped.
        end.stop(anyhow::anyhow!("a later error"));
        assert_eq!(end.failed(OnFailure::Stop, failed(5, false)), None);
        let err = end.finish().unwrap_err();
        assert!(err.is::<DeliveryError>());
        assert!(err.to_string().contains("endpoint is gone"), "{err}");
    }

    #[test]
    fn without_skip_the_first_failure_stops_the_run() {
        let mut end = RunEnd::default();
        assert_eq!(end.failed(OnFailure::Stop, failed(0, false)), None);
        assert!(end.stopped());
        let err = end.finish().unwrap_err();
        assert_eq!(err.to_string(), "batch 1/9 failed: HTTP 422");
    }
}
