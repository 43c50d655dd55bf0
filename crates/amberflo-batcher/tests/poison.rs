//! Poison-record isolation: a batch whose contents the server refuses is bisected so the good
//! records are delivered and only the refused ones reach the error callback, within a budget.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use amberflo_batcher::{Batcher, DeliveryError, SinkError, SinkFn};

/// A sink refusing any batch holding one of `poison`, counting its calls; and what the error
/// callback got: (is `Fatal`, records).
fn run(records: u64, batch: usize, poison: &[u64], budget: Option<u32>) -> Outcome {
    let poison: BTreeSet<u64> = poison.iter().copied().collect();
    let calls = Arc::new(AtomicU64::new(0));
    let counted = Arc::clone(&calls);
    let failed = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&failed);
    // One worker: a second one could take part of a batch still being filled.
    let mut builder = Batcher::builder()
        .workers(1)
        .max_batch_size(batch)
        .linger(Duration::from_secs(60))
        .on_error(move |error, items: Vec<u64>| {
            let fatal = matches!(error, DeliveryError::Fatal { .. });
            if fatal {
                assert!(error.sink_error().is_some_and(SinkError::is_rejected));
                assert!(error.to_string().contains("non-retryable"), "{error}");
            }
            seen.lock().unwrap().push((fatal, items));
        });
    if let Some(budget) = budget {
        builder = builder.bisect_budget(budget);
    }
    let batcher = builder
        .build(SinkFn::new(move |items: &[u64]| {
            counted.fetch_add(1, Ordering::SeqCst);
            match items.iter().find(|item| poison.contains(item)) {
                Some(bad) => Err(SinkError::rejected(format!("400: record {bad} is invalid"))),
                None => Ok(()),
            }
        }))
        .unwrap();
    for record in 0..records {
        batcher.try_send(record).unwrap();
    }
    batcher.flush(Duration::from_secs(10)).unwrap();
    let stats = batcher.stats();
    assert_eq!(stats.delivered + stats.failed, records, "{stats:?}");
    assert_eq!(stats.pending(), 0, "{stats:?}");
    let failed = failed.lock().unwrap().clone();
    Outcome {
        delivered: stats.delivered,
        failed,
        calls: calls.load(Ordering::SeqCst),
    }
}

struct Outcome {
    delivered: u64,
    failed: Vec<(bool, Vec<u64>)>,
    calls: u64,
}

#[test]
fn three_bad_records_in_a_thousand_fail_alone_and_the_rest_is_delivered() {
    let outcome = run(1000, 1000, &[17, 500, 999], None);
    assert_eq!(outcome.delivered, 997);
    let mut refused: Vec<u64> = outcome
        .failed
        .iter()
        .flat_map(|(_, items)| items.clone())
        .collect();
    refused.sort_unstable();
    assert_eq!(refused, [17, 500, 999]);
    assert!(
        outcome
            .failed
            .iter()
            .all(|(fatal, items)| *fatal && items.len() == 1)
    );
    // One try, then at most the budget's extra requests.
    assert!(outcome.calls <= 1 + 64, "{} sink calls", outcome.calls);
}

#[test]
fn a_zero_budget_fails_the_refused_batch_whole() {
    let outcome = run(100, 100, &[3], Some(0));
    assert_eq!(outcome.delivered, 0);
    assert_eq!(outcome.calls, 1);
    assert_eq!(outcome.failed.len(), 1);
    assert_eq!(outcome.failed[0].1.len(), 100);
}

#[test]
fn when_the_budget_runs_out_the_parts_still_refused_fail_as_they_are() {
    // Every record is bad: bisecting cannot help, and the budget bounds the requests.
    let bad: Vec<u64> = (0..64).collect();
    let outcome = run(64, 64, &bad, Some(10));
    assert_eq!(outcome.delivered, 0);
    assert!(outcome.calls <= 1 + 10, "{} sink calls", outcome.calls);
    let failed: usize = outcome.failed.iter().map(|(_, items)| items.len()).sum();
    assert_eq!(failed, 64);
}
