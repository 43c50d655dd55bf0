//! Fault injection: fail the next N requests with a status (and `Retry-After`), delay every
//! request, or drop the next N connections without a response.
//!
//! Faults apply to API requests only: everything except the emulator's own routes (`/`, the
//! page; `/_emulator/...`; `/portal/...`), so a test can always inspect and clear them. A fault
//! with a path prefix applies only to requests whose path starts with it (e.g. `/ingest`),
//! and only those consume its count. Each kind holds one setting at a time; setting it again
//! replaces it. Over HTTP, `POST /_emulator/faults` takes a [`FaultSettings`] JSON object,
//! `GET` returns the current one (with remaining counts) and `DELETE` clears all.

use std::sync::Mutex;
use std::time::Duration;

use http::{HeaderValue, StatusCode};
use serde::{Deserialize, Serialize};

/// Fail the next `count` requests with `status` (JSON: `{"count": 3, "status": 503,
/// "retryAfter": "2", "pathPrefix": "/ingest", "message": "..."}`).
///
/// ```
/// use amberflo_emulator::FailRequests;
///
/// let fault = FailRequests::new(2, 429).retry_after_secs(1).path_prefix("/ingest");
/// assert_eq!(fault.count(), 2);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FailRequests {
    count: u32,
    status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    retry_after: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    path_prefix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    message: Option<String>,
}

impl FailRequests {
    /// Fail `count` requests with HTTP `status` (checked when the fault is set: 100..=599).
    pub fn new(count: u32, status: u16) -> Self {
        FailRequests {
            count,
            status,
            retry_after: None,
            path_prefix: None,
            message: None,
        }
    }

    /// Adds a `Retry-After: <seconds>` header to the failures.
    #[must_use]
    pub fn retry_after_secs(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds.to_string());
        self
    }

    /// Adds a `Retry-After` header with this exact value (seconds or an HTTP date).
    #[must_use]
    pub fn retry_after(mut self, value: impl Into<String>) -> Self {
        self.retry_after = Some(value.into());
        self
    }

    /// Fails only requests whose path starts with `prefix`.
    #[must_use]
    pub fn path_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.path_prefix = Some(prefix.into());
        self
    }

    /// The failure's body message (default: `fault injected by the emulator`).
    #[must_use]
    pub fn message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }

    /// Requests still to fail.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// The status returned.
    pub fn status(&self) -> u16 {
        self.status
    }

    fn check(&self) -> Result<(), FaultError> {
        if !(100..=599).contains(&self.status) {
            return Err(FaultError::InvalidStatus(self.status));
        }
        if let Some(value) = &self.retry_after
            && HeaderValue::from_str(value).is_err()
        {
            return Err(FaultError::InvalidRetryAfter(value.clone()));
        }
        Ok(())
    }
}

/// Close the next `count` connections without a response, after reading the request
/// (JSON: `{"count": 1, "pathPrefix": "/ingest"}`). The request is not processed.
///
/// ```
/// use amberflo_emulator::DropConnections;
///
/// assert_eq!(DropConnections::new(1).path_prefix("/ingest").count(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DropConnections {
    count: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    path_prefix: Option<String>,
}

impl DropConnections {
    /// Drop `count` connections.
    pub fn new(count: u32) -> Self {
        DropConnections {
            count,
            path_prefix: None,
        }
    }

    /// Drops only requests whose path starts with `prefix`.
    #[must_use]
    pub fn path_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.path_prefix = Some(prefix.into());
        self
    }

    /// Connections still to drop.
    pub fn count(&self) -> u32 {
        self.count
    }
}

