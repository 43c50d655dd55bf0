//! [`Batcher`]: the cheap-to-clone handle producers use.

use std::fmt;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::config::BatcherBuilder;
use crate::error::{FlushError, SendError, ShutdownError};
use crate::flush::{self, FlushFuture};
use crate::ingress::Shared;
use crate::shutdown::{self, Lifecycle};
use crate::spool::Durability;
use crate::stats::Stats;

/// The batching engine's handle: enqueue items, flush, shut down, read stats.
///
/// `Batcher` is `Send + Sync` and cheap to clone (an `Arc`); every clone drives the same
/// engine. The engine shuts down when [`shutdown`](Self::shutdown) is called, or, failing
/// that, when the last clone is dropped: `Drop` runs the same bounded shutdown with the
/// configured [`shutdown_timeout`](BatcherBuilder::shutdown_timeout), never panics, never waits
/// longer than that timeout, and only waits on std primitives, so it is safe inside a tokio
/// runtime of either flavour (it blocks that thread for at most the timeout). `Drop` does not
/// run if the process exits through `std::process::exit` or a panic with `panic = "abort"`;
/// call `shutdown` explicitly before such exits.
///
/// ```
/// use amberflo_batcher::{Batcher, SinkFn};
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
/// use std::time::Duration;
///
/// let delivered = Arc::new(AtomicUsize::new(0));
/// let counter = Arc::clone(&delivered);
/// let batcher = Batcher::builder()
///     .max_batch_size(10)
///     .build(SinkFn::new(move |batch: &[u32]| {
///         assert!(batch.len() <= 10);
///         counter.fetch_add(batch.len(), Ordering::SeqCst);
///         Ok(())
///     }))
///     .unwrap();
///
/// let producer = batcher.clone();
/// std::thread::spawn(move || {
///     for i in 0..100 {
///         producer.try_send(i).unwrap();
///     }
/// })
/// .join()
/// .unwrap();
///
/// batcher.shutdown(Duration::from_secs(5)).unwrap();
/// assert_eq!(delivered.load(Ordering::SeqCst), 100);
/// assert_eq!(batcher.stats().delivered, 100);
/// ```
pub struct Batcher<T> {
    inner: Arc<Inner<T>>,
}

/// Owned by all the clones; its `Drop` is the last-handle shutdown.
struct Inner<T> {
    shared: Arc<Shared<T>>,
    lifecycle: Lifecycle,
}

impl<T> Drop for Inner<T> {
    fn drop(&mut self) {
        if !self.lifecycle.is_running() {
            return;
        }
        let timeout = self.shared.config.shutdown_timeout;
        if let Err(error) = shutdown::shutdown(&self.shared, &self.lifecycle, timeout) {
            tracing::warn!(%error, "amberflo-batcher dropped without a complete shutdown");
        }
    }
}

impl<T> Clone for Batcher<T> {
    fn clone(&self) -> Self {
        Batcher {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<T> fmt::Debug for Batcher<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Batcher")
            .field("config", &self.inner.shared.config)
            .field("stats", &self.stats())
            .finish()
    }
}

impl<T: Send + Sync + 'static> Batcher<T> {
    /// A builder with every setting at its [default](crate::defaults).
    pub fn builder() -> BatcherBuilder<T> {
        BatcherBuilder::default()
    }
}

impl<T> Batcher<T> {
    pub(crate) fn from_parts(shared: Arc<Shared<T>>, handles: Vec<JoinHandle<()>>) -> Self {
        Batcher {
            inner: Arc::new(Inner {
                shared,
                lifecycle: Lifecycle::new(handles),
            }),
        }
    }

    /// Enqueues `item` without blocking and without needing any runtime.
    ///
    /// Lock-free: an atomic add on a per-thread counter and a push into a bounded array queue;
    /// a worker is woken (one syscall) only if one is asleep and needs the item.
    ///
    /// # Errors
    ///
    /// Returns the item inside a [`SendError`] when the queue is
    /// [full](crate::SendErrorKind::Full) (after filling up, until workers take out a batch's
    /// worth) or the engine is
    /// [shut down](crate::SendErrorKind::Closed); it is counted in
    /// [`Stats::rejected`]. The first refusal of an overflow episode is logged with
    /// `tracing::warn!`; an episode ends when the queue drains below half its capacity.
    ///
    /// ```
    /// use amberflo_batcher::{Batcher, SinkFn};
    ///
    /// let batcher = Batcher::builder()
    ///     .capacity(1)
    ///     .workers(1)
    ///     .build(SinkFn::new(|_batch: &[&str]| Ok(())))
    ///     .unwrap();
    /// match batcher.try_send("event") {
    ///     Ok(()) => {}
    ///     Err(refused) => drop(refused.into_inner()), // full: keep it, retry later, ...
    /// }
    /// ```
    #[inline]
    pub fn try_send(&self, item: T) -> Result<(), SendError<T>> {
        let shared = &*self.inner.shared;
        shared.enqueue(item).map_err(|(kind, item)| {
            shared.reject(kind);
            SendError::new(kind, item)
        })
    }

