//! A batch being built or delivered, and how its records are settled (delivered or failed).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::Ordering;

use crate::core::RING;
use crate::error::DeliveryError;
use crate::ingress::{Entry, Shared};

/// Items taken from the queue, with how many came from each epoch slot.
pub(crate) struct Batch<T> {
    pub(crate) items: Vec<T>,
    counts: [u64; RING],
}

impl<T> Batch<T> {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Batch {
            items: Vec::with_capacity(capacity),
            counts: [0; RING],
        }
    }

    pub(crate) fn push(&mut self, entry: Entry<T>) {
        self.counts[usize::from(entry.slot)] += 1;
        self.items.push(entry.item);
    }

    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

impl<T> Shared<T> {
    /// The sink accepted `batch`: count it delivered, then complete it. Keeps the allocation.
    pub(crate) fn settle_delivered(&self, batch: &mut Batch<T>) {
        let core = &*self.core;
        core.delivered
            .fetch_add(batch.items.len() as u64, Ordering::SeqCst);
        batch.items.clear();
        core.complete(&std::mem::take(&mut batch.counts));
    }

    /// `batch` failed: count it, hand it to the error callback, then complete it (so a flush
    /// returns only after the callback ran).
    pub(crate) fn settle_failed(&self, batch: &mut Batch<T>, error: DeliveryError) {
        let core = &*self.core;
        let records = batch.items.len();
        core.failed.fetch_add(records as u64, Ordering::SeqCst);
        if error.is_shutdown() {
            core.abandoned.fetch_add(records as u64, Ordering::SeqCst);
        }
        let items = std::mem::replace(
            &mut batch.items,
            Vec::with_capacity(self.config.max_batch_size),
        );
        let callback = &self.on_error;
        if catch_unwind(AssertUnwindSafe(|| callback(error, items))).is_err() {
            tracing::error!(
                records,
                "amberflo-batcher error callback panicked; the failed batch it was given is lost"
            );
        }
        core.complete(&std::mem::take(&mut batch.counts));
    }
}
