//! UTC calendar math for usage buckets, with no date library: civil dates from day numbers
//! and back (Howard Hinnant's algorithms), and bucket alignment per [`TimeGroupingInterval`].
//!
//! Alignment: `HOUR` and `DAY` floor to the UTC hour or day; `WEEK` floors to Monday
//! 00:00 UTC; `MONTH` floors to the first day of the calendar month, 00:00 UTC.

use amberflo_types::TimeGroupingInterval;

/// Seconds in an hour.
pub(crate) const SECONDS_PER_HOUR: i64 = 3_600;
/// Seconds in a day.
pub(crate) const SECONDS_PER_DAY: i64 = 86_400;
/// Seconds in a week.
pub(crate) const SECONDS_PER_WEEK: i64 = 7 * SECONDS_PER_DAY;

/// Days since 1970-01-01 of the civil date `year-month-day` (proleptic Gregorian, UTC).
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let month = i64::from(month);
    let day = i64::from(day);
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The civil date `(year, month, day)` of a day number (days since 1970-01-01).
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    // Both are small by construction (1..=12 and 1..=31).
    (year, to_u32(month), to_u32(day))
}

fn to_u32(value: i64) -> u32 {
    u32::try_from(value).unwrap_or(0)
}

/// The civil date of a Unix time in seconds.
pub(crate) fn date_of(seconds: i64) -> (i64, u32, u32) {
    civil_from_days(seconds.div_euclid(SECONDS_PER_DAY))
}

/// Months since January 1970 of a Unix time (negative before 1970).
pub(crate) fn month_index(seconds: i64) -> i64 {
    let (year, month, _) = date_of(seconds);
    (year - 1970) * 12 + i64::from(month) - 1
}

/// `seconds` plus one billing `period`: days, or calendar months and years (the same day of
/// the month and time of day, the day clamped to the month's last); at most
/// [`MAX_TIME_SECONDS`](crate::usage::MAX_TIME_SECONDS) (year 10000), however long the period.
pub(crate) fn after(seconds: i64, period: &amberflo_types::BillingPeriod) -> i64 {
    let latest = crate::usage::MAX_TIME_SECONDS;
    let seconds = seconds.clamp(0, latest);
    let count = i64::from(period.count());
    let months = match period.unit() {
        amberflo_types::BillingPeriodUnit::Day => {
            return seconds
                .saturating_add(count.saturating_mul(SECONDS_PER_DAY))
                .min(latest);
        }
        amberflo_types::BillingPeriodUnit::Year => count.saturating_mul(12),
        // MONTH, and any unit added later.
        _ => count,
    };
    let (_, _, day) = date_of(seconds);
    let time_of_day = seconds.rem_euclid(SECONDS_PER_DAY);
    let target = month_index(seconds)
        .saturating_add(months)
        .min(month_index(latest));
    let first = month_start(target);
    let next = month_start(target.saturating_add(1));
    let days_in_month = (next - first) / SECONDS_PER_DAY;
    let day = i64::from(day).min(days_in_month);
    (first + (day - 1) * SECONDS_PER_DAY + time_of_day).min(latest)
}

/// The start of the calendar month `index` months after January 1970, in Unix seconds.
pub(crate) fn month_start(index: i64) -> i64 {
    let year = 1970 + index.div_euclid(12);
    let month = to_u32(index.rem_euclid(12) + 1);
    days_from_civil(year, month, 1) * SECONDS_PER_DAY
}

/// The start of the bucket holding `seconds`.
pub(crate) fn floor(seconds: i64, interval: &TimeGroupingInterval) -> i64 {
    match interval {
        TimeGroupingInterval::Hour => seconds - seconds.rem_euclid(SECONDS_PER_HOUR),
        TimeGroupingInterval::Day => seconds - seconds.rem_euclid(SECONDS_PER_DAY),
        TimeGroupingInterval::Week => {
            let days = seconds.div_euclid(SECONDS_PER_DAY);
            // 1970-01-01 was a Thursday: Monday-based weekday is (days + 3) mod 7.
            (days - (days + 3).rem_euclid(7)) * SECONDS_PER_DAY
        }
        TimeGroupingInterval::Month => month_start(month_index(seconds)),
        // The enum is non-exhaustive; a new width falls back to days.
        _ => seconds - seconds.rem_euclid(SECONDS_PER_DAY),
    }
}

