//! The producer side: the lock-free bounded queue, the enqueue hot path, waking workers only
//! when needed, and taking items out for a batch.
//!
//! # Hot path
//!
//! [`Shared::enqueue`] costs one load of the (read-mostly) state word, one atomic add on the
//! calling thread's own counter shard, a second load of the state word, one push into a
//! `crossbeam_queue::ArrayQueue`, a fence and one load of the sleeper count. It makes no
//! syscall unless a worker is asleep and actually needs the item:
//!
//! * an *idle* worker (empty batch) is woken by the first item (one `notify_one`, deduplicated
//!   by a token so that concurrent producers do not repeat it);
//! * a *lingering* worker (partial batch, waiting up to `linger` for more) is woken only when the
//!   queue holds enough items to fill its batch; otherwise its linger deadline wakes it.

use std::sync::Arc;
use std::sync::atomic::{Ordering, fence};
use std::time::{Duration, Instant};

use crossbeam_queue::ArrayQueue;

use crate::batch::Batch;
use crate::config::{Config, ErrorCallback};
use crate::core::wait_timeout;
use crate::core::{CLOSED, Core, LINGER_SHIFT, deadline_after, epoch_of, lock, slot_of};
use crate::error::SendErrorKind;

/// A queued item with the epoch slot it was counted in.
pub(crate) struct Entry<T> {
    pub(crate) slot: u8,
    pub(crate) item: T,
}

/// Everything the handle and the workers share.
pub(crate) struct Shared<T> {
    pub(crate) core: Arc<Core>,
    pub(crate) queue: ArrayQueue<Entry<T>>,
    pub(crate) config: Config,
    pub(crate) on_error: ErrorCallback<T>,
}

impl<T> Shared<T> {
    pub(crate) fn new(config: Config, on_error: ErrorCallback<T>) -> Self {
        Shared {
            core: Arc::new(Core::new()),
            queue: ArrayQueue::new(config.capacity),
            config,
            on_error,
        }
    }

    /// Accepts `item` or gives it back with the reason. Does not count rejections.
    #[inline]
    pub(crate) fn enqueue(&self, item: T) -> Result<(), (SendErrorKind, T)> {
        let core = &*self.core;
        let mut state = core.state.load(Ordering::SeqCst);
        if state & CLOSED != 0 {
            return Err((SendErrorKind::Closed, item));
        }
        let shard = core.shard();
        let mut slot;
        loop {
            slot = slot_of(epoch_of(state));
            // Count first, then re-read: a flush that flipped the epoch, or a shutdown that
            // closed the engine, either sees this count or is seen here (see `flush`).
            shard.added[slot].fetch_add(1, Ordering::SeqCst);
            let now = core.state.load(Ordering::SeqCst);
            if now & CLOSED != 0 {
                shard.added[slot].fetch_sub(1, Ordering::SeqCst);
                core.after_undo();
                return Err((SendErrorKind::Closed, item));
            }
            if epoch_of(now) == epoch_of(state) {
                break;
            }
            // A flush flipped the epoch meanwhile: count in the new epoch instead.
            shard.added[slot].fetch_sub(1, Ordering::SeqCst);
            core.after_undo();
            state = now;
        }
        // `slot < RING <= 8`, so it fits a byte.
        match self.queue.push(Entry {
            slot: slot as u8,
            item,
        }) {
            Ok(()) => {
                // Pairs with the fence in the workers' sleep path: either they see the item,
                // or this load sees them asleep.
                fence(Ordering::SeqCst);
                let sleepers = core.parking.0.sleepers.load(Ordering::Relaxed);
                if sleepers != 0 {
                    self.wake(sleepers);
                }
                Ok(())
            }
            Err(entry) => {
                shard.added[slot].fetch_sub(1, Ordering::SeqCst);
                core.after_undo();
                Err((SendErrorKind::Full, entry.item))
            }
        }
    }

    /// Wakes a worker if one is asleep and needs the items now queued.
    fn wake(&self, sleepers: usize) {
        let parking = &self.core.parking.0;
        let lingering = sleepers >> LINGER_SHIFT;
        let everyone = if lingering > 0 {
            // A worker is collecting a batch: it wakes by itself at its linger deadline unless
            // the queue can fill its batch now.
            if self.queue.len() < parking.linger_need.load(Ordering::Relaxed) {
                return;
            }
            true
        } else {
            false
        };
        if parking.token.load(Ordering::Relaxed) || parking.token.swap(true, Ordering::AcqRel) {
            return;
        }
        let _guard = lock(&parking.lock);
        if everyone {
            parking.cv.notify_all();
        } else {
            parking.cv.notify_one();
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
                 until it drains below half its capacity (further refusals are counted in stats, \
                 not logged)"
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
        let space = &self.core.space;
        loop {
            match self.enqueue(item) {
                Ok(()) => return Ok(()),
                Err((SendErrorKind::Full, back)) => item = back,
                Err(other) => return Err(other),
            }
            let now = Instant::now();
            if now >= deadline {
                return Err((SendErrorKind::Full, item));
            }
            let guard = lock(&space.lock);
            space.waiters.fetch_add(1, Ordering::SeqCst);
            // Pairs with the fence after a worker pops: either it sees this waiter, or this
            // check sees the room it made.
            fence(Ordering::SeqCst);
            let guard = if self.queue.is_full() && !self.core.is_closed() {
                wait_timeout(&space.cv, guard, deadline - now)
            } else {
                guard
            };
            space.waiters.fetch_sub(1, Ordering::SeqCst);
            drop(guard);
        }
    }

    /// Moves up to `max_batch_size - batch.len()` queued items into `batch`; returns how many.
    pub(crate) fn pop_into(&self, batch: &mut Batch<T>) -> usize {
        let max = self.config.max_batch_size;
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
        }
        taken
    }

    /// Bookkeeping after items left the queue: counters, blocked senders, overflow episode.
    fn after_pop(&self, taken: usize) {
        let core = &*self.core;
        core.popped.0.fetch_add(taken as u64, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        if core.space.waiters.load(Ordering::Relaxed) > 0 {
            core.space.notify_all();
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
