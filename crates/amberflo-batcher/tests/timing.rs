//! Linger, retries, backoff, `Retry-After`, fatal errors, panics and executors.
// Test helpers outside #[test] functions may unwrap too.
#![allow(clippy::unwrap_used, clippy::type_complexity)]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use amberflo_batcher::{
    Batcher, BoxFuture, DeliveryError, Executor, Jitter, RetryPolicy, Sink, SinkError, SinkFn,
};
use common::{PATIENCE, Record, RecordingSleeper, wait_until};

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

/// A sink that forwards every batch to a channel.
fn channel_sink() -> (
    SinkFn<impl Fn(&[u64]) -> Result<(), SinkError>>,
    mpsc::Receiver<Vec<u64>>,
) {
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let sink = SinkFn::new(move |batch: &[u64]| {
        tx.lock().unwrap().send(batch.to_vec()).ok();
        Ok(())
    });
    (sink, rx)
}

#[test]
fn linger_sends_a_partial_batch_after_the_linger() {
    let (sink, batches) = channel_sink();
    let batcher = Batcher::builder()
        .workers(1)
        .max_batch_size(100)
        .linger(ms(30))
        .build(sink)
        .unwrap();
    let sent = Instant::now();
    for i in 0..3 {
        batcher.try_send(i).unwrap();
    }
    let batch = batches.recv_timeout(PATIENCE).unwrap();
    assert_eq!(batch, [0, 1, 2]);
    assert!(sent.elapsed() >= ms(30), "sent before the linger elapsed");
}

#[test]
fn a_full_batch_does_not_wait_for_the_linger() {
    let (sink, batches) = channel_sink();
    let batcher = Batcher::builder()
        .workers(1)
        .max_batch_size(5)
        .linger(Duration::from_secs(3600))
        .build(sink)
        .unwrap();
    for i in 0..5 {
        batcher.try_send(i).unwrap();
    }
    assert_eq!(batches.recv_timeout(PATIENCE).unwrap(), [0, 1, 2, 3, 4]);
    // A lone record waits for the (one hour) linger.
    batcher.try_send(5).unwrap();
    assert!(batches.recv_timeout(ms(50)).is_err());
    batcher.flush(PATIENCE).unwrap();
    assert_eq!(batches.recv_timeout(PATIENCE).unwrap(), [5]);
}

#[test]
fn zero_linger_sends_at_once() {
    let (sink, batches) = channel_sink();
    let batcher = Batcher::builder()
        .workers(1)
        .linger(Duration::ZERO)
        .build(sink)
        .unwrap();
    batcher.try_send(7).unwrap();
    assert_eq!(batches.recv_timeout(PATIENCE).unwrap(), [7]);
}

#[test]
fn batches_never_exceed_the_max_size_clamped_to_capacity() {
    let (sink, batches) = channel_sink();
    let batcher = Batcher::builder()
        .workers(1)
        .capacity(3)
        .max_batch_size(100)
        .linger(ms(5))
        .build(sink)
        .unwrap();
    assert_eq!(batcher.max_batch_size(), 3);
    let mut accepted = 0;
    for i in 0..50 {
        if batcher.send_timeout(i, PATIENCE).is_ok() {
            accepted += 1;
        }
    }
    batcher.shutdown(PATIENCE).unwrap();
    let all: Vec<Vec<u64>> = batches.try_iter().collect();
    assert!(
        all.iter()
            .all(|batch| !batch.is_empty() && batch.len() <= 3)
    );
    assert_eq!(all.iter().map(Vec::len).sum::<usize>(), accepted);
}

/// A sink that fails with `errors` in order, then succeeds; counts calls.
fn scripted(
    errors: Vec<SinkError>,
) -> (
    SinkFn<impl Fn(&[u64]) -> Result<(), SinkError>>,
    Arc<AtomicUsize>,
) {
    let calls = Arc::new(AtomicUsize::new(0));
    let errors = Mutex::new(errors.into_iter());
    let counter = Arc::clone(&calls);
    let sink = SinkFn::new(move |_batch: &[u64]| {
        counter.fetch_add(1, Ordering::SeqCst);
        match errors.lock().unwrap().next() {
            Some(error) => Err(error),
            None => Ok(()),
        }
    });
    (sink, calls)
}

