//! Too-large batches: split in halves until they fit; a record too large alone fails alone.
// Test helpers outside #[test] functions may unwrap too.
#![allow(clippy::unwrap_used, clippy::type_complexity)]

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use amberflo_batcher::{Batcher, DeliveryError, Jitter, RetryPolicy, SinkError, SinkFn, Stats};
use common::{PATIENCE, RecordingSleeper};

/// What the error callback saw: (is `TooLarge`, attempts, the batch).
type Failures = Arc<Mutex<Vec<(bool, u32, Vec<u64>)>>>;

fn record_failures() -> (
    Failures,
    impl Fn(DeliveryError, Vec<u64>) + Send + Sync + 'static,
) {
    let failures = Failures::default();
    let seen = Arc::clone(&failures);
    let callback = move |error: DeliveryError, batch: Vec<u64>| {
        let too_large = matches!(error, DeliveryError::TooLarge { .. });
        if too_large {
            assert!(error.sink_error().is_some_and(SinkError::is_too_large));
            assert!(error.to_string().contains("too large"), "{error}");
        }
        seen.lock()
            .unwrap()
            .push((too_large, error.attempts(), batch));
    };
    (failures, callback)
}

/// Checks that the engine is idle and every record sits in exactly one bucket.
fn assert_exact(stats: &Stats, enqueued: u64) {
    assert_eq!(stats.enqueued, enqueued, "{stats:?}");
    assert_eq!(stats.delivered + stats.failed, stats.enqueued, "{stats:?}");
    assert_eq!(
        stats.attempted(),
        stats.enqueued + stats.rejected,
        "{stats:?}"
    );
    assert_eq!(stats.pending(), 0, "{stats:?}");
}

/// The sink's log: every batch it accepted, and how many too-large answers it gave to slices
/// of two or more records (each of which must cause exactly one split).
#[derive(Clone, Default)]
struct SinkLog {
    delivered: Arc<Mutex<Vec<Vec<u64>>>>,
    splittable_refusals: Arc<AtomicU64>,
}

impl SinkLog {
    fn refuse(&self, batch: &[u64]) -> Result<(), SinkError> {
        if batch.len() > 1 {
            self.splittable_refusals.fetch_add(1, Ordering::SeqCst);
        }
        Err(SinkError::too_large("413 Payload Too Large"))
    }

    fn delivered_items(&self) -> Vec<u64> {
        let mut items: Vec<u64> = self.delivered.lock().unwrap().concat();
        items.sort_unstable();
        items
    }
}

fn is_poisoned(item: u64) -> bool {
    item % 37 == 5
}

#[test]
fn poisoned_records_fail_alone_and_everything_else_is_delivered_once() {
    const CAP: usize = 10;
    const TOTAL: u64 = 2_000;
    let log = SinkLog::default();
    let sink = {
        let log = log.clone();
        SinkFn::new(move |batch: &[u64]| {
            if batch.len() > CAP || batch.iter().copied().any(is_poisoned) {
                return log.refuse(batch);
            }
            log.delivered.lock().unwrap().push(batch.to_vec());
            Ok(())
        })
    };
    let (failures, on_error) = record_failures();
    let batcher = Batcher::builder()
        .workers(2)
        .capacity(TOTAL as usize)
        .max_batch_size(64)
        .linger(Duration::from_millis(5))
        .retry_policy(RetryPolicy::none())
        .on_error(on_error)
        .build(sink)
        .unwrap();
    for item in 0..TOTAL {
        batcher.try_send(item).unwrap();
    }
    batcher.flush(PATIENCE).unwrap();

    // The flush returned only after every failed part reached the callback.
    let failures = failures.lock().unwrap().clone();
    let poisoned: Vec<u64> = (0..TOTAL).filter(|&item| is_poisoned(item)).collect();
    let mut failed: Vec<u64> = failures
        .iter()
        .flat_map(|(_, _, batch)| batch.clone())
        .collect();
    failed.sort_unstable();
    assert_eq!(failed, poisoned, "exactly the poisoned records fail");
    for (too_large, attempts, batch) in &failures {
        assert!(*too_large, "every failure is TooLarge");
        assert_eq!(batch.len(), 1, "a poisoned record fails alone");
        assert_eq!(*attempts, 1, "no retry of a too-large record");
    }
    let healthy: Vec<u64> = (0..TOTAL).filter(|&item| !is_poisoned(item)).collect();
    assert_eq!(
        log.delivered_items(),
        healthy,
        "the rest is delivered exactly once"
    );
    assert!(
        log.delivered
            .lock()
            .unwrap()
            .iter()
            .all(|batch| !batch.is_empty() && batch.len() <= CAP)
    );

    let stats = batcher.stats();
    assert_exact(&stats, TOTAL);
    assert_eq!(stats.failed, poisoned.len() as u64);
    assert_eq!(stats.split, log.splittable_refusals.load(Ordering::SeqCst));
    assert!(stats.split > 0);
    assert_eq!(stats.retried, 0);
    batcher.shutdown(PATIENCE).unwrap();
    assert_exact(&batcher.stats(), TOTAL);
}