/// All fault settings at once: the JSON body of `POST /_emulator/faults` and the reply of
/// `GET /_emulator/faults`. Kinds left out of a `POST` keep their current setting.
///
/// ```
/// use amberflo_emulator::FaultSettings;
///
/// let settings: FaultSettings = serde_json::from_str(
///     r#"{"fail": {"count": 2, "status": 503, "retryAfter": "1"}, "latencyMs": 20}"#,
/// )?;
/// assert_eq!(settings.fail.map(|fail| fail.status()), Some(503));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[non_exhaustive]
pub struct FaultSettings {
    /// Requests to fail with a status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail: Option<FailRequests>,
    /// A delay added to every API request, in milliseconds (`0` removes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    /// Connections to drop without a response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop_connections: Option<DropConnections>,
    /// Unique ids of meter records to refuse: an ingest batch holding any of them is answered
    /// 400 naming them, and nothing of it is stored (an empty list removes the rule).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reject_ids: Option<Vec<String>>,
}

/// A fault setting was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FaultError {
    /// The status is not an HTTP status code (100..=599).
    #[error("status {0} is not an HTTP status code (100..=599)")]
    InvalidStatus(u16),
    /// The `Retry-After` value cannot be sent as a header.
    #[error("retry_after {0:?} is not a valid header value")]
    InvalidRetryAfter(String),
}

/// What the server does with one request, as decided by the faults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    /// Handle it normally.
    Proceed,
    /// Close the connection without a response.
    Drop,
    /// Answer with this failure.
    Fail {
        status: StatusCode,
        retry_after: Option<HeaderValue>,
        message: String,
    },
}

/// The fault controls of a running emulator (see [`Emulator::faults`](crate::Emulator::faults)).
///
/// ```
/// use std::time::Duration;
/// use amberflo_emulator::{DropConnections, FailRequests, Faults};
///
/// let faults = Faults::default();
/// faults.fail_next(FailRequests::new(3, 503).retry_after_secs(2))?;
/// faults.set_latency(Duration::from_millis(50));
/// faults.drop_next(DropConnections::new(1).path_prefix("/ingest"));
/// assert_eq!(faults.settings().latency_ms, Some(50));
/// faults.clear();
/// assert_eq!(faults.settings(), Default::default());
/// # Ok::<(), amberflo_emulator::FaultError>(())
/// ```
#[derive(Debug, Default)]
pub struct Faults {
    settings: Mutex<FaultSettings>,
}

fn matches(prefix: Option<&String>, path: &str) -> bool {
    prefix.is_none_or(|prefix| path.starts_with(prefix.as_str()))
}

impl Faults {
    fn lock(&self) -> std::sync::MutexGuard<'_, FaultSettings> {
        self.settings
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Fails the next requests as described (replacing any pending failure).
    pub fn fail_next(&self, fail: FailRequests) -> Result<(), FaultError> {
        fail.check()?;
        self.lock().fail = (fail.count > 0).then_some(fail);
        Ok(())
    }

    /// Delays every API request by `latency` before it is handled (`Duration::ZERO` removes
    /// the delay). Millisecond precision.
    pub fn set_latency(&self, latency: Duration) {
        let millis = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
        self.lock().latency_ms = (millis > 0).then_some(millis);
    }

    /// Drops the next connections as described (replacing any pending drop).
    pub fn drop_next(&self, drop: DropConnections) {
        self.lock().drop_connections = (drop.count > 0).then_some(drop);
    }

    /// Refuses, until cleared, every ingest batch that holds a record with one of these unique
    /// ids: 400 naming the ids found, nothing of the batch stored (an empty list removes the
    /// rule). A poisoned record, as a server refusing it would see it.
    ///
    /// ```
    /// let faults = amberflo_emulator::Faults::default();
    /// faults.reject_ids(["id-13", "id-42"]);
    /// assert_eq!(faults.settings().reject_ids.map(|ids| ids.len()), Some(2));
    /// ```
    pub fn reject_ids<S: Into<String>>(&self, ids: impl IntoIterator<Item = S>) {
        let ids: Vec<String> = ids.into_iter().map(Into::into).collect();
        self.lock().reject_ids = (!ids.is_empty()).then_some(ids);
    }

