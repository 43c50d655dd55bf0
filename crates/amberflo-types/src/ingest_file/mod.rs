//! Checking files of meter records before they are ingested, with no HTTP: NDJSON (one record
//! per line) or a JSON array of records (the ingest API's body), e.g. from a data pipeline.
//!
//! [`validate_reader`] reads a file (or any [`Read`]) once, as a stream, and returns a
//! [`FileReport`]: exact counts of valid and invalid records, and the first errors, each with
//! its line number (and, in an array, the element's index) and a [`Problem`] that names the
//! field and the rule through the crate's [`ValidationError`](crate::ValidationError)
//! (`customer_id must not be blank`, `meter_value must be a number`, `unique_id must be set`),
//! or a JSON syntax error with its line and column. Every record gets the checks of
//! [`MeterRecord::validate`](crate::MeterRecord::validate), as `meter()` would apply them.
//!
//! The format is told by the first byte that is not whitespace (after an optional UTF-8 byte
//! order mark): `[` means a JSON array, anything else NDJSON (blank lines are skipped).
//!
//! # Bounded memory
//!
//! A 1 GB file is checked in a few megabytes: the file is read through a 64 KiB buffer and
//! never held whole, an array is streamed element by element with serde's `SeqAccess`, and
//! at most one record is in memory at a time. Two limits keep that true for any input (set
//! them on a [`FileValidator`]):
//!
//! - **Per-record size**: a record's JSON text may take at most
//!   [`DEFAULT_MAX_RECORD_BYTES`] (1 MiB; [`FileValidator::max_record_bytes`]). A longer NDJSON
//!   line is skipped without being stored and reported as [`Problem::TooLarge`]; in an array,
//!   where the records after it cannot be found without parsing it, the check stops there
//!   (the report is then not [`complete`](FileReport::complete)). In an array the separators
//!   before an element count towards its size.
//! - **Stored errors**: the report keeps the first [`DEFAULT_MAX_ERRORS`] (100;
//!   [`FileValidator::max_errors`]) errors; the counts stay exact.
//!
//! A JSON syntax error inside an array also ends the check of that array (the parser cannot
//! resynchronise); in NDJSON it spoils only its own line.
//!
//! ```
//! use amberflo_types::ingest_file::{self, FileFormat};
//!
//! let file = concat!(
//!     r#"{"uniqueId":"a","meterApiName":"ApiCalls","meterValue":1,"customerId":"c-1","meterTimeInMillis":1700000000000}"#, "\n",
//!     r#"{"uniqueId":"b","meterApiName":"ApiCalls","meterValue":1,"customerId":" ","meterTimeInMillis":1700000000000}"#, "\n",
//!     "not json\n",
//! );
//! let report = ingest_file::validate_reader(file.as_bytes())?;
//! assert_eq!(report.format, FileFormat::Ndjson);
//! assert_eq!((report.valid, report.invalid), (1, 2));
//! assert_eq!(report.errors[0].line, 2);
//! assert_eq!(report.errors[0].to_string(), "line 2: customer_id must not be blank");
//! assert_eq!(report.errors[1].line, 3);
//! assert!(!report.is_ok());
//! # Ok::<(), std::io::Error>(())
//! ```

mod array;
mod ndjson;
mod record;
mod report;

use std::io::{self, BufRead, BufReader, Read};

use uuid::Uuid;

use crate::MeterRecord;

pub use report::{FileFormat, FileReport, Problem, RecordError};

/// How many errors a [`FileReport`] keeps unless told otherwise (the counts stay exact).
pub const DEFAULT_MAX_ERRORS: usize = 100;

/// The longest a record's JSON text may be unless told otherwise: 1 MiB.
pub const DEFAULT_MAX_RECORD_BYTES: usize = 1024 * 1024;

/// The read buffer's size.
const BUFFER_BYTES: usize = 64 * 1024;

