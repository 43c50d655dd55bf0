//! The producer side: the lock-free bounded queue, the enqueue hot path, waking workers only
//! when needed, and taking items out for a batch.
//!
//! # Hot path
//!
//! [`Shared::enqueue`] costs one load of the (read-mostly) state word and of the refill flag,
//! a length check of the queue (three loads), one atomic add on the calling thread's own
//! counter shard, a second load of the state word, one push into a
//! `crossbeam_queue::ArrayQueue`, a fence and one load of the sleeper count. It makes no
//! syscall unless a worker is asleep and actually needs the item:
//!
//! * an *idle* worker (empty batch) is woken by the first item (one `notify_one`, deduplicated
//!   by a token so that concurrent producers do not repeat it);
//! * a *lingering* worker (partial batch, waiting up to `linger` for more) is woken only when the
//!   queue holds enough items to fill its batch; otherwise its linger deadline wakes it.
//!
//! # A full queue
//!
//! Once an enqueue finds the queue full, the engine is *refilling*: every enqueue is refused after
//! one relaxed load, without touching the queue, until the workers have taken out a batch's worth
//! of items ([`Shared::refill_room`]). Without this gate, and the capacity check before the
//! push (see [`PUSH_HEADROOM`]), producers retrying refused items chased the workers slot by
//! slot, spinning inside the queue while a worker finished reading each one out: under
//! sustained overload that spin took a sixth of the process's CPU, which the workers needed
//! to drain the queue.
//!
//! One file on purpose: the queue's memory orderings are argued across the producer and
//! consumer sides together.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::batch::Batch;
use crate::config::{Config, ErrorCallback};
use crate::core::{CLOSED, Core, Shard, deadline_after, epoch_of, slot_of};
use crate::error::SendErrorKind;
use crate::spool::{AppendError, Durability, Spool, SpoolCounters, SyncWait};
use crate::sync::{ArrayQueue, fence, lock, seqcst_order_point, wait_timeout};

/// Spool writes in a row that end a write failure episode.
const SPOOL_RECOVERED_AFTER: u64 = 64;

/// Slots the array queue has beyond the configured capacity. Producers refuse at the
/// capacity (checked before pushing), so the array never fills up and a push never lands on a
/// slot a worker is still reading out: that wait is a spin inside the queue. Racing producers
/// can overshoot the capacity check by one item each; past the headroom the push itself
/// refuses.
const PUSH_HEADROOM: usize = 64;
const _: () = assert!(PUSH_HEADROOM > crate::spool::MAX_LANES);

/// How often `send_timeout` re-tries a spool over its disk budget.
const SPOOL_FULL_POLL: Duration = Duration::from_millis(5);

/// A queued item with the epoch slot it was counted in.
pub(crate) struct Entry<T> {
    pub(crate) slot: u8,
    pub(crate) item: T,
    /// The record's spool id ([`NO_ID`] without a spool).
    pub(crate) id: u64,
}

/// The id of an entry that is not spooled.
pub(crate) const NO_ID: u64 = 0;

/// Everything the handle and the workers share.
pub(crate) struct Shared<T> {
    pub(crate) core: Arc<Core>,
    pub(crate) queue: ArrayQueue<Entry<T>>,
    pub(crate) config: Config,
    pub(crate) on_error: ErrorCallback<T>,
    /// The disk spool, when configured (see the `spool` module).
    pub(crate) spool: Option<Spool<T>>,
}

impl<T> Shared<T> {
    /// A queue of `capacity` without workers nor spool, so the test (or model) decides when
    /// items leave it; the error callback drops what it gets.
    #[cfg(test)]
    pub(crate) fn without_workers(capacity: usize, max_batch_size: usize) -> Self {
        Shared::with_spool(
            Config::for_tests(capacity, max_batch_size),
            Arc::new(|_, _| {}),
            None,
            Arc::default(),
        )
    }

