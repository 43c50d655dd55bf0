//! Shutdown cancels sink calls still pending at its deadline and hands their records over
//! before it returns.
// Test helpers outside #[test] functions may unwrap too.
#![allow(clippy::unwrap_used, clippy::type_complexity)]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use amberflo_batcher::{Batcher, BoxFuture, DeliveryError, Executor, Sink, SinkError, Stats};
use common::{PATIENCE, incomplete, wait_until};

/// Generous bound for a 300 ms shutdown on a busy machine.
const BOUND: Duration = Duration::from_secs(5);

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

/// What the error callback saw: (is a shutdown timeout, attempts, the batch).
type Failures = Arc<Mutex<Vec<(bool, u32, Vec<u64>)>>>;

fn record_failures() -> (
    Failures,
    impl Fn(DeliveryError, Vec<u64>) + Send + Sync + 'static,
) {
    let failures = Failures::default();
    let seen = Arc::clone(&failures);
    let callback = move |error: DeliveryError, batch: Vec<u64>| {
        seen.lock()
            .unwrap()
            .push((error.is_shutdown(), error.attempts(), batch));
    };
    (failures, callback)
}

fn assert_exact(stats: &Stats, enqueued: u64) {
    assert_eq!(stats.enqueued, enqueued, "{stats:?}");
    assert_eq!(stats.delivered + stats.failed, stats.enqueued, "{stats:?}");
    assert_eq!(
        stats.attempted(),
        stats.enqueued + stats.rejected,
        "{stats:?}"
    );
    assert_eq!((stats.in_queue, stats.in_flight), (0, 0), "{stats:?}");
}

/// Counts the sink futures dropped.
struct DropGuard(Arc<AtomicUsize>);

impl Drop for DropGuard {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A sink whose calls never complete (for batches holding a record `>= stuck_from`): like an HTTP request
/// waiting for its timeout, but forever. Records the batches it got stuck on.
#[derive(Clone, Default)]
struct StuckSink {
    started: Arc<Mutex<Vec<Vec<u64>>>>,
    dropped: Arc<AtomicUsize>,
    delivered: Arc<Mutex<Vec<u64>>>,
    stuck_from: u64,
    /// Above this many records the sink answers "too large" (0: never).
    cap: usize,
}

#[async_trait::async_trait]
impl Sink<u64> for StuckSink {
    async fn send(&self, batch: &[u64]) -> Result<(), SinkError> {
        if self.cap > 0 && batch.len() > self.cap {
            return Err(SinkError::too_large("413"));
        }
        if batch.iter().all(|&item| item < self.stuck_from) {
            self.delivered.lock().unwrap().extend_from_slice(batch);
            return Ok(());
        }
        let _guard = DropGuard(Arc::clone(&self.dropped));
        self.started.lock().unwrap().push(batch.to_vec());
        // Pending forever, and never woken.
        std::future::pending::<Result<(), SinkError>>().await
    }
}

#[test]
fn shutdown_cancels_pending_sink_calls_and_hands_their_records_over_before_returning() {
    let sink = StuckSink::default();
    let (failures, on_error) = record_failures();
    let batcher = Batcher::builder()
        .workers(2)
        .max_batch_size(3)
        .linger(Duration::ZERO)
        .on_error(on_error)
        .build(sink.clone())
        .unwrap();
    // Both workers get stuck (a push wakes an idle worker, so send in waves); the rest stays
    // queued.
    for item in 0..3 {
        batcher.try_send(item).unwrap();
    }
    assert!(wait_until(PATIENCE, || !sink
        .started
        .lock()
        .unwrap()
        .is_empty()));
    for item in 3..6 {
        batcher.try_send(item).unwrap();
    }
    assert!(wait_until(PATIENCE, || sink.started.lock().unwrap().len() == 2));
    for item in 6..10 {
        batcher.try_send(item).unwrap();
    }
    let mut in_flight: Vec<u64> = sink.started.lock().unwrap().concat();
    in_flight.sort_unstable();
    assert_eq!(batcher.stats().in_flight, in_flight.len() as u64);

    let begun = Instant::now();
    let error = batcher.shutdown(ms(300)).unwrap_err();
    let took = begun.elapsed();
    // Checked right after `shutdown` returned: no waiting for late callbacks.
    let failures = failures.lock().unwrap().clone();
    let stats = batcher.stats();
    let dropped = sink.dropped.load(Ordering::SeqCst);

    assert!(took < BOUND, "shutdown took {took:?}");
    assert_eq!(incomplete(&error), (ms(300), 0, 10));
    assert_eq!(dropped, 2, "both stuck sink futures were dropped");
    assert!(failures.iter().all(|(is_shutdown, _, _)| *is_shutdown));
    // The cancelled calls' records came back from their workers (one attempt each) ...
    let mut cancelled: Vec<u64> = failures
        .iter()
        .filter(|(_, attempts, _)| *attempts == 1)
        .flat_map(|(_, _, batch)| batch.clone())
        .collect();
    cancelled.sort_unstable();
    assert_eq!(cancelled, in_flight);
    // ... the queued ones from the shutdown (never attempted); each record exactly once.
    let mut all: Vec<u64> = failures.iter().flat_map(|(_, _, b)| b.clone()).collect();
    all.sort_unstable();
    assert_eq!(all, (0..10).collect::<Vec<_>>());
    assert!(failures.iter().all(|(_, attempts, _)| *attempts <= 1));
    assert_exact(&stats, 10);
    assert_eq!((stats.delivered, stats.failed), (0, 10));
    assert!(sink.delivered.lock().unwrap().is_empty());
}

/// An executor owning a tokio runtime, as the facade's does.
struct TokioExecutor(tokio::runtime::Runtime);

impl Executor for TokioExecutor {
    fn block_on(&self, future: BoxFuture<'_>) {
        self.0.block_on(future);
    }
}

/// A sink waiting on a tokio timer far longer than any test.
struct SleepingSink {
    started: Arc<AtomicUsize>,
    dropped: Arc<AtomicUsize>,
}

#[async_trait::async_trait]
impl Sink<u64> for SleepingSink {
    async fn send(&self, _batch: &[u64]) -> Result<(), SinkError> {
        let _guard = DropGuard(Arc::clone(&self.dropped));
        self.started.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_secs(3600)).await;
        Ok(())
    }
}