    /// Like [`try_send`](Self::try_send), but never waits for a disk: for callers on an async
    /// runtime's thread. Without a spool, or under a spool's `Every` or `Never` policy, it is
    /// `try_send` (an item accepted with a spool is in the OS page cache when it returns: it
    /// survives `kill -9`). Under [`FsyncPolicy::Always`](crate::FsyncPolicy::Always) it
    /// returns once the item is written, without the `fdatasync` `try_send` waits for: the
    /// spool's sync thread runs it (one for every item that came meanwhile), and the returned
    /// [`Durability`] resolves once it is done. Await it where the item must be on stable
    /// storage before going on; drop it otherwise (the sync happens anyway).
    ///
    /// # Errors
    ///
    /// As [`try_send`](Self::try_send).
    ///
    /// ```
    /// use amberflo_batcher::{Batcher, SinkFn};
    ///
    /// # amberflo_batcher::block_on(async {
    /// let batcher = Batcher::builder().build(SinkFn::new(|_: &[u32]| Ok(()))).unwrap();
    /// batcher.try_send_async(7).unwrap().await; // durable as the policy promises
    /// # });
    /// ```
    pub fn try_send_async(&self, item: T) -> Result<Durability, SendError<T>> {
        let shared = &*self.inner.shared;
        shared.enqueue_async(item).map_err(|(kind, item)| {
            shared.reject(kind);
            SendError::new(kind, item)
        })
    }

    /// Enqueues `item`, waiting up to `timeout` for room while the queue is full.
    ///
    /// Blocks the calling thread on a condition variable. A full queue takes items again once
    /// the workers have taken a batch out; that wakes one waiting sender, which wakes the next
    /// when it leaves, for as long as there is room. Do not call it on an async runtime's
    /// thread with a long timeout.
    ///
    /// # Errors
    ///
    /// [`SendErrorKind::Full`](crate::SendErrorKind::Full) if the queue stayed full until
    /// the timeout, [`SendErrorKind::Closed`](crate::SendErrorKind::Closed) if the engine is
    /// (or gets) shut down; the item is returned and counted as rejected once.
    pub fn send_timeout(&self, item: T, timeout: Duration) -> Result<(), SendError<T>> {
        let shared = &*self.inner.shared;
        shared
            .enqueue_timeout(item, timeout)
            .map_err(|(kind, item)| {
                shared.reject(kind);
                SendError::new(kind, item)
            })
    }

    /// Blocks until every record accepted before this call is delivered or failed (its error
    /// callback returned), or until `timeout`.
    ///
    /// Exact: records accepted after the call are not waited for, even under constant load,
    /// and a record still retrying on one worker is waited for even if other workers finished
    /// many newer ones (see the crate docs). The only approximation: when 7 earlier flushes
    /// are still outstanding, this one may also wait for records accepted while it queues
    /// behind them. While a flush is pending, workers send partial batches without lingering.
    ///
    /// Blocks on a std channel only, so it does not panic inside a tokio runtime; prefer
    /// [`flush_async`](Self::flush_async) there. Do not call it from the sink or the error
    /// callback (it would wait for itself until the timeout).
    ///
    /// # Errors
    ///
    /// [`FlushError::TimedOut`] if the timeout elapsed first; the records are not lost, the
    /// engine keeps working on them.
    ///
    /// ```
    /// use amberflo_batcher::{Batcher, SinkFn};
    /// use std::time::Duration;
    ///
    /// let batcher = Batcher::builder()
    ///     .linger(Duration::from_secs(60)) // a flush does not wait for the linger
    ///     .build(SinkFn::new(|_batch: &[u64]| Ok(())))
    ///     .unwrap();
    /// batcher.try_send(1).unwrap();
    /// batcher.flush(Duration::from_secs(5)).unwrap();
    /// assert_eq!(batcher.stats().delivered, 1);
    /// ```
    pub fn flush(&self, timeout: Duration) -> Result<(), FlushError> {
        flush::flush_blocking(&self.inner.shared.core, timeout)
    }

    /// Like [`flush`](Self::flush), as a future usable from any async runtime (or none).
    ///
    /// The flush covers the records accepted before *this call* (registration happens here,
    /// not at the first poll). The future is `Send + 'static`; its timeout is enforced by a
    /// small timer thread, so it needs no runtime timer and resolves even if every worker is
    /// stuck in the sink. Dropping it withdraws the flush.
    ///
    /// ```
    /// use amberflo_batcher::{Batcher, SinkFn};
    /// use std::time::Duration;
    ///
    /// let batcher = Batcher::builder()
    ///     .build(SinkFn::new(|_batch: &[u64]| Ok(())))
    ///     .unwrap();
    /// batcher.try_send(1).unwrap();
    /// let flushed = batcher.flush_async(Duration::from_secs(5));
    /// // `.await` it in async code; `block_on` here for the example.
    /// amberflo_batcher::block_on(flushed).unwrap();
    /// ```
    pub fn flush_async(&self, timeout: Duration) -> FlushFuture {
        flush::flush_async(Arc::clone(&self.inner.shared.core), timeout)
    }