#[test]
fn retries_follow_the_policy_then_give_up() {
    let always = (0..100).map(|_| SinkError::retryable("503")).collect();
    let (sink, calls) = scripted(always);
    let sleeper = RecordingSleeper::default();
    let record = Record::<u64>::default();
    let nominal = [ms(10), ms(20), ms(40)];
    let batcher = Batcher::builder()
        .workers(1)
        .retry_policy(RetryPolicy::new(nominal))
        .sleeper(sleeper.clone())
        .on_error(record.on_error())
        .build(sink)
        .unwrap();
    batcher.try_send(1).unwrap();
    batcher.flush(PATIENCE).unwrap();

    assert_eq!(
        calls.load(Ordering::SeqCst),
        4,
        "one attempt plus three retries"
    );
    let waits = sleeper.waits();
    assert_eq!(waits.len(), 3);
    for (wait, nominal) in waits.iter().zip(nominal) {
        assert!(
            *wait <= nominal,
            "full jitter waits at most the nominal wait"
        );
    }
    let failed = record.failed.lock().unwrap();
    assert_eq!(failed.len(), 1);
    assert!(failed[0].0.contains("4 attempts"), "{}", failed[0].0);
    assert_eq!(failed[0].2, [1]);
    let stats = batcher.stats();
    assert_eq!((stats.retried, stats.failed, stats.delivered), (3, 1, 0));
}

#[test]
fn without_jitter_the_waits_are_the_nominal_ones() {
    let (sink, calls) = scripted(vec![SinkError::retryable("a"), SinkError::retryable("b")]);
    let sleeper = RecordingSleeper::default();
    let batcher = Batcher::builder()
        .workers(1)
        .retry_policy(RetryPolicy::new([ms(10), ms(20), ms(40)]).with_jitter(Jitter::None))
        .sleeper(sleeper.clone())
        .build(sink)
        .unwrap();
    batcher.try_send(1).unwrap();
    batcher.flush(PATIENCE).unwrap();
    assert_eq!(sleeper.waits(), [ms(10), ms(20)]);
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    let stats = batcher.stats();
    assert_eq!((stats.retried, stats.delivered, stats.failed), (2, 1, 0));
}

#[test]
fn retry_after_overrides_the_backoff_and_is_capped() {
    let (sink, calls) = scripted(vec![
        SinkError::retryable("429").with_retry_after(Duration::from_secs(7)),
        SinkError::retryable("429").with_retry_after(Duration::from_secs(600)),
    ]);
    let sleeper = RecordingSleeper::default();
    let batcher = Batcher::builder()
        .workers(1)
        .retry_policy(RetryPolicy::default().with_max_retry_after(Duration::from_secs(60)))
        .sleeper(sleeper.clone())
        .build(sink)
        .unwrap();
    batcher.try_send(1).unwrap();
    batcher.flush(PATIENCE).unwrap();
    assert_eq!(
        sleeper.waits(),
        [Duration::from_secs(7), Duration::from_secs(60)]
    );
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(batcher.stats().delivered, 1);
}

#[test]
fn retry_after_is_honoured_in_real_time() {
    let times = Arc::new(Mutex::new(Vec::new()));
    let sink = {
        let times = Arc::clone(&times);
        SinkFn::new(move |_batch: &[u64]| {
            let mut times = times.lock().unwrap();
            times.push(Instant::now());
            if times.len() == 1 {
                Err(SinkError::retryable("429").with_retry_after(ms(30)))
            } else {
                Ok(())
            }
        })
    };
    let batcher = Batcher::builder()
        .workers(1)
        // The nominal backoff is far longer: the Retry-After wins.
        .retry_policy(RetryPolicy::new([Duration::from_secs(3600)]))
        .build(sink)
        .unwrap();
    batcher.try_send(1).unwrap();
    batcher.flush(PATIENCE).unwrap();
    let times = times.lock().unwrap();
    assert_eq!(times.len(), 2);
    assert!(times[1] - times[0] >= ms(30));
}

#[test]
fn real_backoff_retries_until_success() {
    let (sink, calls) = scripted(vec![SinkError::retryable("a"), SinkError::retryable("b")]);
    let batcher = Batcher::builder()
        .workers(1)
        .retry_policy(RetryPolicy::new([ms(1), ms(1), ms(1)]))
        .build(sink)
        .unwrap();
    batcher.try_send(1).unwrap();
    batcher.flush(PATIENCE).unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(batcher.stats().delivered, 1);
}