/// Checks every meter record read from `reader` with the default limits; see the
/// [module docs](self).
///
/// # Errors
///
/// Only when reading fails: what is wrong with the records is in the report.
///
/// ```
/// use amberflo_types::ingest_file::{self, FileFormat};
///
/// let body = r#"[
///   {"uniqueId": "a", "meterApiName": "ApiCalls", "meterValue": 1, "customerId": "c-1", "meterTimeInMillis": 1700000000000},
///   {"uniqueId": "b", "meterApiName": "ApiCalls", "meterValue": "1", "customerId": "c-1", "meterTimeInMillis": 1700000000000}
/// ]"#;
/// let report = ingest_file::validate_reader(body.as_bytes())?;
/// assert_eq!(report.format, FileFormat::JsonArray);
/// assert_eq!((report.valid, report.invalid), (1, 1));
/// assert_eq!(
///     report.errors[0].to_string(),
///     "line 3 (element 1): meter_value must be a number"
/// );
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn validate_reader<R: Read>(reader: R) -> io::Result<FileReport> {
    FileValidator::new().validate(reader)
}

/// Checks files of meter records with chosen limits (defaults: [`DEFAULT_MAX_ERRORS`],
/// [`DEFAULT_MAX_RECORD_BYTES`]).
///
/// ```
/// use amberflo_types::ingest_file::{FileValidator, Problem};
///
/// let bad = "{}\n".repeat(50);
/// let report = FileValidator::new()
///     .max_errors(10)
///     .validate(bad.as_bytes())?;
/// assert_eq!(report.invalid, 50);
/// assert_eq!(report.errors.len(), 10);
/// assert_eq!(report.errors_not_kept(), 40);
///
/// let long = format!("{{\"uniqueId\": \"{}\"}}\n", "x".repeat(100));
/// let report = FileValidator::new()
///     .max_record_bytes(64)
///     .validate(long.as_bytes())?;
/// assert_eq!(report.errors[0].problem, Problem::TooLarge { limit: 64 });
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "a validator does nothing until `validate` is called"]
pub struct FileValidator {
    max_errors: usize,
    max_record_bytes: usize,
    derive_unique_ids: Option<Uuid>,
}

impl Default for FileValidator {
    fn default() -> Self {
        FileValidator {
            max_errors: DEFAULT_MAX_ERRORS,
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
            derive_unique_ids: None,
        }
    }
}

/// A good record read from a file, and where it was.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ReadRecord {
    /// The 1-based line the record starts on.
    pub line: u64,
    /// The record's 0-based position in a JSON array (`None` in NDJSON).
    pub index: Option<u64>,
    /// The record, checked.
    pub record: MeterRecord,
}

impl FileValidator {
    /// A validator with the default limits.
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps at most `max_errors` errors in the report (default [`DEFAULT_MAX_ERRORS`]);
    /// every invalid record is still counted.
    pub fn max_errors(mut self, max_errors: usize) -> Self {
        self.max_errors = max_errors;
        self
    }

    /// Refuses records whose JSON text is longer than `bytes` (default
    /// [`DEFAULT_MAX_RECORD_BYTES`]); see the [module docs](self) for what happens then.
    pub fn max_record_bytes(mut self, bytes: usize) -> Self {
        self.max_record_bytes = bytes;
        self
    }

