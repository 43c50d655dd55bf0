//! Exact flushes: epochs, the drained watermark, and the waiters (blocking or async).
//!
//! # Why a count is not enough
//!
//! "Wait until `completed >= N`, where `N` was the enqueued count at the call" is wrong with
//! several workers: worker A may still be retrying an old batch while worker B completes `N`
//! newer records, so the count is reached while an old record is pending. Waiting for "queue
//! empty and nothing in flight" is wrong the other way: under constant load it never happens.
//!
//! # Epochs
//!
//! Every accepted record is tagged with the *epoch* current when it was accepted (the tag is
//! the counter slot `epoch % RING`). A producer increments its shard's `added[slot]` *before*
//! pushing, then re-reads the state word: if the epoch moved meanwhile it moves its increment
//! to the new slot (rare), and if the engine closed it undoes it and refuses the item. Workers
//! add `completed[slot]` once per batch, after the sink call and the error callback returned.
//!
//! A flush *flips* the epoch `e -> e + 1` and waits until epoch `e` (and every earlier one) is
//! drained, i.e. `Σ added[slot(e)] − completed[slot(e)] == 0`, read completions first:
//!
//! * every record whose `try_send` returned before the flush was called carries an epoch
//!   `<= e` (its increment and re-read preceded the flip), and its increment is visible to any
//!   reader that saw the flip, so the pending count cannot read zero while it is pending;
//! * records accepted after the flip carry epoch `e + 1` or later, live in other slots, and are
//!   never waited for, so a flush returns under constant load;
//! * once an epoch reads zero after its flip, it stays drained (no new records join it), which
//!   makes the watermark `drained` monotonic.
//!
//! A slot is reused only after its previous epoch drained. If `RING - 1` flushes are already
//! outstanding, a new one defers its flip until a slot frees up; only then can it also wait for
//! records accepted between its call and that flip (documented on
//! [`Batcher::flush`](crate::Batcher::flush)).
//!
//! # Waiters
//!
//! One mechanism serves both flavours: a waiter holds either a blocking channel sender
//! ([`Batcher::flush`](crate::Batcher::flush)) or a oneshot sender
//! ([`Batcher::flush_async`](crate::Batcher::flush_async)); whoever advances the watermark (a
//! worker after a batch, or the flusher itself) completes every waiter whose epoch is drained.
//! A blocking flush enforces its own timeout; an async flush gets a small timer thread that
//! completes it with [`FlushError::TimedOut`] at the deadline, so it never depends on the
//! caller's runtime having a timer, and never on a worker that may be stuck in a sink.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, mpsc};
use std::task::{Context, Poll};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use futures_channel::oneshot;

use crate::core::{Core, DRAINING, EPOCH_ONE, RING, deadline_after, epoch_of, slot_of};
use crate::error::FlushError;
use crate::sync::{lock, seqcst_order_point};

/// Flush bookkeeping, behind `Core::coord`.
#[derive(Default)]
pub(crate) struct Coord {
    /// Every epoch `<= drained` is drained (epoch 0 holds nothing).
    drained: u64,
    /// A flush is waiting for a free slot to flip the epoch.
    wanted: bool,
    waiters: Vec<Waiter>,
    next_id: u64,
}

struct Waiter {
    id: u64,
    /// Completes once `drained >= target`.
    target: u64,
    notify: Notify,
}

/// How a waiter is told that its epoch drained.
enum Notify {
    Blocking(mpsc::SyncSender<()>),
    Async {
        tx: oneshot::Sender<Result<(), FlushError>>,
        timer: Option<Thread>,
    },
}

impl Notify {
    fn complete(self) {
        match self {
            Notify::Blocking(tx) => {
                // Capacity 1 and a single send: never blocks; the receiver may be gone.
                tx.try_send(()).ok();
            }
            Notify::Async { tx, timer } => {
                tx.send(Ok(())).ok();
                if let Some(timer) = timer {
                    timer.unpark();
                }
            }
        }
    }
}