/// The start of the bucket after the one starting at `bucket_start` (which must be aligned).
pub(crate) fn next(bucket_start: i64, interval: &TimeGroupingInterval) -> i64 {
    match interval {
        TimeGroupingInterval::Hour => bucket_start + SECONDS_PER_HOUR,
        TimeGroupingInterval::Week => bucket_start + SECONDS_PER_WEEK,
        TimeGroupingInterval::Month => month_start(month_index(bucket_start) + 1),
        _ => bucket_start + SECONDS_PER_DAY,
    }
}

/// The index of the bucket holding `seconds`, counted from the bucket starting at
/// `first_bucket` (aligned, and not after `seconds`).
pub(crate) fn bucket_index(
    seconds: i64,
    first_bucket: i64,
    interval: &TimeGroupingInterval,
) -> i64 {
    match interval {
        TimeGroupingInterval::Hour => (seconds - first_bucket).div_euclid(SECONDS_PER_HOUR),
        TimeGroupingInterval::Week => (seconds - first_bucket).div_euclid(SECONDS_PER_WEEK),
        TimeGroupingInterval::Month => month_index(seconds) - month_index(first_bucket),
        _ => (seconds - first_bucket).div_euclid(SECONDS_PER_DAY),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_billing_period_after_a_time() {
        use amberflo_types::{BillingPeriod, BillingPeriodUnit};
        let period = |count, unit| BillingPeriod::new(count, unit).unwrap();
        // 2024-01-31T10:00:00Z.
        let jan_31 = days_from_civil(2024, 1, 31) * SECONDS_PER_DAY + 36_000;
        let feb_29 = days_from_civil(2024, 2, 29) * SECONDS_PER_DAY + 36_000;
        assert_eq!(after(jan_31, &period(1, BillingPeriodUnit::Month)), feb_29);
        assert_eq!(
            after(jan_31, &period(2, BillingPeriodUnit::Day)),
            jan_31 + 2 * SECONDS_PER_DAY
        );
        let jan_31_2025 = days_from_civil(2025, 1, 31) * SECONDS_PER_DAY + 36_000;
        assert_eq!(
            after(jan_31, &period(1, BillingPeriodUnit::Year)),
            jan_31_2025
        );
        // 2024-02-29 plus a year is 2025-02-28.
        let feb_29 = days_from_civil(2024, 2, 29) * SECONDS_PER_DAY;
        let feb_28_2025 = days_from_civil(2025, 2, 28) * SECONDS_PER_DAY;
        assert_eq!(
            after(feb_29, &period(1, BillingPeriodUnit::Year)),
            feb_28_2025
        );
        // However long the period, the end stays at year 10000 (no overflow).
        for unit in [
            BillingPeriodUnit::Day,
            BillingPeriodUnit::Month,
            BillingPeriodUnit::Year,
        ] {
            let end = after(jan_31, &period(u32::MAX, unit.clone()));
            assert!(
                end <= crate::usage::MAX_TIME_SECONDS && end > jan_31,
                "{unit:?}"
            );
        }
    }

    #[test]
    fn known_dates_round_trip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(civil_from_days(11_017), (2000, 3, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        // 2024-02-29 (leap day) is 19_782 days after the epoch.
        assert_eq!(days_from_civil(2024, 2, 29), 19_782);
        for days in -800_000..800_000 {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn buckets_align_to_utc_calendar() {
        // 2023-11-14T22:13:20Z, a Tuesday.
        let t = 1_700_000_000;
        assert_eq!(floor(t, &TimeGroupingInterval::Hour), 1_699_999_200);
        assert_eq!(floor(t, &TimeGroupingInterval::Day), 1_699_920_000);
        // Monday 2023-11-13T00:00:00Z.
        assert_eq!(floor(t, &TimeGroupingInterval::Week), 1_699_833_600);
        // 2023-11-01T00:00:00Z.
        assert_eq!(floor(t, &TimeGroupingInterval::Month), 1_698_796_800);
        // 2023-12-01T00:00:00Z.
        assert_eq!(
            next(1_698_796_800, &TimeGroupingInterval::Month),
            1_701_388_800
        );
        assert_eq!(
            bucket_index(1_701_388_800, 1_698_796_800, &TimeGroupingInterval::Month),
            1
        );
        assert_eq!(date_of(t), (2023, 11, 14));
    }
}
