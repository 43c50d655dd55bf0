//! The spool through the facade, over real HTTP to the emulator: an outage absorbed on disk
//! with bounded memory, and the directory lock between two clients.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::time::Duration;

use amberflo::{Client, Error, FsyncPolicy, MeterRecord, RetryPolicy, SpoolConfig};
use amberflo_batcher::BuildError;
use amberflo_emulator::{Emulator, FailRequests};

fn builder(emulator: &Emulator) -> amberflo::ClientBuilder {
    Client::builder()
        .api_key("test-key")
        .endpoint(emulator.url())
        .linger(Duration::from_millis(20))
}

/// The process's resident set in KiB, from `/proc/self/status`.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find(|line| line.starts_with("VmRSS:"))
        .unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn an_outage_is_absorbed_on_disk_and_everything_arrives_with_bounded_memory() {
    const RECORDS: u64 = 500_000;
    let emulator = Emulator::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Every ingest request fails until the test clears the fault.
    emulator
        .faults()
        .fail_next(FailRequests::new(u32::MAX, 503).path_prefix("/ingest"))
        .unwrap();
    let client = builder(&emulator)
        .queue_capacity(1_000)
        .max_batch_size(500)
        // Retries outlast the outage: 20 ms apart, many times.
        .retry_policy(RetryPolicy::new(vec![Duration::from_millis(20); 10_000]))
        .spool_config(SpoolConfig::new(dir.path()).fsync(FsyncPolicy::Never))
        .build()
        .unwrap();
    let record = |i: u64| {
        MeterRecord::builder("ApiCalls", 1.0, "customer-1")
            .unique_id(format!("outage-{i}"))
            .dimension("region", "us-east-1")
            .build()
            .unwrap()
    };
    // Warm up allocator pools and the runtime, then take the baseline.
    let baseline = rss_kib();
    for i in 0..RECORDS {
        client.meter_record(record(i)).unwrap();
    }
    let during = rss_kib();
    let stats = client.stats();
    assert_eq!(stats.enqueued, RECORDS);
    assert_eq!(stats.rejected, 0);
    assert!(stats.spooled > RECORDS - 2_000, "{stats:?}");
    assert!(emulator.stats().requests_failed_by_faults > 0);

    // Holding the records in memory would take at least their struct size each (and their
    // heap strings besides); the spool keeps a bounded cache.
    let in_memory_kib = RECORDS * std::mem::size_of::<MeterRecord>() as u64 / 1024;
    let grown = during.saturating_sub(baseline);
    println!(
        "outage: RSS {baseline} KiB before, {during} KiB after metering {RECORDS} records \
         (+{grown} KiB; in memory they would take over {in_memory_kib} KiB); {} bytes spooled",
        stats.spooled_bytes
    );
    assert!(
        grown < in_memory_kib / 2,
        "RSS grew by {grown} KiB while metering into the spool (in memory: {in_memory_kib} KiB)"
    );

    emulator.faults().clear();
    client.flush(Duration::from_secs(120)).unwrap();
    let stats = client.stats();
    assert_eq!((stats.delivered, stats.failed), (RECORDS, 0), "{stats:?}");
    assert_eq!(stats.spooled, 0);
    assert_eq!(emulator.record_count() as u64, RECORDS);
    client.shutdown(Duration::from_secs(10)).unwrap();
}

#[test]
fn a_second_client_on_the_directory_gets_the_lock_error() {
    let emulator = Emulator::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let first = builder(&emulator).spool(dir.path()).build().unwrap();
    let error = builder(&emulator).spool(dir.path()).build().unwrap_err();
    assert!(
        matches!(&error, Error::Batching(BuildError::SpoolLocked { dir: locked }) if locked.starts_with(dir.path())),
        "{error}"
    );
    assert!(
        error.to_string().contains("in use by another engine"),
        "{error}"
    );
    first.meter("ApiCalls", 1.0, "customer-1").unwrap();
    first.shutdown(Duration::from_secs(10)).unwrap();
    drop(first);
    // Released with the first client; the second delivers nothing twice.
    let second = builder(&emulator).spool(dir.path()).build().unwrap();
    assert_eq!(second.stats().replayed, 0);
    second.shutdown(Duration::from_secs(10)).unwrap();
    assert_eq!(emulator.record_count(), 1);
}

#[test]
fn custom_payloads_are_spooled_too() {
    let emulator = Emulator::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let client = builder(&emulator).spool(dir.path()).build().unwrap();
    client
        .send_custom(serde_json::json!({"event": "signup", "customerId": "c-1"}))
        .unwrap();
    client.shutdown(Duration::from_secs(10)).unwrap();
    let stats = client.custom_stats();
    assert_eq!((stats.enqueued, stats.delivered, stats.spooled), (1, 1, 0));
    assert!(dir.path().join("custom").join("LOCK").exists());
    assert!(dir.path().join("records").join("LOCK").exists());
}