/// The result of registering a waiter.
enum Registered {
    /// Everything before the call is already drained; the waiter was completed.
    Done,
    /// Waiting; the id lets the caller withdraw on timeout.
    Pending(u64),
}

/// Advances the epoch and marks a drain in progress. Caller holds the coordinator lock.
fn flip(core: &Core) {
    core.state
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |state| {
            Some((state + EPOCH_ONE) | DRAINING)
        })
        .ok();
    seqcst_order_point();
}

/// Registers a flush of everything accepted before this call.
fn register(core: &Core, notify: Notify) -> Registered {
    let registered = {
        let mut coord = lock(&core.coord);
        // Bring the watermark up to date (nobody tracks it while no flush is pending).
        check_locked(core, &mut coord);
        let target = epoch_of(core.state.load(Ordering::SeqCst));
        let id = coord.next_id;
        coord.next_id += 1;
        coord.waiters.push(Waiter { id, target, notify });
        if target < coord.drained + RING as u64 {
            flip(core);
        } else {
            // All slots busy: flip as soon as the oldest outstanding epoch drains.
            coord.wanted = true;
            core.state.fetch_or(DRAINING, Ordering::SeqCst);
        }
        // Completes the waiter at once if everything before it already drained.
        check_locked(core, &mut coord);
        if coord.waiters.iter().any(|waiter| waiter.id == id) {
            Registered::Pending(id)
        } else {
            Registered::Done
        }
    };
    if let Registered::Pending(_) = registered {
        // Lingering workers send their partial batches now.
        core.parking.0.notify_all();
    }
    registered
}

/// Re-evaluates the drained watermark (after a batch completed or a producer undid a count).
pub(crate) fn check(core: &Core) {
    let mut coord = lock(&core.coord);
    check_locked(core, &mut coord);
}

fn check_locked(core: &Core, coord: &mut Coord) {
    loop {
        let current = epoch_of(core.state.load(Ordering::SeqCst));
        while coord.drained + 1 < current && core.pending(slot_of(coord.drained + 1)) == 0 {
            coord.drained += 1;
        }
        let drained = coord.drained;
        let mut index = 0;
        while index < coord.waiters.len() {
            if coord.waiters[index].target <= drained {
                coord.waiters.swap_remove(index).notify.complete();
            } else {
                index += 1;
            }
        }
        if coord.waiters.is_empty() {
            // Nobody waits: stop tracking (workers linger again). A later flush catches the
            // watermark up; a drained epoch stays drained.
            coord.wanted = false;
            core.state.fetch_and(!DRAINING, Ordering::SeqCst);
            return;
        }
        if coord.wanted && current < drained + RING as u64 {
            flip(core);
            coord.wanted = false;
            continue;
        }
        return;
    }
}

/// Withdraws a waiter; `None` if it was already completed.
fn remove(core: &Core, id: u64) -> Option<Waiter> {
    let mut coord = lock(&core.coord);
    let position = coord.waiters.iter().position(|waiter| waiter.id == id)?;
    let waiter = coord.waiters.swap_remove(position);
    check_locked(core, &mut coord);
    Some(waiter)
}

/// Blocks until everything accepted before the call is delivered or failed, or `timeout`.
pub(crate) fn flush_blocking(core: &Core, timeout: Duration) -> Result<(), FlushError> {
    let (tx, rx) = mpsc::sync_channel(1);
    let id = match register(core, Notify::Blocking(tx)) {
        Registered::Done => return Ok(()),
        Registered::Pending(id) => id,
    };
    match rx.recv_timeout(timeout) {
        Ok(()) => Ok(()),
        Err(_) => match remove(core, id) {
            Some(_) => Err(FlushError::TimedOut { timeout }),
            // Completed between the timeout and the withdrawal.
            None => Ok(()),
        },
    }
}

