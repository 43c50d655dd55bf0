//! A batch being built or delivered, and how its records are settled (delivered, failed, or
//! left on the spool).
//!
//! A batch normally settles whole: delivered, or failed and handed to the error callback (with
//! a spool, a batch the shutdown deadline stopped is left on the spool instead). A
//! batch the sink found too large is split (see the `worker` module) and settles in parts:
//! delivered parts are counted as they go, failed parts are counted and handed over one by one
//! at the end, and the batch's epoch counts complete once, after every part settled.

use std::ops::Range;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::Ordering;

use crate::core::RING;
use crate::error::DeliveryError;
use crate::ingress::{Entry, NO_ID, Shared};

/// Items taken from the queue, with how many came from each epoch slot.
pub(crate) struct Batch<T> {
    pub(crate) items: Vec<T>,
    counts: [u64; RING],
    /// The spool ids of the items (empty without a spool).
    ids: Vec<u64>,
}

impl<T> Batch<T> {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Batch {
            items: Vec::with_capacity(capacity),
            counts: [0; RING],
            ids: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, entry: Entry<T>) {
        self.counts[usize::from(entry.slot)] += 1;
        if entry.id != NO_ID {
            self.ids.push(entry.id);
        }
        self.items.push(entry.item);
    }

    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// A part of a split batch that failed: its position in the batch and its error.
pub(crate) struct FailedPart {
    pub(crate) range: Range<usize>,
    pub(crate) error: DeliveryError,
}

impl<T> Shared<T> {
    /// The sink accepted `batch`: count it delivered, then complete it. Keeps the allocation.
    pub(crate) fn settle_delivered(&self, batch: &mut Batch<T>) {
        let core = &*self.core;
        core.delivered
            .fetch_add(batch.items.len() as u64, Ordering::SeqCst);
        batch.items.clear();
        self.acknowledge(batch, &[]);
        core.complete(&std::mem::take(&mut batch.counts));
    }

    /// `batch` failed: count it, hand it to the error callback, then complete it (so a flush
    /// returns only after the callback ran). With a spool, a batch the shutdown deadline
    /// stopped is left on the spool instead.
    pub(crate) fn settle_failed(&self, batch: &mut Batch<T>, error: DeliveryError) {
        let core = &*self.core;
        if self.leaves_on_spool(&error) {
            core.left_on_spool
                .fetch_add(batch.items.len() as u64, Ordering::SeqCst);
            batch.items.clear();
            batch.ids.clear();
            core.complete(&std::mem::take(&mut batch.counts));
            return;
        }
        core.settling.fetch_add(1, Ordering::SeqCst);
        let items = std::mem::replace(
            &mut batch.items,
            Vec::with_capacity(self.config.max_batch_size),
        );
        self.hand_over(error, items);
        self.acknowledge(batch, &[]);
        core.complete(&std::mem::take(&mut batch.counts));
        core.settled();
    }

    /// A split `batch` ended in several parts. The delivered parts were counted as they went;
    /// count each failed part and hand it, with exactly its own records, to the error callback
    /// (in batch order; with a spool, a part the shutdown deadline stopped is left on the
    /// spool instead), then complete the whole batch once, after every callback returned.
    /// Keeps the batch's allocation (each failed part gets its own vector).
    pub(crate) fn settle_parts(&self, batch: &mut Batch<T>, failures: Vec<FailedPart>) {
        let core = &*self.core;
        core.settling.fetch_add(1, Ordering::SeqCst);
        let mut kept = Vec::new();
        let mut rest = batch.items.drain(..);
        let mut position = 0;
        for FailedPart { range, error } in failures {
            // Drops the delivered records before this part.
            rest.by_ref()
                .take(range.start.saturating_sub(position))
                .for_each(drop);
            let part: Vec<T> = rest.by_ref().take(range.len()).collect();
            position = range.end;
            if self.leaves_on_spool(&error) {
                core.left_on_spool
                    .fetch_add(part.len() as u64, Ordering::SeqCst);
                kept.push(range);
            } else {
                self.hand_over(error, part);
            }
        }
        drop(rest);
        self.acknowledge(batch, &kept);
        core.complete(&std::mem::take(&mut batch.counts));
        core.settled();
    }

    /// Whether a batch that failed with `error` stays on the spool, unacknowledged and not
    /// handed to the error callback, for the next engine: with a spool, at the shutdown
    /// deadline.
    fn leaves_on_spool(&self, error: &DeliveryError) -> bool {
        self.spool.is_some() && error.is_shutdown()
    }

    /// With a spool: acknowledges the settled records of `batch` (all but the positions in
    /// `kept`, records left on the spool for the next engine), then forgets the batch's ids.
    fn acknowledge(&self, batch: &mut Batch<T>, kept: &[Range<usize>]) {
        let Some(spool) = &self.spool else { return };
        if kept.is_empty() {
            spool.ack(&mut batch.ids);
        } else {
            let mut settled: Vec<u64> = batch
                .ids
                .iter()
                .enumerate()
                .filter(|(position, _)| !kept.iter().any(|range| range.contains(position)))
                .map(|(_, &id)| id)
                .collect();
            spool.ack(&mut settled);
        }
        batch.ids.clear();
    }

    /// Counts `items` failed and hands them to the error callback (catching a panic).
    fn hand_over(&self, error: DeliveryError, items: Vec<T>) {
        let core = &*self.core;
        let records = items.len();
        core.failed.fetch_add(records as u64, Ordering::SeqCst);
        if error.is_shutdown() {
            core.abandoned.fetch_add(records as u64, Ordering::SeqCst);
        }
        let callback = &self.on_error;
        if catch_unwind(AssertUnwindSafe(|| callback(error, items))).is_err() {
            tracing::error!(
                records,
                "amberflo-batcher error callback panicked; the failed batch it was given is lost"
            );
        }
    }
}
