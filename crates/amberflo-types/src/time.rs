//! Wall-clock helpers: the current Unix time in milliseconds and seconds, the crate's
//! conversions between [`SystemTime`] and epoch numbers, and the response time types
//! [`EpochSeconds`] and [`EpochMillis`].

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch now, or 0 if the clock is before 1970 (which then
/// fails validation rather than panicking).
pub fn now_millis() -> i64 {
    to_epoch_millis(SystemTime::now())
}

/// Seconds since the Unix epoch now, or 0 if the clock is before 1970.
pub fn now_seconds() -> i64 {
    now_millis() / 1000
}

/// Whole seconds since the Unix epoch: 0 for a time before 1970 (which then fails the
/// "must be greater than 0" rule of the field it is set on), `i64::MAX` at most.
pub(crate) fn to_epoch_seconds(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |elapsed| {
        i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
    })
}

/// Whole milliseconds since the Unix epoch: 0 before 1970, `i64::MAX` at most.
pub(crate) fn to_epoch_millis(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |elapsed| {
        i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
    })
}

/// `UNIX_EPOCH + seconds`; a negative number clamps to `UNIX_EPOCH`.
pub(crate) fn from_epoch_seconds(seconds: i64) -> SystemTime {
    after_epoch(Duration::from_secs(u64::try_from(seconds).unwrap_or(0)))
}

/// `UNIX_EPOCH + millis` milliseconds; a negative number clamps to `UNIX_EPOCH`.
pub(crate) fn from_epoch_millis(millis: i64) -> SystemTime {
    after_epoch(Duration::from_millis(u64::try_from(millis).unwrap_or(0)))
}

/// `UNIX_EPOCH + elapsed`, or the latest whole second the platform can represent when that
/// overflows (not on Unix, where any `i64` of seconds fits).
fn after_epoch(elapsed: Duration) -> SystemTime {
    if let Some(time) = UNIX_EPOCH.checked_add(elapsed) {
        return time;
    }
    // Binary search for the largest representable number of seconds.
    let (mut fits, mut overflows) = (0_u64, elapsed.as_secs());
    while overflows - fits > 1 {
        let middle = fits + (overflows - fits) / 2;
        if UNIX_EPOCH
            .checked_add(Duration::from_secs(middle))
            .is_some()
        {
            fits = middle;
        } else {
            overflows = middle;
        }
    }
    UNIX_EPOCH + Duration::from_secs(fits)
}

/// Declares a `Copy` newtype over the `i64` the API sends for a time in one unit, with its
/// [`SystemTime`] conversions.
macro_rules! epoch_time {
    ($(#[$meta:meta])* $name:ident, $unit:literal, $to:path, $from:path) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash,
            serde::Serialize, serde::Deserialize,
        )]
        #[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
        #[serde(transparent)]
        pub struct $name(i64);

        impl $name {
            #[doc = concat!("The time from its number of ", $unit, " since the Unix epoch.")]
            pub const fn new(value: i64) -> Self {
                $name(value)
            }

            #[doc = concat!("The number the server sent: ", $unit, " since the Unix epoch.")]
            pub const fn get(self) -> i64 {
                self.0
            }

            /// The time as a [`SystemTime`] (a negative number reads as the epoch itself).
            pub fn system_time(self) -> SystemTime {
                $from(self.0)
            }
        }

        impl From<$name> for SystemTime {
            fn from(time: $name) -> SystemTime {
                time.system_time()
            }
        }

        #[doc = concat!("Whole ", $unit, " since the Unix epoch (0 before 1970).")]
        impl From<SystemTime> for $name {
            fn from(time: SystemTime) -> Self {
                $name($to(time))
            }
        }
    };
}

epoch_time!(
    /// A time the API sends as whole seconds since the Unix epoch (`startTimeInSeconds`,
    /// `secondsSinceEpochUtc`, ...). Kept as the number the server sent, so it is sent back
    /// unchanged; [`system_time`](Self::system_time) gives the [`SystemTime`].
    ///
    /// ```
    /// use std::time::{Duration, SystemTime, UNIX_EPOCH};
    /// use amberflo_types::EpochSeconds;
    ///
    /// let time = EpochSeconds::new(1_700_000_000);
    /// assert_eq!(time.system_time(), UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    /// assert_eq!(SystemTime::from(time), time.system_time());
    /// assert_eq!(serde_json::to_string(&time).unwrap(), "1700000000");
    /// ```
    EpochSeconds,
    "seconds",
    to_epoch_seconds,
    from_epoch_seconds
);

epoch_time!(
    /// A time the API sends as whole milliseconds since the Unix epoch (a customer's
    /// `createTime`, ...). Kept as the number the server sent;
    /// [`system_time`](Self::system_time) gives the [`SystemTime`].
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use amberflo_types::EpochMillis;
    ///
    /// let time: EpochMillis = serde_json::from_str("1700000000123").unwrap();
    /// assert_eq!(time.system_time(), UNIX_EPOCH + Duration::from_millis(1_700_000_000_123));
    /// assert_eq!(time.get(), 1_700_000_000_123);
    /// ```
    EpochMillis,
    "milliseconds",
    to_epoch_millis,
    from_epoch_millis
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_clamp_and_round_trip() {
        let before_1970 = UNIX_EPOCH - Duration::from_secs(10);
        assert_eq!(to_epoch_seconds(before_1970), 0);
        assert_eq!(to_epoch_millis(before_1970), 0);
        let time = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        assert_eq!(to_epoch_seconds(time), 1_700_000_000);
        assert_eq!(to_epoch_millis(time), 1_700_000_000_123);
        assert_eq!(from_epoch_millis(1_700_000_000_123), time);
        assert_eq!(
            from_epoch_seconds(1_700_000_000),
            UNIX_EPOCH + Duration::from_secs(1_700_000_000)
        );
        assert_eq!(from_epoch_seconds(-5), UNIX_EPOCH);
        assert_eq!(from_epoch_millis(i64::MIN), UNIX_EPOCH);
    }

    #[cfg(unix)]
    #[test]
    fn the_largest_numbers_round_trip_on_unix() {
        assert_eq!(to_epoch_millis(from_epoch_millis(i64::MAX)), i64::MAX);
        assert_eq!(to_epoch_seconds(from_epoch_seconds(i64::MAX)), i64::MAX);
    }
}
