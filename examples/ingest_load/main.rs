//! The SDK side of `cargo xtask bench`: meters N records from T producer threads into an
//! Amberflo-compatible server (the emulator), shuts the client down (which delivers everything),
//! and prints one JSON line of results on stdout.
//!
//! ```text
//! cargo build --release -p amberflo-examples --example ingest_load --features hyper
//! target/release/examples/ingest_load --endpoint http://127.0.0.1:PORT \
//!     [--records 1000000] [--threads 8] [--batch-size N] [--workers N] \
//!     [--queue-capacity N] [--linger-ms N] [--transport reqwest|hyper]
//! ```
//!
//! # The workload
//!
//! Each producer thread builds its share of the records with [`MeterRecord::builder`] (meter
//! `ApiCalls`, value 1, one of 100 customers, the dimensions `region`, `service`, `tier`
//! (`--dimensions` keeps the first 0 to 3 of them), the time now and a fresh UUID v4), then
//! hands each to [`Client::meter_record`].
//!
//! # What is measured
//!
//! * `meter_ns`: the latency of every `meter_record` call (validation + enqueue), measured with
//!   an [`Instant`] on each side, into an HDR histogram (3 significant digits, `u32` counts to
//!   keep the instrumentation's memory small; `max` is exact).
//!   Every call counts, including those refused because the queue was full.
//!   `meter_accepted_ns` keeps only the calls that enqueued, and `build_ns` is the cost of
//!   building the record (the part of the Python SDK's `meter()` that is `create_ingest_payload`),
//!   timed from the end of the previous call (so it also holds the ~10 ns of recording that
//!   call's figures; two clock reads a record instead of three keep the load process lighter).
//!   Each figure includes the timer's own overhead, `timer_overhead_ns` (the median of an empty
//!   timed region on this machine, typically 20-25 ns).
//! * `wall_s`: from the first call (all producers start together on a barrier) to `shutdown`
//!   returning, i.e. until every record was delivered; `records_per_s` = delivered / `wall_s`.
//! * `floor_us_per_record`: CPU per record of the same workload without the network, measured
//!   after the run (its client dropped), in this process: the same producers build, validate
//!   and meter `--floor-records` records through a client with the same settings (and, with
//!   `--spool`, a spool in a fresh directory) whose transport answers every request at once,
//!   in memory; so batching, encoding and gzip count, HTTP does not. Process CPU time
//!   (`CLOCK_PROCESS_CPUTIME_ID`) over the floor run.
//! * `peak_rss_kib`: `VmHWM` from `/proc/self/status` after `shutdown`; `cpu_s`: this process's
//!   user + system CPU time (`CLOCK_PROCESS_CPUTIME_ID`) from building the client to the end of `shutdown`.
//!
//! # A full queue
//!
//! Producers are much faster than delivery, so the bounded queue (100,000 records by default)
//! fills up and `meter_record` returns [`MeterError::Rejected`] with the record inside, at once
//! (the refusal is counted in `full_rejections` and timed in `meter_ns` like any call). The
//! load process then hands the *same* record (same unique id) to
//! [`Client::meter_record_timeout`], which parks the thread until the workers have made room,
//! so exactly N records are delivered and eight refused producers do not take the two cores
//! from the SDK's workers and the emulator. That wait is back-pressure, not `meter()` cost, and
//! is not timed.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod floor;

use std::path::PathBuf;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use amberflo::aggregate::{Aggregation, AggregationStats};
use amberflo::{Client, ClientBuilder, FsyncPolicy, MeterError, MeterRecord, SpoolConfig, Stats};
use clap::{Parser, ValueEnum};
use hdrhistogram::Histogram;
use serde_json::{Value, json};

