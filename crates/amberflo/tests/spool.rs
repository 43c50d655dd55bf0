//! The spool through the facade, over real HTTP to the emulator: the directory lock between two
//! clients, custom payloads (the outage test has a binary of its own, `spool_outage.rs`).
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::time::Duration;

use amberflo::BuildError;
use amberflo::{Client, Error};
use amberflo_emulator::Emulator;

fn builder(emulator: &Emulator) -> amberflo::ClientBuilder {
    Client::builder()
        .api_key("test-key")
        .endpoint(emulator.url())
        .linger(Duration::from_millis(20))
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
