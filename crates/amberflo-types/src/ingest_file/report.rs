//! What a file check finds: the [`FileReport`] with its exact counts and the first
//! [`RecordError`]s, each locating one bad record and naming its [`Problem`].

use std::fmt;

use crate::error::ValidationError;

/// How the records of a file are laid out, told by its first non-whitespace byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FileFormat {
    /// One JSON record per line (newline-delimited JSON); blank lines are skipped.
    Ndjson,
    /// One JSON array of records (the ingest API's body), starting with `[`.
    JsonArray,
}

/// What is wrong with one record.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// The record broke a rule: the error names the field (in snake case, dotted for
    /// dimensions) and the rule, e.g. `customer_id must not be blank`, `meter_value must be a
    /// number` ([`Rule::WrongType`](crate::Rule::WrongType)) or `customer_id must be set`
    /// ([`Rule::Missing`](crate::Rule::Missing)).
    Invalid(ValidationError),
    /// The text is not JSON; `message` is the parser's, without its position (the
    /// [`RecordError`] carries the line and column).
    Syntax {
        /// What the JSON parser expected.
        message: String,
    },
    /// The record's JSON text is longer than the per-record limit
    /// ([`FileValidator::max_record_bytes`](super::FileValidator::max_record_bytes)).
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The record is JSON but could not be read as a meter record for a reason no single
    /// field explains (e.g. a key given twice); `message` is the parser's.
    NotARecord {
        /// What the parser reported.
        message: String,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Invalid(error) => write!(f, "{error}"),
            Problem::Syntax { message } => write!(f, "invalid JSON: {message}"),
            Problem::TooLarge { limit } => write!(f, "record longer than {limit} bytes"),
            Problem::NotARecord { message } => write!(f, "not a meter record: {message}"),
        }
    }
}

/// One bad record: where it is and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordError {
    /// The 1-based line the record starts on (for a syntax error, the line of the error).
    pub line: u64,
    /// The 1-based column of a syntax error, when the parser gives one.
    pub column: Option<u64>,
    /// The record's 0-based position in a JSON array (`None` in NDJSON, where the line
    /// identifies the record).
    pub index: Option<u64>,
    /// What is wrong.
    pub problem: Problem,
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}", self.line)?;
        if let Some(column) = self.column {
            write!(f, ", column {column}")?;
        }
        if let Some(index) = self.index {
            write!(f, " (element {index})")?;
        }
        write!(f, ": {}", self.problem)
    }
}

/// The result of checking a file of meter records.
///
/// The counts are exact however many records there are; only the first
/// [`FileValidator::max_errors`](super::FileValidator::max_errors) errors are kept (default
/// [`DEFAULT_MAX_ERRORS`](super::DEFAULT_MAX_ERRORS)), so the report's size is bounded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FileReport {
    /// The layout detected.
    pub format: FileFormat,
    /// Records that parsed and passed every rule.
    pub valid: u64,
    /// Records that did not (each syntax error counts as one).
    pub invalid: u64,
    /// The first errors, in file order.
    pub errors: Vec<RecordError>,
    /// `false` when a JSON array could not be read to its end (a syntax error or an
    /// over-long record inside it: the records after it were not checked).
    pub complete: bool,
}

impl FileReport {
    pub(crate) fn new(format: FileFormat) -> Self {
        FileReport {
            format,
            valid: 0,
            invalid: 0,
            errors: Vec::new(),
            complete: true,
        }
    }

    /// Whether every record was read and valid.
    pub fn is_ok(&self) -> bool {
        self.invalid == 0 && self.complete
    }

    /// How many records were checked.
    pub fn records(&self) -> u64 {
        self.valid + self.invalid
    }

    /// How many errors were counted but not kept (past the error limit).
    pub fn errors_not_kept(&self) -> u64 {
        self.invalid
            .saturating_sub(u64::try_from(self.errors.len()).unwrap_or(u64::MAX))
    }

    /// Counts an invalid record, keeping its error while there is room for `max_errors`.
    pub(crate) fn push_error(&mut self, error: RecordError, max_errors: usize) {
        self.invalid += 1;
        if self.errors.len() < max_errors {
            self.errors.push(error);
        }
    }
}

impl fmt::Display for FileReport {
    /// A summary line, then one line per kept error.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let format = match self.format {
            FileFormat::Ndjson => "NDJSON",
            FileFormat::JsonArray => "JSON array",
        };
        write!(
            f,
            "{format}: {} records, {} valid, {} invalid",
            self.records(),
            self.valid,
            self.invalid
        )?;
        if !self.complete {
            f.write_str(" (stopped early: the rest of the array was not checked)")?;
        }
        for error in &self.errors {
            write!(f, "\n  {error}")?;
        }
        let dropped = self.errors_not_kept();
        if dropped > 0 {
            write!(f, "\n  ... and {dropped} more errors")?;
        }
        Ok(())
    }
}
