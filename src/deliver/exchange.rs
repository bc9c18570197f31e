//! One HTTP exchange and what it leaves to record and print: the status, `Retry-After`, the
//! rate-limit budget the receiver announced, the start of the response (or, for a run that
//! reads its answers, a 2xx answer whole, up to `MAX_ANSWER_BYTES`), and network errors in
//! words. Knows nothing of batches or retries.

use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, LOCATION, RETRY_AFTER};
use reqwest::Client;

use super::answer::MAX_ANSWER_BYTES;
use super::rate_limit_headers::{budget, Budget};
use super::retry::parse_retry_after;
use crate::payload::Method;
use crate::redact::Redactor;
use crate::store::RESPONSE_SNIPPET_BYTES;

/// The result of one HTTP exchange.
pub(super) struct Exchange {
    /// 0 when no response arrived.
    pub status: u16,
    pub retry_after: Option<Duration>,
    /// What is left of the receiver's rate limit, as its headers said.
    pub budget: Option<Budget>,
    pub error: Option<String>,
    pub response: Option<String>,
    /// Without a response: what went wrong in a few words (`connection refused`), for a retry
    /// note that fits on one terminal line.
    pub failure: Option<String>,
    /// A 2xx answer read whole, when asked for (`Answer::NotRead` otherwise).
    pub answer: Answer,
}

/// A 2xx answer, read whole for `--success-if` and `--rejected-rows`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Answer {
    NotRead,
    Whole(Vec<u8>),
    /// Longer than `MAX_ANSWER_BYTES`: the rest was not read.
    TooLong,
}

impl Answer {
    /// The answer's bytes; none when it was too long to read.
    pub fn bytes(&self) -> Option<&[u8]> {
        match self {
            Answer::Whole(bytes) => Some(bytes),
            Answer::NotRead | Answer::TooLong => None,
        }
    }
}

/// One request to `url`: POST with `content` as the body, or GET with `content` as the whole
/// query. `whole`: a 2xx answer is read whole (up to `MAX_ANSWER_BYTES`), not only its start.
pub(super) async fn exchange(
    client: &Client,
    url: &reqwest::Url,
    (method, whole): (Method, bool),
    headers: HeaderMap,
    content: bytes::Bytes,
) -> Exchange {
    let request = match method {
        Method::Post => client.post(url.clone()).body(content),
        Method::Get => {
            let mut url = url.clone();
            url.set_query(Some(&String::from_utf8_lossy(&content)));
            client.get(url)
        }
    };
    let response = match request.headers(headers).send().await {
        Ok(response) => response,
        Err(err) => {
            return Exchange {
                status: 0,
                retry_after: None,
                budget: None,
                error: Some(network_error_text(&err)),
                response: None,
                failure: Some(network_error_kind(&err)),
                answer: Answer::NotRead,
            }
        }
    };
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, SystemTime::now()));
    let budget = budget(response.headers(), SystemTime::now());
    let location = response
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(|v| format!(" to {v}"));
    let whole = whole && response.status().is_success();
    let most = if whole {
        MAX_ANSWER_BYTES + 1
    } else {
        RESPONSE_SNIPPET_BYTES + SNIPPET_SLACK
    };
    let (body, read) = read_start(response, most).await;
    let snippet = &body[..body.len().min(RESPONSE_SNIPPET_BYTES + SNIPPET_SLACK)];
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
        budget,
        error,
        response: Some(String::from_utf8_lossy(snippet).into_owned()),
        failure: None,
        answer: match (whole, body.len() > MAX_ANSWER_BYTES) {
            (false, _) => Answer::NotRead,
            (true, true) => Answer::TooLong,
            (true, false) => Answer::Whole(body),
        },
    }
}

impl Exchange {
    /// The exchange with every credential `redactor` knows taken out of what the receiver said
    /// (a receiver may echo request headers), and the response cut to what the log keeps
    /// (`RESPONSE_SNIPPET_BYTES`), never in the middle of a credential: it is stored and
    /// printed.
    pub fn without_credentials(mut self, redactor: &Redactor) -> Exchange {
        if let Some(text) = &mut self.response {
            *text = redactor.redact_prefix(text, RESPONSE_SNIPPET_BYTES);
        }
        if let Some(text) = &mut self.error
            && let std::borrow::Cow::Owned(clean) = redactor.redact(text)
        {
            *text = clean;
        }
        self
    }

    /// One line on what went wrong: status and response start, or the network error.
    pub fn describe(&self) -> String {
        if self.status == 0 {
            return self.error.clone().unwrap_or_else(|| "network error".into());
        }
        let mut text = format!("HTTP {}", self.status);
        if let Some(err) = &self.error {
            text.push_str(&format!(" ({err})"));
        }
        let snippet = self.response.as_deref().unwrap_or("").trim();
        if !snippet.is_empty() {
            let short: String = snippet.chars().take(200).collect();
            text.push_str(&format!(": {}", short.replace(['\n', '\r'], " ")));
        }
        text
    }

