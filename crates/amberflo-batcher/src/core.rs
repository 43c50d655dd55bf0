//! The engine's shared, type-independent state: the state word (epoch and flags), the sharded
//! producer counters, the worker-side counters and the locks and condition variables.
//!
//! # Counters and epochs
//!
//! Producers never write a shared cache line except the queue itself: each producer thread
//! counts into its own cache-padded [`Shard`] (`added[slot]`, `rejected`), where `slot` is the
//! current *epoch* modulo [`RING`]. Workers count completions per slot (`completed[slot]`),
//! once per batch. The number of records of an epoch that are still pending is
//! `Σ added[slot] − completed[slot]`, which is what makes [`flush`](crate::Batcher::flush)
//! exact (see the `flush` module).

use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::Waker;
use std::time::{Duration, Instant};

use crate::abort::{AbortFlag, AbortSlots};
use crate::flush::Coord;
use crate::parking::Parking;
use crate::spool::SpoolCounters;
use crate::stats::Stats;
use crate::sync::{AtomicBool, AtomicU64, AtomicUsize, Condvar, Mutex, lock, seqcst_order_point};

/// Number of epoch slots; up to `RING - 1` flushes can be outstanding without merging.
pub(crate) const RING: usize = 8;

/// Number of producer counter shards (a power of two; 2 in the loom models, which keeps their
/// state small: the shards only split a sum).
const SHARDS: usize = if cfg!(amberflo_loom) { 2 } else { 32 };

/// State bit: the engine accepts no more items.
pub(crate) const CLOSED: u64 = 1;
/// State bit: a flush is pending (workers stop lingering and report completions to it).
pub(crate) const DRAINING: u64 = 2;
/// The epoch lives in the state word above the two flag bits.
pub(crate) const EPOCH_ONE: u64 = 4;

/// The epoch encoded in a state word.
pub(crate) fn epoch_of(state: u64) -> u64 {
    state / EPOCH_ONE
}

/// The counter slot of an epoch.
pub(crate) fn slot_of(epoch: u64) -> usize {
    // RING is tiny, so the remainder always fits.
    (epoch % RING as u64) as usize
}

/// Keeps a value on its own cache line(s) so that counters of different threads do not bounce.
#[repr(align(128))]
pub(crate) struct Padded<T>(pub(crate) T);

/// One producer shard's counters.
#[derive(Default)]
pub(crate) struct Shard {
    /// Items accepted per epoch slot (incremented before the push, undone if the push fails).
    pub(crate) added: [AtomicU64; RING],
    /// Items refused (queue full or engine closed).
    pub(crate) rejected: AtomicU64,
}

static NEXT_SHARD: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