#[test]
fn a_sink_with_a_size_cap_gets_everything_in_parts_of_at_most_the_cap() {
    const CAP: usize = 5;
    const TOTAL: u64 = 1_000;
    let log = SinkLog::default();
    let sink = {
        let log = log.clone();
        SinkFn::new(move |batch: &[u64]| {
            if batch.len() > CAP {
                return log.refuse(batch);
            }
            log.delivered.lock().unwrap().push(batch.to_vec());
            Ok(())
        })
    };
    let (failures, on_error) = record_failures();
    let batcher = Batcher::builder()
        .workers(2)
        .max_batch_size(100)
        .linger(Duration::from_millis(20))
        .on_error(on_error)
        .build(sink)
        .unwrap();
    for item in 0..TOTAL {
        batcher.send_timeout(item, PATIENCE).unwrap();
    }
    batcher.shutdown(PATIENCE).unwrap();

    assert!(failures.lock().unwrap().is_empty());
    assert_eq!(log.delivered_items(), (0..TOTAL).collect::<Vec<_>>());
    for batch in log.delivered.lock().unwrap().iter() {
        assert!(!batch.is_empty() && batch.len() <= CAP, "{batch:?}");
        // Halves of halves of a batch: consecutive records, in order.
        assert!(batch.windows(2).all(|pair| pair[0] < pair[1]), "{batch:?}");
    }
    let stats = batcher.stats();
    assert_exact(&stats, TOTAL);
    assert_eq!((stats.delivered, stats.failed), (TOTAL, 0));
    assert_eq!(stats.split, log.splittable_refusals.load(Ordering::SeqCst));
}

#[test]
fn each_part_retries_on_its_own_and_a_lone_record_keeps_its_attempts() {
    // One worker, one batch of 8: every slice first gets a retryable error, then the real
    // answer (too large above 2 records; record 6 too large even alone).
    let calls = Arc::new(Mutex::new(Vec::<Vec<u64>>::new()));
    let sink = {
        let calls = Arc::clone(&calls);
        SinkFn::new(move |batch: &[u64]| {
            let mut calls = calls.lock().unwrap();
            let first_try = calls.last().is_none_or(|last| last.as_slice() != batch);
            calls.push(batch.to_vec());
            if first_try {
                return Err(SinkError::retryable("503"));
            }
            if batch.len() > 2 || batch.contains(&6) {
                return Err(SinkError::too_large("413"));
            }
            Ok(())
        })
    };
    let sleeper = RecordingSleeper::default();
    let (failures, on_error) = record_failures();
    let batcher = Batcher::builder()
        .workers(1)
        .max_batch_size(8)
        .linger(Duration::from_secs(3600))
        .retry_policy(RetryPolicy::new([Duration::from_millis(1); 2]).with_jitter(Jitter::None))
        .sleeper(sleeper.clone())
        .on_error(on_error)
        .build(sink)
        .unwrap();
    for item in 0..8 {
        batcher.try_send(item).unwrap();
    }
    batcher.flush(PATIENCE).unwrap();

    let failures = failures.lock().unwrap().clone();
    assert_eq!(failures, [(true, 2, vec![6])]);
    // 8 -> 4 + 4 -> (2 + 2) + (2 + 2) -> the pair [6, 7] -> 6 alone and 7 alone.
    let slices: Vec<Vec<u64>> = calls.lock().unwrap().iter().step_by(2).cloned().collect();
    let expected: Vec<Vec<u64>> = vec![
        (0..8).collect(),
        (0..4).collect(),
        vec![0, 1],
        vec![2, 3],
        (4..8).collect(),
        vec![4, 5],
        vec![6, 7],
        vec![6],
        vec![7],
    ];
    assert_eq!(slices, expected);
    assert_eq!(calls.lock().unwrap().len(), 2 * expected.len());
    let stats = batcher.stats();
    assert_exact(&stats, 8);
    assert_eq!((stats.delivered, stats.failed), (7, 1));
    assert_eq!(stats.split, 4);
    assert_eq!(stats.retried, expected.len() as u64);
    assert_eq!(sleeper.waits().len(), expected.len());
    batcher.shutdown(PATIENCE).unwrap();
}

#[test]
fn a_single_record_batch_too_large_fails_without_a_split() {
    let (failures, on_error) = record_failures();
    let batcher = Batcher::builder()
        .max_batch_size(1)
        .on_error(on_error)
        .build(SinkFn::new(|batch: &[u64]| {
            if batch == [1] {
                Err(SinkError::too_large("body over the cap"))
            } else {
                Ok(())
            }
        }))
        .unwrap();
    for item in 0..3 {
        batcher.try_send(item).unwrap();
    }
    batcher.flush(PATIENCE).unwrap();
    assert_eq!(*failures.lock().unwrap(), [(true, 1, vec![1])]);
    let stats = batcher.stats();
    assert_exact(&stats, 3);
    assert_eq!((stats.delivered, stats.failed, stats.split), (2, 1, 0));
}

#[test]
fn a_panicking_callback_for_one_part_does_not_stop_the_others() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let batcher = {
        let seen = Arc::clone(&seen);
        Batcher::builder()
            .workers(1)
            .max_batch_size(4)
            .linger(Duration::from_secs(3600))
            .on_error(move |_error, batch: Vec<u64>| {
                seen.lock().unwrap().push(batch.clone());
                assert_ne!(batch, [0], "a callback that panics on the first part");
            })
            .build(SinkFn::new(|batch: &[u64]| {
                if batch.len() > 1 || batch == [0] || batch == [3] {
                    Err(SinkError::too_large("413"))
                } else {
                    Ok(())
                }
            }))
            .unwrap()
    };
    for item in 0..4 {
        batcher.try_send(item).unwrap();
    }
    batcher.flush(PATIENCE).unwrap();
    assert_eq!(*seen.lock().unwrap(), [vec![0], vec![3]]);
    let stats = batcher.stats();
    assert_exact(&stats, 4);
    assert_eq!((stats.delivered, stats.failed, stats.split), (2, 2, 3));
}