    /// Accepts records without a `uniqueId`, giving each the id [`UniqueId::derived`] makes
    /// from `source` (a UUID naming the file), the record's position (its line in NDJSON,
    /// its index in an array) and its content: reading the same file again gives the same
    /// ids, so a rerun backfill is deduplicated by Amberflo. Without it, a missing
    /// `uniqueId` is an error (`unique_id must be set`).
    ///
    /// ```
    /// use amberflo_types::ingest_file::FileValidator;
    /// use amberflo_types::Uuid;
    ///
    /// let file = r#"{"meterApiName":"ApiCalls","meterValue":1,"customerId":"c-1","meterTimeInMillis":1700000000000}"#;
    /// let source = Uuid::new_v5(&Uuid::NAMESPACE_URL, b"file:///exports/june.ndjson");
    /// let mut ids = Vec::new();
    /// for _ in 0..2 {
    ///     FileValidator::new()
    ///         .derive_missing_unique_ids(source)
    ///         .read(file.as_bytes(), |read| {
    ///             ids.extend(read.ok().map(|read| read.record.unique_id().clone()))
    ///         })?;
    /// }
    /// assert_eq!(ids.len(), 2);
    /// assert_eq!(ids[0], ids[1]);
    /// assert!(!FileValidator::new().validate(file.as_bytes())?.is_ok());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// [`UniqueId::derived`]: crate::UniqueId::derived
    pub fn derive_missing_unique_ids(mut self, source: Uuid) -> Self {
        self.derive_unique_ids = Some(source);
        self
    }

    /// Checks every record read from `reader`.
    ///
    /// # Errors
    ///
    /// Only when reading fails.
    pub fn validate<R: Read>(&self, reader: R) -> io::Result<FileReport> {
        self.read(reader, |_| {})
    }

    /// Checks every record read from `reader`, as [`validate`](Self::validate), handing each
    /// to `on_record` as it is read (one record in memory at a time): a good one, or the
    /// error of a bad one (which the report also counts, and keeps while there is room).
    ///
    /// ```
    /// use amberflo_types::ingest_file::FileValidator;
    ///
    /// let file = concat!(
    ///     r#"{"uniqueId":"a","meterApiName":"ApiCalls","meterValue":1,"customerId":"c-1","meterTimeInMillis":1700000000000}"#, "\n",
    ///     r#"{"uniqueId":"b","meterApiName":"ApiCalls","meterValue":"x","customerId":"c-1","meterTimeInMillis":1700000000000}"#, "\n",
    /// );
    /// let (mut good, mut bad) = (Vec::new(), Vec::new());
    /// let report = FileValidator::new().read(file.as_bytes(), |read| match read {
    ///     Ok(read) => good.push(read.line),
    ///     Err(error) => bad.push(error.to_string()),
    /// })?;
    /// assert_eq!(good, [1]);
    /// assert_eq!(bad, ["line 2: meter_value must be a number"]);
    /// assert_eq!(report.invalid, 1);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Only when reading fails.
    pub fn read<R: Read>(
        &self,
        reader: R,
        mut on_record: impl FnMut(Result<ReadRecord, &RecordError>),
    ) -> io::Result<FileReport> {
        let mut reader = BufReader::with_capacity(BUFFER_BYTES, reader);
        let mut line = 1;
        skip_byte_order_mark(&mut reader)?;
        let first = loop {
            let buffer = reader.fill_buf()?;
            if buffer.is_empty() {
                break None;
            }
            let spaces = buffer
                .iter()
                .position(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'));
            let skipped = spaces.unwrap_or(buffer.len());
            let newlines = buffer[..skipped].iter().filter(|&&b| b == b'\n').count();
            line += u64::try_from(newlines).unwrap_or(u64::MAX);
            let first = spaces.map(|at| buffer[at]);
            reader.consume(skipped);
            if first.is_some() {
                break first;
            }
        };
        if first == Some(b'[') {
            let mut report = FileReport::new(FileFormat::JsonArray);
            array::check(reader, line, self, &mut report, &mut on_record)?;
            Ok(report)
        } else {
            let mut report = FileReport::new(FileFormat::Ndjson);
            ndjson::check(&mut reader, line, self, &mut report, &mut on_record)?;
            Ok(report)
        }
    }
}

fn skip_byte_order_mark<R: BufRead>(reader: &mut R) -> io::Result<()> {
    const BOM: &[u8] = b"\xEF\xBB\xBF";
    if reader.fill_buf()?.starts_with(BOM) {
        reader.consume(BOM.len());
    }
    Ok(())
}
