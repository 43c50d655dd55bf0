//! Shutdown, drop, closed and full queues, blocking sends.
// Test helpers outside #[test] functions may unwrap too.
#![allow(clippy::unwrap_used, clippy::type_complexity)]

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use amberflo_batcher::{
    Batcher, BoxFuture, BuildError, Executor, RetryPolicy, SendErrorKind, ShutdownError, Sink,
    SinkError, SinkFn,
};
use common::{Gate, OpenOnDrop, PATIENCE, Record, incomplete, wait_until};

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

/// A sink that blocks on `gate` and records; `started` counts calls that began.
fn gated(
    gate: &Gate,
    record: &Record<u64>,
) -> (
    SinkFn<impl Fn(&[u64]) -> Result<(), SinkError> + use<>>,
    Arc<AtomicUsize>,
) {
    let started = Arc::new(AtomicUsize::new(0));
    let (gate, record, counter) = (gate.clone(), record.clone(), Arc::clone(&started));
    let sink = SinkFn::new(move |batch: &[u64]| {
        counter.fetch_add(1, Ordering::SeqCst);
        gate.pass();
        record.deliver(batch);
        Ok(())
    });
    (sink, started)
}

#[test]
fn try_send_after_shutdown_returns_the_item_as_closed() {
    let batcher = Batcher::builder()
        .build(SinkFn::new(|_batch: &[u64]| Ok(())))
        .unwrap();
    batcher.try_send(1).unwrap();
    batcher.shutdown(PATIENCE).unwrap();
    assert!(batcher.is_closed());
    let error = batcher.try_send(5).unwrap_err();
    assert_eq!(error.kind(), SendErrorKind::Closed);
    assert!(error.is_closed());
    assert_eq!(error.into_inner(), 5);
    let error = batcher.send_timeout(6, PATIENCE).unwrap_err();
    assert_eq!(error.kind(), SendErrorKind::Closed);
    let stats = batcher.stats();
    assert_eq!((stats.enqueued, stats.delivered, stats.rejected), (1, 1, 2));
}

#[test]
fn a_full_queue_returns_the_item_and_counts_it() {
    let gate = Gate::default();
    let _release = OpenOnDrop(gate.clone());
    let record = Record::default();
    let (sink, started) = gated(&gate, &record);
    let batcher = Batcher::builder()
        .workers(1)
        .capacity(4)
        .max_batch_size(1)
        .build(sink)
        .unwrap();
    batcher.try_send(0).unwrap();
    assert!(wait_until(PATIENCE, || started.load(Ordering::SeqCst) == 1));
    for i in 1..=4 {
        batcher.try_send(i).unwrap();
    }
    let error = batcher.try_send(5).unwrap_err();
    assert!(error.is_full());
    assert_eq!(*error.item(), 5);
    assert_eq!(error.to_string(), "the batcher queue is full");
    let stats = batcher.stats();
    assert_eq!(
        (
            stats.enqueued,
            stats.rejected,
            stats.in_queue,
            stats.in_flight
        ),
        (5, 1, 4, 1)
    );
    // A blocking send with a short timeout gives up with Full.
    assert!(batcher.send_timeout(6, ms(10)).unwrap_err().is_full());
    assert_eq!(batcher.stats().rejected, 2);

    gate.open();
    batcher.shutdown(PATIENCE).unwrap();
    let mut delivered = record.delivered_items();
    delivered.sort_unstable();
    assert_eq!(delivered, [0, 1, 2, 3, 4]);
}

#[test]
fn many_blocked_senders_all_get_in() {
    // Eight threads keep a queue of 4 full; each refill wakes one waiter, who wakes the next
    // while there is room. A lost wake-up would leave a sender waiting out its whole timeout
    // and the call failing.
    let batcher = Batcher::builder()
        .workers(1)
        .capacity(4)
        .max_batch_size(2)
        .build(SinkFn::new(|_batch: &[u64]| {
            thread::sleep(Duration::from_micros(200));
            Ok(())
        }))
        .unwrap();
    thread::scope(|scope| {
        for sender in 0..8u64 {
            let batcher = &batcher;
            scope.spawn(move || {
                for i in 0..100 {
                    batcher.send_timeout(sender * 1000 + i, PATIENCE).unwrap();
                }
            });
        }
    });
    batcher.shutdown(PATIENCE).unwrap();
    let stats = batcher.stats();
    assert_eq!((stats.delivered, stats.failed), (800, 0));
}

