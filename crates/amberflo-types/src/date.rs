//! Calendar dates: [`CalendarDate`] (a proleptic Gregorian date, years 1 to 9999) and
//! [`Month`].
//!
//! A date that fails validation names its parts under the field `date`: `date.year` (out of
//! range), `date.month` (out of range, when given as a number) and `date` itself (a day the
//! month does not have). A date inside a request is named after its field instead, e.g.
//! `start_date.year` in [`InvoiceQuery::validate`](crate::InvoiceQuery::validate).

use std::fmt;
use std::time::SystemTime;

use crate::error::{Rule, ValidationError};
use crate::time;

/// A month of the year.
///
/// ```
/// use amberflo_types::{Month, Rule};
///
/// assert_eq!(Month::February.number(), 2);
/// assert_eq!(Month::try_from(12)?, Month::December);
/// let error = Month::try_from(13).unwrap_err();
/// assert_eq!(error.field(), "month");
/// assert_eq!(error.rule(), &Rule::OutOfRange { min: 1, max: 12 });
/// # Ok::<(), amberflo_types::ValidationError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Month {
    /// January (1).
    January,
    /// February (2).
    February,
    /// March (3).
    March,
    /// April (4).
    April,
    /// May (5).
    May,
    /// June (6).
    June,
    /// July (7).
    July,
    /// August (8).
    August,
    /// September (9).
    September,
    /// October (10).
    October,
    /// November (11).
    November,
    /// December (12).
    December,
}

const MONTHS: [Month; 12] = [
    Month::January,
    Month::February,
    Month::March,
    Month::April,
    Month::May,
    Month::June,
    Month::July,
    Month::August,
    Month::September,
    Month::October,
    Month::November,
    Month::December,
];

impl Month {
    /// The month's number, 1 (January) to 12 (December).
    pub fn number(self) -> u8 {
        self as u8 + 1
    }

    /// How many days the month has in `year`.
    fn days_in(self, year: i32) -> u8 {
        match self {
            Month::February if is_leap_year(year) => 29,
            Month::February => 28,
            Month::April | Month::June | Month::September | Month::November => 30,
            _ => 31,
        }
    }
}

impl TryFrom<u8> for Month {
    type Error = ValidationError;

    /// The month numbered `number` (1 to 12); otherwise an error on `month`.
    fn try_from(number: u8) -> Result<Self, ValidationError> {
        usize::from(number)
            .checked_sub(1)
            .and_then(|index| MONTHS.get(index).copied())
            .ok_or_else(|| ValidationError::new("month", Rule::OutOfRange { min: 1, max: 12 }))
    }
}

fn is_leap_year(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// A calendar date (proleptic Gregorian, years 1 to 9999), such as an invoice's start date.
///
/// Displays as `YYYY-MM-DD`. [`CalendarDate::new`] rejects a year outside `1..=9999` (error
/// on `date.year`) and a day the month does not have (error on `date`), leap years included.
///
/// ```
/// use amberflo_types::{CalendarDate, Month, Rule};
///
/// let leap_day = CalendarDate::new(2024, Month::February, 29)?;
/// assert_eq!(leap_day.to_string(), "2024-02-29");
/// assert_eq!(
///     (leap_day.year(), leap_day.month(), leap_day.day()),
///     (2024, Month::February, 29)
/// );
///
/// let error = CalendarDate::new(2023, Month::February, 29).unwrap_err();
/// assert_eq!(error.field(), "date");
/// assert_eq!(error.rule(), &Rule::NotADate);
/// assert_eq!(
///     CalendarDate::new(0, Month::May, 1).unwrap_err().field(),
///     "date.year"
/// );
/// # Ok::<(), amberflo_types::ValidationError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CalendarDate {
    year: i32,
    month: Month,
    day: u8,
}

impl CalendarDate {
    /// The date `year-month-day`, if it exists (years 1 to 9999).
    pub fn new(year: i32, month: Month, day: u8) -> Result<Self, ValidationError> {
        Self::checked("date", year, month, day)
    }

