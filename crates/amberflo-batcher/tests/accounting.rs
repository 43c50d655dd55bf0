//! Accounting: every record ends in exactly one bucket, whatever the sink does.
// Test helpers outside #[test] functions may unwrap too.
#![allow(clippy::unwrap_used, clippy::type_complexity)]

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use amberflo_batcher::{Batcher, Jitter, RetryPolicy, SinkError, SinkFn};
use common::Record;
use proptest::collection::vec;
use proptest::prelude::*;

/// What the sink does on one call.
#[derive(Debug, Clone, Copy)]
enum Outcome {
    Ok,
    /// Succeeds after a short delay (microseconds).
    SlowOk(u16),
    Retryable,
    /// Retryable with a `Retry-After` (microseconds; capped by the policy at 1 ms).
    RetryAfter(u16),
    Fatal,
    /// Too large for one request: the engine splits the batch (or fails a lone record).
    TooLarge,
    /// Too large above this many records; delivered otherwise.
    TooLargeOver(u8),
}

fn outcome() -> impl Strategy<Value = Outcome> {
    prop_oneof![
        3 => Just(Outcome::Ok),
        1 => (0u16..500).prop_map(Outcome::SlowOk),
        2 => Just(Outcome::Retryable),
        1 => (0u16..5000).prop_map(Outcome::RetryAfter),
        1 => Just(Outcome::Fatal),
        1 => Just(Outcome::TooLarge),
        1 => (1u8..8).prop_map(Outcome::TooLargeOver),
    ]
}

#[derive(Debug, Clone)]
struct Scenario {
    producers: usize,
    per_producer: usize,
    capacity: usize,
    max_batch: usize,
    workers: usize,
    linger_us: u64,
    retries: usize,
    script: Vec<Outcome>,
    blocking_send: bool,
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (
        1usize..5,
        0usize..300,
        1usize..200,
        1usize..20,
        1usize..4,
        0u64..2000,
        0usize..3,
        vec(outcome(), 1..16),
        any::<bool>(),
    )
        .prop_map(
            |(
                producers,
                per_producer,
                capacity,
                max_batch,
                workers,
                linger_us,
                retries,
                script,
                blocking_send,
            )| Scenario {
                producers,
                per_producer,
                capacity,
                max_batch,
                workers,
                linger_us,
                retries,
                script,
                blocking_send,
            },
        )
}

