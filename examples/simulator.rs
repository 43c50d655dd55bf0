//! Meters records against Amberflo, or, with no API key, against an embedded emulator.
//!
//! ```text
//! cargo run --example simulator                      # offline: embedded emulator
//! cargo run --example simulator -- --api-key KEY --meter-api-name ApiCalls --meter-value 1 \
//!     --customer-id ID_X --dimensions '{"Name": "region", "Value": "us-east-1"}'
//! cargo run --release --example simulator -- --count 1000000 --threads 8   # load mode
//! cargo run --release --example simulator -- --count 1000000 --threads 8 --refuse-when-full
//! cargo run --example simulator -- --endpoint http://127.0.0.1:8080        # any server
//! cargo run --release --example simulator -- --count 100000 --spool /tmp/af-spool  # durable
//! cargo run --example simulator -- --count 0 --spool /tmp/af-spool    # deliver what it holds
//! cargo run --release --example simulator -- --count 1000000 --threads 4 --aggregate-window-s 60
//! cargo run --example simulator -- --endpoint http://127.0.0.1:8080 --count 200000 --rate 20000 \
//!     --aggregate-window-s 5   # aggregated; watch records in vs aggregates at the emulator's /
//! ```
//!
//! With `--aggregate-window-s N` the client sums the meter's records per customer, dimensions
//! and N-second window ([`Aggregation::sum`]) and sends one record per window instead. When the
//! target is an emulator (the embedded one, or `--endpoint`), the simulator reports its
//! aggregation figures (`Client::aggregation_stats`) to `POST /_emulator/client-stats` every
//! second and once at the end, for the emulator's page to show; never to Amberflo.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

use amberflo::aggregate::{Aggregation, AggregationStats};
use amberflo::types::{AggregationType, TimeGroupingInterval, TimeRange, UsageQuery};
use amberflo::{Client, MeterRecord};
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};

/// Meter usage records into Amberflo (or an embedded emulator when no API key is given).
#[derive(Debug, Parser)]
struct Args {
    #[command(flatten)]
    target: amberflo_examples::TargetArgs,
    /// The meter's API name.
    #[arg(long, default_value = "ApiCalls")]
    meter_api_name: String,
    /// The value of each record.
    #[arg(long, default_value_t = 1.0)]
    meter_value: f64,
    /// The customer metered.
    #[arg(long, default_value = "customer-1")]
    customer_id: String,
    /// Dimensions: {"Name": "region", "Value": "us-east-1"}, a list of those, or {"region": "us-east-1"}.
    #[arg(long)]
    dimensions: Option<String>,
    /// How many records to send (load mode when more than one).
    #[arg(long, default_value_t = 1)]
    count: u64,
    /// Producer threads.
    #[arg(long, default_value_t = 1)]
    threads: u64,
    /// Target records per second across all threads (default: as fast as possible).
    #[arg(long)]
    rate: Option<f64>,
    /// Records per request.
    #[arg(long)]
    batch_size: Option<usize>,
    /// Worker threads sending batches.
    #[arg(long)]
    workers: Option<usize>,
    /// Load mode: when the queue is full, refuse records (counted as rejected) instead of
    /// waiting for room, which is the default, so that every record is delivered.
    #[arg(long)]
    refuse_when_full: bool,
    /// Meter through a crash-safe disk spool in this directory (records not delivered by a
    /// previous run, e.g. one killed with Ctrl-C, are delivered first). With `--count 0`, only
    /// deliver what the directory holds, then exit.
    #[arg(long)]
    spool: Option<std::path::PathBuf>,
    /// Aggregate the meter at the source: sum its records per customer, dimensions and window
    /// of this many seconds (1 to 3600), sending one record per window. The figures go to the
    /// emulator's page when the target is an emulator.
    #[arg(long, value_name = "N")]
    aggregate_window_s: Option<u64>,
}

/// How long a producer waits for room in a full queue before the record counts as rejected.
const BACK_PRESSURE_WAIT: Duration = Duration::from_secs(60);

/// How often aggregation figures go to the emulator while the simulator runs.
const REPORT_EVERY: Duration = Duration::from_secs(1);

/// How long one report to the emulator may take.
const REPORT_TIMEOUT: Duration = Duration::from_secs(2);

