//! The synchronization primitives the engine's protocols are built on: std's, or loom's in the
//! model-checked build (`--cfg amberflo_loom`, run by `cargo xtask ci`), where the models in
//! the `parking`, `abort`, `flush`, `ingress` and `shutdown` modules explore their
//! interleavings on the code that ships.
//!
//! The queue is crossbeam's `ArrayQueue`, whose atomics loom cannot see; the model-checked
//! build swaps in a mutex around a `VecDeque` with the same methods, so that a push
//! happens-before the pop that takes the item (the contract `ArrayQueue` documents) in the
//! models too, while `len` stays a racy snapshot (an atomic count, read without the lock, as
//! `ArrayQueue` reads its head and tail).
//!
//! Loom models a `SeqCst` read-modify-write as `AcqRel` (its documented approximation), so a
//! protocol that relies on the single total order of `SeqCst` operations (a `SeqCst` RMW on
//! one location, then a `SeqCst` load of another, against the mirror image on another thread)
//! marks the spot with [`seqcst_order_point`]: nothing in the real build, where the `SeqCst`
//! operations already give that order; a `SeqCst` fence for loom, which loom does model.

#[cfg(amberflo_loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, fence};
#[cfg(amberflo_loom)]
pub(crate) use loom::sync::{Condvar, Mutex, MutexGuard};
#[cfg(not(amberflo_loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, fence};
#[cfg(not(amberflo_loom))]
pub(crate) use std::sync::{Condvar, Mutex, MutexGuard};

#[cfg(not(amberflo_loom))]
pub(crate) use crossbeam_queue::ArrayQueue;
#[cfg(amberflo_loom)]
pub(crate) use loom::thread::{Builder as ThreadBuilder, JoinHandle, yield_now};
#[cfg(not(amberflo_loom))]
pub(crate) use std::thread::{Builder as ThreadBuilder, JoinHandle, yield_now};

use std::sync::PoisonError;
use std::time::Duration;

/// Between a `SeqCst` read-modify-write and a later `SeqCst` load of another location: the
/// order point the two rely on (see the module docs). A no-op outside loom.
#[inline(always)]
pub(crate) fn seqcst_order_point() {
    #[cfg(amberflo_loom)]
    fence(std::sync::atomic::Ordering::SeqCst);
}

/// Locks a mutex, ignoring poisoning (the engine's invariants live in atomics, and a panic in
/// user code is caught before it can poison anything; this is belt and braces).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Waits on `cv` until notified (or spuriously woken), ignoring poisoning.
pub(crate) fn wait<'a, T>(cv: &Condvar, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
    cv.wait(guard).unwrap_or_else(PoisonError::into_inner)
}

/// Waits on `cv` for at most `timeout`, ignoring poisoning.
#[cfg(not(amberflo_loom))]
pub(crate) fn wait_timeout<'a, T>(
    cv: &Condvar,
    guard: MutexGuard<'a, T>,
    timeout: Duration,
) -> MutexGuard<'a, T> {
    match cv.wait_timeout(guard, timeout) {
        Ok((guard, _)) => guard,
        Err(poisoned) => poisoned.into_inner().0,
    }
}

/// Under loom a timed wait returns at once, as a timeout may (loom's own blocks like an
/// untimed wait). The models never rely on a timeout: they check that no wake-up is lost,
/// which a timeout would hide.
#[cfg(amberflo_loom)]
pub(crate) fn wait_timeout<'a, T>(
    _cv: &Condvar,
    guard: MutexGuard<'a, T>,
    _timeout: Duration,
) -> MutexGuard<'a, T> {
    guard
}

/// `crossbeam_queue::ArrayQueue` for the models: the same methods, over a loom mutex.
#[cfg(amberflo_loom)]
pub(crate) struct ArrayQueue<T> {
    items: Mutex<std::collections::VecDeque<T>>,
    len: AtomicUsize,
    capacity: usize,
}

#[cfg(amberflo_loom)]
impl<T> ArrayQueue<T> {
    pub(crate) fn new(capacity: usize) -> Self {
        ArrayQueue {
            items: Mutex::new(std::collections::VecDeque::with_capacity(capacity)),
            len: AtomicUsize::new(0),
            capacity,
        }
    }

    pub(crate) fn push(&self, item: T) -> Result<(), T> {
        let mut items = lock(&self.items);
        if items.len() == self.capacity {
            return Err(item);
        }
        items.push_back(item);
        self.len.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }

    pub(crate) fn pop(&self) -> Option<T> {
        let item = lock(&self.items).pop_front()?;
        self.len.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        Some(item)
    }

    pub(crate) fn len(&self) -> usize {
        self.len.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
