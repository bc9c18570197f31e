//! One attempt at a batch, before and after its exchange: preparing the request (signature and
//! headers), and deciding what the answer means. The decisions are pure functions of what the
//! exchange said and the run's policies, so they are tested here without a network; the batch
//! loop (`batch.rs`) records them and acts on them.

use std::cell::{Ref, RefCell};
use std::time::Duration;

use anyhow::Result;
use reqwest::header::HeaderMap;

use super::answer::{AnswerRules, AnswerVerdict, RejectedRow};
use super::body_loader::BodyMaker;
use super::compress::BodyCompression;
use super::oauth2::Tokens;
use super::request_headers::RequestHeaders;
use super::retry::{RetryPolicy, StatusPolicy, Verdict};
use super::settings::{DeliverySettings, ExtraHeader};
use crate::payload::{BodyContext, Method};
use crate::redact::{shown_url, Redactor};
use crate::sign::{unix_now, Signature, Signer};
use crate::telemetry::TraceHeaders;

/// What every request of a deliverer carries besides its batch: the extra headers, the body
/// encoding, the signing secrets and the OAuth2 tokens. The one holder of the secrets, and of
/// the credentials to take out of whatever a receiver echoes back.
pub(super) struct RequestMaker {
    signer: Signer,
    headers: Vec<ExtraHeader>,
    compress: Option<BodyCompression>,
    /// `--oauth2-*`: the bearer token of every request.
    tokens: Option<Tokens>,
    /// Credentials these requests send (auth header, URL password, secrets, OAuth2's client
    /// secret and every token fetched). Borrowed between awaits only.
    redactor: RefCell<Redactor>,
}

impl RequestMaker {
    pub fn new(url: &reqwest::Url, signer: Signer, config: &DeliverySettings) -> RequestMaker {
        RequestMaker {
            redactor: RefCell::new(config.redactor(url, signer.secrets())),
            signer,
            headers: config.headers.clone(),
            compress: config.compress,
            tokens: config.oauth2.clone().map(Tokens::new),
        }
    }

    /// The OAuth2 token to send now (none without `--oauth2-*`), fetched when the one held is
    /// due for renewal; each new one is redacted from then on. The error is a sentence on what
    /// the token endpoint said, credentials taken out.
    pub async fn bearer(&self, client: &reqwest::Client) -> Result<Option<String>, String> {
        let Some(tokens) = &self.tokens else {
            return Ok(None);
        };
        match tokens.bearer(client).await {
            Ok(bearer) => {
                if bearer.fresh {
                    self.redactor.borrow_mut().add(&bearer.token);
                }
                Ok(Some(bearer.token))
            }
            Err(words) => {
                let url = shown_url(tokens.settings().token_url.as_str());
                let text = format!("the OAuth2 token endpoint {url} {words}");
                Err(self.redactor.borrow().redact(&text).into_owned())
            }
        }
    }

    /// A receiver answered 401 to a request with `token`: the next request gets a new one.
    pub fn token_refused(&self, token: &str) {
        if let Some(tokens) = &self.tokens {
            tokens.refused(token);
        }
    }

    /// What the body loaders need to build and sign these requests' bodies.
    pub fn body_maker(&self, ctx: &BodyContext, url: &reqwest::Url) -> BodyMaker {
        BodyMaker {
            ctx: ctx.clone(),
            url_query: url.query().map(str::to_string),
            signer: self.signer.clone(),
            // A GET request has no body to encode.
            compress: self.compress.filter(|_| ctx.method == Method::Post),
        }
    }

    /// The headers of one attempt at batch `batch_id`, and their JSON for the log. A signature
    /// made ahead (`early`) is used while its second is current; retries sign anew. It covers
    /// the decoded `content`, whatever the encoding on the wire.
    pub fn headers(
        &self,
        batch_id: &str,
        (method, content_type): (Method, &str),
        content: &[u8],
        (early, bearer, trace): (Option<Signature>, Option<&str>, Option<&TraceHeaders>),
    ) -> Result<(HeaderMap, String)> {
        let signature = match early {
            Some(early) if unix_now() - early.timestamp <= 1 => Some(early),
            _ => self.signer.sign_now(batch_id, content),
        };
        let planned = RequestHeaders {
            method,
            content_type,
            compress: self.compress,
            extra: &self.headers,
            bearer,
            trace,
        };
        planned.for_request(batch_id, signature.as_ref())
    }

