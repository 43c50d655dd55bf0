//! Items per second from 8 producers through batching (default settings) into a null sink.
#![allow(clippy::print_stdout, missing_docs)]

use std::hint::black_box;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use amberflo_batcher::{Batcher, Sink, SinkError};
use criterion::{Criterion, Throughput, criterion_group};

const PRODUCERS: usize = 8;

/// Accepts every batch at once.
struct NullSink;

#[async_trait::async_trait]
impl Sink<u64> for NullSink {
    async fn send(&self, batch: &[u64]) -> Result<(), SinkError> {
        black_box(batch);
        Ok(())
    }
}

/// Sends `total` items from `PRODUCERS` threads (retrying when the queue is full) and waits
/// until all are delivered. Returns the wall time.
fn pump(batcher: &Batcher<u64>, total: u64) -> Duration {
    let per_thread = total.div_ceil(PRODUCERS as u64);
    let barrier = Arc::new(Barrier::new(PRODUCERS + 1));
    let handles: Vec<_> = (0..PRODUCERS)
        .map(|t| {
            let (batcher, barrier) = (batcher.clone(), Arc::clone(&barrier));
            thread::spawn(move || {
                barrier.wait();
                let base = (t as u64) << 40;
                for i in 0..per_thread {
                    let mut item = base | i;
                    while let Err(refused) = batcher.try_send(item) {
                        item = refused.into_inner();
                        thread::yield_now();
                    }
                }
            })
        })
        .collect();
    barrier.wait();
    let start = Instant::now();
    for handle in handles {
        handle.join().expect("producer thread");
    }
    batcher.flush(Duration::from_secs(120)).expect("flush");
    start
        .elapsed()
        .mul_f64(total as f64 / (per_thread * PRODUCERS as u64) as f64)
}

fn throughput(c: &mut Criterion) {
    let batcher = Batcher::builder()
        .build(NullSink)
        .expect("valid configuration");
    let mut group = c.benchmark_group("throughput");
    group.throughput(Throughput::Elements(1));
    group.bench_function("8_producers_null_sink", |b| {
        b.iter_custom(|iters| pump(&batcher, iters));
    });
    group.finish();
}

criterion_group!(benches, throughput);

fn main() {
    // Only under `cargo bench` (criterion's test mode and `--list` skip it).
    if std::env::args().any(|arg| arg == "--bench") {
        let batcher = Batcher::builder()
            .build(NullSink)
            .expect("valid configuration");
        for _ in 0..3 {
            let total = 8_000_000;
            let elapsed = pump(&batcher, total);
            let stats = batcher.stats();
            println!(
                "throughput: {total} items from {PRODUCERS} producers in {elapsed:?} = {:.2} M items/s \
                 (delivered so far {}, refused-and-retried {})",
                total as f64 / elapsed.as_secs_f64() / 1e6,
                stats.delivered,
                stats.rejected
            );
        }
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
