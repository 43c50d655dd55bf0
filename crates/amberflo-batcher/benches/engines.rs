//! The engine beside the simplest design with the same contract, in one run (`cargo xtask
//! bench --engines`, or `cargo bench -p amberflo-batcher --bench engines`).
//!
//! The baseline is what sentry-rust's batcher is: one `Mutex<VecDeque>` with two condition
//! variables. Producers lock, refuse when the queue is at capacity, push, and wake a worker
//! when the queue was empty or holds a batch; workers wait (up to the linger) for a batch,
//! take it under the lock, send it, and count it done; `flush` waits until everything
//! enqueued before it is done. That is the engine's contract for these runs: bounded,
//! non-blocking enqueue, batches up to a size, a linger, N workers, an exact flush.
//!
//! Each engine takes `RECORDS` records from 8 producer threads (a refused record is retried
//! after a yield, as a back-pressured producer would), sent in batches to a sink that reads
//! every item, at the engine's defaults and tuned (bigger batches, one more worker). Per
//! run: records/s to the end of the flush, process CPU per record (user + system, from
//! `/proc/self/stat`), and the latency of each enqueue call (p50, p99, p99.9; refusals
//! included). The report ends with the engine's ratios to the baseline.
#![allow(
    clippy::print_stdout,
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used
)]

use std::collections::VecDeque;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use amberflo_batcher::{Batcher, Sink, SinkError};
use hdrhistogram::Histogram;

/// Records per run.
const RECORDS: u64 = 2_000_000;
/// Producer threads.
const PRODUCERS: u64 = 8;

/// One engine configuration.
#[derive(Debug, Clone, Copy)]
struct Config {
    name: &'static str,
    capacity: usize,
    batch: usize,
    linger: Duration,
    workers: usize,
}

const DEFAULTS: Config = Config {
    name: "defaults",
    capacity: amberflo_batcher::defaults::CAPACITY,
    batch: amberflo_batcher::defaults::MAX_BATCH_SIZE,
    linger: amberflo_batcher::defaults::LINGER,
    workers: amberflo_batcher::defaults::WORKERS,
};

const TUNED: Config = Config {
    name: "tuned",
    capacity: 1_000_000,
    batch: 1_000,
    linger: amberflo_batcher::defaults::LINGER,
    workers: 4,
};

/// What the sink does with a batch: reads every item.
fn consume(batch: &[u64], seen: &AtomicU64) {
    let sum = batch
        .iter()
        .fold(0_u64, |sum, &item| sum.wrapping_add(item));
    black_box(sum);
    seen.fetch_add(batch.len() as u64, Ordering::Relaxed);
}

/// An engine under test.
trait Engine: Send + Sync {
    fn try_send(&self, item: u64) -> bool;
    fn flush(&self);
}

// ----- The engine -----

struct Counting(Arc<AtomicU64>);

#[async_trait::async_trait]
impl Sink<u64> for Counting {
    async fn send(&self, batch: &[u64]) -> Result<(), SinkError> {
        consume(batch, &self.0);
        Ok(())
    }
}

struct Real(Batcher<u64>);

impl Real {
    fn new(config: Config, seen: Arc<AtomicU64>) -> Self {
        Real(
            Batcher::builder()
                .capacity(config.capacity)
                .max_batch_size(config.batch)
                .linger(config.linger)
                .workers(config.workers)
                .build(Counting(seen))
                .expect("valid configuration"),
        )
    }
}

impl Engine for Real {
    fn try_send(&self, item: u64) -> bool {
        self.0.try_send(item).is_ok()
    }

    fn flush(&self) {
        self.0.flush(Duration::from_secs(120)).expect("flushed");
    }
}

// ----- The baseline: a Mutex<VecDeque> and two condition variables -----

struct State {
    queue: VecDeque<u64>,
    enqueued: u64,
    done: u64,
    /// What the last `flush` waits for: workers stop lingering until it is done.
    flush_target: u64,
    closed: bool,
}

struct Shared {
    state: Mutex<State>,
    /// Workers wait here for items.
    items: Condvar,
    /// `flush` waits here for batches to be done.
    progress: Condvar,
    config: Config,
}

struct Baseline {
    shared: Arc<Shared>,
    workers: Vec<thread::JoinHandle<()>>,
}

impl Baseline {
    fn new(config: Config, seen: &Arc<AtomicU64>) -> Self {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                queue: VecDeque::with_capacity(config.capacity),
                enqueued: 0,
                done: 0,
                flush_target: 0,
                closed: false,
            }),
            items: Condvar::new(),
            progress: Condvar::new(),
            config,
        });
        let workers = (0..config.workers)
            .map(|_| {
                let (shared, seen) = (Arc::clone(&shared), Arc::clone(seen));
                thread::spawn(move || work(&shared, &seen))
            })
            .collect();
        Baseline { shared, workers }
    }
}

fn work(shared: &Shared, seen: &AtomicU64) {
    let mut batch = Vec::with_capacity(shared.config.batch);
    loop {
        {
            let mut state = shared.state.lock().unwrap();
            let deadline = Instant::now() + shared.config.linger;
            // Wait for a whole batch, or the linger, or a flush (anything enqueued not done).
            while state.queue.len() < shared.config.batch && !state.closed {
                let flushing = state.done < state.flush_target && !state.queue.is_empty();
                let now = Instant::now();
                if flushing || (now >= deadline && !state.queue.is_empty()) {
                    break;
                }
                let wait = if state.queue.is_empty() {
                    Duration::from_secs(3600)
                } else {
                    deadline - now
                };
                state = shared.items.wait_timeout(state, wait).unwrap().0;
            }
            if state.closed && state.queue.is_empty() {
                return;
            }
            let take = state.queue.len().min(shared.config.batch);
            batch.extend(state.queue.drain(..take));
        }
        consume(&batch, seen);
        let mut state = shared.state.lock().unwrap();
        state.done += batch.len() as u64;
        batch.clear();
        shared.progress.notify_all();
    }
}

