//! Validation's error: a [`ValidationError`] naming the field and the rule broken. (Reading a
//! record's compact form has its own, [`CompactError`](crate::CompactError).)

use std::borrow::Cow;
use std::fmt;

/// A payload failed validation: `field` names the offending field (dotted for nested ones,
/// e.g. `time_range.end_time_in_seconds` or `dimensions.region`), `rule` says what was wrong.
///
/// ```
/// use amberflo_types::MeterRecord;
///
/// let error = MeterRecord::builder(" ", 1.0, "customer-1")
///     .build()
///     .unwrap_err();
/// assert_eq!(error.field(), "meter_api_name");
/// assert_eq!(error.to_string(), "meter_api_name must not be blank");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} {rule}")]
pub struct ValidationError {
    field: Cow<'static, str>,
    rule: Rule,
}

/// The rule a [`ValidationError`] reports as broken.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rule {
    /// A string was empty or only whitespace.
    Blank,
    /// A number was NaN or infinite.
    NotFinite,
    /// A number was zero or negative.
    NotPositive,
    /// A list was empty.
    EmptyList,
    /// An end time was not after its start time.
    EndNotAfterStart,
    /// An end time came less than the given number of seconds after its start.
    TooCloseToStart {
        /// The minimum distance, in seconds.
        min_seconds: i64,
    },
    /// A value was outside the inclusive range `min..=max`.
    OutOfRange {
        /// The smallest accepted value.
        min: i64,
        /// The largest accepted value.
        max: i64,
    },
    /// A year, month and day did not form a calendar date.
    NotADate,
    /// A required field was never set on a builder, or is absent from parsed JSON.
    Missing,
    /// A string was longer than a [`RecordLimits`](crate::RecordLimits) limit.
    TooLong {
        /// The limit, in bytes.
        max_bytes: usize,
    },
    /// A collection had more entries than a [`RecordLimits`](crate::RecordLimits) limit.
    TooMany {
        /// The limit.
        max: usize,
    },
    /// A time was further in the future than allowed (see
    /// [`RecordLimits::max_future`](crate::RecordLimits::max_future)).
    TooFarInFuture {
        /// How far ahead of now a time may be, in seconds.
        max_seconds: u64,
    },
    /// A parsed JSON value had the wrong type, e.g. a string where a number belongs (see
    /// [`ingest_file`](crate::ingest_file)).
    WrongType {
        /// What the field must be, e.g. `"a number"`.
        expected: &'static str,
    },
    /// An id that goes into a URL path was `.` or `..`, which URL parsers resolve as a
    /// relative path step (percent-encoding cannot protect those two).
    DotSegment,
    /// A field was set where the call does not allow it (an id on a create: the server
    /// assigns it).
    NotAllowed,
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rule::Blank => f.write_str("must not be blank"),
            Rule::NotFinite => f.write_str("must be a finite number"),
            Rule::NotPositive => f.write_str("must be greater than 0"),
            Rule::EmptyList => f.write_str("must not be an empty list"),
            Rule::EndNotAfterStart => f.write_str("must be after start"),
            Rule::TooCloseToStart { min_seconds } => {
                write!(f, "must be at least {min_seconds} seconds after start")
            }
            Rule::OutOfRange { min, max } => write!(f, "must be between {min} and {max}"),
            Rule::NotADate => f.write_str("must be a valid calendar date"),
            Rule::Missing => f.write_str("must be set"),
            Rule::TooLong { max_bytes } => write!(f, "must be at most {max_bytes} bytes long"),
            Rule::TooMany { max } => write!(f, "must have at most {max} entries"),
            Rule::WrongType { expected } => write!(f, "must be {expected}"),
            Rule::TooFarInFuture { max_seconds } => {
                write!(f, "must be at most {max_seconds} seconds in the future")
            }
            Rule::DotSegment => f.write_str("must not be `.` or `..`"),
            Rule::NotAllowed => f.write_str("must not be set"),
        }
    }
}

impl ValidationError {
    /// Creates an error for `field` breaking `rule`.
    pub fn new(field: impl Into<Cow<'static, str>>, rule: Rule) -> Self {
        ValidationError {
            field: field.into(),
            rule,
        }
    }

    /// The field that failed, in snake case, dotted for nested fields.
    pub fn field(&self) -> &str {
        &self.field
    }

    /// The rule that was broken.
    pub fn rule(&self) -> &Rule {
        &self.rule
    }

    /// Prefixes the field with `parent.`, for errors from a nested value.
    pub(crate) fn within(self, parent: &str) -> Self {
        ValidationError::new(format!("{parent}.{}", self.field), self.rule)
    }
}
