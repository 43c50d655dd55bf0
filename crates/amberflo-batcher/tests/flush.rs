//! Flush: waits for exactly the records accepted before it, blocking or async.
// Test helpers outside #[test] functions may unwrap too.
#![allow(clippy::unwrap_used, clippy::type_complexity)]

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use amberflo_batcher::{Batcher, FlushError, SinkFn, block_on};
use common::{Gate, OpenOnDrop, PATIENCE, Record, wait_until};

/// Marks records produced after a flush was called.
const POST: u64 = 1 << 40;

#[test]
fn flush_waits_for_an_old_record_while_another_worker_finishes_newer_ones() {
    let gate = Gate::default();
    let _release = OpenOnDrop(gate.clone());
    let record = Record::<u64>::default();
    let slow_started = Arc::new(AtomicBool::new(false));
    let sink = {
        let (gate, record, slow_started) =
            (gate.clone(), record.clone(), Arc::clone(&slow_started));
        SinkFn::new(move |batch: &[u64]| {
            if batch.contains(&0) {
                slow_started.store(true, Ordering::SeqCst);
                gate.pass();
            }
            record.deliver(batch);
            Ok(())
        })
    };
    let batcher = Batcher::builder()
        .workers(2)
        .max_batch_size(1)
        .linger(Duration::ZERO)
        .build(sink)
        .unwrap();

    // Record 0 is stuck on one worker; the other worker delivers 1..=5.
    batcher.try_send(0).unwrap();
    assert!(wait_until(PATIENCE, || slow_started.load(Ordering::SeqCst)));
    for i in 1..=5 {
        batcher.try_send(i).unwrap();
    }
    assert!(wait_until(PATIENCE, || record.delivered_items().len() == 5));

    let done = Arc::new(AtomicBool::new(false));
    let flusher = {
        let (batcher, done, record) = (batcher.clone(), Arc::clone(&done), record.clone());
        thread::spawn(move || {
            let result = batcher.flush(PATIENCE);
            let delivered_then = record.delivered_items();
            done.store(true, Ordering::SeqCst);
            (result, delivered_then)
        })
    };
    // Many more completions than were enqueued before the flush: a "completed >= N" flush
    // would return now, with record 0 still pending.
    for i in 6..200 {
        batcher.try_send(i).unwrap();
    }
    assert!(wait_until(PATIENCE, || record.delivered_items().len() == 199));
    thread::sleep(Duration::from_millis(20));
    assert!(
        !done.load(Ordering::SeqCst),
        "flush returned while record 0 was still in flight"
    );

    gate.open();
    let (result, delivered_then) = flusher.join().unwrap();
    result.unwrap();
    assert!(
        delivered_then.contains(&0),
        "flush returned before record 0 was delivered"
    );
    batcher.shutdown(PATIENCE).unwrap();
}

#[test]
fn flush_does_not_wait_for_records_sent_after_it() {
    let gate = Gate::default();
    let _release = OpenOnDrop(gate.clone());
    let record = Record::<u64>::default();
    let sink = {
        let (gate, record) = (gate.clone(), record.clone());
        SinkFn::new(move |batch: &[u64]| {
            if batch.iter().all(|id| id & POST != 0) {
                gate.pass();
            }
            record.deliver(batch);
            Ok(())
        })
    };
    let batcher = Batcher::builder()
        .workers(2)
        .max_batch_size(1)
        .linger(Duration::from_secs(3600))
        .build(sink)
        .unwrap();
    for i in 0..10 {
        batcher.try_send(i).unwrap();
    }
    // The flush is registered by this call; what follows is after it.
    let flushed = batcher.flush_async(PATIENCE);
    for i in 0..4 {
        batcher.try_send(POST | i).unwrap();
    }
    block_on(flushed).unwrap();
    let delivered = record.delivered_items();
    for i in 0..10 {
        assert!(
            delivered.contains(&i),
            "record {i} was sent before the flush"
        );
    }
    assert!(
        delivered.iter().all(|id| id & POST == 0),
        "post records are stuck in the sink"
    );
    gate.open();
    batcher.shutdown(PATIENCE).unwrap();
    assert_eq!(record.delivered_items().len(), 14);
}

#[test]
fn flush_returns_under_constant_load() {
    let gate = Gate::default();
    let _release = OpenOnDrop(gate.clone());
    let sink = {
        let gate = gate.clone();
        // Batches made only of post-flush records block until the end of the test.
        SinkFn::new(move |batch: &[u64]| {
            if batch.iter().all(|id| id & POST != 0) {
                gate.pass();
            }
            Ok(())
        })
    };
    let batcher = Batcher::builder()
        .workers(2)
        .max_batch_size(10)
        .capacity(1000)
        .linger(Duration::from_millis(1))
        .build(sink)
        .unwrap();
    let post = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let sent_before = Arc::new(AtomicU64::new(0));
    let producer = {
        let (batcher, post, stop, sent_before) = (
            batcher.clone(),
            Arc::clone(&post),
            Arc::clone(&stop),
            Arc::clone(&sent_before),
        );
        thread::spawn(move || {
            let mut i = 0u64;
            while !stop.load(Ordering::SeqCst) {
                let tag = if post.load(Ordering::SeqCst) { POST } else { 0 };
                if batcher.try_send(tag | i).is_ok() && tag == 0 {
                    sent_before.fetch_add(1, Ordering::SeqCst);
                }
                i += 1;
                if i.is_multiple_of(64) {
                    thread::yield_now();
                }
            }
        })
    };
    assert!(wait_until(PATIENCE, || sent_before.load(Ordering::SeqCst) > 1000));
    let flushed = batcher.flush_async(PATIENCE);
    post.store(true, Ordering::SeqCst);
    let result = block_on(flushed);
    stop.store(true, Ordering::SeqCst);
    producer.join().unwrap();
    result.unwrap();
    gate.open();
    batcher.shutdown(PATIENCE).unwrap();
}