fn main() -> Result<(), Box<dyn std::error::Error>> {
    amberflo_examples::init_logging();
    let args = Args::parse();
    let dimensions = match &args.dimensions {
        Some(text) => amberflo_examples::parse_dimensions(text)?,
        None => BTreeMap::new(),
    };
    let target = args.target.target()?;
    match &target.emulator {
        Some(emulator) => println!(
            "no API key: metering into the embedded emulator at {}",
            emulator.url()
        ),
        None => println!("metering into {}", args.target.describe()),
    }
    // Aggregation figures go to an emulator only, never to Amberflo.
    let reporter = match (args.aggregate_window_s, args.target.emulator_url(&target)) {
        (Some(_), Some(url)) => Some(Reporter::new(&url)),
        _ => None,
    };
    let mut builder = target.builder;
    if let Some(size) = args.batch_size {
        builder = builder.max_batch_size(size);
    }
    if let Some(workers) = args.workers {
        builder = builder.workers(workers);
    }
    if let Some(dir) = &args.spool {
        builder = builder.spool(dir);
    }
    if let Some(seconds) = args.aggregate_window_s {
        builder = builder.aggregate(Aggregation::sum(
            &args.meter_api_name,
            Duration::from_secs(seconds),
        ));
    }
    let client = builder.build()?;

    if let Some(dir) = &args.spool {
        println!(
            "spool: {} ({} record(s) left by an earlier run to deliver first)",
            dir.display(),
            client.stats().replayed
        );
    }
    if args.count > 1 {
        println!(
            "load mode: {} records from {} thread(s); {}",
            args.count,
            args.threads.max(1),
            if args.refuse_when_full {
                "a full queue refuses records (--refuse-when-full)"
            } else {
                "a full queue makes producers wait, so every record is delivered"
            }
        );
    }

    if let Some(reporter) = &reporter {
        println!(
            "reporting aggregation figures as {:?} to {}",
            reporter.client, reporter.url
        );
    }

    let started = Instant::now();
    let (stop_reporting, reporting) = match &reporter {
        Some(reporter) => {
            let (stop, stopped) = mpsc::channel::<()>();
            let (reporter, client) = (reporter.clone(), client.clone());
            let thread = std::thread::spawn(move || {
                // Until the sender is dropped (or sends), every second.
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(REPORT_EVERY)
                {
                    reporter.report(&client.aggregation_stats());
                }
            });
            (Some(stop), Some(thread))
        }
        None => (None, None),
    };
    let produced = produce(&client, &args, &dimensions);
    let shut_down = client.shutdown(Duration::from_secs(60));
    drop(stop_reporting);
    if let Some(thread) = reporting {
        let _ = thread.join();
    }
    let aggregation = client.aggregation_stats();
    if let Some(reporter) = &reporter {
        reporter.report(&aggregation);
    }
    let sent = produced?;
    shut_down?;
    let elapsed = started.elapsed().as_secs_f64();

    let stats = client.stats();
    // Aggregated, far fewer records are delivered than metered: the rate is the metered one.
    let rate_of = if args.aggregate_window_s.is_some() {
        sent
    } else {
        stats.delivered
    };
    println!(
        "sent {sent} records in {elapsed:.2}s ({:.0} records/s): delivered {}, failed {}, rejected {}",
        rate_of as f64 / elapsed.max(f64::EPSILON),
        stats.delivered,
        stats.failed,
        stats.rejected,
    );
    if let Some(seconds) = args.aggregate_window_s {
        println!(
            "aggregation ({seconds} s windows): {}",
            describe_aggregation(&aggregation)
        );
    }
    if args.spool.is_some() {
        println!(
            "spool: replayed {}, still spooled {} ({} bytes), damaged regions skipped {}",
            stats.replayed, stats.spooled, stats.spooled_bytes, stats.spool_corrupt
        );
    }
    if target.emulator.is_some() {
        print_emulated_usage(&client, &args.meter_api_name)?;
    }
    if args.aggregate_window_s.is_some() {
        // Every record metered was folded or passed through; each aggregate and each record
        // passed through was delivered.
        let seen = aggregation.records_in + aggregation.passed_through;
        if seen != sent {
            return Err(format!("{sent} records metered, but aggregation saw {seen}").into());
        }
        let expected = aggregation.aggregates_out + aggregation.passed_through;
        if stats.delivered != expected {
            return Err(format!(
                "{} of {expected} aggregated records were not delivered",
                expected - stats.delivered.min(expected),
            )
            .into());
        }
        return Ok(());
    }
    // Replayed records (with a spool) are delivered on top of this run's.
    let expected = args.count + stats.replayed;
    if !args.refuse_when_full && stats.delivered != expected {
        return Err(format!(
            "{} of {expected} records were not delivered",
            expected - stats.delivered.min(expected),
        )
        .into());
    }
    Ok(())
}

/// "N records in → M aggregates (R×), P passed through, K open keys", as the emulator's page
/// shows it.
fn describe_aggregation(stats: &AggregationStats) -> String {
    let ratio = match stats.reduction() {
        Some(reduction) => format!("{reduction:.1}×"),
        None => "no aggregate yet".to_owned(),
    };
    format!(
        "{} records in → {} aggregates ({ratio}), {} passed through, {} open keys",
        stats.records_in, stats.aggregates_out, stats.passed_through, stats.open_keys
    )
}