const METER_API_NAME: &str = "ApiCalls";
const CUSTOMERS: usize = 100;
const REGIONS: [&str; 4] = ["us-east-1", "us-west-2", "eu-west-1", "ap-south-1"];
const SERVICES: [&str; 8] = [
    "search", "checkout", "auth", "catalog", "billing", "reports", "export", "import",
];
const TIERS: [&str; 2] = ["free", "pro"];
/// Highest latency the histograms hold: one minute, in nanoseconds.
const HISTOGRAM_MAX_NS: u64 = 60_000_000_000;

/// Which built-in transport the client sends with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum TransportArg {
    Reqwest,
    Hyper,
}

impl TransportArg {
    fn name(self) -> &'static str {
        match self {
            TransportArg::Reqwest => "reqwest",
            TransportArg::Hyper => "hyper",
        }
    }
}

/// When the spool syncs its files (`FsyncPolicy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FsyncArg {
    /// Before every `meter` returns (group commit).
    Always,
    /// Every second, from a background thread (the SDK's default).
    Every1s,
    /// Never; the OS writes back.
    Never,
}

impl FsyncArg {
    fn policy(self) -> FsyncPolicy {
        match self {
            FsyncArg::Always => FsyncPolicy::Always,
            FsyncArg::Every1s => FsyncPolicy::Every(Duration::from_secs(1)),
            FsyncArg::Never => FsyncPolicy::Never,
        }
    }

    fn name(self) -> &'static str {
        match self {
            FsyncArg::Always => "always",
            FsyncArg::Every1s => "every1s",
            FsyncArg::Never => "never",
        }
    }
}

/// Meters records into an Amberflo-compatible server and reports latency and throughput as JSON.
#[derive(Debug, Parser)]
struct Args {
    /// The server (API and ingest), e.g. a running `amberflo-emulator`.
    #[arg(long)]
    endpoint: String,
    /// API key sent with every request.
    #[arg(long, default_value = "local-key")]
    api_key: String,
    /// Records to meter, in total.
    #[arg(long, default_value_t = 1_000_000)]
    records: u64,
    /// Producer threads.
    #[arg(long, default_value_t = 8)]
    threads: u64,
    /// Records per request (SDK default when unset).
    #[arg(long)]
    batch_size: Option<usize>,
    /// Worker threads sending batches (SDK default when unset).
    #[arg(long)]
    workers: Option<usize>,
    /// Queue capacity in records (SDK default when unset).
    #[arg(long)]
    queue_capacity: Option<usize>,
    /// Linger of a partial batch, in milliseconds (SDK default when unset).
    #[arg(long)]
    linger_ms: Option<u64>,
    /// The HTTP transport (hyper needs the `hyper` feature of this crate).
    #[arg(long, value_enum, default_value_t = TransportArg::Reqwest)]
    transport: TransportArg,
    /// Dimensions per record, 0 to 3 (`region`, `service`, `tier`).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u8).range(0..=3))]
    dimensions: u8,
    /// How long `shutdown` may take to deliver what is queued, in seconds; also how long a
    /// refused record may wait for room (any longer means delivery has stalled).
    #[arg(long, default_value_t = 300)]
    shutdown_timeout_s: u64,
    /// Meter through a disk spool in this directory (`ClientBuilder::spool`); it should be
    /// empty, and is left empty when every record was delivered.
    #[arg(long)]
    spool: Option<PathBuf>,
    /// When the spool syncs its files.
    #[arg(long, value_enum, default_value_t = FsyncArg::Every1s)]
    fsync: FsyncArg,
    /// Aggregate `ApiCalls` at the source, summed over windows of this many seconds
    /// (`ClientBuilder::aggregate`): the server receives one record per key and window.
    #[arg(long)]
    aggregate_window_s: Option<u64>,
    /// Records of the floor measurement (see the module docs); 0 skips it.
    #[arg(long, default_value_t = 300_000)]
    floor_records: u64,
}

/// One producer thread's measurements.
struct ThreadResult {
    meter: Histogram<u32>,
    accepted: Histogram<u32>,
    build: Histogram<u32>,
    meter_max_ns: u64,
    full_rejections: u64,
}

