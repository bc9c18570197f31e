//! Request bodies built ahead of the sender: read from the outbox, decompressed, wrapped in the
//! payload format and signed on loader threads while the current request is in flight, so the
//! sender only sends. Bodies come back in plan order; a few wait per loader, so memory stays
//! bounded by the batch size.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use anyhow::{Context, Result};
use bytes::Bytes;

use super::compress::BodyCompression;
use crate::payload::{decompress, write_request_with, BatchHeader, BodyContext, Method};
use crate::sign::{Signature, Signer};
use crate::store::{BatchRef, EventRecord, Store};

/// The exact content of a request (POST body or GET query) and, when the run signs, a signature
/// made just before it was handed over.
pub struct PreparedBody {
    /// What is signed: the body as the receiver's application sees it.
    pub content: Bytes,
    /// What is sent: `content` itself, or encoded with `--compress`.
    pub wire: Bytes,
    pub signed: Option<Signature>,
}

/// Everything needed to build and sign bodies, apart from the log: cloned into each loader.
#[derive(Clone)]
pub struct BodyMaker {
    pub ctx: BodyContext,
    /// For GET the signed content is the whole query string as sent, the URL's own included.
    pub url_query: Option<String>,
    pub signer: Signer,
    pub compress: Option<BodyCompression>,
}

impl BodyMaker {
    /// Builds and signs the request content of one batch.
    pub fn make(
        &self,
        store: &Store,
        event: &EventRecord,
        batch: &BatchRef,
    ) -> Result<PreparedBody> {
        let content = self.build(Vec::new(), store, event, batch)?;
        self.prepared(&batch.id, Bytes::from(content))
    }

    /// As `make`, in a buffer of `pool` that goes back to it once the body is no longer held.
    fn make_pooled(
        &self,
        pool: &BufferPool,
        store: &Store,
        event: &EventRecord,
        batch: &BatchRef,
    ) -> Result<PreparedBody> {
        let content = self.build(pool.take(), store, event, batch)?;
        self.prepared(&batch.id, pool.wrap(content))
    }

    /// The request content of a batch, in `content` (emptied first).
    fn build(
        &self,
        mut content: Vec<u8>,
        store: &Store,
        event: &EventRecord,
        batch: &BatchRef,
    ) -> Result<Vec<u8>> {
        content.clear();
        if let (Method::Get, Some(own)) = (self.ctx.method, self.url_query.as_deref())
            && !own.is_empty()
        {
            content.extend_from_slice(own.as_bytes());
            content.push(b'&');
        }
        write_batch_body(store, &self.ctx, event, batch, &mut content)?;
        Ok(content)
    }

    /// `content` signed, and encoded for the wire (the signature covers the decoded body).
    fn prepared(&self, webhook_id: &str, content: Bytes) -> Result<PreparedBody> {
        let signed = self.signer.sign_now(webhook_id, &content);
        let wire = match self.compress {
            Some(codec) => Bytes::from(codec.encode(&content, Vec::new())?),
            None => content.clone(),
        };
        Ok(PreparedBody {
            content,
            wire,
            signed,
        })
    }
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
        // Only a template shows it: a query per batch then, none otherwise.
        run_rows: match &ctx.template {
            Some(_) => store.run_rows_total(&ctx.run_id)?,
            None => 0,
        },
    };
    write_request_with(ctx, &header, out, |rows, room_after| {
        // Expanded once the log's copy of the payload is let go of: a batch of one huge row
        // is held twice at most, not three times.
        let unpacked = store.with_payload(&batch.id, decompress)?;
        unpacked
            .expand_into(rows, room_after)
            .with_context(|| format!("payload of batch {} is damaged", batch.id))
    })
}

/// A loader's few body buffers, reused for the whole run: a body's buffer comes back when the
/// last reference to it is dropped, on whichever thread (the HTTP client may let go of it after
/// the sender). Fresh batch-sized allocations on every batch, of slightly different sizes and
/// freed on other threads, left the heap growing by a body's size every few hundred batches.
struct BufferPool {
    spare: Receiver<Vec<u8>>,
    home: SyncSender<Vec<u8>>,
}

/// A body's buffer on its way back to its pool when dropped.
struct Pooled {
    content: Vec<u8>,
    home: SyncSender<Vec<u8>>,
}

impl AsRef<[u8]> for Pooled {
    fn as_ref(&self) -> &[u8] {
        &self.content
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        // A full pool or a finished loader: the buffer is simply freed.
        let _ = self.home.try_send(std::mem::take(&mut self.content));
    }
}

impl BufferPool {
    /// Room for the buffers of one loader's bodies: the one being sent, the one waiting in the
    /// queue, the one being built or handed over, and one spare while the HTTP client lets go.
    const BUFFERS: usize = 4;

    fn new() -> BufferPool {
        let (home, spare) = sync_channel(BufferPool::BUFFERS);
        BufferPool { spare, home }
    }

    fn take(&self) -> Vec<u8> {
        self.spare.try_recv().unwrap_or_default()
    }

    fn wrap(&self, content: Vec<u8>) -> Bytes {
        Bytes::from_owner(Pooled {
            content,
            home: self.home.clone(),
        })
    }
}

/// How much lower the loaders' scheduling priority is than the sender's (nice levels).
const LOADER_NICENESS: i32 = 3;

