//! NDJSON files: one record per line, read line by line with a bounded buffer.

use std::io::{self, BufRead, Read};

use super::record::{self, Place};
use super::report::{FileReport, Problem, RecordError};
use super::{FileValidator, ReadRecord};

/// Checks every line of `reader` from line number `line` on (blank lines are skipped),
/// handing each good record to `on_record`.
pub(crate) fn check<R: BufRead>(
    reader: &mut R,
    mut line: u64,
    options: &FileValidator,
    report: &mut FileReport,
    on_record: &mut dyn FnMut(Result<ReadRecord, &RecordError>),
) -> io::Result<()> {
    let limit = u64::try_from(options.max_record_bytes).unwrap_or(u64::MAX);
    let mut buffer = Vec::with_capacity(options.max_record_bytes.min(4096) + 1);
    loop {
        buffer.clear();
        // One byte past the limit: a line that long without its newline is too long.
        let read = reader
            .by_ref()
            .take(limit.saturating_add(1))
            .read_until(b'\n', &mut buffer)?;
        if read == 0 {
            return Ok(());
        }
        let this_line = line;
        line += 1;
        if buffer.last() != Some(&b'\n') && u64::try_from(read).unwrap_or(u64::MAX) > limit {
            reader.skip_until(b'\n')?;
            let problem = Problem::TooLarge {
                limit: options.max_record_bytes,
            };
            let error = error_at(this_line, None, problem);
            on_record(Err(&error));
            report.push_error(error, options.max_errors);
            continue;
        }
        let text = trim_json_whitespace(&buffer);
        if text.is_empty() {
            continue;
        }
        let place = Place {
            source: options.derive_unique_ids,
            position: this_line,
        };
        match record::check_bytes(text, place) {
            Ok(record) => {
                report.valid += 1;
                on_record(Ok(ReadRecord {
                    line: this_line,
                    index: None,
                    record,
                }));
            }
            Err((problem, column)) => {
                let error = error_at(this_line, column, problem);
                on_record(Err(&error));
                report.push_error(error, options.max_errors);
            }
        }
    }
}

fn error_at(line: u64, column: Option<u64>, problem: Problem) -> RecordError {
    RecordError {
        line,
        column,
        index: None,
        problem,
    }
}

/// The bytes without leading and trailing JSON whitespace (space, tab, CR, LF).
fn trim_json_whitespace(bytes: &[u8]) -> &[u8] {
    let is_space = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    let start = bytes
        .iter()
        .position(|b| !is_space(b))
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !is_space(b))
        .map_or(start, |i| i + 1);
    &bytes[start..end]
}