    pub(crate) fn with_spool(
        config: Config,
        on_error: ErrorCallback<T>,
        spool: Option<Spool<T>>,
        counters: Arc<SpoolCounters>,
    ) -> Self {
        Shared {
            core: Arc::new(Core::new(config.workers, counters)),
            // `capacity <= MAX_CAPACITY`, checked by the builder: no overflow.
            queue: ArrayQueue::new(config.capacity.saturating_add(PUSH_HEADROOM)),
            config,
            on_error,
            spool,
        }
    }

    /// Accepts `item` or gives it back with the reason. Does not count rejections.
    #[inline]
    pub(crate) fn enqueue(&self, item: T) -> Result<(), (SendErrorKind, T)> {
        if let Some(spool) = &self.spool {
            return self.enqueue_spooled(spool, item, SyncWait::Wait).map(drop);
        }
        let core = &*self.core;
        let state = core.state.load(Ordering::SeqCst);
        if state & CLOSED != 0 {
            return Err((SendErrorKind::Closed, item));
        }
        if core.refilling.load(Ordering::Relaxed) {
            return Err((SendErrorKind::Full, item));
        }
        if self.queue.len() >= self.config.capacity {
            self.start_refilling();
            return Err((SendErrorKind::Full, item));
        }
        let Some((shard, slot)) = self.count_in_epoch(state) else {
            return Err((SendErrorKind::Closed, item));
        };
        // `slot < RING <= 8`, so it fits a byte.
        match self.queue.push(Entry {
            slot: slot as u8,
            item,
            id: NO_ID,
        }) {
            Ok(()) => {
                self.wake_after_push();
                Ok(())
            }
            Err(entry) => {
                self.uncount(shard, slot);
                self.start_refilling();
                Err((SendErrorKind::Full, entry.item))
            }
        }
    }

    /// Counts one item in this thread's shard, in the slot of the current epoch; `None` (the
    /// count undone) if the engine closed meanwhile. Count first, then re-read: a flush that
    /// flipped the epoch, or a shutdown that closed the engine, either sees this count or is
    /// seen here (see `flush`).
    #[inline]
    fn count_in_epoch(&self, mut state: u64) -> Option<(&Shard, usize)> {
        let core = &*self.core;
        let shard = core.shard();
        loop {
            let slot = slot_of(epoch_of(state));
            shard.added[slot].fetch_add(1, Ordering::SeqCst);
            seqcst_order_point();
            let now = core.state.load(Ordering::SeqCst);
            if now & CLOSED != 0 {
                self.uncount(shard, slot);
                return None;
            }
            if epoch_of(now) == epoch_of(state) {
                return Some((shard, slot));
            }
            // A flush flipped the epoch meanwhile: count in the new epoch instead.
            self.uncount(shard, slot);
            state = now;
        }
    }

    /// [`enqueue`](Self::enqueue), but never waiting for a disk sync: under
    /// `FsyncPolicy::Always` the spool's sync thread syncs the item, and the returned
    /// [`Durability`] resolves then.
    pub(crate) fn enqueue_async(&self, item: T) -> Result<Durability, (SendErrorKind, T)> {
        match &self.spool {
            Some(spool) => self.enqueue_spooled(spool, item, SyncWait::Defer),
            None => self.enqueue(item).map(|()| Durability::ready()),
        }
    }