    /// The status alone, short enough for a retry note on one terminal line: not the body.
    pub fn short_status(&self) -> String {
        match self.status {
            0 => self
                .failure
                .clone()
                .unwrap_or_else(|| "network error".into()),
            code => format!("HTTP {code}"),
        }
    }
}

/// What is read of a response past what the log keeps of it: a credential echoed (in any of
/// its forms, up to 6 bytes a character) across that end is read whole, and redacted whole.
const SNIPPET_SLACK: usize = 4096;

/// The first `most` bytes of a response body; the rest is not read. For the log's snippet,
/// `RESPONSE_SNIPPET_BYTES` and `SNIPPET_SLACK` more, which `Exchange::without_credentials` cuts
/// to its length.
async fn read_start(
    mut response: reqwest::Response,
    most: usize,
) -> (Vec<u8>, reqwest::Result<()>) {
    let mut snippet = Vec::new();
    while snippet.len() < most {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = most - snippet.len();
                snippet.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            Ok(None) => break,
            Err(err) => return (snippet, Err(err)),
        }
    }
    (snippet, Ok(()))
}

/// The innermost cause of a reqwest error, which is where the useful words are.
pub(super) fn network_error_text(err: &reqwest::Error) -> String {
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
    let detail = source.to_string();
    // "timed out: operation timed out" says it twice.
    if detail.contains(kind) {
        return detail;
    }
    format!("{kind}: {detail}")
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

#[cfg(test)]
mod tests {
    use super::*;

    fn answered(status: u16, error: Option<&str>, response: &str) -> Exchange {
        Exchange {
            status,
            retry_after: None,
            budget: None,
            error: error.map(str::to_string),
            response: Some(response.to_string()),
            failure: None,
            answer: Answer::NotRead,
        }
    }

    fn unanswered(error: Option<&str>, failure: Option<&str>) -> Exchange {
        Exchange {
            status: 0,
            retry_after: None,
            budget: None,
            error: error.map(str::to_string),
            response: None,
            failure: failure.map(str::to_string),
            answer: Answer::NotRead,
        }
    }

    #[test]
    fn describe_gives_the_status_error_and_response_start_on_one_line() {
        assert_eq!(answered(500, None, "").describe(), "HTTP 500");
        assert_eq!(
            answered(422, None, "  bad\r\nfield \n").describe(),
            "HTTP 422: bad  field"
        );
        assert_eq!(
            answered(301, Some("redirect to /new"), "moved").describe(),
            "HTTP 301 (redirect to /new): moved"
        );
        let long = "é".repeat(300);
        let text = answered(400, None, &long).describe();
        assert_eq!(text, format!("HTTP 400: {}", "é".repeat(200)));
    }

    #[test]
    fn describe_without_a_response_is_the_network_error() {
        let refused = unanswered(
            Some("cannot connect: Connection refused (os error 111)"),
            Some("connection refused"),
        );
        assert_eq!(
            refused.describe(),
            "cannot connect: Connection refused (os error 111)"
        );
        assert_eq!(unanswered(None, None).describe(), "network error");
    }

    #[test]
    fn short_status_is_the_code_or_the_failure_in_a_few_words() {
        assert_eq!(
            answered(503, None, "busy, long text").short_status(),
            "HTTP 503"
        );
        let refused = unanswered(Some("cannot connect: ..."), Some("connection refused"));
        assert_eq!(refused.short_status(), "connection refused");
        assert_eq!(unanswered(None, None).short_status(), "network error");
    }

    #[test]
    fn echoed_credentials_are_taken_out_of_the_response_and_error() {
        let mut redactor = Redactor::default();
        redactor.add("tok-123456");
        let exchange = answered(
            401,
            Some("redirect to /?t=tok-123456"),
            "bad token tok-123456",
        )
        .without_credentials(&redactor);
        let shown = exchange.describe();
        assert!(!shown.contains("tok-123456"), "{shown}");
        assert!(shown.contains("[redacted]"), "{shown}");
        assert_eq!(exchange.status, 401);
    }

    #[test]
    fn a_response_is_cut_to_what_the_log_keeps_never_inside_a_credential() {
        let mut redactor = Redactor::default();
        redactor.add("tok-123456");
        let long = "x".repeat(RESPONSE_SNIPPET_BYTES - 4) + "tok-123456" + &"y".repeat(100);
        let kept = answered(200, None, &long)
            .without_credentials(&redactor)
            .response
            .unwrap();
        assert_eq!(kept, "x".repeat(RESPONSE_SNIPPET_BYTES - 4) + "[redacted]");
        let plain = answered(200, None, &"z".repeat(RESPONSE_SNIPPET_BYTES + 9))
            .without_credentials(&Redactor::default())
            .response
            .unwrap();
        assert_eq!(plain.len(), RESPONSE_SNIPPET_BYTES);
    }
}