#[test]
fn one_refill_lets_every_waiting_sender_in_while_there_is_room() {
    let gate = Gate::default();
    let _release = OpenOnDrop(gate.clone());
    let record = Record::default();
    let (sink, started) = gated(&gate, &record);
    let batcher = Batcher::builder()
        .workers(1)
        .capacity(4)
        .max_batch_size(4)
        .build(sink)
        .unwrap();
    batcher.try_send(0).unwrap();
    assert!(wait_until(PATIENCE, || started.load(Ordering::SeqCst) == 1));
    for i in 1..=4 {
        batcher.try_send(i).unwrap();
    }
    // Two senders wait on the full queue; the worker then empties it in one go: a single end
    // of refilling, which wakes one of them; that one must wake the other, who would otherwise
    // sleep until its deadline (PATIENCE) and only then find the room.
    thread::scope(|scope| {
        let senders: Vec<_> = [5, 6]
            .into_iter()
            .map(|item| {
                let batcher = &batcher;
                scope.spawn(move || {
                    let result = batcher.send_timeout(item, PATIENCE);
                    (result, Instant::now())
                })
            })
            .collect();
        thread::sleep(ms(50));
        let opened = Instant::now();
        gate.open();
        for sender in senders {
            let (result, done) = sender.join().unwrap();
            assert!(result.is_ok());
            assert!(
                done - opened < PATIENCE / 2,
                "a sender waited out its timeout"
            );
        }
    });
    batcher.shutdown(PATIENCE).unwrap();
    let mut delivered = record.delivered_items();
    delivered.sort_unstable();
    assert_eq!(delivered, [0, 1, 2, 3, 4, 5, 6]);
}

#[test]
fn send_timeout_waits_for_room() {
    let gate = Gate::default();
    let _release = OpenOnDrop(gate.clone());
    let record = Record::default();
    let (sink, started) = gated(&gate, &record);
    let batcher = Batcher::builder()
        .workers(1)
        .capacity(2)
        .max_batch_size(1)
        .build(sink)
        .unwrap();
    batcher.try_send(0).unwrap();
    assert!(wait_until(PATIENCE, || started.load(Ordering::SeqCst) == 1));
    batcher.try_send(1).unwrap();
    batcher.try_send(2).unwrap();
    let opener = {
        let gate = gate.clone();
        thread::spawn(move || {
            thread::sleep(ms(20));
            gate.open();
        })
    };
    batcher.send_timeout(3, PATIENCE).unwrap();
    opener.join().unwrap();
    batcher.shutdown(PATIENCE).unwrap();
    assert_eq!(batcher.stats().delivered, 4);
    assert_eq!(batcher.stats().rejected, 0);
}

#[test]
fn shutdown_delivers_everything_without_waiting_for_the_linger() {
    let record = Record::<u64>::default();
    let sink = {
        let record = record.clone();
        SinkFn::new(move |batch: &[u64]| {
            record.deliver(batch);
            Ok(())
        })
    };
    let batcher = Batcher::builder()
        .linger(Duration::from_secs(3600))
        .build(sink)
        .unwrap();
    for i in 0..50 {
        batcher.try_send(i).unwrap();
    }
    let started = Instant::now();
    batcher.shutdown(PATIENCE).unwrap();
    assert!(started.elapsed() < PATIENCE);
    assert_eq!(record.delivered_items().len(), 50);
    let stats = batcher.stats();
    assert_eq!((stats.delivered, stats.failed, stats.pending()), (50, 0, 0));
}