    pub fn redactor(&self) -> Ref<'_, Redactor> {
        self.redactor.borrow()
    }
}

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Outcome {
    Delivered,
    /// Worth another try: retry number `retry` (1-based), after `wait`.
    Retry {
        retry: u32,
        wait: Duration,
    },
    /// No more tries for this batch.
    Failed(Failure),
    /// A 401 to a request with an OAuth2 token: tried again at once with a new token
    /// (`oauth2::renews_after`).
    Reauthorize,
}

/// Why a batch failed for good.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Failure {
    /// 410: the endpoint is gone. Stops the run even with `--on-failure skip`.
    Gone,
    /// 3xx: redirects are reported, never followed.
    Redirect,
    /// Another status that is not worth retrying (most 4xx).
    Refused,
    /// Worth retrying, but every retry the policy allows is spent.
    RetriesExhausted { attempts: u32 },
}

impl Failure {
    pub fn endpoint_gone(&self) -> bool {
        *self == Failure::Gone
    }

    /// The error for batch `what`, which the exchange described as `problem`.
    pub fn text(&self, what: &str, problem: &str) -> String {
        match self {
            Failure::Gone => format!("{what} failed: {problem} (410: the endpoint is gone)"),
            Failure::Redirect => format!("{what} failed: {problem} (redirects are not followed)"),
            Failure::Refused => format!("{what} failed: {problem}"),
            Failure::RetriesExhausted { attempts } if *attempts > 1 => {
                format!("{what} failed after {attempts} attempts: {problem}")
            }
            Failure::RetriesExhausted { .. } => format!("{what} failed: {problem}"),
        }
    }
}

/// The outcome of an attempt that got `status` (0: no response) and `retry_after`, when
/// `retries` retries of its batch came before it. No I/O: only the jitter of a retry's wait is
/// random.
pub(super) fn decide(
    status: u16,
    retry_after: Option<Duration>,
    retries: u32,
    retry: &RetryPolicy,
    statuses: &StatusPolicy,
) -> Outcome {
    match statuses.classify(status, retry_after) {
        Verdict::Delivered => Outcome::Delivered,
        Verdict::Retryable { retry_after } => {
            let next = retries + 1;
            match retry.delay_before(next, retry_after) {
                Some(wait) => Outcome::Retry { retry: next, wait },
                None => Outcome::Failed(Failure::RetriesExhausted { attempts: next }),
            }
        }
        Verdict::Gone => Outcome::Failed(Failure::Gone),
        Verdict::Fatal if (300..400).contains(&status) => Outcome::Failed(Failure::Redirect),
        Verdict::Fatal => Outcome::Failed(Failure::Refused),
    }
}

/// An attempt's outcome once its answer was read: with the rows the receiver refused (of a
/// delivered batch), or why the answer refused the attempt.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Judged {
    pub outcome: Outcome,
    pub rejected: Vec<RejectedRow>,
    /// What the answer said against the attempt (`--success-if`, `--rejected-rows`): recorded
    /// as the attempt's error.
    pub refusal: Option<String>,
}

/// The outcome `decided` (by the status) of an attempt that got `status` and `answer` (its
/// bytes; none when too long to read) for a batch of `rows` rows, once `rules` read the answer:
/// only a delivery by a 2xx status is judged, and an answer that refuses it fails the batch for
/// good (not retried, as a 4xx). Pure.
pub(super) fn judge(
    decided: Outcome,
    (status, answer): (u16, Option<&[u8]>),
    rules: &AnswerRules,
    rows: u64,
) -> Judged {
    let plain = |outcome| Judged {
        outcome,
        rejected: Vec::new(),
        refusal: None,
    };
    if decided != Outcome::Delivered || !(200..300).contains(&status) || !rules.reads_answers() {
        return plain(decided);
    }
    match rules.judge(answer, rows) {
        AnswerVerdict::Accepted(rejected) => Judged {
            outcome: Outcome::Delivered,
            rejected,
            refusal: None,
        },
        AnswerVerdict::Refused(why) => Judged {
            outcome: Outcome::Failed(Failure::Refused),
            rejected: Vec::new(),
            refusal: Some(why),
        },
    }
}