    /// Applies every kind present in `settings`, keeping the others. Nothing changes when
    /// a setting is invalid.
    pub fn apply(&self, settings: FaultSettings) -> Result<(), FaultError> {
        if let Some(fail) = &settings.fail {
            fail.check()?;
        }
        let mut current = self.lock();
        if let Some(fail) = settings.fail {
            current.fail = (fail.count > 0).then_some(fail);
        }
        if let Some(millis) = settings.latency_ms {
            current.latency_ms = (millis > 0).then_some(millis);
        }
        if let Some(drop) = settings.drop_connections {
            current.drop_connections = (drop.count > 0).then_some(drop);
        }
        if let Some(ids) = settings.reject_ids {
            current.reject_ids = (!ids.is_empty()).then_some(ids);
        }
        Ok(())
    }

    /// Removes every fault.
    pub fn clear(&self) {
        *self.lock() = FaultSettings::default();
    }

    /// The current settings, with the counts still to go.
    pub fn settings(&self) -> FaultSettings {
        self.lock().clone()
    }

    /// The unique ids ingest must refuse (empty: none).
    pub(crate) fn rejected_ids(&self) -> Vec<String> {
        self.lock().reject_ids.clone().unwrap_or_default()
    }

    /// The delay to add to an API request, if any.
    pub(crate) fn latency(&self) -> Option<Duration> {
        self.lock().latency_ms.map(Duration::from_millis)
    }

    /// Decides what happens to an API request to `path`, consuming one count of the fault
    /// that applies (a drop wins over a failure).
    pub(crate) fn decide(&self, path: &str) -> Action {
        let mut settings = self.lock();
        if let Some(drop) = &mut settings.drop_connections
            && matches(drop.path_prefix.as_ref(), path)
        {
            drop.count = drop.count.saturating_sub(1);
            if drop.count == 0 {
                settings.drop_connections = None;
            }
            return Action::Drop;
        }
        if let Some(fail) = &mut settings.fail
            && matches(fail.path_prefix.as_ref(), path)
        {
            fail.count = fail.count.saturating_sub(1);
            let action = Action::Fail {
                status: StatusCode::from_u16(fail.status)
                    .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                retry_after: fail
                    .retry_after
                    .as_deref()
                    .and_then(|value| HeaderValue::from_str(value).ok()),
                message: fail
                    .message
                    .clone()
                    .unwrap_or_else(|| "fault injected by the emulator".to_owned()),
            };
            if fail.count == 0 {
                settings.fail = None;
            }
            return action;
        }
        Action::Proceed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_down_per_matching_path() {
        let faults = Faults::default();
        faults
            .fail_next(FailRequests::new(2, 503).path_prefix("/ingest"))
            .expect("valid fault");
        assert_eq!(faults.decide("/usage"), Action::Proceed);
        assert!(matches!(faults.decide("/ingest/"), Action::Fail { .. }));
        assert!(matches!(faults.decide("/ingest"), Action::Fail { .. }));
        assert_eq!(faults.decide("/ingest"), Action::Proceed);
        faults.drop_next(DropConnections::new(1));
        assert_eq!(faults.decide("/usage"), Action::Drop);
        assert_eq!(faults.decide("/usage"), Action::Proceed);
    }

    #[test]
    fn zero_count_faults_do_nothing_and_bad_ones_are_refused() {
        let faults = Faults::default();
        assert_eq!(
            faults.fail_next(FailRequests::new(1, 42)),
            Err(FaultError::InvalidStatus(42))
        );
        assert_eq!(
            faults.fail_next(FailRequests::new(1, 503).retry_after("a\nb")),
            Err(FaultError::InvalidRetryAfter("a\nb".to_owned()))
        );
        faults.drop_next(DropConnections::new(0));
        faults
            .fail_next(FailRequests::new(0, 503))
            .expect("valid fault");
        assert_eq!(faults.decide("/usage"), Action::Proceed);
        assert_eq!(faults.settings(), FaultSettings::default());
    }
}
