//! Printing results: aligned columns, CSV, or the API's JSON.

use std::io::Write;

use serde::Serialize;

use crate::cli::OutputFormat;
use crate::error::{CliError, Exit};

/// Rows of text under headers, and the JSON they came from.
pub(crate) struct Table<'a, J: Serialize> {
    pub(crate) headers: &'a [&'a str],
    pub(crate) rows: Vec<Vec<String>>,
    pub(crate) json: &'a J,
}

impl<J: Serialize> Table<'_, J> {
    /// Prints the table in `format` to `out`.
    pub(crate) fn print(&self, format: OutputFormat, out: &mut dyn Write) -> Result<(), CliError> {
        let written = match format {
            OutputFormat::Json => serde_json::to_writer_pretty(&mut *out, self.json)
                .map_err(std::io::Error::from)
                .and_then(|()| writeln!(out)),
            OutputFormat::Csv => self.csv(out),
            OutputFormat::Table => self.columns(out),
        };
        written.or_else(output_failed)
    }

    fn csv(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let mut writer = csv::Writer::from_writer(out);
        writer.write_record(self.headers)?;
        for row in &self.rows {
            writer.write_record(row)?;
        }
        writer.flush()
    }

    fn columns(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let line = |out: &mut dyn Write, cells: &mut dyn Iterator<Item = &str>| {
            let mut text = String::new();
            for (at, (cell, width)) in cells.zip(&widths).enumerate() {
                if at > 0 {
                    text.push_str("  ");
                }
                text.push_str(cell);
                let pad = width.saturating_sub(cell.chars().count());
                text.extend(std::iter::repeat_n(' ', pad));
            }
            writeln!(out, "{}", text.trim_end())
        };
        line(out, &mut self.headers.iter().copied())?;
        for row in &self.rows {
            line(out, &mut row.iter().map(String::as_str))?;
        }
        Ok(())
    }
}

/// What a failed write of the output means: nothing, when the reader went away (`| head`),
/// else exit 5.
#[allow(clippy::needless_pass_by_value)] // the shape `or_else` takes
pub(crate) fn output_failed(error: std::io::Error) -> Result<(), CliError> {
    if error.kind() == std::io::ErrorKind::BrokenPipe {
        Ok(())
    } else {
        Err(CliError::new(
            Exit::Input,
            format!("cannot write the output: {error}"),
        ))
    }
}

/// Unix seconds as `YYYY-MM-DDTHH:MM:SSZ`.
pub(crate) fn utc(seconds: i64) -> String {
    let days = seconds.div_euclid(86_400);
    let of_day = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's
/// algorithm).
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month as u32, day as u32)
}

/// The day count since 1970-01-01 of a proleptic Gregorian date.
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let month = i64::from(month);
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reader_going_away_is_not_an_error() {
        use std::io::{Error, ErrorKind};
        assert!(output_failed(Error::from(ErrorKind::BrokenPipe)).is_ok());
        let error = output_failed(Error::from(ErrorKind::StorageFull)).unwrap_err();
        assert_eq!(error.exit, Exit::Input);
    }

    #[test]
    fn dates_round_trip() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(1_700_000_000), "2023-11-14T22:13:20Z");
        for days in [-1000, 0, 59, 60, 11_016, 19_723, 47_482] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