thread_local! {
    static SHARD_INDEX: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// This thread's shard index (assigned round-robin on first use).
fn shard_index() -> usize {
    SHARD_INDEX
        .try_with(|cell| {
            let index = cell.get();
            if index != usize::MAX {
                return index;
            }
            let index = NEXT_SHARD.fetch_add(1, Ordering::Relaxed) % SHARDS;
            cell.set(index);
            index
        })
        // During thread-local destruction: share shard 0 (still exact, just contended).
        .unwrap_or(0)
}

/// Where `send_timeout` callers wait for room.
#[derive(Default)]
pub(crate) struct SpaceWait {
    pub(crate) lock: Mutex<()>,
    pub(crate) cv: Condvar,
    pub(crate) waiters: AtomicUsize,
}

impl SpaceWait {
    pub(crate) fn notify_all(&self) {
        let _guard = lock(&self.lock);
        self.cv.notify_all();
    }

    pub(crate) fn notify_one(&self) {
        let _guard = lock(&self.lock);
        self.cv.notify_one();
    }
}

/// Shutdown information the retry waits look at.
#[derive(Default)]
pub(crate) struct RetryGate {
    /// When a shutdown started: the end of its flush phase. Retries ending later are abandoned.
    pub(crate) abort_at: Option<Instant>,
}

/// The engine's type-independent shared state.
pub(crate) struct Core {
    /// Epoch (`/ EPOCH_ONE`) plus the `CLOSED` and `DRAINING` bits.
    pub(crate) state: AtomicU64,
    /// The queue filled up and has not yet drained by the refill room: refuse at once
    /// (read-mostly, beside `state`; see `Shared::enqueue`).
    pub(crate) refilling: AtomicBool,
    shards: Box<[Padded<Shard>]>,
    /// Items completed (delivered or failed) per epoch slot.
    pub(crate) completed: Padded<[AtomicU64; RING]>,
    /// Worker-side counters, updated once per batch.
    pub(crate) popped: Padded<AtomicU64>,
    pub(crate) delivered: AtomicU64,
    pub(crate) failed: AtomicU64,
    pub(crate) retried: AtomicU64,
    /// Batches (or parts of batches) split in two because the sink found them too large.
    pub(crate) split: AtomicU64,
    /// Items failed with `ShutdownTimedOut`.
    pub(crate) abandoned: AtomicU64,
    /// With a spool: items taken by a worker and neither delivered nor failed when a shutdown
    /// gave up, left on disk for the next engine.
    pub(crate) left_on_spool: AtomicU64,
    /// With a spool: set by a shutdown that gave up, once its workers exited. From then on the
    /// items never taken from the queue (in memory or on disk) count as left on the spool, not
    /// as queued: derived in [`Core::stats`], so that a producer's count that is undone after
    /// the close (it saw the engine closed) is never counted left.
    pub(crate) unpopped_left_on_spool: AtomicBool,
    pub(crate) parking: Padded<Parking>,
    pub(crate) space: SpaceWait,
    /// Flush bookkeeping (drained watermark, waiters).
    pub(crate) coord: Mutex<Coord>,
    /// Set once shutdown gives up waiting: no more sink calls, sink calls in progress are
    /// cancelled, leftovers fail at once. Set it with [`Core::set_abort`], which also wakes
    /// the pending sink calls.
    pub(crate) abort: AbortFlag,
    /// One slot per worker for its pending sink call (see `worker::AbortableCall`), woken by
    /// [`Core::set_abort`].
    abort_slots: AbortSlots,
    /// Workers settling a failed batch (counting it and running the error callback); a
    /// shutdown that aborted waits for them, even past its deadline.
    pub(crate) settling: AtomicUsize,
    /// Workers whose pending sink call [`Core::set_abort`] woke to cancel it, until they have
    /// settled the batch; a shutdown that aborted waits for them (briefly) past its deadline.
    pub(crate) cancelling: AtomicUsize,
    pub(crate) retry_gate: Mutex<RetryGate>,
    pub(crate) retry_cv: Condvar,
    /// Workers that have exited (their loop ended), for a bounded join.
    pub(crate) exited: Mutex<usize>,
    pub(crate) exited_cv: Condvar,
    /// An overflow episode is in progress (a rejection was logged).
    pub(crate) overflow: AtomicBool,
    /// `rejected` total when the current overflow episode started.
    pub(crate) overflow_base: AtomicU64,
    /// A spool write failure episode is in progress (its first failure was logged).
    pub(crate) spool_failing: AtomicBool,
    /// Items refused by spool write failures in the current episode.
    pub(crate) spool_refused: AtomicU64,
    /// Spool writes that succeeded since the last failure, during an episode.
    pub(crate) spool_ok_streak: AtomicU64,
    /// The spool's gauges (all zero without a spool).
    pub(crate) spool: Arc<SpoolCounters>,
}

impl Core {
    /// A fresh engine state for `workers` worker threads.
    pub(crate) fn new(workers: usize, spool: Arc<SpoolCounters>) -> Self {
        Core {
            // Epoch 1; epoch 0 never holds items.
            state: AtomicU64::new(EPOCH_ONE),
            refilling: AtomicBool::new(false),
            shards: (0..SHARDS).map(|_| Padded(Shard::default())).collect(),
            completed: Padded(Default::default()),
            popped: Padded(AtomicU64::new(0)),
            delivered: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            retried: AtomicU64::new(0),
            split: AtomicU64::new(0),
            abandoned: AtomicU64::new(0),
            left_on_spool: AtomicU64::new(0),
            unpopped_left_on_spool: AtomicBool::new(false),
            parking: Padded(Parking::new()),
            space: SpaceWait::default(),
            coord: Mutex::new(Coord::default()),
            abort: AbortFlag::new(false),
            abort_slots: AbortSlots::new(workers),
            settling: AtomicUsize::new(0),
            cancelling: AtomicUsize::new(0),
            retry_gate: Mutex::new(RetryGate::default()),
            retry_cv: Condvar::new(),
            exited: Mutex::new(0),
            exited_cv: Condvar::new(),
            overflow: AtomicBool::new(false),
            overflow_base: AtomicU64::new(0),
            spool_failing: AtomicBool::new(false),
            spool_refused: AtomicU64::new(0),
            spool_ok_streak: AtomicU64::new(0),
            spool,
        }
    }

    /// The calling thread's counter shard.
    pub(crate) fn shard(&self) -> &Shard {
        &self.shards[shard_index() % self.shards.len()].0
    }

    /// Records of epoch slot `slot` accepted but not yet completed.
    ///
    /// Reads the completions first and the additions second, so a zero result means every
    /// record added to the slot before the reads had completed (see the `flush` module).
    pub(crate) fn pending(&self, slot: usize) -> u64 {
        let completed = self.completed.0[slot].load(Ordering::SeqCst);
        let added = self
            .shards
            .iter()
            .map(|shard| shard.0.added[slot].load(Ordering::SeqCst))
            .fold(0u64, u64::wrapping_add);
        added.wrapping_sub(completed)
    }

    /// Total records accepted (summed over shards and slots).
    pub(crate) fn enqueued(&self) -> u64 {
        self.shards
            .iter()
            .flat_map(|shard| shard.0.added.iter())
            .map(|counter| counter.load(Ordering::SeqCst))
            .fold(0u64, u64::wrapping_add)
    }

    /// Total records refused.
    pub(crate) fn rejected(&self) -> u64 {
        self.shards
            .iter()
            .map(|shard| shard.0.rejected.load(Ordering::Relaxed))
            .fold(0u64, u64::wrapping_add)
    }

    /// Whether every accepted record has left the queue (no producer is mid-push either).
    pub(crate) fn all_popped(&self) -> bool {
        let popped = self.popped.0.load(Ordering::SeqCst);
        self.enqueued() == popped
    }

    /// A snapshot of the counters.
    pub(crate) fn stats(&self) -> Stats {
        // Read the downstream counters first so that the derived gauges do not go negative.
        let left_on_spool = self.left_on_spool.load(Ordering::SeqCst);
        let delivered = self.delivered.load(Ordering::SeqCst);
        let failed = self.failed.load(Ordering::SeqCst);
        let retried = self.retried.load(Ordering::SeqCst);
        let split = self.split.load(Ordering::SeqCst);
        let popped = self.popped.0.load(Ordering::SeqCst);
        let enqueued = self.enqueued();
        let rejected = self.rejected();
        let unpopped = enqueued.saturating_sub(popped);
        let (in_queue, unpopped_left) = if self.unpopped_left_on_spool.load(Ordering::SeqCst) {
            (0, unpopped)
        } else {
            (unpopped, 0)
        };
        Stats {
            enqueued,
            rejected,
            delivered,
            failed,
            retried,
            split,
            in_queue,
            in_flight: popped
                .saturating_sub(delivered.wrapping_add(failed).wrapping_add(left_on_spool)),
            left_on_spool: left_on_spool.wrapping_add(unpopped_left),
            spooled: self.spool.records(),
            spooled_bytes: self.spool.bytes(),
            replayed: self.spool.replayed.load(Ordering::SeqCst),
            spool_corrupt: self.spool.corrupt.load(Ordering::SeqCst),
            spool_corrupt_bytes: self.spool.corrupt_bytes.load(Ordering::SeqCst),
            spool_syncs: self.spool.syncs.load(Ordering::SeqCst),
        }
    }

    /// Marks `counts[slot]` records of each slot completed, after the caller updated
    /// `delivered` / `failed`, and lets a pending flush notice.
    pub(crate) fn complete(&self, counts: &[u64; RING]) {
        for (slot, &count) in counts.iter().enumerate() {
            if count > 0 {
                self.completed.0[slot].fetch_add(count, Ordering::SeqCst);
            }
        }
        seqcst_order_point();
        if self.state.load(Ordering::SeqCst) & DRAINING != 0 {
            crate::flush::check(self);
        }
    }

    /// After a producer undid a counter increment: a flush or a closing worker may have seen
    /// the transient value, so let them re-check.
    pub(crate) fn after_undo(&self) {
        seqcst_order_point();
        let state = self.state.load(Ordering::SeqCst);
        if state & DRAINING != 0 {
            crate::flush::check(self);
        }
        if state & CLOSED != 0 {
            self.parking.0.notify_all();
        }
    }

    /// Sets the abort flag (under the retry gate, which retry waits check it under), then
    /// wakes every retry wait, sleeping worker and pending sink call so that they notice.
    /// Workers whose call was parked are counted in `cancelling` until they settled it.
    pub(crate) fn set_abort(&self) {
        {
            let _gate = lock(&self.retry_gate);
            self.abort.store(true, Ordering::SeqCst);
        }
        self.retry_cv.notify_all();
        self.parking.0.notify_all();
        self.abort_slots.wake_calls(|| {
            self.cancelling.fetch_add(1, Ordering::SeqCst);
        });
    }

    /// Worker `worker`'s pending call is being polled again (it is no longer parked).
    pub(crate) fn unpark_abort_slot(&self, worker: usize) {
        self.abort_slots.unpark(worker);
    }

    /// Registers the waker of worker `worker`'s sink call, which is about to return `Pending`;
    /// `true` if the engine is aborting (then the call must stop instead of waiting). The
    /// protocol is in the `abort` module.
    pub(crate) fn register_abort_waker(&self, worker: usize, waker: &Waker) -> bool {
        self.abort_slots.register(&self.abort, worker, waker)
    }

    /// Forgets worker `worker`'s call once it ended; `true` if the abort counted it in
    /// `cancelling` (the worker must call [`Core::cancel_settled`] once its batch settled).
    pub(crate) fn clear_abort_slot(&self, worker: usize) -> bool {
        self.abort_slots.clear(worker)
    }

    /// A worker counted in `cancelling` settled its batch: wake the shutdown waiting for it.
    pub(crate) fn cancel_settled(&self) {
        self.cancelling.fetch_sub(1, Ordering::SeqCst);
        let _exited = lock(&self.exited);
        self.exited_cv.notify_all();
    }

    /// A worker finished settling a failed batch: wake a shutdown waiting for it.
    pub(crate) fn settled(&self) {
        self.settling.fetch_sub(1, Ordering::SeqCst);
        if self.abort.load(Ordering::SeqCst) {
            let _exited = lock(&self.exited);
            self.exited_cv.notify_all();
        }
    }

    /// Closes the engine to new items.
    pub(crate) fn close(&self) {
        self.state.fetch_or(CLOSED, Ordering::SeqCst);
        seqcst_order_point();
    }

    /// Whether the engine is closed.
    pub(crate) fn is_closed(&self) -> bool {
        self.state.load(Ordering::SeqCst) & CLOSED != 0
    }
}

/// `now + timeout`, saturating instead of overflowing for huge timeouts.
pub(crate) fn deadline_after(now: Instant, timeout: Duration) -> Instant {
    now.checked_add(timeout)
        .or_else(|| now.checked_add(Duration::from_secs(u64::from(u32::MAX))))
        .unwrap_or(now)
}