#[test]
fn fatal_errors_are_not_retried() {
    let (sink, calls) = scripted(vec![SinkError::fatal("400 Bad Request")]);
    let sleeper = RecordingSleeper::default();
    let record = Record::<u64>::default();
    let batcher = Batcher::builder()
        .workers(1)
        .sleeper(sleeper.clone())
        .on_error(record.on_error())
        .build(sink)
        .unwrap();
    batcher.try_send(1).unwrap();
    batcher.flush(PATIENCE).unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert!(sleeper.waits().is_empty());
    let failed = record.failed.lock().unwrap();
    assert_eq!(failed.len(), 1);
    assert!(failed[0].0.contains("non-retryable"));
    assert_eq!(batcher.stats().retried, 0);
}

#[test]
fn a_panicking_sink_fails_the_batch_without_losing_it() {
    let record = Record::<u64>::default();
    let batcher = Batcher::builder()
        .workers(1)
        .on_error(record.on_error())
        .build(SinkFn::new(|_batch: &[u64]| -> Result<(), SinkError> {
            panic!("sink bug")
        }))
        .unwrap();
    batcher.try_send(1).unwrap();
    batcher.flush(PATIENCE).unwrap();
    assert_eq!(record.failed_items(), [1]);
    // The worker survived: a second record is handled too.
    batcher.try_send(2).unwrap();
    batcher.flush(PATIENCE).unwrap();
    assert_eq!(record.failed_items(), [1, 2]);
    assert_eq!(batcher.stats().failed, 2);
}

#[test]
fn the_error_callback_owns_the_batch_and_its_error() {
    let seen = Arc::new(Mutex::new(None));
    let batcher = {
        let seen = Arc::clone(&seen);
        Batcher::builder()
            .workers(1)
            .max_batch_size(10)
            .linger(ms(20))
            .retry_policy(RetryPolicy::none())
            .on_error(move |error: DeliveryError, batch: Vec<String>| {
                let message = error.sink_error().map(ToString::to_string);
                *seen.lock().unwrap() = Some((error.attempts(), message, batch));
            })
            .build(SinkFn::new(|_batch: &[String]| {
                Err(SinkError::retryable("503"))
            }))
            .unwrap()
    };
    batcher.try_send("a".to_owned()).unwrap();
    batcher.try_send("b".to_owned()).unwrap();
    batcher.flush(PATIENCE).unwrap();
    let (attempts, message, batch) = seen.lock().unwrap().take().unwrap();
    assert_eq!(attempts, 1);
    assert_eq!(message.as_deref(), Some("retryable sink error: 503"));
    assert_eq!(batch, ["a", "b"]);
}

/// A sink that needs a tokio reactor (timer).
struct TokioSink(Arc<AtomicUsize>);

#[async_trait::async_trait]
impl Sink<u64> for TokioSink {
    async fn send(&self, batch: &[u64]) -> Result<(), SinkError> {
        tokio::time::sleep(ms(1)).await;
        self.0.fetch_add(batch.len(), Ordering::SeqCst);
        Ok(())
    }
}

/// What the facade does: an executor owning a tokio runtime.
struct TokioExecutor(tokio::runtime::Runtime);

impl TokioExecutor {
    fn new() -> Self {
        TokioExecutor(
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_time()
                .build()
                .unwrap(),
        )
    }
}

impl Executor for TokioExecutor {
    fn block_on(&self, future: BoxFuture<'_>) {
        self.0.block_on(future);
    }
}

#[test]
fn a_tokio_sink_works_with_an_executor_that_owns_a_runtime() {
    let delivered = Arc::new(AtomicUsize::new(0));
    let batcher = Batcher::builder()
        .executor(TokioExecutor::new())
        .build(TokioSink(Arc::clone(&delivered)))
        .unwrap();
    for i in 0..25 {
        batcher.try_send(i).unwrap();
    }
    batcher.shutdown(PATIENCE).unwrap();
    assert_eq!(delivered.load(Ordering::SeqCst), 25);
}

#[test]
fn a_tokio_sink_under_the_default_executor_fails_loudly_not_silently() {
    let record = Record::<u64>::default();
    let batcher = Batcher::builder()
        .on_error(record.on_error())
        .build(TokioSink(Arc::new(AtomicUsize::new(0))))
        .unwrap();
    batcher.try_send(1).unwrap();
    batcher.flush(PATIENCE).unwrap();
    assert_eq!(record.failed_items(), [1]);
    assert!(wait_until(PATIENCE, || batcher.stats().failed == 1));
}