#[test]
fn a_call_driven_by_a_tokio_executor_is_cancelled_too() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let (started, dropped) = (Arc::default(), Arc::default());
    let (failures, on_error) = record_failures();
    let batcher = Batcher::builder()
        .workers(1)
        .executor(TokioExecutor(runtime))
        .linger(Duration::ZERO)
        .on_error(on_error)
        .build(SleepingSink {
            started: Arc::clone(&started),
            dropped: Arc::clone(&dropped),
        })
        .unwrap();
    batcher.try_send(7).unwrap();
    assert!(wait_until(PATIENCE, || started.load(Ordering::SeqCst) == 1));
    let begun = Instant::now();
    let error = batcher.shutdown(ms(300)).unwrap_err();
    assert!(
        begun.elapsed() < BOUND,
        "shutdown took {:?}",
        begun.elapsed()
    );
    assert_eq!(incomplete(&error), (ms(300), 0, 1));
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
    assert_eq!(*failures.lock().unwrap(), [(true, 1, vec![7])]);
    assert_exact(&batcher.stats(), 1);
}

#[test]
fn a_cancelled_part_of_a_split_batch_and_the_parts_after_it_fail_separately() {
    // One batch of 8, too large above one record: 0, 1 and 2 are delivered alone, the call
    // for 3 never completes, and 4..8 (a half not yet sent) is failed at the abort.
    let sink = StuckSink {
        stuck_from: 3,
        cap: 1,
        ..StuckSink::default()
    };
    let (failures, on_error) = record_failures();
    let batcher = Batcher::builder()
        .workers(1)
        .max_batch_size(8)
        .linger(Duration::from_secs(3600))
        .on_error(on_error)
        .build(sink.clone())
        .unwrap();
    for item in 0..8 {
        batcher.try_send(item).unwrap();
    }
    assert!(wait_until(PATIENCE, || !sink
        .started
        .lock()
        .unwrap()
        .is_empty()));
    let error = batcher.shutdown(ms(300)).unwrap_err();
    let failures = failures.lock().unwrap().clone();
    assert_eq!(incomplete(&error), (ms(300), 0, 5));
    assert_eq!(failures, [(true, 1, vec![3]), (true, 0, vec![4, 5, 6, 7])]);
    assert_eq!(*sink.delivered.lock().unwrap(), [0, 1, 2]);
    assert_eq!(sink.dropped.load(Ordering::SeqCst), 1);
    let stats = batcher.stats();
    assert_exact(&stats, 8);
    assert_eq!((stats.delivered, stats.failed, stats.split), (3, 5, 4));
}

/// A sink whose future yields once and is woken from another thread, like a real IO call.
struct YieldingSink {
    delivered: Arc<Mutex<Vec<u64>>>,
}

#[async_trait::async_trait]
impl Sink<u64> for YieldingSink {
    async fn send(&self, batch: &[u64]) -> Result<(), SinkError> {
        let (sender, receiver) = futures_channel::oneshot::channel();
        thread::spawn(move || {
            thread::sleep(Duration::from_micros(200));
            sender.send(()).ok();
        });
        receiver.await.map_err(SinkError::retryable)?;
        self.delivered.lock().unwrap().extend_from_slice(batch);
        Ok(())
    }
}

#[test]
fn pending_calls_that_complete_in_time_are_not_cancelled() {
    let delivered = Arc::new(Mutex::new(Vec::new()));
    let (failures, on_error) = record_failures();
    let batcher = Batcher::builder()
        .workers(2)
        .max_batch_size(4)
        .linger(Duration::ZERO)
        .on_error(on_error)
        .build(YieldingSink {
            delivered: Arc::clone(&delivered),
        })
        .unwrap();
    for item in 0..200 {
        batcher.send_timeout(item, PATIENCE).unwrap();
    }
    batcher.flush(PATIENCE).unwrap();
    for item in 200..400 {
        batcher.send_timeout(item, PATIENCE).unwrap();
    }
    batcher.shutdown(PATIENCE).unwrap();
    assert!(failures.lock().unwrap().is_empty());
    let mut delivered = delivered.lock().unwrap().clone();
    delivered.sort_unstable();
    assert_eq!(delivered, (0..400).collect::<Vec<_>>());
    let stats = batcher.stats();
    assert_exact(&stats, 400);
    assert_eq!(stats.delivered, 400);
}