/// Why a batch tries no more whatever its attempts said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Halt {
    /// Ctrl-C, SIGTERM or `--deadline` (`crate::signals::interrupted()`): the run's error.
    Interrupted,
    /// The run is stopping (another batch failed for good, or an error): the batch is left
    /// undelivered, abandoned, with no error of its own.
    Abandoned,
}

/// Whether a batch may try (again): checked before each attempt and while waiting to retry.
/// An interrupt wins over a stop, for its error and exit code.
pub(super) fn halt(interrupted: bool, stopping: bool) -> Option<Halt> {
    if interrupted {
        Some(Halt::Interrupted)
    } else if stopping {
        Some(Halt::Abandoned)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deliver::retry::{parse_schedule, parse_status_list};

    fn policy(schedule: &str, retries: u32) -> RetryPolicy {
        RetryPolicy {
            schedule: parse_schedule(schedule).unwrap(),
            max_retries: retries,
            max_retry_after: Duration::from_secs(60),
            jitter: 0.0,
        }
    }

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    fn plain(status: u16, retries: u32) -> Outcome {
        decide(
            status,
            None,
            retries,
            &policy("1s,5s", 3),
            &StatusPolicy::default(),
        )
    }

    #[test]
    fn success_statuses_deliver() {
        assert_eq!(plain(200, 0), Outcome::Delivered);
        assert_eq!(plain(204, 2), Outcome::Delivered);
    }

    #[test]
    fn retryable_answers_wait_by_the_schedule_whose_last_delay_repeats() {
        for status in [0, 408, 429, 500, 502, 503] {
            assert_eq!(
                plain(status, 0),
                Outcome::Retry {
                    retry: 1,
                    wait: secs(1)
                },
                "{status}"
            );
        }
        assert_eq!(
            plain(500, 1),
            Outcome::Retry {
                retry: 2,
                wait: secs(5)
            }
        );
        assert_eq!(
            plain(500, 2),
            Outcome::Retry {
                retry: 3,
                wait: secs(5)
            }
        );
    }

    #[test]
    fn retries_run_out() {
        assert_eq!(
            plain(503, 3),
            Outcome::Failed(Failure::RetriesExhausted { attempts: 4 })
        );
        assert_eq!(
            plain(0, 3),
            Outcome::Failed(Failure::RetriesExhausted { attempts: 4 })
        );
        let none = decide(500, None, 0, &policy("1s", 0), &StatusPolicy::default());
        assert_eq!(
            none,
            Outcome::Failed(Failure::RetriesExhausted { attempts: 1 })
        );
    }

    #[test]
    fn gone_refused_and_redirect_fail_at_once() {
        assert_eq!(plain(410, 0), Outcome::Failed(Failure::Gone));
        for status in [400, 401, 403, 404, 409, 422] {
            assert_eq!(
                plain(status, 0),
                Outcome::Failed(Failure::Refused),
                "{status}"
            );
        }
        for status in [301, 302, 307, 308] {
            assert_eq!(
                plain(status, 0),
                Outcome::Failed(Failure::Redirect),
                "{status}"
            );
        }
        assert!(Failure::Gone.endpoint_gone());
        assert!(!Failure::Refused.endpoint_gone());
        assert!(!Failure::Redirect.endpoint_gone());
        assert!(!Failure::RetriesExhausted { attempts: 4 }.endpoint_gone());
    }

    #[test]
    fn status_lists_move_statuses_between_outcomes() {
        let statuses = StatusPolicy::new(
            parse_status_list("409,301").unwrap(),
            parse_status_list("425,410").unwrap(),
        )
        .unwrap();
        let decide = |status| decide(status, None, 0, &policy("2s", 1), &statuses);
        assert_eq!(decide(409), Outcome::Delivered);
        assert_eq!(decide(301), Outcome::Delivered);
        let again = Outcome::Retry {
            retry: 1,
            wait: secs(2),
        };
        assert_eq!(decide(425), again);
        // Listed to retry, 410 is no longer the end of the endpoint.
        assert_eq!(decide(410), again);
        assert_eq!(decide(422), Outcome::Failed(Failure::Refused));
        assert_eq!(decide(0), again);
    }

    #[test]
    fn retry_after_lengthens_the_wait_up_to_max_retry_after() {
        let statuses = StatusPolicy::default();
        let wait = |status, asked: u64| match decide(
            status,
            Some(secs(asked)),
            0,
            &policy("2s", 3),
            &statuses,
        ) {
            Outcome::Retry { wait, .. } => wait,
            other => panic!("{other:?}"),
        };
        assert_eq!(wait(429, 30), secs(30));
        assert_eq!(wait(503, 30), secs(30));
        // Never shorter than the schedule, never longer than --max-retry-after (60s here).
        assert_eq!(wait(429, 1), secs(2));
        assert_eq!(wait(429, 3600), secs(60));
        // Only 429 and 503 say when to come back, unless the status is listed in --retry-on.
        assert_eq!(wait(500, 30), secs(2));
        let listed = StatusPolicy::new(vec![], parse_status_list("500").unwrap()).unwrap();
        let outcome = decide(500, Some(secs(30)), 0, &policy("2s", 3), &listed);
        assert_eq!(
            outcome,
            Outcome::Retry {
                retry: 1,
                wait: secs(30)
            }
        );
    }

    #[test]
    fn failures_read_as_before() {
        let what = "batch 2/3 of event all (msg_1)";
        assert_eq!(
            Failure::Gone.text(what, "HTTP 410"),
            "batch 2/3 of event all (msg_1) failed: HTTP 410 (410: the endpoint is gone)"
        );
        assert_eq!(
            Failure::Redirect.text(what, "HTTP 301 (redirect to /new)"),
            "batch 2/3 of event all (msg_1) failed: HTTP 301 (redirect to /new) (redirects are \
             not followed)"
        );
        assert_eq!(
            Failure::Refused.text(what, "HTTP 422: no"),
            "batch 2/3 of event all (msg_1) failed: HTTP 422: no"
        );
        assert_eq!(
            Failure::RetriesExhausted { attempts: 4 }.text(what, "HTTP 503"),
            "batch 2/3 of event all (msg_1) failed after 4 attempts: HTTP 503"
        );
        // Without retries, no count of one attempt.
        assert_eq!(
            Failure::RetriesExhausted { attempts: 1 }.text(what, "HTTP 503"),
            "batch 2/3 of event all (msg_1) failed: HTTP 503"
        );
    }

    #[test]
    fn answers_are_judged_only_for_a_2xx_delivery_and_a_refusal_is_not_retried() {
        let rules = AnswerRules::compile(Some(".ok"), Some(".bad[]")).unwrap();
        let judged = judge(
            plain(200, 0),
            (200, Some(br#"{"ok":true,"bad":[2]}"#)),
            &rules,
            3,
        );
        assert_eq!(judged.outcome, Outcome::Delivered);
        assert_eq!(judged.rejected.len(), 1);
        assert_eq!(judged.rejected[0].position, 2);
        let judged = judge(plain(200, 0), (200, Some(br#"{"ok":false}"#)), &rules, 3);
        assert_eq!(judged.outcome, Outcome::Failed(Failure::Refused));
        assert_eq!(
            judged.refusal.as_deref(),
            Some("--success-if '.ok' is false")
        );
        assert!(judged.rejected.is_empty());
        // Not JSON, or too long to read: refused, naming it.
        let judged = judge(plain(200, 0), (200, None), &rules, 3);
        assert!(judged.refusal.unwrap().contains("16 MiB"));
        // A retry, a 4xx, or a status delivered by --success-on is not read.
        let retry = plain(503, 0);
        assert_eq!(judge(retry.clone(), (503, None), &rules, 3).outcome, retry);
        let refused = plain(422, 0);
        assert_eq!(
            judge(refused.clone(), (422, None), &rules, 3).outcome,
            refused
        );
        let judged = judge(Outcome::Delivered, (409, Some(b"conflict")), &rules, 3);
        assert_eq!(judged.outcome, Outcome::Delivered);
        assert_eq!(judged.refusal, None);
        // Without expressions nothing is read.
        let none = AnswerRules::default();
        let judged = judge(Outcome::Delivered, (200, Some(b"<html>")), &none, 3);
        assert_eq!(judged.outcome, Outcome::Delivered);
    }

    #[test]
    fn an_interrupt_or_a_stop_ends_the_tries_and_the_interrupt_wins() {
        assert_eq!(halt(false, false), None);
        assert_eq!(halt(false, true), Some(Halt::Abandoned));
        assert_eq!(halt(true, false), Some(Halt::Interrupted));
        assert_eq!(halt(true, true), Some(Halt::Interrupted));
    }
}
