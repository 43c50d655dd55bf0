//! Retry decisions (pure, no IO): [`RetryPolicy`], [`Jitter`], and the injectable [`Sleeper`].

use std::fmt;
use std::time::Duration;

use crate::defaults;

/// How the nominal backoff wait is randomised.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Jitter {
    /// "Full jitter": the `n`-th retry waits a uniformly random duration in `[0, nominal[n])`.
    #[default]
    Full,
    /// No randomness: the `n`-th retry waits exactly `nominal[n]`.
    None,
}

/// When and how often a failed batch is retried.
///
/// One retry per entry of the backoff schedule; a retryable error after the last retry hands
/// the batch to the error callback ([`DeliveryError::RetriesExhausted`](crate::DeliveryError)).
/// A `Retry-After` from the sink replaces the jittered wait for that retry (it still uses up
/// one retry), capped at [`max_retry_after`](RetryPolicy::max_retry_after). Non-retryable
/// errors are never retried.
///
/// The default is the Python SDK's: 6 retries, nominal waits 2, 6, 12, 20, 40, 80 s, full
/// jitter, `Retry-After` capped at 60 s (see [`defaults`]).
///
/// ```
/// use amberflo_batcher::{Jitter, RetryPolicy};
/// use std::time::Duration;
///
/// let policy = RetryPolicy::new([Duration::from_millis(100), Duration::from_millis(400)])
///     .with_jitter(Jitter::None)
///     .with_max_retry_after(Duration::from_secs(5));
/// assert_eq!(policy.max_retries(), 2);
/// // The first retry waits the first nominal wait (no jitter here).
/// assert_eq!(policy.delay(0, None, 0.5), Some(Duration::from_millis(100)));
/// // `Retry-After` overrides it, capped.
/// assert_eq!(policy.delay(0, Some(Duration::from_secs(30)), 0.5), Some(Duration::from_secs(5)));
/// // No third retry.
/// assert_eq!(policy.delay(2, None, 0.5), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    backoff: Vec<Duration>,
    jitter: Jitter,
    max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy::new(defaults::BACKOFF)
    }
}

impl RetryPolicy {
    /// One retry per nominal wait in `backoff`, with full jitter and the default
    /// `Retry-After` cap.
    pub fn new(backoff: impl IntoIterator<Item = Duration>) -> Self {
        RetryPolicy {
            backoff: backoff.into_iter().collect(),
            jitter: Jitter::Full,
            max_retry_after: defaults::MAX_RETRY_AFTER,
        }
    }

    /// Never retry: every error goes straight to the error callback.
    pub fn none() -> Self {
        RetryPolicy::new([])
    }

    /// Sets how the nominal waits are randomised.
    #[must_use]
    pub fn with_jitter(mut self, jitter: Jitter) -> Self {
        self.jitter = jitter;
        self
    }

    /// Sets the cap on a sink-supplied `Retry-After` wait.
    #[must_use]
    pub fn with_max_retry_after(mut self, cap: Duration) -> Self {
        self.max_retry_after = cap;
        self
    }

    /// How many retries follow the first attempt.
    pub fn max_retries(&self) -> u32 {
        u32::try_from(self.backoff.len()).unwrap_or(u32::MAX)
    }

    /// The nominal backoff waits, one per retry.
    pub fn backoff(&self) -> &[Duration] {
        &self.backoff
    }

    /// The jitter mode.
    pub fn jitter(&self) -> Jitter {
        self.jitter
    }

    /// The cap on a `Retry-After` wait.
    pub fn max_retry_after(&self) -> Duration {
        self.max_retry_after
    }

    /// The wait before retry number `retry` (0-based), or `None` when no retry is left.
    ///
    /// `retry_after` is the sink's `Retry-After`, which wins over the backoff (capped);
    /// `random` is a uniform sample in `[0, 1)` used for full jitter. Pure: no clock, no IO.
    pub fn delay(
        &self,
        retry: u32,
        retry_after: Option<Duration>,
        random: f64,
    ) -> Option<Duration> {
        let nominal = *self.backoff.get(usize::try_from(retry).ok()?)?;
        if let Some(wait) = retry_after {
            return Some(wait.min(self.max_retry_after));
        }
        Some(match self.jitter {
            Jitter::Full => nominal.mul_f64(random.clamp(0.0, 1.0)),
            Jitter::None => nominal,
        })
    }
}

/// Performs the engine's retry waits; inject one to make retry timing deterministic in tests.
///
/// By default the engine waits on an internal condition variable that shutdown can interrupt
/// (a retry whose wait would end after the shutdown deadline is abandoned at once, see
/// [`Batcher::shutdown`](crate::Batcher::shutdown)). A custom sleeper replaces that wait and is
/// not interruptible; the deadline check before the wait still applies.
///
/// ```
/// use amberflo_batcher::Sleeper;
/// use std::sync::Mutex;
/// use std::time::Duration;
///
/// /// Records the waits instead of sleeping (virtual time).
/// #[derive(Default)]
/// struct Recorder(Mutex<Vec<Duration>>);
///
/// impl Sleeper for Recorder {
///     fn sleep(&self, duration: Duration) {
///         self.0.lock().unwrap().push(duration);
///     }
/// }
///
/// let recorder = Recorder::default();
/// recorder.sleep(Duration::from_secs(2));
/// assert_eq!(recorder.0.lock().unwrap().len(), 1);
/// ```
pub trait Sleeper: Send + Sync + 'static {
    /// Blocks the calling worker thread for `duration` (or returns at once, in virtual time).
    fn sleep(&self, duration: Duration);
}

impl fmt::Debug for dyn Sleeper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("dyn Sleeper")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn default_is_python_schedule() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.max_retries(), 6);
        let secs: Vec<u64> = policy.backoff().iter().map(Duration::as_secs).collect();
        assert_eq!(secs, [2, 6, 12, 20, 40, 80]);
        assert_eq!(policy.jitter(), Jitter::Full);
        assert_eq!(policy.max_retry_after(), Duration::from_secs(60));
    }

    #[test]
    fn none_never_retries() {
        assert_eq!(RetryPolicy::none().delay(0, None, 0.3), None);
        assert_eq!(
            RetryPolicy::none().delay(0, Some(Duration::from_secs(1)), 0.3),
            None
        );
    }

    proptest! {
        #[test]
        fn full_jitter_stays_below_nominal(retry in 0u32..8, random in 0.0f64..1.0) {
            let policy = RetryPolicy::default();
            match policy.delay(retry, None, random) {
                Some(wait) => prop_assert!(wait <= policy.backoff()[retry as usize]),
                None => prop_assert!(retry >= 6),
            }
        }

        #[test]
        fn retry_after_wins_and_is_capped(retry in 0u32..6, secs in 0u64..1000, random in 0.0f64..1.0) {
            let policy = RetryPolicy::default();
            let wait = policy.delay(retry, Some(Duration::from_secs(secs)), random);
            prop_assert_eq!(wait, Some(Duration::from_secs(secs.min(60))));
        }
    }
}
