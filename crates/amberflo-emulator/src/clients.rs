//! [`ClientStats`]: what clients that aggregate at the source report about themselves
//! (`POST /_emulator/client-stats`), so the console can show how many records became the
//! aggregates the emulator received. The emulator only sees the aggregates; the records
//! folded into them never reach it, so the client tells.
//!
//! The latest report of each client name is kept, for at most [`MAX_CLIENTS`] names: a report
//! from one more name drops the name whose latest report is the oldest.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError};

use serde::{Deserialize, Serialize};

/// The most client names whose latest report the emulator keeps; a report from one more name
/// drops the name that reported least recently.
pub const MAX_CLIENTS: usize = 64;

/// The longest client name accepted, in bytes.
pub const MAX_CLIENT_NAME_BYTES: usize = 256;

/// The latest source-side aggregation figures one client reported (what
/// `GET /_emulator/client-stats` returns, and the console's `clients`).
///
/// The figures are the client's own (in the Rust SDK, `Client::aggregation_stats()`), as it
/// sent them; the emulator stores them as they are.
///
/// ```
/// use amberflo_emulator::ClientStats;
///
/// let stats: ClientStats = serde_json::from_str(
///     r#"{"client": "api-1", "recordsIn": 1000, "aggregatesOut": 4, "passedThrough": 0,
///         "openKeys": 2, "reportedAtMillis": 1700000000000}"#,
/// )?;
/// assert_eq!(stats.reduction(), Some(250.0));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct ClientStats {
    /// The name the client reported under (one entry per name).
    pub client: String,
    /// Records the client folded into aggregates.
    pub records_in: u64,
    /// Aggregate records the client sent on.
    pub aggregates_out: u64,
    /// Records of aggregated meters the client sent un-aggregated.
    pub passed_through: u64,
    /// Aggregation cells open in the client at the time of the report.
    pub open_keys: u64,
    /// When the emulator received this report, in Unix milliseconds.
    pub reported_at_millis: i64,
}

impl ClientStats {
    /// Records folded per aggregate sent (`records_in / aggregates_out`), once one was sent.
    pub fn reduction(&self) -> Option<f64> {
        (self.aggregates_out > 0).then(|| self.records_in as f64 / self.aggregates_out as f64)
    }
}

/// The body of `POST /_emulator/client-stats`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ClientReport {
    client: String,
    records_in: u64,
    aggregates_out: u64,
    passed_through: u64,
    open_keys: u64,
}

impl ClientReport {
    /// The stored form of this report, received at `now_millis`; a reason naming the field
    /// when the client name is blank or too long.
    pub(crate) fn into_stats(self, now_millis: i64) -> Result<ClientStats, String> {
        if amberflo_types::is_blank(&self.client) {
            return Err("client must not be blank".to_owned());
        }
        if self.client.len() > MAX_CLIENT_NAME_BYTES {
            return Err(format!(
                "client must be at most {MAX_CLIENT_NAME_BYTES} bytes, not {}",
                self.client.len()
            ));
        }
        Ok(ClientStats {
            client: self.client,
            records_in: self.records_in,
            aggregates_out: self.aggregates_out,
            passed_through: self.passed_through,
            open_keys: self.open_keys,
            reported_at_millis: now_millis,
        })
    }
}

/// The latest report of each client, least recently reported first.
#[derive(Debug, Default)]
pub(crate) struct ClientBoard {
    reports: Mutex<VecDeque<ClientStats>>,
}

impl ClientBoard {
    fn lock(&self) -> MutexGuard<'_, VecDeque<ClientStats>> {
        self.reports.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Keeps `stats` as its client's latest report, dropping the least recently reported
    /// client past [`MAX_CLIENTS`].
    pub(crate) fn report(&self, stats: ClientStats) {
        let mut reports = self.lock();
        reports.retain(|kept| kept.client != stats.client);
        reports.push_back(stats);
        while reports.len() > MAX_CLIENTS {
            reports.pop_front();
        }
    }

    /// Every client's latest report, ordered by client name.
    pub(crate) fn list(&self) -> Vec<ClientStats> {
        let mut list: Vec<ClientStats> = self.lock().iter().cloned().collect();
        list.sort_by(|a, b| a.client.cmp(&b.client));
        list
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(client: &str, records_in: u64) -> ClientStats {
        ClientStats {
            client: client.to_owned(),
            records_in,
            ..ClientStats::default()
        }
    }

    #[test]
    fn keeps_the_latest_report_per_client_and_drops_the_least_recent() {
        let board = ClientBoard::default();
        for index in 0..MAX_CLIENTS {
            board.report(stats(&format!("c{index:03}"), 1));
        }
        // c000 reports again: c001 is now the least recent.
        board.report(stats("c000", 2));
        board.report(stats("new", 1));
        let list = board.list();
        assert_eq!(list.len(), MAX_CLIENTS);
        assert!(list.iter().all(|kept| kept.client != "c001"));
        let c000: Vec<_> = list.iter().filter(|kept| kept.client == "c000").collect();
        assert_eq!(c000.len(), 1);
        assert_eq!(c000[0].records_in, 2);
        assert_eq!(list[0].client, "c000", "ordered by name");
    }

    #[test]
    fn reports_name_a_bad_client() {
        let report = |client: &str| ClientReport {
            client: client.to_owned(),
            records_in: 1,
            aggregates_out: 1,
            passed_through: 0,
            open_keys: 0,
        };
        for bad in ["", " \t", &"x".repeat(MAX_CLIENT_NAME_BYTES + 1)] {
            let error = report(bad).into_stats(0).unwrap_err();
            assert!(error.starts_with("client must"), "{error}");
        }
        let stored = report("a").into_stats(42).unwrap();
        assert_eq!(stored.reported_at_millis, 42);
        assert_eq!(stored.reduction(), Some(1.0));
        assert_eq!(ClientStats::default().reduction(), None);
    }
}
