//! Crash safety of aggregation with a spool, with real processes: a child process meters
//! records of an aggregated meter (windows of 1 s, no grace, so windows close and their
//! aggregates are delivered while it runs) through a spool, from one producer thread or from
//! four, each writing how many of its `meter` calls were accepted after each one; the test
//! kills the child with SIGKILL at a random point, during aggregation and during delivery
//! (the emulator answers each request after 300 ms meanwhile), then a new client on the same
//! directory delivers what is left. Every customer's usage at
//! the emulator must be exactly its accepted records: nothing lost, nothing counted twice.
//!
//! The test binary is its own child: run with `AMBERFLO_AGGREGATION_CHILD` set, `main` meters
//! instead of testing (hence `harness = false`).
#![allow(clippy::unwrap_used, clippy::print_stdout)]

#[path = "support/crash.rs"]
mod crash;

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use amberflo::aggregate::Aggregation;
use amberflo::{Client, FsyncPolicy, RetryPolicy, SpoolConfig};
use amberflo_emulator::Emulator;
use crash::{ChildSpec, KillPoints};

const CHILD: &str = "AMBERFLO_AGGREGATION_CHILD";
/// Producer threads of each round.
const ROUNDS: [u64; 3] = [1, 4, 4];

fn client(url: &str, dir: &Path) -> Client {
    Client::builder()
        .api_key("test-key")
        .endpoint(url)
        .linger(Duration::from_millis(20))
        .retry_policy(RetryPolicy::new([Duration::from_millis(20); 20]))
        .spool_config(SpoolConfig::new(dir).fsync(FsyncPolicy::Never))
        .aggregate(Aggregation::sum("ApiCalls", Duration::from_secs(1)).grace(Duration::ZERO))
        .build()
        .unwrap()
}

fn customer(round: u64, thread: u64) -> String {
    format!("crash-{round}-{thread}")
}

/// The child: meters from its producer threads until killed, each recording its number of
/// accepted calls after each one.
fn child(spec: &ChildSpec) -> ! {
    let client = client(&spec.url, &spec.spool());
    let customers: Vec<String> = (0..spec.producers)
        .map(|thread| customer(spec.round, thread))
        .collect();
    spec.produce(u64::MAX, |thread, i| {
        client
            .meter("ApiCalls", 1.0, &customers[thread as usize])
            .unwrap();
        // About 20,000 records a second per thread: windows close and aggregates go out
        // while the child runs.
        if i % 100 == 99 {
            std::thread::sleep(Duration::from_millis(5));
        }
    })
}

/// Each customer's usage at the emulator: the sum of its records' values.
fn usage(emulator: &Emulator) -> HashMap<String, f64> {
    let mut usage = HashMap::new();
    for record in emulator.records() {
        *usage.entry(record.customer_id().to_owned()).or_default() += record.meter_value();
    }
    usage
}

fn main() {
    if let Some(spec) = ChildSpec::from_env(CHILD) {
        child(&spec);
    }
    let emulator = Emulator::start().unwrap();
    let mut kill_points = KillPoints::new();
    for (round, producers) in (0u64..).zip(ROUNDS) {
        let dir = tempfile::tempdir().unwrap();
        let spec = ChildSpec::new(emulator.url(), dir.path(), round, producers);
        // Killed after 1.5 to 4 s: several windows closed and delivered, one being delivered
        // or folded.
        let run_for = Duration::from_millis(kill_points.next_in(1_500, 4_000));
        // Slow deliveries (each request answered after 300 ms): a kill often lands while a
        // window's aggregates are on their way, delivered or not, and not acknowledged yet.
        emulator.faults().set_latency(Duration::from_millis(300));
        let mut child = spec.spawn(CHILD);
        let started = Instant::now();
        while started.elapsed() < run_for {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("the child exited before it was killed: {status}");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        emulator.faults().set_latency(Duration::ZERO);
        let accepted = spec.accepted();
        let before = usage(&emulator);

        let survivor = client(emulator.url(), &spec.spool());
        survivor.shutdown(Duration::from_secs(60)).unwrap();
        let stats = survivor.stats();
        assert_eq!(stats.failed, 0, "{stats:?}");
        drop(survivor);

        let after = usage(&emulator);
        for (thread, &count) in (0u64..).zip(&accepted) {
            let customer = customer(round, thread);
            let total = after.get(&customer).copied().unwrap_or(0.0);
            // A producer's call after its last count written may have been accepted too
            // (killed between the two), and nothing else.
            assert!(
                total == count as f64 || total == count as f64 + 1.0,
                "round {round}, producer {thread}: {count} records accepted, usage {total} \
                 (before the restart: {:?})",
                before.get(&customer)
            );
        }
        println!(
            "aggregation_crash round {round} ({producers} producer(s)): killed after {:?} at \
             {} accepted; usage before the restart {}, after {}; records at the emulator {}, \
             duplicates it dropped so far {}",
            run_for,
            accepted.iter().sum::<u64>(),
            (0..producers)
                .map(|thread| before.get(&customer(round, thread)).copied().unwrap_or(0.0))
                .sum::<f64>(),
            (0..producers)
                .map(|thread| after.get(&customer(round, thread)).copied().unwrap_or(0.0))
                .sum::<f64>(),
            emulator.record_count(),
            emulator.stats().duplicates_dropped,
        );
    }
    println!(
        "aggregation_crash: {} kill rounds passed (seed {})",
        ROUNDS.len(),
        kill_points.seed
    );
}
