//! An outage absorbed by the spool, over real HTTP to the emulator: 500,000 records metered
//! while every ingest request fails stay on disk, with bounded memory, and all arrive once the
//! server recovers. Alone in its binary, so that no other test's memory counts in its RSS.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::time::Duration;

use amberflo::{Client, FsyncPolicy, MeterRecord, RetryPolicy, SpoolConfig};
use amberflo_emulator::{Emulator, FailRequests};

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
    const WARM_UP: u64 = 20_000;
    const RECORDS: u64 = 500_000;
    let emulator = Emulator::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Every ingest request fails until the test clears the fault.
    emulator
        .faults()
        .fail_next(FailRequests::new(u32::MAX, 503).path_prefix("/ingest"))
        .unwrap();
    let client = Client::builder()
        .api_key("test-key")
        .endpoint(emulator.url())
        .linger(Duration::from_millis(20))
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
    // Warm up: the queue's cache fills, the workers make their transports and fail a few
    // times, the allocator sets up its arenas; then the baseline.
    for i in 0..WARM_UP {
        client.meter_record(record(i)).unwrap();
    }
    std::thread::sleep(Duration::from_millis(200));
    let baseline = rss_kib();
    for i in WARM_UP..WARM_UP + RECORDS {
        client.meter_record(record(i)).unwrap();
    }
    let during = rss_kib();
    let total = WARM_UP + RECORDS;
    let stats = client.stats();
    assert_eq!(stats.enqueued, total);
    assert_eq!(stats.rejected, 0);
    assert!(stats.spooled > total - 2_000, "{stats:?}");
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
        grown < in_memory_kib / 4,
        "RSS grew by {grown} KiB while metering into the spool (in memory: {in_memory_kib} KiB)"
    );

    emulator.faults().clear();
    client.flush(Duration::from_secs(120)).unwrap();
    let stats = client.stats();
    assert_eq!((stats.delivered, stats.failed), (total, 0), "{stats:?}");
    assert_eq!(stats.spooled, 0);
    assert_eq!(emulator.record_count() as u64, total);
    client.shutdown(Duration::from_secs(10)).unwrap();
}