    /// [`enqueue`](Self::enqueue) with a spool: count the item, append it to the spool (which
    /// also queues it in memory when nothing older waits on disk and there is room), wake a
    /// worker if needed. Refused only when closed, over the disk budget or on an I/O error.
    #[cold]
    fn enqueue_spooled(
        &self,
        spool: &Spool<T>,
        item: T,
        wait: SyncWait,
    ) -> Result<Durability, (SendErrorKind, T)> {
        let core = &*self.core;
        let state = core.state.load(Ordering::SeqCst);
        if state & CLOSED != 0 {
            return Err((SendErrorKind::Closed, item));
        }
        let Some((shard, slot)) = self.count_in_epoch(state) else {
            return Err((SendErrorKind::Closed, item));
        };
        // `slot < RING <= 8`, so it fits a byte.
        match spool.append(item, slot as u8, &self.queue, self.config.capacity, wait) {
            Ok(durability) => {
                self.spool_write_succeeded();
                self.wake_after_push();
                Ok(durability)
            }
            Err((error, item)) => {
                self.uncount(shard, slot);
                let kind = match error {
                    AppendError::Full => SendErrorKind::Full,
                    AppendError::Encode(error) => {
                        tracing::warn!(%error, "amberflo-batcher: an item cannot be encoded for the spool; refused");
                        SendErrorKind::Spool
                    }
                    AppendError::TooLarge(bytes) => {
                        tracing::warn!(
                            bytes,
                            "amberflo-batcher: an encoded item is over the spool's 16 MiB frame limit; refused"
                        );
                        SendErrorKind::Spool
                    }
                    AppendError::Io(error) => {
                        self.spool_write_failed(&error);
                        SendErrorKind::Spool
                    }
                };
                Err((kind, item))
            }
        }
    }

    /// Loads a batch of spooled records into the queue, room permitting; counts undecodable
    /// ones failed.
    fn refill_from_spool(&self, spool: &Spool<T>) {
        let refill = spool.refill(
            &self.queue,
            self.config.capacity,
            self.config.max_batch_size,
        );
        let undecodable: u64 = refill.undecodable.iter().sum();
        if undecodable > 0 {
            let core = &*self.core;
            core.popped.0.fetch_add(undecodable, Ordering::SeqCst);
            core.failed.fetch_add(undecodable, Ordering::SeqCst);
            core.complete(&refill.undecodable);
        }
        if refill.pushed > 0 {
            self.wake_after_push();
        }
    }

    /// Wakes a sleeping worker, if any, after items went into the queue (the protocol is in
    /// the `parking` module).
    #[inline]
    fn wake_after_push(&self) {
        self.core.parking.0.after_push(|| self.queue.len());
    }

    /// Takes back one item's count made by [`count_in_epoch`](Self::count_in_epoch).
    #[inline]
    fn uncount(&self, shard: &Shard, slot: usize) {
        shard.added[slot].fetch_sub(1, Ordering::SeqCst);
        self.core.after_undo();
    }

    /// Free slots the workers must make before a full queue accepts items again: a batch, or
    /// half the queue when that is smaller (and at least one).
    pub(crate) fn refill_room(&self) -> usize {
        self.config
            .max_batch_size
            .min(self.config.capacity / 2)
            .max(1)
    }

    /// Whether the queue has drained by [`refill_room`](Self::refill_room).
    fn has_refill_room(&self) -> bool {
        self.queue.len() + self.refill_room() <= self.config.capacity
    }

    /// Refuses items at once until the workers make room (see the module docs).
    #[cold]
    fn start_refilling(&self) {
        let core = &*self.core;
        core.refilling.store(true, Ordering::SeqCst);
        // Pairs with the fence in `after_pop`: either that worker sees the flag, or this check
        // sees the room it made (so the flag cannot outlive an empty queue).
        fence(Ordering::SeqCst);
        if self.has_refill_room() {
            self.stop_refilling();
        }
    }

    /// Accepts items again and wakes one `send_timeout` caller waiting for room, which wakes
    /// the next when it leaves ([`pass_on_room`](Self::pass_on_room)): waking them all at once
    /// made every refill a stampede of threads, most of which found the queue full again.
    fn stop_refilling(&self) {
        let core = &*self.core;
        if core.refilling.swap(false, Ordering::SeqCst)
            && core.space.waiters.load(Ordering::SeqCst) > 0
        {
            core.space.notify_one();
        }
    }

    /// Called by a `send_timeout` caller leaving after a wait: wakes the next waiter while
    /// the queue still takes items (so no wake-up is lost on a caller that timed out).
    fn pass_on_room(&self) {
        let core = &*self.core;
        if !core.refilling.load(Ordering::SeqCst) && core.space.waiters.load(Ordering::SeqCst) > 0 {
            core.space.notify_one();
        }
    }

