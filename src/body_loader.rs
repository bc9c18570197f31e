//! Request bodies built ahead of the sender: read from the outbox, decompressed, wrapped in the
//! payload format and signed on loader threads while the current request is in flight, so the
//! sender only sends. Bodies come back in plan order; one waits per loader, so memory stays
//! bounded by the batch size.

use std::sync::mpsc::{sync_channel, Receiver};
use std::time::SystemTime;

use anyhow::{Context, Result};
use bytes::Bytes;

use crate::payload::{write_request_with, BatchHeader, BodyContext, Method};
use crate::sign::{signature_header, SigningKey};
use crate::store::{BatchRef, EventRecord, Store};

/// A signature made for one timestamp.
#[derive(Debug, Clone)]
pub struct Signature {
    pub timestamp: i64,
    pub header: String,
}

/// The exact content of a request (POST body or GET query) and, when the run signs, a signature
/// made just before it was handed over.
pub struct PreparedBody {
    pub content: Bytes,
    pub signed: Option<Signature>,
}

/// Everything needed to build and sign bodies, apart from the log: cloned into each loader.
#[derive(Clone)]
pub struct BodyMaker {
    pub ctx: BodyContext,
    /// For GET the signed content is the whole query string as sent, the URL's own included.
    pub url_query: Option<String>,
    pub keys: Vec<SigningKey>,
}

impl BodyMaker {
    /// Builds and signs the request content of one batch.
    pub fn make(
        &self,
        store: &Store,
        event: &EventRecord,
        batch: &BatchRef,
    ) -> Result<PreparedBody> {
        let mut content = Vec::new();
        if let (Method::Get, Some(own)) = (self.ctx.method, self.url_query.as_deref()) {
            if !own.is_empty() {
                content.extend_from_slice(own.as_bytes());
                content.push(b'&');
            }
        }
        write_batch_body(store, &self.ctx, event, batch, &mut content)?;
        let content = Bytes::from(content);
        let signed = self.sign(&batch.id, &content);
        Ok(PreparedBody { content, signed })
    }

    /// A signature for `content` as of now, or None when the run does not sign.
    pub fn sign(&self, webhook_id: &str, content: &[u8]) -> Option<Signature> {
        sign_now(&self.keys, webhook_id, content)
    }
}

/// A signature by every key for `content` as of now, or None without keys (unsigned).
pub fn sign_now(keys: &[SigningKey], webhook_id: &str, content: &[u8]) -> Option<Signature> {
    if keys.is_empty() {
        return None;
    }
    let timestamp = unix_now();
    Some(Signature {
        timestamp,
        header: signature_header(keys, webhook_id, timestamp, content),
    })
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Builds the exact body (or GET query, without the URL's own part) of a stored batch: the same
/// bytes on every attempt, resend and resume.
pub fn write_batch_body(
    store: &Store,
    ctx: &BodyContext,
    event: &EventRecord,
    batch: &BatchRef,
    out: &mut Vec<u8>,
) -> Result<()> {
    let header = BatchHeader {
        batch_id: &batch.id,
        event_id: &event.id,
        event_name: &event.name,
        index: batch.idx,
        count: event.batch_count,
        total_rows: event.total_rows,
    };
    write_request_with(ctx, &header, out, |rows, room_after| {
        store.load_payload(&batch.id, rows, room_after)
    })
}

/// Loader threads at most: one reads and signs while another's body is being sent; more cannot
/// help on two cores, where the sender, the kernel and the receiver need the rest.
const MAX_LOADERS: usize = 2;

/// Hands out the bodies of a plan in order.
pub enum BodyLoader {
    /// Built on demand by the caller (an in-memory log, or a single batch).
    Inline(BodyMaker),
    /// Loader `k` builds batches `k`, `k + n`, `k + 2n`, ... through its own connection.
    Ahead {
        loaders: Vec<Receiver<Result<PreparedBody>>>,
        next: usize,
    },
}

impl BodyLoader {
    pub fn start(
        store: &Store,
        maker: BodyMaker,
        plan: &[(EventRecord, BatchRef)],
    ) -> Result<BodyLoader> {
        let Some(path) = store.path().map(std::path::Path::to_path_buf) else {
            return Ok(BodyLoader::Inline(maker));
        };
        if plan.len() < 2 {
            return Ok(BodyLoader::Inline(maker));
        }
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let count = cores.clamp(1, MAX_LOADERS).min(plan.len());
        let mut loaders = Vec::with_capacity(count);
        for first in 0..count {
            // Handed over, not queued: each loader holds the one body it built, so memory holds
            // at most one body per loader plus the one being sent.
            let (send, bodies) = sync_channel::<Result<PreparedBody>>(0);
            let (maker, path) = (maker.clone(), path.clone());
            let share: Vec<(EventRecord, BatchRef)> =
                plan.iter().skip(first).step_by(count).cloned().collect();
            std::thread::Builder::new()
                .name(format!("pulse-bodies-{first}"))
                .spawn(move || {
                    let store = match Store::open_to_read(&path).and_then(Store::streaming) {
                        Ok(store) => store,
                        Err(err) => {
                            let _ = send.send(Err(err));
                            return;
                        }
                    };
                    for (event, batch) in &share {
                        let built = maker.make(&store, event, batch);
                        let failed = built.is_err();
                        // The sender stopped (an error or Ctrl-C): stop building.
                        if send.send(built).is_err() || failed {
                            return;
                        }
                    }
                })
                .context("cannot start a body loader")?;
            loaders.push(bodies);
        }
        Ok(BodyLoader::Ahead { loaders, next: 0 })
    }

    /// The next body of the plan: `event` and `batch` must be the plan's next entry.
    pub fn next_body(
        &mut self,
        store: &Store,
        event: &EventRecord,
        batch: &BatchRef,
    ) -> Result<PreparedBody> {
        match self {
            BodyLoader::Inline(maker) => maker.make(store, event, batch),
            BodyLoader::Ahead { loaders, next } => {
                let loader = &loaders[*next % loaders.len()];
                *next += 1;
                loader
                    .recv()
                    .map_err(|_| anyhow::anyhow!("a body loader stopped unexpectedly"))?
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_maker_without_keys_does_not_sign() {
        let maker = BodyMaker {
            ctx: BodyContext::default(),
            url_query: None,
            keys: Vec::new(),
        };
        assert!(maker.sign("msg_1", b"[]").is_none());
    }

    #[test]
    fn a_signature_is_for_the_current_second() {
        let (key, _) = SigningKey::generate();
        let maker = BodyMaker {
            ctx: BodyContext::default(),
            url_query: None,
            keys: vec![key.clone()],
        };
        let before = unix_now();
        let signed = maker.sign("msg_1", b"[1]").unwrap();
        assert!(signed.timestamp >= before && signed.timestamp <= unix_now());
        assert!(crate::sign::verify(
            &[key],
            &signed.header,
            "msg_1",
            signed.timestamp,
            b"[1]"
        ));
    }
}