/// Lowers the calling thread's priority by `LOADER_NICENESS`. Loaders are throughput work
/// that runs ahead of the sender; the sender and the receiver are latency-bound, and each
/// request waits for one of them to wake. At the same priority, a waking sender often waited
/// for a loader's time slice to end. Three levels (about half the weight) keep the loaders
/// from starving next to other busy processes. Measured in bench/README.md.
/// Best effort: where it cannot be set, loaders run at the sender's priority.
fn run_behind_the_sender() {
    #[cfg(target_os = "linux")]
    // SAFETY: plain system calls on the calling thread's own id; no memory is shared.
    unsafe {
        let thread = libc::gettid() as libc::id_t;
        *libc::__errno_location() = 0;
        let current = libc::getpriority(libc::PRIO_PROCESS, thread);
        if *libc::__errno_location() == 0 {
            let lower = (current + LOADER_NICENESS).min(19);
            libc::setpriority(libc::PRIO_PROCESS, thread, lower);
        }
    }
}

/// Loader threads at most: one reads and signs while another's body is being sent; more cannot
/// help on two cores, where the sender, the kernel and the receiver need the rest.
const MAX_LOADERS: usize = 2;

/// Finished bodies each loader may have waiting for the sender.
const LOADER_QUEUE: usize = 1;

/// Hands out the bodies of a plan in order.
pub enum BodyLoader {
    /// Built on demand by the caller (an in-memory log, or a single batch).
    Inline(Box<BodyMaker>),
    /// Loader `k` builds batches `k`, `k + n`, `k + 2n`, ... through its own connection.
    Ahead {
        loaders: Vec<Receiver<Result<PreparedBody>>>,
        next: usize,
        /// Joined when the loader is dropped, so that their connections to the log are closed
        /// before pulse exits: the last connection to close removes the WAL file.
        threads: Vec<std::thread::JoinHandle<()>>,
    },
}

impl Drop for BodyLoader {
    fn drop(&mut self) {
        if let BodyLoader::Ahead {
            loaders, threads, ..
        } = self
        {
            // Their next hand-over fails, and they stop after the body they are building.
            loaders.clear();
            for thread in threads.drain(..) {
                let _ = thread.join();
            }
        }
    }
}

impl BodyLoader {
    pub fn start(
        store: &Store,
        maker: BodyMaker,
        plan: &[(EventRecord, BatchRef)],
    ) -> Result<BodyLoader> {
        let Some(log) = store.location().cloned() else {
            return Ok(BodyLoader::Inline(Box::new(maker)));
        };
        if plan.len() < 2 {
            return Ok(BodyLoader::Inline(Box::new(maker)));
        }
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let count = cores.clamp(1, MAX_LOADERS).min(plan.len());
        let mut loaders = Vec::with_capacity(count);
        let mut threads = Vec::with_capacity(count);
        for first in 0..count {
            // One body queued per loader: with bodies only handed over, a loader that finished
            // early sat idle while the sender waited for the receiver; one more body each keeps
            // both cores busy (bench/README.md).
            // Memory holds at most two bodies per loader (one queued, one being built or handed
            // over) plus the one being sent.
            let (send, bodies) = sync_channel::<Result<PreparedBody>>(LOADER_QUEUE);
            let (maker, log) = (maker.clone(), log.clone());
            let share: Vec<(EventRecord, BatchRef)> =
                plan.iter().skip(first).step_by(count).cloned().collect();
            let thread = std::thread::Builder::new()
                .name(format!("pulse-bodies-{first}"))
                .spawn(move || {
                    run_behind_the_sender();
                    let store = match Store::open_to_read(&log).and_then(|store| {
                        store.stream_pages()?;
                        Ok(store)
                    }) {
                        Ok(store) => store,
                        Err(err) => {
                            let _ = send.send(Err(err));
                            return;
                        }
                    };
                    let pool = BufferPool::new();
                    for (event, batch) in &share {
                        let built = maker.make_pooled(&pool, &store, event, batch);
                        let failed = built.is_err();
                        // The sender stopped (an error or Ctrl-C): stop building.
                        if send.send(built).is_err() || failed {
                            return;
                        }
                    }
                })
                .context("cannot start a body loader")?;
            loaders.push(bodies);
            threads.push(thread);
        }
        Ok(BodyLoader::Ahead {
            loaders,
            next: 0,
            threads,
        })
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
            BodyLoader::Ahead { loaders, next, .. } => {
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
    fn a_pooled_body_comes_back_when_its_last_reference_goes() {
        let pool = BufferPool::new();
        let mut first = pool.take();
        first.extend_from_slice(b"[1,2,3]");
        let at = first.as_ptr();
        let body = pool.wrap(first);
        let held_elsewhere = body.clone();
        drop(body);
        assert!(pool.spare.try_recv().is_err(), "still held by the clone");
        std::thread::spawn(move || drop(held_elsewhere))
            .join()
            .unwrap();
        let again = pool.take();
        assert_eq!(again.as_ptr(), at, "the same allocation, reused");
        assert!(again.capacity() >= 7);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_loader_thread_runs_at_a_lower_priority() {
        let nice = || {
            // SAFETY: reads the calling thread's nice value; no pointer is involved.
            unsafe { libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t) }
        };
        let ours = nice();
        let theirs = std::thread::spawn(move || {
            run_behind_the_sender();
            nice()
        })
        .join()
        .unwrap();
        assert_eq!(theirs, (ours + LOADER_NICENESS).min(19));
        assert_eq!(nice(), ours, "only the loader's own thread");
    }
}
