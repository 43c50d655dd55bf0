//! How a shutdown past its deadline reaches the sink calls in progress: the abort flag, and
//! one slot per worker where a pending call leaves its waker.
//!
//! # The protocol
//!
//! A call about to return `Pending` registers its waker in its slot and marks itself parked
//! (under the slot's lock), then re-reads the flag ([`AbortSlots::register`]). The abort sets
//! the flag, then takes each slot's waker (under the same lock) and wakes it
//! ([`AbortSlots::wake_calls`]). The lock orders the two: either the abort finds the waker
//! (the call registered first), or the call's re-read comes after the abort released the
//! slot, and so after the flag was set. A call is never left waiting for a wake-up that does
//! not come. Woken, the call sees the flag at its next poll and drops the sink's future.
//!
//! The models in this module's tests (loom, `--cfg amberflo_loom`) check it, and fail when the
//! call does not re-read the flag after registering.

use std::task::Waker;

use std::sync::atomic::Ordering;

pub(crate) use crate::sync::AtomicBool as AbortFlag;
use crate::sync::{Mutex, MutexGuard, lock};

use crate::core::Padded;

/// One worker's pending sink call, as the abort sees it.
struct AbortSlot {
    state: Mutex<SlotState>,
    /// The call returned `Pending` after registering its waker and has not been polled since:
    /// woken after an abort, it cancels itself at its next poll without calling into the sink.
    parked: AbortFlag,
}

#[derive(Default)]
struct SlotState {
    waker: Option<Waker>,
    /// The abort counted this worker as cancelling.
    counted: bool,
}

/// The slots of every worker.
pub(crate) struct AbortSlots {
    slots: Box<[Padded<AbortSlot>]>,
}

impl AbortSlot {
    fn lock(&self) -> MutexGuard<'_, SlotState> {
        lock(&self.state)
    }
}

impl AbortSlots {
    pub(crate) fn new(workers: usize) -> Self {
        AbortSlots {
            slots: (0..workers)
                .map(|_| {
                    Padded(AbortSlot {
                        state: Mutex::new(SlotState::default()),
                        parked: AbortFlag::new(false),
                    })
                })
                .collect(),
        }
    }

    /// Wakes every registered call (`flag` is set). A call parked and not yet counted as
    /// cancelling is counted with `count_cancelling`, under its slot's lock and before it is
    /// woken, so that it cannot settle (and uncount itself) before it was counted.
    pub(crate) fn wake_calls(&self, count_cancelling: impl Fn()) {
        for slot in &*self.slots {
            let waker = {
                let mut state = slot.0.lock();
                let waker = state.waker.take();
                if waker.is_some() && slot.0.parked.load(Ordering::SeqCst) && !state.counted {
                    state.counted = true;
                    count_cancelling();
                }
                waker
            };
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    }

    /// Worker `worker`'s pending call is being polled again (it is no longer parked).
    pub(crate) fn unpark(&self, worker: usize) {
        if let Some(slot) = self.slots.get(worker) {
            slot.0.parked.store(false, Ordering::SeqCst);
        }
    }

    /// Registers the waker of worker `worker`'s call, which is about to return `Pending`;
    /// `true` if `flag` says the engine is aborting (then the call must stop instead).
    pub(crate) fn register(&self, flag: &AbortFlag, worker: usize, waker: &Waker) -> bool {
        if let Some(slot) = self.slots.get(worker) {
            let mut state = slot.0.lock();
            match &state.waker {
                Some(registered) if registered.will_wake(waker) => {}
                _ => state.waker = Some(waker.clone()),
            }
            slot.0.parked.store(true, Ordering::SeqCst);
        }
        // Re-check after registering, so that an abort set meanwhile is not missed.
        flag.load(Ordering::SeqCst)
    }

    /// Forgets worker `worker`'s call once it ended; `true` if the abort counted it as
    /// cancelling.
    pub(crate) fn clear(&self, worker: usize) -> bool {
        let Some(slot) = self.slots.get(worker) else {
            return false;
        };
        let mut state = slot.0.lock();
        state.waker = None;
        slot.0.parked.store(false, Ordering::SeqCst);
        std::mem::take(&mut state.counted)
    }
}

#[cfg(test)]
#[cfg(amberflo_loom)]
mod models {
    //! Loom models of the abort reaching a pending call, on the code that ships. A call is
    //! modelled as its executor would drive it: register (as `AbortableCall::poll` does before
    //! returning `Pending`), then wait to be woken and poll again.
    //!
    //! Checked failing (2026-12-06): with `register` not re-reading the flag (returning
    //! `false`), loom finds the call waiting forever (it exceeds its branch bound spinning on
    //! a wake-up that never comes). Restored, it passes.

    use std::sync::atomic::Ordering;
    use std::task::{Wake, Waker};

    use loom::sync::Arc;
    use loom::sync::atomic::AtomicBool;
    use loom::thread;

    use super::{AbortFlag, AbortSlots};

    /// A waker that records that it was woken.
    struct Woken(AtomicBool);

    impl Wake for Woken {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.store(true, Ordering::Release);
        }
    }

    #[test]
    fn an_abort_always_reaches_a_pending_call() {
        loom::model(|| {
            let flag = Arc::new(AbortFlag::new(false));
            let slots = Arc::new(AbortSlots::new(1));
            let abort = {
                let (flag, slots) = (Arc::clone(&flag), Arc::clone(&slots));
                thread::spawn(move || {
                    flag.store(true, Ordering::SeqCst);
                    let counted = std::sync::atomic::AtomicUsize::new(0);
                    slots.wake_calls(|| {
                        counted.fetch_add(1, Ordering::Relaxed);
                    });
                    counted.into_inner()
                })
            };
            let woken = std::sync::Arc::new(Woken(AtomicBool::new(false)));
            let waker = Waker::from(std::sync::Arc::clone(&woken));
            // The call's poll: the abort not yet seen, it registers and returns `Pending`...
            let mut stopped = flag.load(Ordering::SeqCst) || slots.register(&flag, 0, &waker);
            // ...and its executor polls it again once woken, when it must see the abort.
            while !stopped {
                if woken.0.load(Ordering::Acquire) {
                    slots.unpark(0);
                    stopped = flag.load(Ordering::SeqCst);
                    assert!(stopped, "woken without the abort visible");
                } else {
                    thread::yield_now();
                }
            }
            let counted = abort.join().unwrap();
            // Counted as cancelling exactly when the abort found it parked.
            assert_eq!(slots.clear(0), counted == 1);
        });
    }
}