fn run(scenario: &Scenario) {
    let record = Record::<u64>::default();
    let calls = Arc::new(AtomicUsize::new(0));
    let biggest = Arc::new(AtomicUsize::new(0));
    // Too-large answers to slices of two or more records: each causes exactly one split.
    let splittable = Arc::new(AtomicU64::new(0));
    let sink = {
        let record = record.clone();
        let calls = Arc::clone(&calls);
        let biggest = Arc::clone(&biggest);
        let splittable = Arc::clone(&splittable);
        let script = scenario.script.clone();
        SinkFn::new(move |batch: &[u64]| {
            assert!(!batch.is_empty(), "the sink never gets an empty batch");
            biggest.fetch_max(batch.len(), Ordering::SeqCst);
            let call = calls.fetch_add(1, Ordering::SeqCst);
            match script[call % script.len()] {
                Outcome::Ok => {
                    record.deliver(batch);
                    Ok(())
                }
                Outcome::SlowOk(micros) => {
                    thread::sleep(Duration::from_micros(u64::from(micros)));
                    record.deliver(batch);
                    Ok(())
                }
                Outcome::Retryable => Err(SinkError::retryable("503")),
                Outcome::RetryAfter(micros) => Err(SinkError::retryable("429")
                    .with_retry_after(Duration::from_micros(u64::from(micros)))),
                Outcome::Fatal => Err(SinkError::fatal("400")),
                Outcome::TooLargeOver(cap) if batch.len() <= usize::from(cap) => {
                    record.deliver(batch);
                    Ok(())
                }
                Outcome::TooLarge | Outcome::TooLargeOver(_) => {
                    if batch.len() > 1 {
                        splittable.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(SinkError::too_large("413"))
                }
            }
        })
    };
    let policy = RetryPolicy::new(vec![Duration::from_micros(200); scenario.retries])
        .with_jitter(Jitter::Full)
        .with_max_retry_after(Duration::from_millis(1));
    let batcher = Batcher::builder()
        .capacity(scenario.capacity)
        .max_batch_size(scenario.max_batch)
        .workers(scenario.workers)
        .linger(Duration::from_micros(scenario.linger_us))
        .retry_policy(policy)
        .on_error(record.on_error())
        .build(sink)
        .unwrap();

    let accepted = Arc::new(Mutex::new(Vec::new()));
    let refused = Arc::new(Mutex::new(Vec::new()));
    let producers: Vec<_> = (0..scenario.producers)
        .map(|producer| {
            let batcher = batcher.clone();
            let accepted = Arc::clone(&accepted);
            let refused = Arc::clone(&refused);
            let count = scenario.per_producer;
            let blocking = scenario.blocking_send;
            thread::spawn(move || {
                for i in 0..count {
                    let id = ((producer as u64) << 32) | i as u64;
                    let result = if blocking && i % 2 == 0 {
                        batcher.send_timeout(id, Duration::from_micros(300))
                    } else {
                        batcher.try_send(id)
                    };
                    match result {
                        Ok(()) => accepted.lock().unwrap().push(id),
                        Err(error) => {
                            assert!(error.is_full());
                            assert_eq!(error.into_inner(), id, "the refused item comes back");
                            refused.lock().unwrap().push(id);
                        }
                    }
                }
            })
        })
        .collect();
    for producer in producers {
        producer.join().unwrap();
    }
    batcher.shutdown(Duration::from_secs(20)).unwrap();

    let stats = batcher.stats();
    let accepted = accepted.lock().unwrap().clone();
    let refused = refused.lock().unwrap().clone();
    let attempted = (scenario.producers * scenario.per_producer) as u64;
    assert_eq!(stats.attempted(), attempted, "{stats:?}");
    assert_eq!(stats.enqueued, accepted.len() as u64, "{stats:?}");
    assert_eq!(stats.rejected, refused.len() as u64, "{stats:?}");
    assert_eq!(stats.delivered + stats.failed, stats.enqueued, "{stats:?}");
    assert_eq!(stats.pending(), 0, "{stats:?}");
    assert_eq!(stats.split, splittable.load(Ordering::SeqCst), "{stats:?}");

    let delivered = record.delivered_items();
    let failed = record.failed_items();
    assert_eq!(stats.delivered, delivered.len() as u64);
    assert_eq!(stats.failed, failed.len() as u64);
    let mut landed: Vec<u64> = delivered.iter().chain(&failed).copied().collect();
    landed.sort_unstable();
    let mut expected = accepted;
    expected.sort_unstable();
    assert_eq!(landed, expected, "every accepted record lands exactly once");
    let refused: HashSet<u64> = refused.into_iter().collect();
    assert!(landed.iter().all(|id| !refused.contains(id)));

    let max = scenario.max_batch.min(scenario.capacity);
    assert!(biggest.load(Ordering::SeqCst) <= max);
    for (error, _, batch) in record.failed.lock().unwrap().iter() {
        assert!(!batch.is_empty() && batch.len() <= max);
        if error.contains("too large to send even alone") {
            assert_eq!(batch.len(), 1, "a too-large record fails alone: {error}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn every_record_lands_in_exactly_one_bucket(scenario in scenario()) {
        run(&scenario);
    }
}

#[test]
fn heavy_contention_keeps_exact_counts() {
    run(&Scenario {
        producers: 8,
        per_producer: 20_000,
        capacity: 256,
        max_batch: 64,
        workers: 2,
        linger_us: 100,
        retries: 1,
        script: vec![
            Outcome::Ok,
            Outcome::Retryable,
            Outcome::Ok,
            Outcome::Ok,
            Outcome::Fatal,
        ],
        blocking_send: true,
    });
}

#[test]
fn heavy_contention_with_splits_keeps_exact_counts() {
    run(&Scenario {
        producers: 4,
        per_producer: 10_000,
        capacity: 256,
        max_batch: 64,
        workers: 2,
        linger_us: 100,
        retries: 1,
        script: vec![
            Outcome::TooLargeOver(7),
            Outcome::Ok,
            Outcome::Retryable,
            Outcome::TooLarge,
            Outcome::TooLargeOver(3),
            Outcome::Fatal,
        ],
        blocking_send: true,
    });
}