impl Engine for Baseline {
    fn try_send(&self, item: u64) -> bool {
        let mut state = self.shared.state.lock().unwrap();
        if state.queue.len() >= self.shared.config.capacity {
            return false;
        }
        state.queue.push_back(item);
        state.enqueued += 1;
        let len = state.queue.len();
        drop(state);
        if len == 1 || len == self.shared.config.batch {
            self.shared.items.notify_one();
        }
        true
    }

    fn flush(&self) {
        let mut state = self.shared.state.lock().unwrap();
        let target = state.enqueued;
        state.flush_target = target;
        self.shared.items.notify_all();
        while state.done < target {
            state = self.shared.progress.wait(state).unwrap();
        }
    }
}

impl Drop for Baseline {
    fn drop(&mut self) {
        self.shared.state.lock().unwrap().closed = true;
        self.shared.items.notify_all();
        for worker in self.workers.drain(..) {
            worker.join().unwrap();
        }
    }
}

// ----- Measuring -----

/// User + system CPU time of this process.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks: u64 = fields
        .get(11..13)
        .map_or(0, |f| f.iter().filter_map(|t| t.parse::<u64>().ok()).sum());
    // USER_HZ is 100 on Linux.
    Duration::from_millis(ticks * 10)
}

struct Measured {
    records_per_second: f64,
    cpu_per_record: Duration,
    latency: Histogram<u64>,
}

fn measure(engine: &dyn Engine, seen: &AtomicU64) -> Measured {
    let barrier = Barrier::new(PRODUCERS as usize + 1);
    let histograms = Mutex::new(Histogram::<u64>::new(3).unwrap());
    let (start, cpu_start) = thread::scope(|scope| {
        for producer in 0..PRODUCERS {
            let (barrier, histograms) = (&barrier, &histograms);
            scope.spawn(move || {
                let mut histogram = Histogram::<u64>::new(3).unwrap();
                barrier.wait();
                for i in 0..RECORDS / PRODUCERS {
                    let item = producer << 40 | i;
                    loop {
                        let call = Instant::now();
                        let accepted = engine.try_send(item);
                        let nanos = call.elapsed().as_nanos() as u64;
                        histogram.record(nanos.max(1)).ok();
                        if accepted {
                            break;
                        }
                        thread::yield_now();
                    }
                }
                histograms.lock().unwrap().add(histogram).unwrap();
            });
        }
        let cpu_start = cpu_time();
        let start = Instant::now();
        barrier.wait();
        (start, cpu_start)
    });
    engine.flush();
    let elapsed = start.elapsed();
    let cpu = cpu_time().saturating_sub(cpu_start);
    assert_eq!(
        seen.load(Ordering::Relaxed),
        RECORDS,
        "every record delivered"
    );
    Measured {
        records_per_second: RECORDS as f64 / elapsed.as_secs_f64(),
        cpu_per_record: cpu / RECORDS as u32,
        latency: histograms.into_inner().unwrap(),
    }
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is taken.
    println!(
        "engines: {RECORDS} records from {PRODUCERS} producers, {} CPUs",
        thread::available_parallelism().map_or(0, usize::from)
    );
    println!(
        "{:<9} {:<9} {:>12} {:>11} {:>9} {:>9} {:>10}",
        "config", "engine", "records/s", "CPU/record", "p50", "p99", "p99.9"
    );
    let mut ratios = Vec::new();
    for config in [DEFAULTS, TUNED] {
        let mut results = Vec::new();
        // Baseline first, then the engine, then the baseline again: the machine is shared,
        // and the two baseline runs show how much it moved.
        for (name, real) in [("baseline", false), ("engine", true), ("baseline", false)] {
            let seen = Arc::new(AtomicU64::new(0));
            let engine: Box<dyn Engine> = if real {
                Box::new(Real::new(config, Arc::clone(&seen)))
            } else {
                Box::new(Baseline::new(config, &seen))
            };
            let measured = measure(engine.as_ref(), &seen);
            drop(engine);
            let latency = &measured.latency;
            println!(
                "{:<9} {:<9} {:>12.0} {:>9.0}ns {:>7}ns {:>7}ns {:>8}ns",
                config.name,
                name,
                measured.records_per_second,
                measured.cpu_per_record.as_nanos(),
                latency.value_at_quantile(0.5),
                latency.value_at_quantile(0.99),
                latency.value_at_quantile(0.999),
            );
            results.push(measured);
        }
        let engine = &results[1];
        let baseline =
            |pick: &dyn Fn(&Measured) -> f64| (pick(&results[0]) + pick(&results[2])) / 2.0;
        ratios.push(format!(
            "{}: engine/baseline records/s {:.2}x, CPU per record {:.2}x, p50 {:.2}x, p99 {:.2}x",
            config.name,
            engine.records_per_second / baseline(&|m| m.records_per_second),
            engine.cpu_per_record.as_nanos() as f64
                / baseline(&|m| m.cpu_per_record.as_nanos() as f64),
            engine.latency.value_at_quantile(0.5) as f64
                / baseline(&|m| m.latency.value_at_quantile(0.5) as f64),
            engine.latency.value_at_quantile(0.99) as f64
                / baseline(&|m| m.latency.value_at_quantile(0.99) as f64),
        ));
    }
    for line in ratios {
        println!("{line}");
    }
}