/// Sends this client's aggregation figures to an emulator (`POST /_emulator/client-stats`),
/// for its page. A failed report is printed once, and never fails the run.
#[derive(Debug, Clone)]
struct Reporter {
    /// Where the reports go.
    url: String,
    /// The name this run reports under.
    client: String,
    /// Whether a failure was printed already.
    warned: Arc<std::sync::atomic::AtomicBool>,
}

impl Reporter {
    fn new(emulator_url: &str) -> Self {
        Reporter {
            url: format!("{emulator_url}/_emulator/client-stats"),
            client: format!("simulator-{}", std::process::id()),
            warned: Arc::default(),
        }
    }

    fn report(&self, stats: &AggregationStats) {
        let body = serde_json::json!({
            "client": self.client,
            "recordsIn": stats.records_in,
            "aggregatesOut": stats.aggregates_out,
            "passedThrough": stats.passed_through,
            "openKeys": stats.open_keys,
        });
        if let Err(error) = amberflo_examples::post_json(&self.url, &body, REPORT_TIMEOUT)
            && !self.warned.swap(true, Ordering::Relaxed)
        {
            eprintln!("cannot report aggregation figures to the emulator: {error}");
        }
    }
}

/// Meters `args.count` records from `args.threads` threads, paced to `args.rate` if given.
fn produce(
    client: &Client,
    args: &Args,
    dimensions: &BTreeMap<String, String>,
) -> Result<u64, String> {
    let threads = args.threads.max(1);
    let progress = progress_bar(args.count);
    let sent = Arc::new(AtomicU64::new(0));
    let per_thread_interval = match args.rate {
        Some(rate) if rate > 0.0 => Some(
            Duration::try_from_secs_f64(threads as f64 / rate)
                .map_err(|_| format!("--rate {rate} is too small"))?,
        ),
        Some(rate) => return Err(format!("--rate must be positive, not {rate}")),
        None => None,
    };
    // Validate once, up front, so a bad argument fails fast with the field named.
    MeterRecord::builder(&args.meter_api_name, args.meter_value, &args.customer_id)
        .dimensions(dimensions)
        .build()
        .map_err(|error| error.to_string())?;

    std::thread::scope(|scope| {
        for thread in 0..threads {
            let share = args.count / threads + u64::from(thread < args.count % threads);
            let (client, sent, progress) = (client.clone(), Arc::clone(&sent), progress.clone());
            scope.spawn(move || {
                let start = Instant::now();
                for i in 0..share {
                    if let Some(interval) = per_thread_interval {
                        let due = start + interval.mul_f64(i as f64);
                        std::thread::sleep(due.saturating_duration_since(Instant::now()));
                    }
                    let record = MeterRecord::builder(
                        &args.meter_api_name,
                        args.meter_value,
                        &args.customer_id,
                    )
                    .dimensions(dimensions)
                    .build();
                    let accepted = record.is_ok_and(|record| {
                        if args.refuse_when_full {
                            client.meter_record(record).is_ok()
                        } else {
                            client
                                .meter_record_timeout(record, BACK_PRESSURE_WAIT)
                                .is_ok()
                        }
                    });
                    if accepted {
                        sent.fetch_add(1, Ordering::Relaxed);
                    }
                    if i % 1024 == 0 {
                        progress.set_position(sent.load(Ordering::Relaxed));
                    }
                }
            });
        }
    });
    let sent = sent.load(Ordering::Relaxed);
    progress.set_position(sent);
    progress.finish_and_clear();
    Ok(sent)
}

fn progress_bar(count: u64) -> ProgressBar {
    if count <= 1 {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(count);
    if let Ok(style) =
        ProgressStyle::with_template("{bar:40} {pos}/{len} records ({per_sec}, {eta} left)")
    {
        bar.set_style(style);
    }
    bar
}

/// Asks the emulator, through the SDK's usage API, what it aggregated per customer (API calls
/// still work after the client's metering has shut down).
fn print_emulated_usage(
    client: &Client,
    meter_api_name: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let now = SystemTime::now();
    let hour = Duration::from_secs(3600);
    let range = TimeRange::between(now - hour, now + hour)?;
    let query = UsageQuery::builder(
        meter_api_name,
        AggregationType::Sum,
        TimeGroupingInterval::Hour,
        range,
    )
    .group_by(["customerId"])
    .build()?;
    let report = client.blocking().usage().get(&query)?;
    println!("usage the emulator aggregated ({meter_api_name}, SUM, last hour):");
    for meter in &report.client_meters {
        let customer = meter
            .group
            .as_ref()
            .and_then(|group| group.group_info.get("customerId"));
        println!(
            "  {}: {}",
            customer.map_or("(all)", String::as_str),
            meter.group_value
        );
    }
    Ok(())
}