    /// Counts an item the spool could not write (a full disk, ...), logging once per episode:
    /// the first failure, with its error. The episode ends after [`SPOOL_RECOVERED_AFTER`]
    /// writes in a row succeed (lanes fail one by one as a disk fills, so one success proves
    /// little).
    #[cold]
    fn spool_write_failed(&self, error: &std::io::Error) {
        let core = &*self.core;
        core.spool_refused.fetch_add(1, Ordering::Relaxed);
        core.spool_ok_streak.store(0, Ordering::Relaxed);
        if !core.spool_failing.swap(true, Ordering::AcqRel) {
            tracing::error!(
                %error,
                "amberflo-batcher: cannot write to the spool; records are refused and returned to \
                 the caller (further refusals are counted in stats, not logged, until a write \
                 succeeds again)"
            );
        }
    }

    /// Counts a successful spool write; during a failure episode, ends it (logging how many
    /// items it refused) once enough writes in a row have succeeded.
    fn spool_write_succeeded(&self) {
        let core = &*self.core;
        if core.spool_failing.load(Ordering::Relaxed)
            && core.spool_ok_streak.fetch_add(1, Ordering::Relaxed) + 1 >= SPOOL_RECOVERED_AFTER
            && core.spool_failing.swap(false, Ordering::AcqRel)
        {
            let refused = core.spool_refused.swap(0, Ordering::Relaxed);
            tracing::warn!(
                refused,
                "amberflo-batcher: the spool accepts writes again; write failure episode over"
            );
        }
    }

    /// Counts a refused item, warning once per overflow episode.
    #[cold]
    pub(crate) fn reject(&self, kind: SendErrorKind) {
        let core = &*self.core;
        core.shard().rejected.fetch_add(1, Ordering::Relaxed);
        if kind == SendErrorKind::Full
            && !core.overflow.load(Ordering::Relaxed)
            && !core.overflow.swap(true, Ordering::AcqRel)
        {
            core.overflow_base
                .store(core.rejected().saturating_sub(1), Ordering::Relaxed);
            tracing::warn!(
                capacity = self.config.capacity,
                "amberflo-batcher queue is full: records are refused and returned to the caller \
                 until the workers make room (further refusals are counted in stats, not logged \
                 until the queue has drained below half its capacity)"
            );
        }
    }

    /// Like [`enqueue`](Self::enqueue), but waits up to `timeout` for room while the queue is full.
    pub(crate) fn enqueue_timeout(
        &self,
        mut item: T,
        timeout: Duration,
    ) -> Result<(), (SendErrorKind, T)> {
        let deadline = deadline_after(Instant::now(), timeout);
        let mut waited = false;
        let outcome = loop {
            match self.enqueue(item) {
                Err((SendErrorKind::Full, back)) => item = back,
                done => break done,
            }
            let now = Instant::now();
            if now >= deadline {
                break Err((SendErrorKind::Full, item));
            }
            if self.spool.is_some() {
                // Over the disk budget: room comes back when a segment is deleted, which
                // nothing signals; poll.
                std::thread::sleep((deadline - now).min(SPOOL_FULL_POLL));
                continue;
            }
            self.wait_for_room(deadline - now);
            waited = true;
        };
        if waited {
            self.pass_on_room();
        }
        outcome
    }

    /// Parks the calling thread until the queue stops refilling (or `timeout`, or shutdown).
    fn wait_for_room(&self, timeout: Duration) {
        let space = &self.core.space;
        let guard = lock(&space.lock);
        space.waiters.fetch_add(1, Ordering::SeqCst);
        // Pairs with `stop_refilling`: either it sees this waiter, or this check sees the flag
        // cleared.
        fence(Ordering::SeqCst);
        let guard = if self.core.refilling.load(Ordering::SeqCst) && !self.core.is_closed() {
            wait_timeout(&space.cv, guard, timeout)
        } else {
            guard
        };
        space.waiters.fetch_sub(1, Ordering::SeqCst);
        drop(guard);
    }