    /// Like [`CalendarDate::new`], naming errors under `field`.
    pub(crate) fn checked(
        field: &str,
        year: i32,
        month: Month,
        day: u8,
    ) -> Result<Self, ValidationError> {
        if !(1..=9999).contains(&year) {
            return Err(ValidationError::new(
                format!("{field}.year"),
                Rule::OutOfRange { min: 1, max: 9999 },
            ));
        }
        if day == 0 || day > month.days_in(year) {
            return Err(ValidationError::new(field.to_owned(), Rule::NotADate));
        }
        Ok(CalendarDate { year, month, day })
    }

    /// The UTC date of the instant `time`.
    ///
    /// An instant before 1970 clamps to 1970-01-01, one after the year 9999 to 9999-12-31.
    ///
    /// ```
    /// use amberflo_types::CalendarDate;
    /// use std::time::{Duration, UNIX_EPOCH};
    ///
    /// let instant = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    /// assert_eq!(
    ///     CalendarDate::from_system_time(instant).to_string(),
    ///     "2023-11-14"
    /// );
    /// ```
    pub fn from_system_time(time: SystemTime) -> CalendarDate {
        const LAST: CalendarDate = CalendarDate {
            year: 9999,
            month: Month::December,
            day: 31,
        };
        let days = time::to_epoch_seconds(time).div_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        match (i32::try_from(year), Month::try_from(month)) {
            (Ok(year), Ok(month)) if year <= 9999 => CalendarDate { year, month, day },
            _ => LAST,
        }
    }

    /// The year, 1 to 9999.
    pub fn year(&self) -> i32 {
        self.year
    }

    /// The month.
    pub fn month(&self) -> Month {
        self.month
    }

    /// The day of the month, from 1.
    pub fn day(&self) -> u8 {
        self.day
    }
}

impl fmt::Display for CalendarDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}",
            self.year,
            self.month.number(),
            self.day
        )
    }
}

/// Year, month (1 to 12) and day of the date `days` after 1970-01-01, for `days >= 0`
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u8, u8) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097; // [0, 146096]
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153; // [0, 11], March first
    let day = day_of_year - (153 * month_index + 2) / 5 + 1; // [1, 31]
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    // Both are in range by construction: day 1..=31, month 1..=12.
    (
        year,
        u8::try_from(month).unwrap_or(1),
        u8::try_from(day).unwrap_or(1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn at(seconds: u64) -> String {
        CalendarDate::from_system_time(UNIX_EPOCH + Duration::from_secs(seconds)).to_string()
    }

    #[test]
    fn from_system_time_known_instants() {
        assert_eq!(at(0), "1970-01-01");
        assert_eq!(at(86_399), "1970-01-01");
        assert_eq!(at(86_400), "1970-01-02");
        assert_eq!(at(951_782_400), "2000-02-29");
        assert_eq!(at(1_700_000_000), "2023-11-14");
        assert_eq!(at(1_709_164_800), "2024-02-29");
        assert_eq!(at(253_402_300_799), "9999-12-31");
        assert_eq!(at(253_402_300_800), "9999-12-31");
        let before = UNIX_EPOCH - Duration::from_secs(1);
        assert_eq!(
            CalendarDate::from_system_time(before).to_string(),
            "1970-01-01"
        );
    }

    #[test]
    fn leap_years() {
        assert!(CalendarDate::new(2000, Month::February, 29).is_ok());
        assert!(CalendarDate::new(2024, Month::February, 29).is_ok());
        assert!(CalendarDate::new(1900, Month::February, 29).is_err());
        assert!(CalendarDate::new(2023, Month::February, 29).is_err());
        assert!(CalendarDate::new(2023, Month::February, 28).is_ok());
        assert!(CalendarDate::new(2023, Month::April, 31).is_err());
        assert!(CalendarDate::new(2023, Month::December, 31).is_ok());
        assert!(CalendarDate::new(2023, Month::December, 0).is_err());
        assert_eq!(
            CalendarDate::new(10_000, Month::January, 1)
                .unwrap_err()
                .field(),
            "date.year"
        );
    }

    #[test]
    fn months_number_and_parse() {
        for (index, month) in MONTHS.iter().enumerate() {
            assert_eq!(usize::from(month.number()), index + 1);
            assert_eq!(Month::try_from(month.number()), Ok(*month));
        }
        assert!(Month::try_from(0).is_err());
        assert!(Month::try_from(13).is_err());
        assert_eq!(
            CalendarDate::new(7, Month::March, 5).map(|d| d.to_string()),
            Ok("0007-03-05".to_owned())
        );
    }
}
