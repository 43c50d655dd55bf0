//! Crash safety of the spool with real processes: a child process meters 200,000 records
//! through a spool, from one producer thread or from 16, and each thread writes how many of
//! its `meter` calls were accepted after each one; the test kills the child with SIGKILL at a
//! random point (three rounds with one producer, two with 16), then a new client on the same
//! directory delivers. Every accepted record must be at the emulator, exactly once.
//!
//! The test binary is its own child: run with `AMBERFLO_SPOOL_CHILD` set, `main` meters
//! instead of testing (hence `harness = false`).
#![allow(clippy::unwrap_used, clippy::print_stdout)]

#[path = "support/crash.rs"]
mod crash;

use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, Instant};

use amberflo::{Client, FsyncPolicy, MeterRecord, RetryPolicy, SpoolConfig};
use amberflo_emulator::Emulator;
use crash::{ChildSpec, KillPoints};

const RECORDS: u64 = 200_000;
const CHILD: &str = "AMBERFLO_SPOOL_CHILD";
/// Producer threads of each round.
const ROUNDS: [u64; 5] = [1, 1, 1, 16, 16];

fn client(url: &str, dir: &Path) -> Client {
    Client::builder()
        .api_key("test-key")
        .endpoint(url)
        .linger(Duration::from_millis(20))
        .max_batch_size(500)
        .retry_policy(RetryPolicy::new([Duration::from_millis(20); 20]))
        .spool_config(SpoolConfig::new(dir).fsync(FsyncPolicy::Never))
        .build()
        .unwrap()
}

fn unique_id(round: u64, thread: u64, i: u64) -> String {
    format!("crash-{round}-{thread}-{i}")
}

/// The child: meters from its producer threads until killed, each recording its number of
/// accepted calls after each one (the test kills it before the last record).
fn child(spec: &ChildSpec) -> ! {
    let client = client(&spec.url, &spec.spool());
    spec.produce(RECORDS / spec.producers, |thread, i| {
        let record = MeterRecord::builder("ApiCalls", 1.0, "customer-1")
            .unique_id(unique_id(spec.round, thread, i))
            .build()
            .unwrap();
        client.meter_record(record).unwrap();
    })
}

fn main() {
    if let Some(spec) = ChildSpec::from_env(CHILD) {
        child(&spec);
    }
    let emulator = Emulator::start().unwrap();
    let mut kill_points = KillPoints::new();
    let started = Instant::now();
    for (round, producers) in (0u64..).zip(ROUNDS) {
        let dir = tempfile::tempdir().unwrap();
        let spec = ChildSpec::new(emulator.url(), dir.path(), round, producers);
        let accepted_so_far = || spec.accepted();
        // A kill point between 2% and 75% of the records.
        let kill_at = kill_points.next_in(RECORDS / 50, RECORDS * 3 / 4);
        let mut child = spec.spawn(CHILD);
        // Not a timing assertion: a guard against a child that hangs before the kill point.
        let give_up = Instant::now() + Duration::from_secs(120);
        while accepted_so_far().iter().sum::<u64>() < kill_at {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("the child exited before the kill point: {status}");
            }
            assert!(
                Instant::now() < give_up,
                "the child never reached {kill_at} records"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let accepted = accepted_so_far();
        let prefix = format!("crash-{round}-");
        let before = emulator
            .records()
            .iter()
            .filter(|record| record.unique_id().to_string().starts_with(&prefix))
            .count();

        let survivor = client(emulator.url(), &spec.spool());
        survivor.shutdown(Duration::from_secs(60)).unwrap();
        let stats = survivor.stats();
        assert_eq!(stats.delivered, stats.enqueued, "{stats:?}");
        assert_eq!(stats.failed, 0, "{stats:?}");
        drop(survivor);

        let records = emulator.records();
        let ids: Vec<String> = records
            .iter()
            .map(|record| record.unique_id().to_string())
            .filter(|id| id.starts_with(&prefix))
            .collect();
        let unique: HashSet<&String> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len(), "the emulator kept a duplicate");
        for (thread, &count) in (0u64..).zip(&accepted) {
            for i in 0..count {
                assert!(
                    unique.contains(&unique_id(round, thread, i)),
                    "round {round}: record {i} of producer {thread}, accepted ({count} were), \
                     never arrived"
                );
            }
        }
        // A producer's call after its last count written may have been accepted too (killed
        // between the two), and nothing else.
        let extra: Vec<&&String> = unique
            .iter()
            .filter(|id| {
                let (thread, i) = id[prefix.len()..].split_once('-').unwrap();
                let thread: usize = thread.parse().unwrap();
                i.parse::<u64>().unwrap() > accepted[thread]
            })
            .collect();
        assert!(
            extra.is_empty(),
            "round {round}: records never accepted arrived: {extra:?}"
        );
        println!(
            "spool_crash round {round} ({producers} producer(s)): killed at {} accepted \
             (target {kill_at}); {} already delivered by the child, {} replayed by the new \
             client; emulator duplicates dropped so far: {}",
            accepted.iter().sum::<u64>(),
            before,
            stats.replayed,
            emulator.stats().duplicates_dropped,
        );
    }
    println!(
        "spool_crash: {} kill rounds passed in {:.1}s (seed {})",
        ROUNDS.len(),
        started.elapsed().as_secs_f64(),
        kill_points.seed
    );
}