#[test]
fn shutdown_with_a_sink_that_never_answers_returns_at_its_timeout() {
    let gate = Gate::default();
    let _release = OpenOnDrop(gate.clone());
    let record = Record::default();
    let (sink, started) = gated(&gate, &record);
    let batcher = Batcher::builder()
        .workers(1)
        .max_batch_size(2)
        .linger(Duration::ZERO)
        .on_error(record.on_error())
        .build(sink)
        .unwrap();
    // Record 0 gets stuck in the sink; 1..=9 stay queued behind it.
    batcher.try_send(0).unwrap();
    assert!(wait_until(PATIENCE, || started.load(Ordering::SeqCst) == 1));
    for i in 1..10 {
        batcher.try_send(i).unwrap();
    }

    let begun = Instant::now();
    let error = batcher.shutdown(ms(200)).unwrap_err();
    let took = begun.elapsed();
    assert!(took >= ms(150) && took < PATIENCE, "took {took:?}");
    assert_eq!(incomplete(&error), (ms(200), 1, 9));
    // The queued records went to the error callback, marked as a shutdown timeout.
    {
        let failed = record.failed.lock().unwrap();
        assert!(failed.iter().all(|(_, is_shutdown, _)| *is_shutdown));
    }
    let mut abandoned = record.failed_items();
    abandoned.sort_unstable();
    assert_eq!(abandoned, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    let stats = batcher.stats();
    assert_eq!((stats.failed, stats.in_flight, stats.enqueued), (9, 1, 10));
    // Shutdown is idempotent: the same outcome, at once.
    assert_eq!(batcher.shutdown(PATIENCE).unwrap_err(), error);

    // When the stuck call finally returns, its records are settled: nothing is lost.
    gate.open();
    assert!(wait_until(PATIENCE, || batcher.stats().delivered == 1));
    let stats = batcher.stats();
    assert_eq!(stats.delivered + stats.failed, stats.enqueued);
}

#[test]
fn shutdown_abandons_a_retry_that_would_end_past_its_deadline() {
    let calls = Arc::new(AtomicUsize::new(0));
    let record = Record::<u64>::default();
    let sink = {
        let calls = Arc::clone(&calls);
        SinkFn::new(move |_batch: &[u64]| {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(SinkError::retryable("503"))
        })
    };
    let batcher = Batcher::builder()
        .workers(1)
        .retry_policy(
            RetryPolicy::new([Duration::from_secs(3600)])
                .with_jitter(amberflo_batcher::Jitter::None),
        )
        .on_error(record.on_error())
        .build(sink)
        .unwrap();
    batcher.try_send(1).unwrap();
    assert!(wait_until(PATIENCE, || calls.load(Ordering::SeqCst) == 1));
    let begun = Instant::now();
    let error = batcher.shutdown(Duration::from_secs(5)).unwrap_err();
    assert!(
        begun.elapsed() < Duration::from_secs(5),
        "the retry wait was interrupted"
    );
    assert_eq!(incomplete(&error), (Duration::from_secs(5), 0, 1));
    // The error states the time it took, not the deadline it did not need.
    let ShutdownError::Incomplete { elapsed, .. } = error else {
        unreachable!()
    };
    assert!(elapsed <= begun.elapsed(), "{error}");
    let failed = record.failed.lock().unwrap();
    assert_eq!(failed.len(), 1);
    assert!(failed[0].1, "a shutdown timeout: {}", failed[0].0);
    assert_eq!(failed[0].2, [1]);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[test]
fn concurrent_shutdowns_share_one_outcome() {
    let batcher = Batcher::builder()
        .build(SinkFn::new(|_batch: &[u64]| {
            thread::sleep(ms(5));
            Ok(())
        }))
        .unwrap();
    for i in 0..20 {
        batcher.try_send(i).unwrap();
    }
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let batcher = batcher.clone();
            thread::spawn(move || batcher.shutdown(PATIENCE))
        })
        .collect();
    for thread in threads {
        thread.join().unwrap().unwrap();
    }
    assert_eq!(batcher.stats().delivered, 20);
    batcher.shutdown(Duration::ZERO).unwrap();
}

#[test]
fn dropping_the_last_clone_shuts_down_and_delivers() {
    let record = Record::<u64>::default();
    let sink = {
        let record = record.clone();
        SinkFn::new(move |batch: &[u64]| {
            record.deliver(batch);
            Ok(())
        })
    };
    let batcher = Batcher::builder()
        .linger(Duration::from_secs(3600))
        .build(sink)
        .unwrap();
    let clone = batcher.clone();
    batcher.try_send(1).unwrap();
    drop(batcher);
    // Still running: another handle exists.
    clone.try_send(2).unwrap();
    assert!(!clone.is_closed());
    drop(clone);
    assert_eq!(record.delivered_items().len(), 2);
}