fn histogram() -> Result<Histogram<u32>, String> {
    Histogram::new_with_bounds(1, HISTOGRAM_MAX_NS, 3).map_err(|e| format!("histogram: {e}"))
}

fn nanos(elapsed: Duration) -> u64 {
    u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX)
}

fn main() {
    amberflo_examples::init_logging();
    let args = Args::parse();
    match run(&args) {
        Ok(report) => println!("{report}"),
        Err(message) => {
            eprintln!("ingest_load: {message}");
            std::process::exit(1);
        }
    }
}

fn build_client(args: &Args) -> Result<Client, String> {
    let builder = match args.transport {
        TransportArg::Reqwest => configured(args).use_reqwest(),
        #[cfg(feature = "hyper")]
        TransportArg::Hyper => configured(args).use_hyper(),
        #[cfg(not(feature = "hyper"))]
        TransportArg::Hyper => {
            return Err("--transport hyper needs `--features hyper` at build time".to_owned());
        }
    };
    builder
        .build()
        .map_err(|e| format!("cannot build the client: {e}"))
}

/// A client builder with the run's settings, the transport left to choose.
fn configured(args: &Args) -> ClientBuilder {
    let mut builder = Client::builder()
        .api_key(&args.api_key)
        .endpoint(&args.endpoint)
        .shutdown_timeout(Duration::from_secs(args.shutdown_timeout_s));
    if let Some(size) = args.batch_size {
        builder = builder.max_batch_size(size);
    }
    if let Some(workers) = args.workers {
        builder = builder.workers(workers);
    }
    if let Some(capacity) = args.queue_capacity {
        builder = builder.queue_capacity(capacity);
    }
    if let Some(linger) = args.linger_ms {
        builder = builder.linger(Duration::from_millis(linger));
    }
    if let Some(dir) = &args.spool {
        builder = builder.spool_config(SpoolConfig::new(dir).fsync(args.fsync.policy()));
    }
    if let Some(window) = args.aggregate_window_s {
        let window = Duration::from_secs(window);
        builder = builder.aggregate(Aggregation::sum(METER_API_NAME, window));
    }
    builder
}

