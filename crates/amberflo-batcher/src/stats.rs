//! [`Stats`]: a snapshot of the engine's counters.

/// A snapshot of the engine's counters, from [`Batcher::stats`](crate::Batcher::stats).
///
/// Every record offered to the engine ends in exactly one bucket: `rejected` at enqueue (the
/// caller got it back), or `enqueued` and then `delivered`, `failed` (handed to the error
/// callback) or, with a spool, `left_on_spool` (a shutdown's deadline came first; the next
/// engine on the directory delivers it). So, once the engine is idle,
/// `delivered + failed + left_on_spool == enqueued`, and the number of send attempts is
/// `enqueued + rejected`. While it works, `in_queue` and `in_flight` hold the rest:
/// `enqueued == delivered + failed + left_on_spool + in_queue + in_flight` up to the skew of
/// reading independent counters one after the other.
///
/// The counters are cheap atomics (sharded per producer thread for the enqueue side), so taking
/// a snapshot is cheap but not free: it sums a few dozen cache lines.
///
/// ```
/// use amberflo_batcher::{Batcher, SinkFn};
/// use std::time::Duration;
///
/// let batcher = Batcher::builder()
///     .build(SinkFn::new(|_batch: &[u8]| Ok(())))
///     .unwrap();
/// batcher.try_send(1).unwrap();
/// batcher.flush(Duration::from_secs(5)).unwrap();
/// let stats = batcher.stats();
/// assert_eq!(stats.enqueued, 1);
/// assert_eq!(stats.delivered, 1);
/// assert_eq!(stats.in_queue + stats.in_flight, 0);
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Stats {
    /// Records accepted by `try_send` / `send_timeout`.
    pub enqueued: u64,
    /// Records refused at enqueue (queue full or engine shut down) and returned to the caller.
    pub rejected: u64,
    /// Records in batches the sink accepted.
    pub delivered: u64,
    /// Records handed to the error callback (fatal error, retries exhausted, shutdown deadline).
    pub failed: u64,
    /// Retry attempts (a batch retried three times counts 3; its records count once elsewhere).
    pub retried: u64,
    /// Times a batch, or a part of one, was split in two halves because the sink found it
    /// [too large](crate::SinkError::too_large) for one request. A batch of `n` records split
    /// down to single records counts `n - 1`. Splitting moves no record between buckets: the
    /// parts of a batch end in `delivered` or `failed` like any batch.
    pub split: u64,
    /// Records accepted but not yet taken by a worker.
    pub in_queue: u64,
    /// Records taken by a worker and not yet delivered or failed: being batched, inside a sink
    /// call, or waiting for a retry.
    pub in_flight: u64,
    /// With a [spool](crate::BatcherBuilder::spool): records this engine accepted (or
    /// replayed) that a shutdown left on disk at its deadline, undelivered: they never reach
    /// the error callback, and the next engine on the directory delivers them. 0 without a
    /// spool (such records are `failed` instead).
    pub left_on_spool: u64,
    /// With a [spool](crate::BatcherBuilder::spool): records on disk not yet acknowledged
    /// (delivered or handed to the error callback). 0 without a spool.
    pub spooled: u64,
    /// With a spool: bytes of its segment files (what the disk budget counts).
    pub spooled_bytes: u64,
    /// With a spool: records an earlier engine left unacknowledged, replayed by this one. They
    /// are included in `enqueued` (so the accounting above holds), but were not sent through
    /// this engine's `try_send`.
    pub replayed: u64,
    /// With a spool: damaged regions skipped (a torn tail, a flipped bit, a zeroed length,
    /// garbage; each contiguous region counts once, whatever it held), plus records whose
    /// frame verified but that the codec could not decode (those also count in `failed`).
    pub spool_corrupt: u64,
    /// With a spool: bytes skipped in damaged regions, a running count (the regions are also
    /// logged at `warn`, the first 16 a reader of a segment meets, with the segment, offset,
    /// size and an estimate of the records each held).
    pub spool_corrupt_bytes: u64,
    /// With a spool: data syncs (`fdatasync`) of its segment files, a running count. Under
    /// [`FsyncPolicy::Always`](crate::FsyncPolicy::Always) one sync serves every append of a
    /// lane that came while the previous one ran, so this grows slower than `enqueued` under
    /// concurrent load.
    pub spool_syncs: u64,
}

impl Stats {
    /// Send attempts: `enqueued + rejected`.
    pub fn attempted(&self) -> u64 {
        self.enqueued.wrapping_add(self.rejected)
    }

    /// Records accepted and not yet delivered or failed: `in_queue + in_flight`.
    pub fn pending(&self) -> u64 {
        self.in_queue.wrapping_add(self.in_flight)
    }
}
