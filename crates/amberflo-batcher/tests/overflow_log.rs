//! The overflow warning is logged once per episode, not once per refused record.
// Test helpers outside #[test] functions may unwrap too.
#![allow(clippy::unwrap_used, clippy::type_complexity)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use amberflo_batcher::{Batcher, SinkFn};
use common::{Gate, OpenOnDrop, PATIENCE, wait_until};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// Counts WARN events emitted on the thread it is installed on.
struct WarnCounter(Arc<AtomicUsize>);

impl Subscriber for WarnCounter {
    fn enabled(&self, _metadata: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _span: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _span: &Id, _values: &Record<'_>) {}
    fn record_follows_from(&self, _span: &Id, _follows: &Id) {}
    fn event(&self, event: &Event<'_>) {
        if *event.metadata().level() == Level::WARN {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    fn enter(&self, _span: &Id) {}
    fn exit(&self, _span: &Id) {}
}

#[test]
fn overflow_is_warned_once_per_episode() {
    let first = Gate::default();
    let second = Gate::default();
    let _release = (OpenOnDrop(first.clone()), OpenOnDrop(second.clone()));
    let started = Arc::new(AtomicUsize::new(0));
    let sink = {
        let (first, second, started) = (first.clone(), second.clone(), Arc::clone(&started));
        SinkFn::new(move |batch: &[u64]| {
            started.fetch_add(1, Ordering::SeqCst);
            if batch[0] < 100 {
                first.pass();
            } else {
                second.pass();
            }
            Ok(())
        })
    };
    let batcher = Batcher::builder()
        .workers(1)
        .capacity(4)
        .max_batch_size(1)
        .build(sink)
        .unwrap();
    let warnings = Arc::new(AtomicUsize::new(0));
    let subscriber = WarnCounter(Arc::clone(&warnings));

    tracing::subscriber::with_default(subscriber, || {
        // Episode 1: the worker is stuck on record 0, the queue holds 1..=4, then 50 refusals.
        batcher.try_send(0).unwrap();
        assert!(wait_until(PATIENCE, || started.load(Ordering::SeqCst) == 1));
        for i in 1..=4 {
            batcher.try_send(i).unwrap();
        }
        for i in 5..55 {
            assert!(batcher.try_send(i).unwrap_err().is_full());
        }
        assert_eq!(warnings.load(Ordering::SeqCst), 1);

        // The queue drains: the episode ends. Episode 2 starts with the next refusal.
        first.open();
        batcher.flush(PATIENCE).unwrap();
        batcher.try_send(100).unwrap();
        assert!(wait_until(PATIENCE, || started.load(Ordering::SeqCst) == 6));
        for i in 101..=104 {
            batcher.try_send(i).unwrap();
        }
        for i in 105..130 {
            assert!(batcher.try_send(i).unwrap_err().is_full());
        }
        assert_eq!(warnings.load(Ordering::SeqCst), 2);
    });
    assert_eq!(batcher.stats().rejected, 75);
    second.open();
    batcher.shutdown(PATIENCE).unwrap();
}