    /// Shuts the engine down: refuses new items, flushes, stops and joins the workers, all
    /// within `timeout`. Idempotent: later calls return the first call's outcome (a concurrent
    /// call waits for the first, up to its own timeout).
    ///
    /// Precisely:
    /// 1. New `try_send`s fail with [`Closed`](crate::SendErrorKind::Closed); senders blocked
    ///    in `send_timeout` return `Closed`.
    /// 2. Everything accepted is flushed, with partial batches sent at once. Retries continue
    ///    during this phase, but a retry whose backoff would end after the flush deadline
    ///    (`timeout` minus a grace of `min(timeout / 10, 250 ms)`) is abandoned at once: its
    ///    batch goes to the error callback with
    ///    [`DeliveryError::ShutdownTimedOut`](crate::DeliveryError::ShutdownTimedOut).
    /// 3. If the flush deadline passes, the engine aborts: no new sink call starts, records
    ///    still queued go to the error callback (on this thread) with `ShutdownTimedOut`, and
    ///    so do batches waiting for a retry. Sink calls in progress are cancelled: their
    ///    futures are woken and dropped (an HTTP request in flight is abandoned, whatever its
    ///    own timeout), whichever [`Executor`](crate::Executor) drives them, and their
    ///    batches go to the error callback (on their worker threads) with `ShutdownTimedOut`.
    /// 4. The shutdown waits, until `timeout`, for the workers to settle what they hold and
    ///    exit; past it, it still waits for a worker running the error callback, and for a
    ///    worker whose cancelled call has yet to be polled (it only needs to be scheduled;
    ///    this wait is capped at 1 s in case an executor never polls a woken future). So when
    ///    it returns, the records of cancelled calls are counted in [`Stats::failed`] and the
    ///    callback has them ([`Stats::in_flight`] is 0). Workers are joined; one still inside
    ///    the sink is detached.
    ///
    /// With a [spool](crate::BatcherBuilder::spool), step 3 hands nothing to the error
    /// callback: records queued, waiting for a retry or in a cancelled call stay on disk,
    /// unacknowledged, counted in [`Stats::left_on_spool`], and the next engine on the
    /// directory delivers them.
    ///
    /// Only a sink call that blocks its thread inside a poll (a synchronous sink, or one that
    /// never yields) cannot be cancelled: its records stay counted in [`Stats::in_flight`],
    /// are reported as `in_flight` below, and are settled normally if it ever returns (no retry
    /// after that). Cancelled calls may have reached the server: re-sending their records
    /// relies on the sink being idempotent (Amberflo dedups by `uniqueId`).
    ///
    /// Nothing is lost silently: every record is delivered, handed to the error callback, left
    /// on the spool, or reported in the error below. The call returns by `timeout` plus the time the error
    /// callback spends on abandoned records. Only std primitives with timeouts are used, so it
    /// is safe inside any tokio runtime. Totals are logged with `tracing::info!`.
    ///
    /// # Errors
    ///
    /// [`ShutdownError::Incomplete`] when records were abandoned to the error callback, left
    /// on the spool, or are still queued or inside a sink call.
    pub fn shutdown(&self, timeout: Duration) -> Result<(), ShutdownError> {
        shutdown::shutdown(&self.inner.shared, &self.inner.lifecycle, timeout)
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> Stats {
        self.inner.shared.core.stats()
    }

    /// Whether the engine refuses new items (a shutdown started).
    pub fn is_closed(&self) -> bool {
        self.inner.shared.core.is_closed()
    }

    /// The queue capacity, in records.
    pub fn capacity(&self) -> usize {
        self.inner.shared.config.capacity
    }

    /// The effective maximum batch size (after clamping to the capacity).
    pub fn max_batch_size(&self) -> usize {
        self.inner.shared.config.max_batch_size
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FlushFuture, Sink, SinkError};

    fn send_sync<X: Send + Sync>() {}
    fn send_static_unpin<X: Send + Unpin + 'static>() {}

    #[test]
    fn handles_and_futures_cross_threads_and_tasks() {
        send_sync::<Batcher<String>>();
        send_sync::<SinkError>();
        send_sync::<Arc<dyn Sink<String>>>();
        send_static_unpin::<FlushFuture>();
    }

    #[test]
    fn debug_shows_config_and_stats() {
        let batcher = Batcher::builder()
            .build(crate::SinkFn::new(|_batch: &[u8]| Ok(())))
            .unwrap();
        let text = format!("{batcher:?}");
        assert!(text.contains("capacity: 100000"), "{text}");
        assert!(text.contains("enqueued: 0"), "{text}");
    }
}
