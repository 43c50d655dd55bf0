//! Enqueue cost from 1, 2 and 8 producer threads into a null sink.
//!
//! Two measurements:
//! * criterion `enqueue/N`: wall time of N threads together enqueuing `iters` items, divided
//!   by `iters` (amortised cost per item on this machine);
//! * a per-call latency histogram (hdrhistogram) of `try_send` as seen by each producer,
//!   printed as p50 / p99 / p99.9 / max before the criterion runs.
#![allow(clippy::print_stdout, missing_docs)]

use std::hint::black_box;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use amberflo_batcher::{Batcher, Sink, SinkError};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group};
use hdrhistogram::Histogram;

/// Accepts every batch at once.
struct NullSink;

#[async_trait::async_trait]
impl Sink<u64> for NullSink {
    async fn send(&self, batch: &[u64]) -> Result<(), SinkError> {
        black_box(batch);
        Ok(())
    }
}

fn batcher(capacity: usize) -> Batcher<u64> {
    Batcher::builder()
        .capacity(capacity)
        .build(NullSink)
        .expect("valid configuration")
}

/// Runs `threads` producers, each enqueuing `per_thread` items after a common start.
/// Returns the wall time from the start to the last producer's end.
fn produce(batcher: &Batcher<u64>, threads: usize, per_thread: u64) -> Duration {
    let barrier = Arc::new(Barrier::new(threads + 1));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (batcher, barrier) = (batcher.clone(), Arc::clone(&barrier));
            thread::spawn(move || {
                barrier.wait();
                let base = (t as u64) << 40;
                for i in 0..per_thread {
                    black_box(batcher.try_send(base | i)).ok();
                }
            })
        })
        .collect();
    barrier.wait();
    let start = Instant::now();
    for handle in handles {
        handle.join().expect("producer thread");
    }
    start.elapsed()
}

fn enqueue(c: &mut Criterion) {
    let mut group = c.benchmark_group("enqueue");
    group.throughput(Throughput::Elements(1));
    for threads in [1usize, 2, 8] {
        let batcher = batcher(1 << 20);
        group.bench_with_input(
            BenchmarkId::from_parameter(threads),
            &threads,
            |b, &threads| {
                b.iter_custom(|iters| {
                    let per_thread = iters.div_ceil(threads as u64);
                    let elapsed = produce(&batcher, threads, per_thread);
                    // Untimed: start every sample with an empty queue.
                    batcher.flush(Duration::from_secs(60)).ok();
                    elapsed.mul_f64(iters as f64 / (per_thread * threads as u64) as f64)
                });
            },
        );
        let stats = batcher.stats();
        println!(
            "enqueue/{threads}: {} accepted, {} refused (queue full)",
            stats.enqueued, stats.rejected
        );
    }
    group.finish();
}

/// Per-call `try_send` latency with `threads` producers, `per_thread` calls each.
fn latency_histogram(threads: usize, per_thread: u64) {
    let batcher = batcher(threads * per_thread as usize + 1);
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (batcher, barrier) = (batcher.clone(), Arc::clone(&barrier));
            thread::spawn(move || {
                let mut histogram =
                    Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).expect("bounds");
                barrier.wait();
                let base = (t as u64) << 40;
                for i in 0..per_thread {
                    let start = Instant::now();
                    let result = batcher.try_send(base | i);
                    let nanos = start.elapsed().as_nanos() as u64;
                    black_box(result).ok();
                    histogram.saturating_record(nanos.max(1));
                }
                histogram
            })
        })
        .collect();
    let mut total = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).expect("bounds");
    for handle in handles {
        total
            .add(handle.join().expect("producer"))
            .expect("same bounds");
    }
    let stats = batcher.stats();
    batcher.shutdown(Duration::from_secs(60)).ok();
    println!(
        "try_send latency, {threads} producer(s) x {per_thread}: p50 {} ns, p90 {} ns, p99 {} ns, \
         p99.9 {} ns, max {} ns, mean {:.0} ns ({} refused)",
        total.value_at_quantile(0.50),
        total.value_at_quantile(0.90),
        total.value_at_quantile(0.99),
        total.value_at_quantile(0.999),
        total.max(),
        total.mean(),
        stats.rejected,
    );
}

/// What `Instant::now()` twice costs (included in the histogram figures).
fn timer_overhead() {
    let mut histogram = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).expect("bounds");
    for _ in 0..200_000 {
        let start = Instant::now();
        let nanos = start.elapsed().as_nanos() as u64;
        histogram.saturating_record(nanos.max(1));
    }
    println!(
        "timer overhead (Instant::now + elapsed): p50 {} ns, p99 {} ns",
        histogram.value_at_quantile(0.50),
        histogram.value_at_quantile(0.99)
    );
}

criterion_group!(benches, enqueue);

fn main() {
    // Only under `cargo bench` (criterion's test mode and `--list` skip it).
    if std::env::args().any(|arg| arg == "--bench") {
        timer_overhead();
        for threads in [1, 2, 8] {
            latency_histogram(threads, 200_000);
        }
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