#[test]
fn build_rejects_invalid_settings_naming_the_field() {
    let cases = [
        (Batcher::builder().capacity(0), "capacity"),
        (Batcher::builder().capacity(usize::MAX), "capacity"),
        (Batcher::builder().workers(0), "workers"),
        (Batcher::builder().workers(100_000), "workers"),
        (Batcher::builder().max_batch_size(0), "max_batch_size"),
        (Batcher::builder().thread_name("a\0b"), "thread_name"),
    ];
    for (builder, expected) in cases {
        match builder.build(SinkFn::new(|_batch: &[u64]| Ok(()))) {
            Err(BuildError::InvalidConfig { field, .. }) => assert_eq!(field, expected),
            other => panic!("expected an invalid {expected}, got {other:?}"),
        }
    }
    let error = Batcher::builder()
        .capacity(0)
        .build(SinkFn::new(|_batch: &[u64]| Ok(())))
        .unwrap_err();
    assert_eq!(error.to_string(), "capacity must be greater than zero");
}

#[test]
fn worker_threads_are_named() {
    let name = Arc::new(Mutex::new(String::new()));
    let batcher = {
        let name = Arc::clone(&name);
        Batcher::builder()
            .workers(1)
            .thread_name("metering")
            .build(SinkFn::new(move |_batch: &[u64]| {
                *name.lock().unwrap() = thread::current().name().unwrap_or("").to_owned();
                Ok(())
            }))
            .unwrap()
    };
    batcher.try_send(1).unwrap();
    batcher.flush(PATIENCE).unwrap();
    assert_eq!(*name.lock().unwrap(), "metering-0");
}

/// Drops a batcher whose sink is stuck, inside an async context; must return by its timeout.
fn drop_stuck_batcher_in_async_context() {
    let gate = Gate::default();
    let _release = OpenOnDrop(gate.clone());
    let record = Record::default();
    let (sink, started) = gated(&gate, &record);
    let batcher = Batcher::builder()
        .workers(1)
        .linger(Duration::ZERO)
        .shutdown_timeout(ms(100))
        .on_error(record.on_error())
        .build(sink)
        .unwrap();
    batcher.try_send(1).unwrap();
    batcher.try_send(2).unwrap();
    assert!(wait_until(PATIENCE, || started.load(Ordering::SeqCst) == 1));
    batcher.try_send(3).unwrap();
    let begun = Instant::now();
    drop(batcher);
    assert!(begun.elapsed() < PATIENCE);
    // Whatever was still queued went to the error callback.
    assert!(record.failed_items().contains(&3));
}

/// Drops a working batcher inside an async context; everything is delivered first.
fn drop_working_batcher_in_async_context() {
    let record = Record::<u64>::default();
    let sink = {
        let record = record.clone();
        SinkFn::new(move |batch: &[u64]| {
            record.deliver(batch);
            Ok(())
        })
    };
    let batcher = Batcher::builder().build(sink).unwrap();
    for i in 0..100 {
        batcher.try_send(i).unwrap();
    }
    drop(batcher);
    assert_eq!(record.delivered_items().len(), 100);
}

#[tokio::test(flavor = "current_thread")]
async fn drop_inside_a_current_thread_runtime_neither_panics_nor_deadlocks() {
    drop_working_batcher_in_async_context();
    drop_stuck_batcher_in_async_context();
    // The runtime still works afterwards.
    tokio::task::yield_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drop_inside_a_multi_thread_runtime_neither_panics_nor_deadlocks() {
    drop_working_batcher_in_async_context();
    drop_stuck_batcher_in_async_context();
    let handle = tokio::spawn(async {
        drop_working_batcher_in_async_context();
    });
    handle.await.unwrap();
}

/// An executor owning a tokio runtime, as the facade's will.
struct TokioExecutor(tokio::runtime::Runtime);

impl Executor for TokioExecutor {
    fn block_on(&self, future: BoxFuture<'_>) {
        self.0.block_on(future);
    }
}

struct SleepySink(Arc<AtomicBool>);

#[async_trait::async_trait]
impl Sink<u64> for SleepySink {
    async fn send(&self, _batch: &[u64]) -> Result<(), SinkError> {
        tokio::time::sleep(ms(1)).await;
        self.0.store(true, Ordering::SeqCst);
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn an_executor_owning_a_runtime_is_not_dropped_in_the_callers_async_context() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_time()
        .build()
        .unwrap();
    let delivered = Arc::new(AtomicBool::new(false));
    let batcher = Batcher::builder()
        .executor(TokioExecutor(runtime))
        .build(SleepySink(Arc::clone(&delivered)))
        .unwrap();
    batcher.try_send(1).unwrap();
    batcher.flush_async(PATIENCE).await.unwrap();
    assert!(delivered.load(Ordering::SeqCst));
    // Dropping a tokio runtime here would panic; the engine drops it on a worker thread.
    drop(batcher);
}
