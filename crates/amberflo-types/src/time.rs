//! Wall-clock helpers: the current Unix time in milliseconds and seconds.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch now, or 0 if the clock is before 1970 (which then
/// fails validation rather than panicking).
pub fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
        })
}

/// Seconds since the Unix epoch now, or 0 if the clock is before 1970.
pub fn now_seconds() -> i64 {
    now_millis() / 1000
}
