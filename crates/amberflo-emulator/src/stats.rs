//! [`Stats`], what `GET /_emulator/stats` reports, and the server's request counters.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

/// A snapshot of what the emulator holds and has done since it started.
///
/// Request counters cover API requests only (not `/`, `/portal/...` or `/_emulator/...`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct Stats {
    /// Meter records stored now.
    pub records: u64,
    /// Custom-schema records stored now.
    pub custom_records: u64,
    /// Customers that exist now.
    pub customers: u64,
    /// API requests received (whatever their outcome).
    pub requests_served: u64,
    /// API requests failed or dropped by an injected fault.
    pub requests_failed_by_faults: u64,
    /// Of those, connections closed without a response.
    pub connections_dropped: u64,
    /// API requests refused for a missing or wrong `X-API-KEY`.
    pub unauthorized: u64,
    /// Records dropped as duplicates.
    pub duplicates_dropped: u64,
    /// Ingest requests accepted.
    pub ingest_batches: u64,
    /// Ingest requests rejected (bad gzip, JSON or record).
    pub ingest_rejected: u64,
    /// Requests whose handler panicked (answered with 500; the server kept running).
    pub handler_panics: u64,
}

/// The server's request counters.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) requests: AtomicU64,
    pub(crate) faulted: AtomicU64,
    pub(crate) dropped: AtomicU64,
    pub(crate) unauthorized: AtomicU64,
    pub(crate) panics: AtomicU64,
}

impl Counters {
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}
