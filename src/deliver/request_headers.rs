//! The headers pulse sets on a request, in one list that the deliverer sends and `--dry-run`
//! shows, each marked when its value is a credential so that the log never holds it.

use anyhow::Result;
use reqwest::header::{
    HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE, USER_AGENT,
};

use super::compress::BodyCompression;
use super::settings::ExtraHeader;
use crate::payload::Method;
use crate::sign::Signature;
use crate::telemetry::TraceHeaders;

/// What the headers of a request depend on, besides its batch and signature.
pub struct RequestHeaders<'a> {
    pub method: Method,
    /// The body's media type (POST).
    pub content_type: &'a str,
    pub compress: Option<BodyCompression>,
    /// `--header` values and the auth header.
    pub extra: &'a [ExtraHeader],
    /// The OAuth2 token, sent as `Authorization: Bearer <token>`.
    pub bearer: Option<&'a str>,
    /// The attempt's W3C trace context (`telemetry`): none when not tracing and no caller's
    /// `TRACEPARENT` to pass on, and for a dry run, which sends nothing.
    pub trace: Option<&'a TraceHeaders>,
}

impl RequestHeaders<'_> {
    /// The headers pulse sets on a request, in the order it sets them, each marked when its
    /// value is a credential: content type and encoding (POST), user agent, the Standard
    /// Webhooks headers (timestamp and signature when signed), then `--header` and the auth
    /// header, then OAuth2's `Authorization: Bearer`. The HTTP client adds `Host`, `Accept` and
    /// `Content-Length`.
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
            // Checked when given (`--content-type`); a damaged log's is an error, not a panic.
            let media = HeaderValue::from_str(self.content_type).map_err(|_| {
                anyhow::anyhow!("content type {:?} in the log is damaged", self.content_type)
            })?;
            headers.push((CONTENT_TYPE, media, false));
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
        if let Some(trace) = self.trace {
            // Made by pulse (hex and dashes) or checked when read from the environment.
            if let Ok(value) = HeaderValue::from_str(&trace.traceparent) {
                headers.push((HeaderName::from_static("traceparent"), value, false));
            }
            let state = trace.tracestate.as_deref().map(HeaderValue::from_str);
            if let Some(Ok(value)) = state {
                headers.push((HeaderName::from_static("tracestate"), value, false));
            }
        }
        for header in self.extra {
            headers.push((header.name.clone(), header.value.clone(), header.secret));
        }
        if let Some(token) = self.bearer {
            // Checked when the token endpoint issued it.
            let mut value = HeaderValue::from_str(&format!("Bearer {token}"))
                .map_err(|_| anyhow::anyhow!("the OAuth2 token cannot go in a header"))?;
            value.set_sensitive(true);
            headers.push((AUTHORIZATION, value, true));
        }
        Ok(headers)
    }

    /// The headers to send, and their JSON for the log with credential values redacted.
    pub(super) fn for_request(
        &self,
        webhook_id: &str,
        signature: Option<&Signature>,
    ) -> Result<(HeaderMap, String)> {
        let mut headers = HeaderMap::new();
        let mut logged = serde_json::Map::new();
        for (name, value, secret) in self.list(webhook_id, signature)? {
            logged.insert(
                name.as_str().to_string(),
                shown_value(&value, secret).into(),
            );
            headers.insert(name, value);
        }
        Ok((headers, serde_json::Value::Object(logged).to_string()))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn extra(name: &'static str, value: &'static str, secret: bool) -> ExtraHeader {
        ExtraHeader {
            name: HeaderName::from_static(name),
            value: HeaderValue::from_static(value),
            secret,
        }
    }

    #[test]
    fn headers_come_in_order_with_credentials_marked() {
        let extra = [
            extra("x-team", "blue", false),
            extra("authorization", "Bearer tok-1", true),
        ];
        let planned = RequestHeaders {
            method: Method::Post,
            content_type: "application/json",
            compress: None,
            extra: &extra,
            bearer: None,
            trace: None,
        };
        let signature = Signature {
            timestamp: 1_700_000_000,
            header: "v1,c2ln".into(),
        };
        let list = planned.list("msg_1", Some(&signature)).unwrap();
        let names: Vec<&str> = list.iter().map(|(name, _, _)| name.as_str()).collect();
        assert_eq!(
            names,
            [
                "content-type",
                "user-agent",
                "webhook-id",
                "webhook-timestamp",
                "webhook-signature",
                "x-team",
                "authorization"
            ]
        );
        let secrets: Vec<bool> = list.iter().map(|(_, _, secret)| *secret).collect();
        assert_eq!(secrets, [false, false, false, false, false, false, true]);
        assert_eq!(list[3].1, "1700000000");
    }

    #[test]
    fn get_requests_have_no_content_headers_and_unsigned_no_signature() {
        let planned = RequestHeaders {
            method: Method::Get,
            content_type: "application/json",
            compress: Some(BodyCompression::Gzip),
            extra: &[],
            bearer: None,
            trace: None,
        };
        let list = planned.list("msg_1", None).unwrap();
        let names: Vec<&str> = list.iter().map(|(name, _, _)| name.as_str()).collect();
        assert_eq!(names, ["user-agent", "webhook-id"]);
    }

    #[test]
    fn compressed_posts_say_their_encoding() {
        let planned = RequestHeaders {
            method: Method::Post,
            content_type: "application/x-ndjson",
            compress: Some(BodyCompression::Gzip),
            extra: &[],
            bearer: None,
            trace: None,
        };
        let list = planned.list("msg_1", None).unwrap();
        assert_eq!(list[0].1, "application/x-ndjson");
        assert_eq!(list[1].0, CONTENT_ENCODING);
        assert_eq!(list[1].1, "gzip");
    }

    #[test]
    fn a_damaged_batch_id_is_an_error() {
        let planned = RequestHeaders {
            method: Method::Post,
            content_type: "application/json",
            compress: None,
            extra: &[],
            bearer: None,
            trace: None,
        };
        let err = planned.list("msg_\n1", None).unwrap_err();
        assert!(err.to_string().contains("is damaged"), "{err}");
    }

    #[test]
    fn the_logged_headers_never_hold_a_credential() {
        let extra = [extra("authorization", "Bearer tok-1", true)];
        let planned = RequestHeaders {
            method: Method::Post,
            content_type: "application/json",
            compress: None,
            extra: &extra,
            bearer: None,
            trace: None,
        };
        let (sent, logged) = planned.for_request("msg_1", None).unwrap();
        assert_eq!(sent["authorization"], "Bearer tok-1");
        let logged: serde_json::Value = serde_json::from_str(&logged).unwrap();
        assert_eq!(logged["authorization"], "[redacted]");
        assert_eq!(logged["webhook-id"], "msg_1");
        assert!(!logged.to_string().contains("tok-1"));
    }

    #[test]
    fn trace_headers_come_after_the_signature_and_before_extra_headers() {
        let extra = [extra("x-team", "blue", false)];
        let trace = TraceHeaders {
            traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into(),
            tracestate: Some("congo=t61rcWkgMzE".into()),
        };
        let planned = RequestHeaders {
            method: Method::Get,
            content_type: "application/json",
            compress: None,
            extra: &extra,
            bearer: None,
            trace: Some(&trace),
        };
        let list = planned.list("msg_1", None).unwrap();
        let names: Vec<&str> = list.iter().map(|(name, _, _)| name.as_str()).collect();
        assert_eq!(
            names,
            [
                "user-agent",
                "webhook-id",
                "traceparent",
                "tracestate",
                "x-team"
            ]
        );
        assert_eq!(list[2].1, trace.traceparent.as_str());
        assert!(list.iter().all(|(_, _, secret)| !secret));
    }

    #[test]
    fn an_oauth2_token_goes_last_as_a_bearer_credential() {
        let extra = [extra("x-team", "blue", false)];
        let planned = RequestHeaders {
            method: Method::Get,
            content_type: "application/json",
            compress: None,
            extra: &extra,
            bearer: Some("tok-2"),
            trace: None,
        };
        let (sent, logged) = planned.for_request("msg_1", None).unwrap();
        assert_eq!(sent["authorization"], "Bearer tok-2");
        assert!(sent["authorization"].is_sensitive());
        let logged: serde_json::Value = serde_json::from_str(&logged).unwrap();
        assert_eq!(logged["authorization"], "[redacted]");
        let list = planned.list("msg_1", None).unwrap();
        assert_eq!(list.last().unwrap().0, AUTHORIZATION);
        assert!(list.last().unwrap().2);
    }

    #[test]
    fn shown_values_hide_credentials_and_binary() {
        let value = HeaderValue::from_static("Bearer tok-1");
        assert_eq!(shown_value(&value, true), "[redacted]");
        assert_eq!(shown_value(&value, false), "Bearer tok-1");
        let binary = HeaderValue::from_bytes(b"\xff\xfe").unwrap();
        assert_eq!(shown_value(&binary, false), "[binary]");
    }
}
