//! Time ranges from the command line: `--since 24h`, `--since 2024-06-01`, epoch seconds.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use amberflo::types::{TimeGroupingInterval, TimeRange};

use crate::cli::Range;
use crate::error::CliError;
use crate::output::days_from_civil;

/// The range `range` names, `default_since` ago to now unless given.
pub(crate) fn time_range(range: &Range, default_since: &str) -> Result<TimeRange, CliError> {
    let now = SystemTime::now();
    let since = point(
        "--since",
        range.since.as_deref().unwrap_or(default_since),
        now,
    )?;
    let until = match &range.until {
        Some(until) => point("--until", until, now)?,
        None => now,
    };
    TimeRange::between(since, until)
        .map_err(|error| CliError::config(format!("time range: {error}")))
}

/// The interval `range` names; by default hours for a range of two days or less, else days.
pub(crate) fn interval(range: &Range, time_range: &TimeRange) -> TimeGroupingInterval {
    match &range.interval {
        Some(interval) => TimeGroupingInterval::from(interval.as_str()),
        None => {
            let start = time_range.start_time_in_seconds();
            let end = time_range.end_time_in_seconds().unwrap_or(start);
            if end - start <= 2 * 86_400 {
                TimeGroupingInterval::Hour
            } else {
                TimeGroupingInterval::Day
            }
        }
    }
}

/// A point in time: a duration ago (`90m`, `24h`, `7d`, `2w`, `30s`), a date (UTC midnight)
/// or epoch seconds.
fn point(flag: &str, text: &str, now: SystemTime) -> Result<SystemTime, CliError> {
    let wrong = || {
        CliError::config(format!(
            "{flag} {text:?}: expected a duration ago (90m, 24h, 7d, 2w), a date (2024-06-01) or epoch seconds"
        ))
    };
    if let Ok(seconds) = text.parse::<u64>() {
        return Ok(UNIX_EPOCH + Duration::from_secs(seconds));
    }
    if let Some((year, rest)) = text.split_once('-') {
        let (month, day) = rest.split_once('-').ok_or_else(wrong)?;
        let (year, month, day): (i64, u32, u32) = (
            year.parse().map_err(|_| wrong())?,
            month.parse().map_err(|_| wrong())?,
            day.parse().map_err(|_| wrong())?,
        );
        if !(1970..=9999).contains(&year) || !(1..=12).contains(&month) || !(1..=31).contains(&day)
        {
            return Err(wrong());
        }
        let days = days_from_civil(year, month, day);
        let seconds = u64::try_from(days * 86_400).map_err(|_| wrong())?;
        return Ok(UNIX_EPOCH + Duration::from_secs(seconds));
    }
    let (split, _) = text.char_indices().next_back().ok_or_else(wrong)?;
    let (count, unit) = text.split_at(split);
    let count: u64 = count.parse().map_err(|_| wrong())?;
    let unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(wrong()),
    };
    let ago = Duration::from_secs(count.checked_mul(unit).ok_or_else(wrong)?);
    now.checked_sub(ago).ok_or_else(wrong)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_in_every_form() {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let at = |text| point("--since", text, now).unwrap();
        assert_eq!(at("24h"), now - Duration::from_secs(86_400));
        assert_eq!(at("2w"), now - Duration::from_secs(14 * 86_400));
        assert_eq!(
            at("1699990000"),
            UNIX_EPOCH + Duration::from_secs(1_699_990_000)
        );
        assert_eq!(
            at("2023-11-14"),
            UNIX_EPOCH + Duration::from_secs(1_699_920_000)
        );
        for bad in [
            "",
            "h",
            "24x",
            "5ä",
            "2023-13-01",
            "99999999999999-01-01",
            "yesterday",
        ] {
            assert!(point("--since", bad, now).is_err(), "{bad}");
        }
    }
}