/// Registers an async flush now and returns the future that resolves when it completes.
pub(crate) fn flush_async(core: Arc<Core>, timeout: Duration) -> FlushFuture {
    let (tx, rx) = oneshot::channel();
    let id = match register(&core, Notify::Async { tx, timer: None }) {
        Registered::Done => {
            return FlushFuture {
                rx,
                waiter: None,
                timeout,
            };
        }
        Registered::Pending(id) => id,
    };
    let deadline = deadline_after(Instant::now(), timeout);
    let timer_core = Arc::clone(&core);
    let spawned = thread::Builder::new()
        .name("amberflo-batcher-flush-timer".to_owned())
        .spawn(move || run_timer(&timer_core, id, deadline, timeout));
    match spawned {
        Ok(handle) => {
            let mut coord = lock(&core.coord);
            match coord.waiters.iter_mut().find(|waiter| waiter.id == id) {
                Some(Waiter {
                    notify: Notify::Async { timer, .. },
                    ..
                }) => *timer = Some(handle.thread().clone()),
                // Already completed: let the timer thread notice and exit now.
                _ => handle.thread().unpark(),
            }
        }
        Err(source) => {
            tracing::warn!(error = %source, "amberflo-batcher: could not start a flush timer");
            if let Some(Waiter {
                notify: Notify::Async { tx, .. },
                ..
            }) = remove(&core, id)
            {
                tx.send(Err(FlushError::Timer { source })).ok();
            }
        }
    }
    FlushFuture {
        rx,
        waiter: Some((core, id)),
        timeout,
    }
}

/// Completes waiter `id` with a timeout at `deadline`, unless it completes first.
fn run_timer(core: &Core, id: u64, deadline: Instant, timeout: Duration) {
    loop {
        {
            let mut coord = lock(&core.coord);
            let Some(position) = coord.waiters.iter().position(|waiter| waiter.id == id) else {
                return;
            };
            if Instant::now() >= deadline {
                let waiter = coord.waiters.swap_remove(position);
                check_locked(core, &mut coord);
                drop(coord);
                if let Notify::Async { tx, .. } = waiter.notify {
                    tx.send(Err(FlushError::TimedOut { timeout })).ok();
                }
                return;
            }
        }
        thread::park_timeout(deadline.saturating_duration_since(Instant::now()));
    }
}

/// The future returned by [`Batcher::flush_async`](crate::Batcher::flush_async).
///
/// The flush is registered when `flush_async` is *called*, not when the future is first
/// polled: it covers exactly the records accepted before that call. It resolves with `Ok(())`
/// once they are all delivered or failed, or with [`FlushError::TimedOut`] at the timeout
/// (enforced by a small timer thread, so it works under any runtime, or none). Dropping it
/// withdraws the flush. It is `Send`, `Unpin` and `'static`.
#[must_use = "a flush future does nothing useful unless awaited"]
pub struct FlushFuture {
    rx: oneshot::Receiver<Result<(), FlushError>>,
    waiter: Option<(Arc<Core>, u64)>,
    timeout: Duration,
}