fn run(args: &Args) -> Result<Value, String> {
    let threads = args.threads.max(1);
    let timer_overhead_ns = timer_overhead_ns()?;
    let customers: Vec<String> = (0..CUSTOMERS).map(|i| format!("customer-{i}")).collect();
    let cpu_start = process_cpu_seconds();
    let client = build_client(args)?;
    let rss_start_kib = proc_status_kib("VmRSS");
    let Metered {
        started,
        produced,
        threads: results,
    } = meter_all(&client, &customers, args.records, args)?;
    let wall = started.elapsed();

    let mut meter = histogram()?;
    let mut accepted = histogram()?;
    let mut build = histogram()?;
    let (mut meter_max_ns, mut full_rejections) = (0, 0);
    for result in results {
        meter.add(&result.meter).map_err(|e| e.to_string())?;
        accepted.add(&result.accepted).map_err(|e| e.to_string())?;
        build.add(&result.build).map_err(|e| e.to_string())?;
        meter_max_ns = meter_max_ns.max(result.meter_max_ns);
        full_rejections += result.full_rejections;
    }
    let stats = client.stats();
    let aggregation = client.aggregation_stats();
    let cpu_s = process_cpu_seconds() - cpu_start;
    let peak_rss_kib = proc_status_kib("VmHWM");
    drop(client);
    let accounted = delivered(args.records, &stats, &aggregation)?;
    // After the run and with the client gone, so that it neither shares the process with the
    // run nor raises its peak RSS.
    let floor_us_per_record = floor::measure(args, &customers)?;
    let wall_s = wall.as_secs_f64();
    Ok(json!({
        "impl": "amberflo-rs",
        "transport": args.transport.name(),
        "records": args.records,
        "threads": threads,
        "batch_size": args.batch_size.unwrap_or(amberflo_batcher::defaults::MAX_BATCH_SIZE),
        "workers": args.workers.unwrap_or(amberflo_batcher::defaults::WORKERS),
        "queue_capacity": args.queue_capacity.unwrap_or(amberflo_batcher::defaults::CAPACITY),
        "linger_ms": args.linger_ms.unwrap_or_else(|| {
            u64::try_from(amberflo_batcher::defaults::LINGER.as_millis()).unwrap_or(u64::MAX)
        }),
        "dimensions": args.dimensions,
        "spool": args.spool.is_some(),
        "fsync": args.spool.as_ref().map(|_| args.fsync.name()),
        "spool_syncs": stats.spool_syncs,
        "floor_records": args.floor_records,
        "floor_us_per_record": floor_us_per_record,
        "wall_s": wall_s,
        "produce_s": produced.as_secs_f64(),
        "records_per_s": accounted as f64 / wall_s.max(f64::EPSILON),
        "aggregate_window_s": args.aggregate_window_s,
        "aggregates_out": aggregation.aggregates_out,
        "meter_ns": percentiles(&meter, Some(meter_max_ns)),
        "meter_accepted_ns": percentiles(&accepted, None),
        "build_ns": percentiles(&build, None),
        "full_rejections": full_rejections,
        "timer_overhead_ns": timer_overhead_ns,
        "peak_rss_kib": peak_rss_kib,
        "rss_start_kib": rss_start_kib,
        "cpu_s": cpu_s,
        "delivered": stats.delivered,
        "failed": stats.failed,
        "rejected": stats.rejected,
        "retried": stats.retried,
    }))
}

/// How many records `stats` and `aggregation` say were delivered (folded into aggregates that
/// were, with aggregation), checked against the `records` metered.
pub(crate) fn delivered(
    records: u64,
    stats: &Stats,
    aggregation: &AggregationStats,
) -> Result<u64, String> {
    // With aggregation, the server gets the aggregates and the records passed through, which
    // stand for the records folded in and passed through.
    let sent = aggregation.aggregates_out + aggregation.passed_through;
    let delivered = match sent {
        0 => stats.delivered,
        _ => aggregation.records_in + aggregation.passed_through,
    };
    if delivered != records || stats.failed != 0 || (sent > 0 && stats.delivered != sent) {
        return Err(format!(
            "expected {records} records delivered, got {stats:?} and {aggregation:?}"
        ));
    }
    Ok(delivered)
}

/// What [`meter_all`] measured.
pub(crate) struct Metered {
    /// When the producers started.
    started: Instant,
    /// How long the producers took.
    produced: Duration,
    /// Each producer's measurements.
    threads: Vec<ThreadResult>,
}

/// Meters `records` records from the run's producer threads, then shuts `client` down.
pub(crate) fn meter_all(
    client: &Client,
    customers: &[String],
    records: u64,
    args: &Args,
) -> Result<Metered, String> {
    let threads = args.threads.max(1);
    let barrier = Barrier::new(
        usize::try_from(threads)
            .unwrap_or(usize::MAX)
            .saturating_add(1),
    );
    let (started, produced, results) = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|thread| {
                let share = records / threads + u64::from(thread < records % threads);
                let barrier = &barrier;
                scope.spawn(move || produce(client, barrier, customers, thread, share, args))
            })
            .collect();
        barrier.wait();
        let started = Instant::now();
        let results: Vec<Result<ThreadResult, String>> = handles
            .into_iter()
            .map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|_| Err("a producer thread panicked".to_owned()))
            })
            .collect();
        (started, started.elapsed(), results)
    });
    client
        .shutdown(Duration::from_secs(args.shutdown_timeout_s))
        .map_err(|e| format!("shutdown: {e}"))?;
    Ok(Metered {
        started,
        produced,
        threads: results.into_iter().collect::<Result<_, _>>()?,
    })
}