#[test]
fn flush_times_out_but_keeps_the_records() {
    let gate = Gate::default();
    let _release = OpenOnDrop(gate.clone());
    let record = Record::<u64>::default();
    let sink = {
        let (gate, record) = (gate.clone(), record.clone());
        SinkFn::new(move |batch: &[u64]| {
            gate.pass();
            record.deliver(batch);
            Ok(())
        })
    };
    let batcher = Batcher::builder().workers(1).build(sink).unwrap();
    batcher.try_send(1).unwrap();
    let error = batcher.flush(Duration::from_millis(20)).unwrap_err();
    assert!(matches!(error, FlushError::TimedOut { .. }));
    // The async flavour times out too, although the only worker is stuck in the sink.
    let error = block_on(batcher.flush_async(Duration::from_millis(20))).unwrap_err();
    assert!(matches!(error, FlushError::TimedOut { .. }));
    gate.open();
    batcher.flush(PATIENCE).unwrap();
    assert_eq!(record.delivered_items(), [1]);
}

#[test]
fn flush_on_an_idle_engine_returns_at_once() {
    let batcher = Batcher::builder()
        .build(SinkFn::new(|_batch: &[u64]| Ok(())))
        .unwrap();
    batcher.flush(Duration::ZERO).unwrap();
    block_on(batcher.flush_async(Duration::ZERO)).unwrap();
}

#[test]
fn many_concurrent_flushes_all_complete() {
    let delivered = Arc::new(AtomicUsize::new(0));
    let sink = {
        let delivered = Arc::clone(&delivered);
        SinkFn::new(move |batch: &[u64]| {
            thread::sleep(Duration::from_micros(200));
            delivered.fetch_add(batch.len(), Ordering::SeqCst);
            Ok(())
        })
    };
    let batcher = Batcher::builder()
        .workers(2)
        .max_batch_size(4)
        .linger(Duration::from_millis(5))
        .build(sink)
        .unwrap();
    // More concurrent flushes than epoch slots, interleaved with sends.
    let threads: Vec<_> = (0..24u64)
        .map(|t| {
            let batcher = batcher.clone();
            thread::spawn(move || {
                for i in 0..20 {
                    batcher.try_send(t * 1000 + i).unwrap();
                    if i % 5 == 4 {
                        batcher.flush(PATIENCE).unwrap();
                    }
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    batcher.flush(PATIENCE).unwrap();
    assert_eq!(delivered.load(Ordering::SeqCst), 24 * 20);
}

#[test]
fn a_flush_sees_its_own_thread_records_delivered() {
    // Each thread flushes after its own sends: its records must all be delivered by then.
    let seen = Arc::new(Mutex::new(std::collections::HashSet::new()));
    let sink = {
        let seen = Arc::clone(&seen);
        SinkFn::new(move |batch: &[u64]| {
            seen.lock().unwrap().extend(batch.iter().copied());
            Ok(())
        })
    };
    let batcher = Batcher::builder()
        .workers(3)
        .max_batch_size(7)
        .linger(Duration::from_millis(2))
        .build(sink)
        .unwrap();
    let threads: Vec<_> = (0..6u64)
        .map(|t| {
            let (batcher, seen) = (batcher.clone(), Arc::clone(&seen));
            thread::spawn(move || {
                for round in 0..10u64 {
                    let ids: Vec<u64> = (0..13).map(|i| t << 32 | round << 16 | i).collect();
                    for &id in &ids {
                        batcher.try_send(id).unwrap();
                    }
                    batcher.flush(PATIENCE).unwrap();
                    let seen = seen.lock().unwrap();
                    assert!(ids.iter().all(|id| seen.contains(id)));
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
}

#[test]
fn dropping_a_flush_future_withdraws_it() {
    let gate = Gate::default();
    let _release = OpenOnDrop(gate.clone());
    let sink = {
        let gate = gate.clone();
        SinkFn::new(move |_batch: &[u64]| {
            gate.pass();
            Ok(())
        })
    };
    let batcher = Batcher::builder().workers(1).build(sink).unwrap();
    batcher.try_send(1).unwrap();
    drop(batcher.flush_async(PATIENCE));
    gate.open();
    batcher.shutdown(PATIENCE).unwrap();
    assert_eq!(batcher.stats().delivered, 1);
}

#[tokio::test]
async fn flush_async_inside_a_multi_thread_tokio_test() {
    let batcher = Batcher::builder()
        .linger(Duration::from_secs(3600))
        .build(SinkFn::new(|_batch: &[u64]| Ok(())))
        .unwrap();
    for i in 0..10 {
        batcher.try_send(i).unwrap();
    }
    batcher.flush_async(PATIENCE).await.unwrap();
    assert_eq!(batcher.stats().delivered, 10);
}

#[tokio::test(flavor = "current_thread")]
async fn flush_async_inside_a_current_thread_tokio_test() {
    let batcher = Batcher::builder()
        .linger(Duration::from_secs(3600))
        .build(SinkFn::new(|_batch: &[u64]| Ok(())))
        .unwrap();
    for i in 0..10 {
        batcher.try_send(i).unwrap();
    }
    batcher.flush_async(PATIENCE).await.unwrap();
    assert_eq!(batcher.stats().delivered, 10);
    // The blocking flavour works there too (it only blocks this thread briefly).
    batcher.try_send(10).unwrap();
    batcher.flush(PATIENCE).unwrap();
    assert_eq!(batcher.stats().delivered, 11);
}
