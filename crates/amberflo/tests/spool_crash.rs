//! Crash safety of the spool with real processes: a child process meters 200,000 records
//! through a spool, from one producer thread or from 16, and each thread writes how many of
//! its `meter` calls were accepted after each one; the test kills the child with SIGKILL at a
//! random point (three rounds with one producer, two with 16), then a new client on the same
//! directory delivers. Every accepted record must be at the emulator, exactly once.
//!
//! The test binary is its own child: run with `AMBERFLO_SPOOL_CHILD` set, `main` meters
//! instead of testing (hence `harness = false`).
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::collections::HashSet;
use std::collections::hash_map::RandomState;
use std::fs::{self, File, OpenOptions};
use std::hash::BuildHasher;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use amberflo::{Client, FsyncPolicy, MeterRecord, RetryPolicy, SpoolConfig};
use amberflo_emulator::Emulator;

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
                for i in 0..RECORDS / producers {
                    let record = MeterRecord::builder("ApiCalls", 1.0, "customer-1")
                        .unique_id(unique_id(round, thread, i))
                        .build()
                        .unwrap();
                    client.meter_record(record).unwrap();
                    count.seek(SeekFrom::Start(0)).unwrap();
                    count.write_all(&(i + 1).to_le_bytes()).unwrap();
                }
            });
        }
    });
    // Wait to be killed (the test kills before the last record).
    loop {
        std::thread::sleep(Duration::from_secs(1));
    }
}

fn read_count(path: &Path) -> u64 {
    let bytes = fs::read(path).unwrap();
    let mut count = [0; 8];
    count.copy_from_slice(&bytes[..8]);
    u64::from_le_bytes(count)
}

fn main() {
    if let Ok(spec) = std::env::var(CHILD) {
        child(&spec);
        return;
    }
    let emulator = Emulator::start().unwrap();
    let seed = RandomState::new().hash_one(Instant::now());
    let mut rng_state = seed;
    let started = Instant::now();
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
        // A kill point between 2% and 75% of the records.
        rng_state = rng_state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let kill_at = RECORDS / 50 + (rng_state >> 33) % (RECORDS * 3 / 4 - RECORDS / 50);

        let spec = format!(
            "{}|{}|{}|{round}|{producers}",
            emulator.url(),
            spool.display(),
            dir.path().display()
        );
        let mut child = Command::new(std::env::current_exe().unwrap())
            .env(CHILD, spec)
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
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

        let survivor = client(emulator.url(), &spool);
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
        "spool_crash: {} kill rounds passed in {:.1}s (seed {seed})",
        ROUNDS.len(),
        started.elapsed().as_secs_f64()
    );
}
