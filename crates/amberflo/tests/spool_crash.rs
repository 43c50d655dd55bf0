//! Crash safety of the spool with real processes: a child process meters 200,000 records
//! through a spool and writes how many `meter` calls were accepted after each one; the test
//! kills it with SIGKILL at a random point (three times), then a new client on the same
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
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use amberflo::{Client, FsyncPolicy, MeterRecord, RetryPolicy, SpoolConfig};
use amberflo_emulator::Emulator;

const RECORDS: u64 = 200_000;
const CHILD: &str = "AMBERFLO_SPOOL_CHILD";
const ROUNDS: u64 = 3;

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

fn unique_id(round: u64, i: u64) -> String {
    format!("crash-{round}-{i}")
}

/// The child: meters until killed, recording the number of accepted calls after each one.
fn child(spec: &str) {
    let mut parts = spec.splitn(4, '|');
    let (url, dir, count_file, round) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap().parse::<u64>().unwrap(),
    );
    let client = client(url, Path::new(dir));
    let mut count = OpenOptions::new().write(true).open(count_file).unwrap();
    for i in 0..RECORDS {
        let record = MeterRecord::builder("ApiCalls", 1.0, "customer-1")
            .unique_id(unique_id(round, i))
            .build()
            .unwrap();
        client.meter_record(record).unwrap();
        count.seek(SeekFrom::Start(0)).unwrap();
        count.write_all(&(i + 1).to_le_bytes()).unwrap();
    }
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
    for round in 0..ROUNDS {
        let dir = tempfile::tempdir().unwrap();
        let spool = dir.path().join("spool");
        let count_file = dir.path().join("count");
        File::create(&count_file)
            .unwrap()
            .write_all(&0u64.to_le_bytes())
            .unwrap();
        // A kill point between 2% and 75% of the records.
        rng_state = rng_state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let kill_at = RECORDS / 50 + (rng_state >> 33) % (RECORDS * 3 / 4 - RECORDS / 50);

        let spec = format!(
            "{}|{}|{}|{round}",
            emulator.url(),
            spool.display(),
            count_file.display()
        );
        let mut child = Command::new(std::env::current_exe().unwrap())
            .env(CHILD, spec)
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        // Not a timing assertion: a guard against a child that hangs before the kill point.
        let give_up = Instant::now() + Duration::from_secs(120);
        while read_count(&count_file) < kill_at {
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
        let accepted = read_count(&count_file);
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
        for i in 0..accepted {
            assert!(
                unique.contains(&unique_id(round, i)),
                "round {round}: accepted record {i} of {accepted} never arrived"
            );
        }
        // The call after the last count written may have been accepted too (killed between
        // the two), and nothing else.
        let extra: Vec<&&String> = unique
            .iter()
            .filter(|id| {
                let i: u64 = id[prefix.len()..].parse().unwrap();
                i >= accepted
            })
            .collect();
        assert!(
            extra.is_empty() || (extra.len() == 1 && **extra[0] == unique_id(round, accepted)),
            "round {round}: records never accepted arrived: {extra:?}"
        );
        println!(
            "spool_crash round {round}: killed at {accepted} accepted (target {kill_at}); \
             {} already delivered by the child, {} replayed by the new client; \
             emulator duplicates dropped so far: {}",
            before,
            stats.replayed,
            emulator.stats().duplicates_dropped,
        );
    }
    println!(
        "spool_crash: {ROUNDS} kill rounds passed in {:.1}s (seed {seed})",
        started.elapsed().as_secs_f64()
    );
}
