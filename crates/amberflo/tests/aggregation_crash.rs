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

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::fs::{self, File, OpenOptions};
use std::hash::BuildHasher;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use amberflo::aggregate::Aggregation;
use amberflo::{Client, FsyncPolicy, RetryPolicy, SpoolConfig};
use amberflo_emulator::Emulator;

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

/// The file where producer `thread` keeps its count of accepted calls.
fn count_file(dir: &Path, thread: u64) -> PathBuf {
    dir.join(format!("count-{thread}"))
}

/// The child: meters from `producers` threads until killed, each recording its number of
/// accepted calls after each one.
fn child(spec: &str) {
    let mut parts = spec.splitn(5, '|');
    let (url, dir, counts, round, producers) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        Path::new(parts.next().unwrap()),
        parts.next().unwrap().parse::<u64>().unwrap(),
        parts.next().unwrap().parse::<u64>().unwrap(),
    );
    let client = client(url, Path::new(dir));
    std::thread::scope(|scope| {
        for thread in 0..producers {
            let client = &client;
            scope.spawn(move || {
                let mut count = OpenOptions::new()
                    .write(true)
                    .open(count_file(counts, thread))
                    .unwrap();
                let customer = customer(round, thread);
                for i in 0u64.. {
                    client.meter("ApiCalls", 1.0, &customer).unwrap();
                    count.seek(SeekFrom::Start(0)).unwrap();
                    count.write_all(&(i + 1).to_le_bytes()).unwrap();
                    // About 20,000 records a second per thread: windows close and aggregates
                    // go out while the child runs.
                    if i % 100 == 99 {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                }
            });
        }
    });
}

fn read_count(path: &Path) -> u64 {
    let bytes = fs::read(path).unwrap();
    let mut count = [0; 8];
    count.copy_from_slice(&bytes[..8]);
    u64::from_le_bytes(count)
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
    if let Ok(spec) = std::env::var(CHILD) {
        child(&spec);
        return;
    }
    let emulator = Emulator::start().unwrap();
    let mut rng_state = RandomState::new().hash_one(Instant::now());
    for (round, producers) in (0u64..).zip(ROUNDS) {
        let dir = tempfile::tempdir().unwrap();
        let spool = dir.path().join("spool");
        for thread in 0..producers {
            File::create(count_file(dir.path(), thread))
                .unwrap()
                .write_all(&0u64.to_le_bytes())
                .unwrap();
        }
        let accepted_so_far = || -> Vec<u64> {
            (0..producers)
                .map(|thread| read_count(&count_file(dir.path(), thread)))
                .collect()
        };
        // Killed after 1.5 to 4 s: several windows closed and delivered, one being delivered
        // or folded.
        rng_state = rng_state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let run_for = Duration::from_millis(1_500 + (rng_state >> 33) % 2_500);

        let spec = format!(
            "{}|{}|{}|{round}|{producers}",
            emulator.url(),
            spool.display(),
            dir.path().display()
        );
        // Slow deliveries (each request answered after 300 ms): a kill often lands while a
        // window's aggregates are on their way, delivered or not, and not acknowledged yet.
        emulator.faults().set_latency(Duration::from_millis(300));
        let mut child = Command::new(std::env::current_exe().unwrap())
            .env(CHILD, spec)
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
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
        let accepted = accepted_so_far();
        let before = usage(&emulator);

        let survivor = client(emulator.url(), &spool);
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
}
