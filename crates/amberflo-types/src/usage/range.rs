//! [`TimeRange`]: the span a query covers; [`Take`]: how many groups it keeps.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::error::{Rule, ValidationError};
use crate::{time, validate};

/// A time range in Unix seconds: a start and an optional end after it.
///
/// Made from [`SystemTime`]s or [`EpochSeconds`](crate::EpochSeconds) ([`TimeRange::since`],
/// [`TimeRange::between`]), or from a [`Duration`] back from now ([`TimeRange::last`]).
/// Every constructor validates: the start must be after the epoch (an error on
/// `start_time_in_seconds`) and the end after the start (an error on `end_time_in_seconds`).
/// Times are kept to the whole second (truncated).
///
/// ```
/// use amberflo_types::{EpochSeconds, Rule, TimeRange};
/// use std::time::{Duration, UNIX_EPOCH};
///
/// let start = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
/// let range = TimeRange::between(start, start + Duration::from_secs(86_400))?;
/// assert_eq!(range.start_time_in_seconds(), 1_700_000_000);
/// assert_eq!(
///     range,
///     TimeRange::between(
///         EpochSeconds::new(1_700_000_000),
///         EpochSeconds::new(1_700_086_400)
///     )?
/// );
///
/// // The last 24 hours, open-ended.
/// let recent = TimeRange::last(Duration::from_secs(24 * 60 * 60))?;
/// assert_eq!(recent.end_time(), None);
///
/// let error = TimeRange::between(EpochSeconds::new(10), EpochSeconds::new(5)).unwrap_err();
/// assert_eq!(error.field(), "end_time_in_seconds");
/// assert_eq!(error.rule(), &Rule::EndNotAfterStart);
/// # Ok::<(), amberflo_types::ValidationError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct TimeRange {
    #[cfg_attr(feature = "schemars", schemars(range(min = 1, max = crate::MAX_EPOCH_SECONDS)))]
    pub(super) start_time_in_seconds: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "schemars",
        schemars(with = "i64", range(min = 1, max = crate::MAX_EPOCH_SECONDS))
    )]
    pub(super) end_time_in_seconds: Option<i64>,
}

impl TimeRange {
    fn checked(start: i64, end: Option<i64>) -> Result<Self, ValidationError> {
        let range = TimeRange {
            start_time_in_seconds: start,
            end_time_in_seconds: end,
        };
        range.validate()?;
        Ok(range)
    }

    /// An open-ended range starting at `start` (which must be after the epoch). Takes a
    /// [`SystemTime`], or an [`EpochSeconds`](crate::EpochSeconds) for a number you have.
    pub fn since(start: impl Into<SystemTime>) -> Result<Self, ValidationError> {
        Self::checked(time::to_epoch_seconds(start.into()), None)
    }

    /// The range from `start` to `end`; `end` must be after `start`. Takes [`SystemTime`]s,
    /// or [`EpochSeconds`](crate::EpochSeconds) for numbers you have.
    pub fn between(
        start: impl Into<SystemTime>,
        end: impl Into<SystemTime>,
    ) -> Result<Self, ValidationError> {
        Self::checked(
            time::to_epoch_seconds(start.into()),
            Some(time::to_epoch_seconds(end.into())),
        )
    }

    /// An open-ended range starting `duration` before now: `last(24 hours)` is the last day's
    /// usage. A duration reaching back before the epoch fails on `start_time_in_seconds`.
    pub fn last(duration: Duration) -> Result<Self, ValidationError> {
        let start = SystemTime::now()
            .checked_sub(duration)
            .unwrap_or(UNIX_EPOCH);
        Self::since(start)
    }

    /// Checks the rules the constructors enforce (for deserialised ranges).
    pub fn validate(&self) -> Result<(), ValidationError> {
        validate::epoch_seconds("start_time_in_seconds", self.start_time_in_seconds)?;
        if let Some(end) = self.end_time_in_seconds {
            if end <= self.start_time_in_seconds {
                return Err(ValidationError::new(
                    "end_time_in_seconds",
                    Rule::EndNotAfterStart,
                ));
            }
            validate::epoch_seconds("end_time_in_seconds", end)?;
        }
        Ok(())
    }

    /// The start, in Unix seconds.
    pub fn start_time_in_seconds(&self) -> i64 {
        self.start_time_in_seconds
    }

    /// The end, in Unix seconds, if the range has one.
    pub fn end_time_in_seconds(&self) -> Option<i64> {
        self.end_time_in_seconds
    }

    /// The start.
    pub fn start_time(&self) -> SystemTime {
        time::from_epoch_seconds(self.start_time_in_seconds)
    }

    /// The end, if the range has one.
    pub fn end_time(&self) -> Option<SystemTime> {
        self.end_time_in_seconds.map(time::from_epoch_seconds)
    }
}

/// Keep only the first `limit` groups: the largest ([`Take::largest`]) or the smallest
/// ([`Take::smallest`]) by group value.
///
/// ```
/// use amberflo_types::{Rule, Take};
///
/// let take = Take::largest(10)?;
/// assert_eq!((take.limit(), take.is_ascending()), (10, false));
/// assert_eq!(
///     serde_json::to_value(Take::smallest(3)?).unwrap(),
///     serde_json::json!({"limit": 3, "isAscending": true})
/// );
/// let error = Take::largest(0).unwrap_err();
/// assert_eq!((error.field(), error.rule()), ("limit", &Rule::NotPositive));
/// # Ok::<(), amberflo_types::ValidationError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Take {
    #[cfg_attr(feature = "schemars", schemars(range(min = 1)))]
    limit: u32,
    #[serde(default)]
    is_ascending: bool,
}

impl Take {
    fn checked(limit: u32, is_ascending: bool) -> Result<Self, ValidationError> {
        let take = Take {
            limit,
            is_ascending,
        };
        take.validate()?;
        Ok(take)
    }

    /// The `limit` (positive) groups with the largest values, largest first
    /// (`isAscending: false`).
    pub fn largest(limit: u32) -> Result<Self, ValidationError> {
        Self::checked(limit, false)
    }

    /// The `limit` (positive) groups with the smallest values, smallest first
    /// (`isAscending: true`).
    pub fn smallest(limit: u32) -> Result<Self, ValidationError> {
        Self::checked(limit, true)
    }

    /// Checks that the limit is positive.
    pub fn validate(&self) -> Result<(), ValidationError> {
        validate::positive("limit", self.limit)
    }

    /// How many groups to keep.
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// Whether the smallest groups come first.
    pub fn is_ascending(&self) -> bool {
        self.is_ascending
    }
}
