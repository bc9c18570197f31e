//! An input over HTTP(S): the download (with `--input-header`, delivery's TLS and proxy
//! settings), the HEAD of the repeat check, and redirects followed within the same origin only.

use std::time::Duration;

use anyhow::{anyhow, Result};
use futures_util::StreamExt;
use reqwest::header::{HeaderMap, CONTENT_LENGTH, ETAG, LAST_MODIFIED};
use reqwest::{Client, Method, Response, StatusCode, Url};

use super::access::Access;
use super::chunks::{run_on_thread, spawn, Body, ChunkReader};
use crate::read::RemoteObject;
use crate::redact::shown_input_url as shown_url;

/// How long a connection may take, and a download may stall between two reads.
const WAIT: Duration = Duration::from_secs(60);

/// Redirects followed at most.
const MAX_REDIRECTS: usize = 10;

/// Starts downloading `url`: returns once it answered 2xx (else the error names it and the
/// status), with its body read as it arrives.
pub fn get(url: &str, access: &Access) -> Result<(ChunkReader, RemoteObject)> {
    let (url, client, headers) = prepare(url, access)?;
    spawn(move || async move {
        let response = send(&client, Method::GET, &url, headers).await?;
        let object = object_of(&response);
        let body = futures_util::stream::unfold(Some(response), |response| async move {
            let mut response = response?;
            match response.chunk().await {
                Ok(Some(bytes)) => Some((Ok(bytes), Some(response))),
                Ok(None) => None,
                Err(err) => Some((Err(std::io::Error::other(network_error(err))), None)),
            }
        });
        let body: Body = (object, body.boxed());
        Ok(body)
    })
}

/// What a HEAD request tells of `url`; nothing when the server answers HEAD with another
/// status than 2xx (some allow GET only, as a URL signed for GET does): the download that
/// follows then says what is wrong, if anything.
pub fn head(url: &str, access: &Access) -> Result<RemoteObject> {
    let (url, client, headers) = prepare(url, access)?;
    run_on_thread(move || async move {
        match send(&client, Method::HEAD, &url, headers).await {
            Ok(response) => Ok(object_of(&response)),
            Err(err) => match err.downcast_ref::<Refused>() {
                Some(Refused::Status(_)) => Ok(RemoteObject::default()),
                _ => Err(err),
            },
        }
    })
}

/// Why a request brought no body.
#[derive(Debug, thiserror::Error)]
enum Refused {
    #[error("{0}")]
    Status(StatusCode),
    #[error("{0}")]
    Other(String),
}

fn prepare(url: &str, access: &Access) -> Result<(Url, Client, HeaderMap)> {
    let shown = shown_url(url);
    let parsed = Url::parse(url).map_err(|err| anyhow!("{shown}: not a URL ({err})"))?;
    let client = crate::deliver::download_builder(parsed.scheme() == "https", access.tls.as_ref())?
        .redirect(same_origin())
        .connect_timeout(WAIT)
        .read_timeout(WAIT)
        .build()
        .map_err(|err| anyhow!("cannot set up the HTTP client ({err})"))?;
    Ok((parsed, client, access.headers.clone()))
}

/// Sends the request; an answer other than 2xx is refused, named with the URL (masked).
async fn send(
    client: &Client,
    method: Method,
    url: &Url,
    headers: HeaderMap,
) -> Result<Response, anyhow::Error> {
    let shown = shown_url(url.as_str());
    let refused = |err: Refused| anyhow::Error::new(err).context(shown.clone());
    let response = client
        .request(method, url.clone())
        .headers(headers)
        .send()
        .await
        .map_err(|err| refused(Refused::Other(network_error(err))))?;
    let status = response.status();
    if !status.is_success() {
        let err = anyhow::Error::new(Refused::Status(status));
        return Err(err.context(format!("{shown}: the server answered")));
    }
    Ok(response)
}

/// The answer's `ETag`, `Last-Modified` and length.
fn object_of(response: &Response) -> RemoteObject {
    let text = |name| {
        response
            .headers()
            .get(name)
            .and_then(|value: &reqwest::header::HeaderValue| value.to_str().ok())
            .map(str::to_string)
    };
    RemoteObject {
        etag: text(ETAG),
        last_modified: text(LAST_MODIFIED),
        // The header, not the body's length: a HEAD answer has no body.
        size: text(CONTENT_LENGTH).and_then(|length| length.parse().ok()),
    }
}

/// A network error in a few words, with its causes (a refused redirect says why), and no URL
/// (the caller names it, masked).
fn network_error(err: reqwest::Error) -> String {
    let err = err.without_url();
    let mut words = vec![err.to_string()];
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        words.push(cause.to_string());
        source = cause.source();
    }
    words.join(": ")
}

/// Redirects within the URL's origin (scheme, host and port) are followed; one to another
/// origin is an error naming both (an `--input-header` credential must not travel there).
fn same_origin() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let Some(first) = attempt.previous().first() else {
            return attempt.follow();
        };
        if attempt.previous().len() > MAX_REDIRECTS {
            return attempt.error(format!("more than {MAX_REDIRECTS} redirects"));
        }
        if attempt.url().origin() == first.origin() {
            return attempt.follow();
        }
        let (from, to) = (shown_url(first.as_str()), shown_url(attempt.url().as_str()));
        attempt.error(format!(
            "redirected from {from} to {to}, another origin: refused (redirects are followed \
             within the same scheme, host and port only)"
        ))
    })
}