/// One producer: build `share` records and meter each, retrying refused ones.
fn produce(
    client: &Client,
    barrier: &Barrier,
    customers: &[String],
    thread: u64,
    share: u64,
    args: &Args,
) -> Result<ThreadResult, String> {
    let mut result = ThreadResult {
        meter: histogram()?,
        accepted: histogram()?,
        build: histogram()?,
        meter_max_ns: 0,
        full_rejections: 0,
    };
    let full_wait = Duration::from_secs(args.shutdown_timeout_s);
    // Spread the threads over the value tables so that they do not all send the same record.
    let offset = usize::try_from(thread).unwrap_or(0).wrapping_mul(7);
    barrier.wait();
    // Two clock reads a record: the end of one call starts the next record's build.
    let mut before_build = Instant::now();
    for i in 0..share {
        let n = usize::try_from(i).unwrap_or(0).wrapping_add(offset);
        let record = make_record(customers, n, args.dimensions)?;
        let before = Instant::now();
        result.build.saturating_record(nanos(before - before_build));
        let outcome = client.meter_record(record);
        let mut after = Instant::now();
        let ns = nanos(after - before);
        result.meter.saturating_record(ns);
        result.meter_max_ns = result.meter_max_ns.max(ns);
        match outcome {
            Ok(()) => result.accepted.saturating_record(ns),
            Err(MeterError::Rejected(refused)) if refused.is_full() => {
                result.full_rejections += 1;
                client
                    .meter_record_timeout(refused.into_inner(), full_wait)
                    .map_err(|e| format!("a refused record found no room: {e}"))?;
                // The wait is not part of the next record's build.
                after = Instant::now();
            }
            Err(other) => return Err(format!("meter_record failed: {other}")),
        }
        before_build = after;
    }
    Ok(result)
}

/// The `n`th record of the workload: built and validated, with a fresh id and the time now.
fn make_record(customers: &[String], n: usize, dimensions: u8) -> Result<MeterRecord, String> {
    let mut builder =
        MeterRecord::builder(METER_API_NAME, 1.0, customers[n % customers.len()].as_str());
    if dimensions >= 1 {
        builder = builder.dimension("region", REGIONS[n % REGIONS.len()]);
    }
    if dimensions >= 2 {
        builder = builder.dimension("service", SERVICES[n % SERVICES.len()]);
    }
    if dimensions >= 3 {
        builder = builder.dimension("tier", TIERS[n % TIERS.len()]);
    }
    builder.build().map_err(|e| format!("invalid record: {e}"))
}

/// `{p50, p99, p999, max, mean, count}` of a histogram, in nanoseconds.
fn percentiles(histogram: &Histogram<u32>, exact_max: Option<u64>) -> Value {
    json!({
        "p50": histogram.value_at_quantile(0.50),
        "p99": histogram.value_at_quantile(0.99),
        "p999": histogram.value_at_quantile(0.999),
        "max": exact_max.unwrap_or_else(|| histogram.max()),
        "mean": histogram.mean(),
        "count": histogram.len(),
    })
}

/// The median duration of an empty region timed like the `meter_record` calls.
fn timer_overhead_ns() -> Result<u64, String> {
    let mut empty = histogram()?;
    for _ in 0..200_000 {
        let before = Instant::now();
        empty.saturating_record(nanos(before.elapsed()));
    }
    Ok(empty.value_at_quantile(0.5))
}

/// A `kB` field of `/proc/self/status` (`VmHWM`, `VmRSS`), in KiB; 0 when unavailable.
fn proc_status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// CPU time of this process so far, all threads, in seconds (`CLOCK_PROCESS_CPUTIME_ID`).
pub(crate) fn process_cpu_seconds() -> f64 {
    let now = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    now.tv_sec as f64 + now.tv_nsec as f64 / 1e9
}