impl Future for FlushFuture {
    type Output = Result<(), FlushError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match Pin::new(&mut self.rx).poll(cx) {
            Poll::Ready(result) => {
                self.waiter = None;
                let timeout = self.timeout;
                // A dropped sender without a result cannot happen; report it as a timeout.
                Poll::Ready(result.unwrap_or(Err(FlushError::TimedOut { timeout })))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Drop for FlushFuture {
    fn drop(&mut self) {
        if let Some((core, id)) = self.waiter.take()
            && let Some(Waiter {
                notify: Notify::Async {
                    timer: Some(timer), ..
                },
                ..
            }) = remove(&core, id)
        {
            timer.unpark();
        }
    }
}

impl fmt::Debug for FlushFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FlushFuture")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{Core, slot_of};

    fn blocking(core: &Core) -> (Registered, mpsc::Receiver<()>) {
        let (tx, rx) = mpsc::sync_channel(1);
        (register(core, Notify::Blocking(tx)), rx)
    }

    #[test]
    fn more_flushes_than_slots_defer_their_flip_and_all_complete() {
        let core = Core::new(1, Arc::default());
        // One record pending in epoch 1.
        core.shard().added[slot_of(1)].fetch_add(1, Ordering::SeqCst);
        let mut receivers = Vec::new();
        for expected_epoch in 1..RING as u64 {
            assert_eq!(epoch_of(core.state.load(Ordering::SeqCst)), expected_epoch);
            let (registered, rx) = blocking(&core);
            assert!(matches!(registered, Registered::Pending(_)));
            receivers.push(rx);
        }
        // Every slot is taken by an undrained epoch: this flush cannot flip yet.
        let epoch_before = epoch_of(core.state.load(Ordering::SeqCst));
        let (registered, last) = blocking(&core);
        assert!(matches!(registered, Registered::Pending(_)));
        assert_eq!(epoch_of(core.state.load(Ordering::SeqCst)), epoch_before);
        assert!(lock(&core.coord).wanted);
        assert!(receivers.iter().all(|rx| rx.try_recv().is_err()));

        // The record completes: every epoch drains, the deferred flip happens, all complete.
        core.complete(&{
            let mut counts = [0; RING];
            counts[slot_of(1)] = 1;
            counts
        });
        for rx in receivers.iter().chain([&last]) {
            assert!(rx.try_recv().is_ok());
        }
        assert_eq!(
            epoch_of(core.state.load(Ordering::SeqCst)),
            epoch_before + 1
        );
        assert_eq!(core.state.load(Ordering::SeqCst) & DRAINING, 0);
    }

    #[test]
    fn an_empty_engine_flushes_at_once_and_clears_draining() {
        let core = Core::new(1, Arc::default());
        let (registered, rx) = blocking(&core);
        assert!(matches!(registered, Registered::Done));
        assert!(rx.try_recv().is_ok());
        assert_eq!(core.state.load(Ordering::SeqCst) & DRAINING, 0);
    }

    #[test]
    fn records_added_after_the_flip_are_not_waited_for() {
        let core = Core::new(1, Arc::default());
        core.shard().added[slot_of(1)].fetch_add(1, Ordering::SeqCst);
        let (registered, rx) = blocking(&core);
        assert!(matches!(registered, Registered::Pending(_)));
        // A record accepted after the flush lands in epoch 2 and stays pending.
        let epoch = epoch_of(core.state.load(Ordering::SeqCst));
        assert_eq!(epoch, 2);
        core.shard().added[slot_of(epoch)].fetch_add(1, Ordering::SeqCst);
        let mut counts = [0; RING];
        counts[slot_of(1)] = 1;
        core.complete(&counts);
        assert!(rx.try_recv().is_ok());
    }

    #[test]
    fn a_timed_out_flush_stops_tracking_and_a_later_one_catches_up() {
        let core = Core::new(1, Arc::default());
        core.shard().added[slot_of(1)].fetch_add(1, Ordering::SeqCst);
        assert!(matches!(
            flush_blocking(&core, Duration::ZERO),
            Err(FlushError::TimedOut { .. })
        ));
        // Nobody waits any more: workers may linger again.
        assert_eq!(core.state.load(Ordering::SeqCst) & DRAINING, 0);
        let mut counts = [0; RING];
        counts[slot_of(1)] = 1;
        core.complete(&counts);
        assert!(flush_blocking(&core, Duration::ZERO).is_ok());
        assert_eq!(lock(&core.coord).drained, 2);
    }
}

#[cfg(test)]
#[cfg(amberflo_loom)]
mod models {
    //! Loom models of the exact flush, run on the code that ships: a producer's
    //! [`Shared::enqueue`](crate::ingress::Shared::enqueue) (count in the epoch, re-read,
    //! push), a worker's [`Shared::pop_into`](crate::ingress::Shared::pop_into) and
    //! `settle_delivered`, and two flushes ([`register`], waited for by looking at the
    //! coordinator instead of a channel, which loom cannot see).
    //!
    //! Both models end with the liveness check (after the worker settled the record, no flush
    //! is left waiting); the first also checks exactness when the second flush completes.
    //!
    //! Checked failing (2026-12-06), each order point removed in turn (each stands for a
    //! `SeqCst` that, weakened, allows the same executions):
    //! * the producer's, in `count_in_epoch` (its count before its re-read of the epoch): the
    //!   first flush misses the count while the producer misses the flip, the watermark passes
    //!   the epoch the record is pending in, and the second flush, called after `enqueue`
    //!   returned, completes before the record settled (exactness fails);
    //! * the flusher's, in [`flip`]: the same, and the flush also misses the worker's
    //!   completion while the worker misses the drain flag (both fail);
    //! * the worker's, in `Core::complete`: that lost completion alone, a flush left waiting
    //!   with nothing to settle (both fail).
    //!
    //! Restored, both pass.

    use loom::sync::Arc;
    use loom::sync::atomic::{AtomicBool, Ordering};
    use loom::thread;

    use super::{Notify, Registered, register};
    use crate::batch::Batch;
    use crate::core::Core;
    use crate::ingress::Shared;
    use crate::sync::lock;

    /// Registers a flush; `None` if it completed at once.
    fn flush(core: &Core) -> Option<u64> {
        let (tx, _rx) = std::sync::mpsc::sync_channel(1);
        match register(core, Notify::Blocking(tx)) {
            Registered::Done => None,
            Registered::Pending(id) => Some(id),
        }
    }

    /// Whether flush `id` is still waiting (a completed waiter leaves the coordinator).
    fn waiting(core: &Core, id: Option<u64>) -> bool {
        id.is_some_and(|id| {
            lock(&core.coord)
                .waiters
                .iter()
                .any(|waiter| waiter.id == id)
        })
    }

    /// One record, a worker, and two flushes: one racing the producer, one called after the
    /// producer's `enqueue` returned. `check` runs on the flusher after the second flush was
    /// registered, with the two flushes and whether the record has settled.
    fn run(check: fn(&Core, [Option<u64>; 2], &AtomicBool)) {
        loom::model(move || {
            let shared = Arc::new(Shared::<u32>::without_workers(4, 4));
            let settled = Arc::new(AtomicBool::new(false));
            let producer = {
                let shared = Arc::clone(&shared);
                thread::spawn(move || assert!(shared.enqueue(7).is_ok()))
            };
            let worker = {
                let (shared, settled) = (Arc::clone(&shared), Arc::clone(&settled));
                thread::spawn(move || {
                    let mut batch = Batch::with_capacity(4);
                    while shared.pop_into(&mut batch) == 0 {
                        thread::yield_now();
                    }
                    settled.store(true, Ordering::SeqCst);
                    shared.settle_delivered(&mut batch);
                })
            };
            let first = flush(&shared.core);
            producer.join().unwrap();
            let second = flush(&shared.core);
            check(&shared.core, [first, second], &settled);
            worker.join().unwrap();
            // Everything settled: no flush may be left waiting (a lost completion).
            assert!(
                !waiting(&shared.core, first),
                "the first flush never completes"
            );
            assert!(
                !waiting(&shared.core, second),
                "the second flush never completes"
            );
        });
    }

    /// Exactness: the record was accepted before the second flush was called, so that flush
    /// cannot have completed unless the record settled.
    #[test]
    fn a_flush_waits_for_every_record_accepted_before_it() {
        run(|core, [_, second], settled| {
            if !waiting(core, second) {
                assert!(
                    settled.load(Ordering::SeqCst),
                    "a flush completed before a record accepted before it settled"
                );
            }
        });
    }

    /// Liveness alone: both flushes complete once the record settled.
    #[test]
    fn every_flush_completes_once_the_records_settle() {
        run(|_, _, _| {});
    }
}
