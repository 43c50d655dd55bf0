//! [`RecordLimits`]: how large a meter record may be, and the time window epoch values must
//! fall in (which catches seconds given where milliseconds are expected, and the reverse).
//!
//! No Amberflo name or id needs more than a few hundred bytes; a record far larger than that
//! is a bug upstream (a payload pasted into a customer id, thousands of dimensions) that would
//! otherwise make the server refuse a whole batch.

/// Size limits every meter record is checked against.
///
/// | limit | default | applies to |
/// |---|---|---|
/// | `max_name_bytes` | 256 | `meterApiName`, `customerId`, `uniqueId`, each dimension key |
/// | `max_value_bytes` | 1,024 | each dimension value |
/// | `max_dimensions` | 64 | dimensions per record |
/// | `max_record_bytes` | 16,384 | all of a record's strings together |
/// | `min_meter_time_millis` | [`MIN_EPOCH_MILLIS`] (2000-01-01) | `meterTimeInMillis` |
/// | `max_meter_time_millis` | [`MAX_EPOCH_MILLIS`] (2099-12-31) | `meterTimeInMillis` |
/// | `max_future` | none (off) | `meterTimeInMillis`, against the clock at validation |
///
/// The time window catches seconds given where milliseconds are expected (a 1970 time) and
/// sentinels such as `i64::MAX`. [`RecordLimits::NONE`] keeps only the wire contract's rules
/// (a positive time, no sizes), for servers such as the emulator.
///
/// [`MeterRecord::validate`](crate::MeterRecord::validate) and
/// [`MeterRecordBuilder::build`](crate::MeterRecordBuilder::build) use the defaults;
/// the `_with` variants take other limits (the `amberflo` client's `record_limits` setting).
/// A broken limit is a [`ValidationError`](crate::ValidationError) naming the field, with
/// [`Rule::TooLong`](crate::Rule::TooLong) or [`Rule::TooMany`](crate::Rule::TooMany).
///
/// ```
/// use amberflo_types::{MeterRecord, RecordLimits, Rule};
///
/// let error = MeterRecord::builder("ApiCalls", 1.0, "c".repeat(300))
///     .build()
///     .unwrap_err();
/// assert_eq!(error.field(), "customer_id");
/// assert_eq!(error.rule(), &Rule::TooLong { max_bytes: 256 });
///
/// let mut roomy = RecordLimits::default();
/// roomy.max_name_bytes = 512;
/// assert!(
///     MeterRecord::builder("ApiCalls", 1.0, "c".repeat(300))
///         .build_with(&roomy)
///         .is_ok()
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct RecordLimits {
    /// The longest meter API name, customer id, unique id or dimension key, in bytes.
    pub max_name_bytes: usize,
    /// The longest dimension value, in bytes.
    pub max_value_bytes: usize,
    /// The most dimensions on one record.
    pub max_dimensions: usize,
    /// The most bytes of all of a record's strings together.
    pub max_record_bytes: usize,
    /// The earliest `meterTimeInMillis`.
    pub min_meter_time_millis: i64,
    /// The latest `meterTimeInMillis`.
    pub max_meter_time_millis: i64,
    /// How far ahead of now a record's time may be (the TypeScript SDK's check; off by
    /// default): a record timestamped later is refused with
    /// [`Rule::TooFarInFuture`](crate::Rule::TooFarInFuture).
    ///
    /// ```
    /// use amberflo_types::{MeterRecord, RecordLimits, Rule};
    /// use std::time::{Duration, SystemTime};
    ///
    /// let mut limits = RecordLimits::default();
    /// limits.max_future = Some(Duration::from_secs(5 * 60));
    /// let tomorrow = SystemTime::now() + Duration::from_secs(86_400);
    /// let error = MeterRecord::builder("ApiCalls", 1.0, "customer-1")
    ///     .meter_time(tomorrow)
    ///     .build_with(&limits)
    ///     .unwrap_err();
    /// assert_eq!(error.rule(), &Rule::TooFarInFuture { max_seconds: 300 });
    /// ```
    pub max_future: Option<std::time::Duration>,
}

impl RecordLimits {
    /// The documented defaults (see the table above).
    pub const DEFAULT: RecordLimits = RecordLimits {
        max_name_bytes: 256,
        max_value_bytes: 1024,
        max_dimensions: 64,
        max_record_bytes: 16 * 1024,
        min_meter_time_millis: MIN_EPOCH_MILLIS,
        max_meter_time_millis: MAX_EPOCH_MILLIS,
        max_future: None,
    };

    /// No limits beyond the wire contract: any size, any positive time.
    pub const NONE: RecordLimits = RecordLimits {
        max_name_bytes: usize::MAX,
        max_value_bytes: usize::MAX,
        max_dimensions: usize::MAX,
        max_record_bytes: usize::MAX,
        min_meter_time_millis: 1,
        max_meter_time_millis: i64::MAX,
        max_future: None,
    };
}

impl Default for RecordLimits {
    fn default() -> Self {
        RecordLimits::DEFAULT
    }
}

/// The earliest accepted time in epoch milliseconds: 2000-01-01T00:00:00Z. A smaller value is
/// almost always seconds given where milliseconds are expected.
pub const MIN_EPOCH_MILLIS: i64 = 946_684_800_000;

/// The latest accepted time in epoch milliseconds: 2099-12-31T23:59:59.999Z.
pub const MAX_EPOCH_MILLIS: i64 = 4_102_444_799_999;

/// The latest accepted time in epoch seconds: 2099-12-31T23:59:59Z. A larger value is almost
/// always milliseconds given where seconds are expected.
pub const MAX_EPOCH_SECONDS: i64 = 4_102_444_799;