    /// Whether, with a spool, records wait on disk for room in the queue.
    pub(crate) fn has_backlog(&self) -> bool {
        self.spool.as_ref().is_some_and(Spool::has_backlog)
    }

    /// Moves up to `max_batch_size - batch.len()` queued items into `batch`; returns how many.
    pub(crate) fn pop_into(&self, batch: &mut Batch<T>) -> usize {
        let max = self.config.max_batch_size;
        if let Some(spool) = &self.spool
            && spool.has_backlog()
        {
            self.refill_from_spool(spool);
        }
        let mut taken = 0;
        while batch.len() < max {
            let Some(entry) = self.queue.pop() else {
                break;
            };
            batch.push(entry);
            taken += 1;
        }
        if taken > 0 {
            self.after_pop(taken);
            if let Some(spool) = &self.spool
                && spool.has_backlog()
            {
                self.refill_from_spool(spool);
            }
        }
        taken
    }

    /// Bookkeeping after items left the queue: counters, blocked senders, overflow episode.
    fn after_pop(&self, taken: usize) {
        let core = &*self.core;
        core.popped.0.fetch_add(taken as u64, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        // `send_timeout` callers wait only while refilling, and stopping wakes them.
        if core.refilling.load(Ordering::Relaxed) && self.has_refill_room() {
            self.stop_refilling();
        }
        if core.overflow.load(Ordering::Relaxed)
            && self.queue.len() <= self.config.capacity / 2
            && core.overflow.swap(false, Ordering::AcqRel)
        {
            let rejected = core
                .rejected()
                .saturating_sub(core.overflow_base.load(Ordering::Relaxed));
            tracing::warn!(
                rejected,
                "amberflo-batcher queue drained below half its capacity; overflow episode over"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn is_full(result: Result<(), (SendErrorKind, u32)>) -> bool {
        matches!(result, Err((SendErrorKind::Full, _)))
    }

    #[test]
    fn a_full_queue_refuses_until_a_batch_is_taken_out() {
        let shared = Shared::<u32>::without_workers(8, 3);
        assert_eq!(shared.refill_room(), 3);
        for i in 0..8 {
            assert!(shared.enqueue(i).is_ok());
        }
        assert!(is_full(shared.enqueue(8)));
        // One slot free is not enough: producers keep getting refused without a push.
        let mut batch = Batch::with_capacity(3);
        batch.push(Entry {
            slot: 1,
            item: 0,
            id: NO_ID,
        });
        batch.push(Entry {
            slot: 1,
            item: 0,
            id: NO_ID,
        });
        assert_eq!(shared.pop_into(&mut batch), 1);
        assert!(is_full(shared.enqueue(9)));
        assert_eq!(shared.queue.len(), 7);
        // Two more out: three free, the queue accepts again.
        let mut batch = Batch::with_capacity(3);
        batch.push(Entry {
            slot: 1,
            item: 0,
            id: NO_ID,
        });
        assert_eq!(shared.pop_into(&mut batch), 2);
        assert!(shared.enqueue(10).is_ok());
        assert_eq!(shared.queue.len(), 6);
    }

    #[test]
    fn refill_room_is_at_least_one_and_at_most_half_the_queue() {
        assert_eq!(Shared::<u32>::without_workers(1, 1).refill_room(), 1);
        assert_eq!(Shared::<u32>::without_workers(10, 100).refill_room(), 5);
        assert_eq!(
            Shared::<u32>::without_workers(100_000, 100).refill_room(),
            100
        );
    }

    #[test]
    fn a_refused_push_with_room_already_made_does_not_stay_refusing() {
        let shared = Shared::<u32>::without_workers(2, 1);
        assert!(shared.enqueue(0).is_ok());
        assert!(shared.enqueue(1).is_ok());
        // The queue drains between the failed push and setting the flag: the producer's own
        // check clears it.
        while shared.queue.pop().is_some() {}
        shared.start_refilling();
        assert!(!shared.core.refilling.load(Ordering::SeqCst));
        assert!(shared.enqueue(2).is_ok());
    }

    /// The messages (and `refused` fields) of the events logged while `run` runs.
    fn logged(run: impl FnOnce()) -> Vec<(tracing::Level, String)> {
        use std::sync::Mutex;
        use tracing::field::{Field, Visit};
        use tracing_subscriber::layer::{Context, Layer, SubscriberExt as _};

        #[derive(Clone, Default)]
        struct Events(Arc<Mutex<Vec<(tracing::Level, String)>>>);
        struct Text(String);
        impl Visit for Text {
            fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
                self.0.push_str(&format!("{}={value:?} ", field.name()));
            }
        }
        impl<S: tracing::Subscriber> Layer<S> for Events {
            fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
                let mut text = Text(String::new());
                event.record(&mut text);
                let level = *event.metadata().level();
                self.0.lock().unwrap().push((level, text.0));
            }
        }
        let events = Events::default();
        let subscriber = tracing_subscriber::registry().with(events.clone());
        tracing::subscriber::with_default(subscriber, run);
        events.0.lock().unwrap().clone()
    }

    #[test]
    fn spool_write_failures_log_once_per_episode_with_the_count_at_its_end() {
        let shared = Shared::<u32>::without_workers(8, 4);
        let full = std::io::Error::from(std::io::ErrorKind::StorageFull);
        let logs = logged(|| {
            for _ in 0..1_000 {
                shared.spool_write_failed(&full);
            }
            // Lanes failing one by one: successes between failures do not end the episode.
            for _ in 0..100 {
                shared.spool_write_succeeded();
                shared.spool_write_failed(&full);
            }
            for _ in 0..SPOOL_RECOVERED_AFTER {
                shared.spool_write_succeeded();
            }
            // A write that succeeds outside an episode logs nothing.
            shared.spool_write_succeeded();
            shared.spool_write_failed(&full);
        });
        let levels: Vec<_> = logs.iter().map(|(level, _)| *level).collect();
        assert_eq!(
            levels,
            [
                tracing::Level::ERROR,
                tracing::Level::WARN,
                tracing::Level::ERROR
            ],
            "{logs:?}"
        );
        assert!(logs[0].1.contains("cannot write to the spool"), "{logs:?}");
        assert!(logs[1].1.contains("refused=1100"), "{logs:?}");
    }
}

#[cfg(test)]
#[cfg(amberflo_loom)]
mod models {
    //! Loom model of the refill gate, run on the code that ships: a producer finds the queue
    //! full and closes the gate ([`Shared::start_refilling`]) while a worker takes an item
    //! out ([`Shared::pop_into`]); the gate must not stay closed over a queue with room, or
    //! every producer is refused until the next pop, which may never come.
    //!
    //! Checked failing (2026-12-06): without the fence in `start_refilling`, or the one in
    //! `after_pop`, the producer reads the queue still full while the worker reads the gate
    //! still open, and the gate stays closed with room to spare. Restored, it passes.

    use loom::sync::Arc;
    use loom::thread;
    use std::sync::atomic::Ordering;

    use super::Shared;
    use crate::batch::Batch;

    #[test]
    fn the_refill_gate_never_outlives_the_room() {
        loom::model(|| {
            // Capacity 2, refill room 1.
            let shared = Arc::new(Shared::<u32>::without_workers(2, 1));
            assert!(shared.enqueue(0).is_ok() && shared.enqueue(1).is_ok());
            let worker = {
                let shared = Arc::clone(&shared);
                thread::spawn(move || shared.pop_into(&mut Batch::with_capacity(1)))
            };
            let producer = {
                let shared = Arc::clone(&shared);
                thread::spawn(move || shared.enqueue(2).is_ok())
            };
            assert_eq!(worker.join().unwrap(), 1);
            let _accepted = producer.join().unwrap();
            assert!(
                !(shared.core.refilling.load(Ordering::SeqCst) && shared.has_refill_room()),
                "the gate stays closed over a queue with room"
            );
        });
    }
}
