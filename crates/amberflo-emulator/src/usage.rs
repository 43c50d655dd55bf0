//! Usage reports computed from stored records: [`aggregate`] answers one [`UsageQuery`]
//! (`POST /usage/`), [`aggregate_all`] answers an [`AllUsageQuery`] (`GET /usage/all`).
//!
//! Semantics, as the emulator implements them:
//! - The range is `[start, end)` in Unix seconds (start inclusive, end exclusive); an open end
//!   means "now", the current second included (`end = now + 1`), so a record metered a moment
//!   ago is counted. A record belongs to it when `start * 1000 <= meterTimeInMillis < end * 1000`.
//! - A record with the dimension `aflo.cancel_previous_resource_event: "true"` cancels the
//!   first not yet cancelled record it repeats (same meter, customer, time and value;
//!   dimensions are not compared): neither counts, for any aggregation. A cancellation that
//!   matches nothing is ignored.
//! - Buckets are aligned in UTC: `HOUR` and `DAY` floor to the hour or day, `WEEK` to Monday
//!   00:00, `MONTH` to the first of the calendar month. The first bucket is the one holding
//!   `start` (so it may begin before `start`); buckets follow until one would begin at or
//!   after `end`. `secondsSinceEpochIntervals` lists their starts.
//! - `SUM`, `COUNT`, `MIN` and `MAX` apply per bucket; a bucket with no record is `0`.
//!   `groupValue` applies the same aggregation to the group's records over the whole range.
//! - `percentageFromPrevious` is `(value - previous) / |previous| * 100`, and `0` for the first
//!   bucket or when the previous bucket is `0`.
//! - `groupBy` names are dimension keys, or `customerId` for the record's customer. A record
//!   without a grouped-by dimension falls in the group where that name has the value `""`.
//! - `filter` keeps records whose dimension (or `customerId`) has one of the listed values; a
//!   record without that dimension is dropped.
//! - Without `groupBy` the report has exactly one client meter (zeros when nothing matched);
//!   with it, one per group seen, ordered by group key. `take` orders groups by `groupValue`
//!   (ascending when `isAscending`, ties by group key) and keeps the first `limit`.
//! - `metadata` echoes the query.

use std::collections::{BTreeMap, BTreeSet};

use amberflo_types::{
    AggregationType, AllUsageGroupBy, AllUsageQuery, ClientMeter, EpochSeconds, MeterGroup,
    MeterRecord, Rule, Take, TimeGroupingInterval, TimeRange, UsagePayloadFactory, UsageQuery,
    UsageReport, UsageValue, ValidationError,
};

use crate::calendar;
use crate::view::RecordView;

/// The latest time a query may reach: 10000-01-01T00:00:00Z, in Unix seconds.
pub const MAX_TIME_SECONDS: i64 = 253_402_300_800;

/// The most buckets one report may hold (about 11 years of `HOUR` buckets).
pub const MAX_BUCKETS: usize = 100_000;

/// The most values (groups × buckets) one report may hold.
pub const MAX_REPORT_VALUES: usize = 5_000_000;

/// Why a usage query could not be answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UsageError {
    /// The query broke a rule of the API; the error names the field.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// A value the SDK reads into an `Other` arm (an aggregation, interval or unit the API
    /// may add later): the emulator computes only the ones it knows.
    #[error("{field} {value:?} is not supported; use one of {known}")]
    Unsupported {
        /// The field, e.g. `"aggregation"`.
        field: &'static str,
        /// The value sent.
        value: String,
        /// The values the emulator supports, e.g. `"SUM, COUNT, MIN, MAX"`.
        known: String,
    },
    /// The report would be too large for the emulator to build.
    #[error("the report would hold more than {limit} {what}; narrow the time range or grouping")]
    TooLarge {
        /// What overflowed: `"buckets"` or `"values"`.
        what: &'static str,
        /// The limit that was reached.
        limit: usize,
    },
}

/// The resolved `[start, end)` range of a query and its bucket starts.
#[derive(Debug, Clone)]
pub(crate) struct Buckets {
    start: i64,
    end: i64,
    interval: TimeGroupingInterval,
    pub(crate) starts: Vec<i64>,
}

impl Buckets {
    /// The bucket starts, as a report's `secondsSinceEpochIntervals`.
    pub(crate) fn epoch_starts(&self) -> Vec<EpochSeconds> {
        self.starts.iter().copied().map(EpochSeconds::new).collect()
    }

    pub(crate) fn new(
        range: &TimeRange,
        interval: &TimeGroupingInterval,
        now_seconds: i64,
    ) -> Result<Self, UsageError> {
        range.validate().map_err(|e| prefix(&e, "time_range"))?;
        supported(
            "time_grouping_interval",
            interval.as_str(),
            interval.is_other(),
            TimeGroupingInterval::KNOWN,
        )?;
        let start = range.start_time_in_seconds();
        // An open range ends now, the current second included (a record metered a moment
        // ago is in it), and always holds at least the bucket of its start.
        let end = range
            .end_time_in_seconds()
            .unwrap_or_else(|| now_seconds.max(start).saturating_add(1));
        for (field, value) in [
            ("time_range.start_time_in_seconds", start),
            ("time_range.end_time_in_seconds", end),
        ] {
            if value > MAX_TIME_SECONDS {
                let rule = Rule::OutOfRange {
                    min: 1,
                    max: MAX_TIME_SECONDS,
                };
                return Err(ValidationError::new(field, rule).into());
            }
        }
        let mut starts = Vec::new();
        let mut bucket = calendar::floor(start, interval);
        while bucket < end {
            if starts.len() == MAX_BUCKETS {
                return Err(UsageError::TooLarge {
                    what: "buckets",
                    limit: MAX_BUCKETS,
                });
            }
            starts.push(bucket);
            bucket = calendar::next(bucket, interval);
        }
        Ok(Buckets {
            start,
            end,
            interval: interval.clone(),
            starts,
        })
    }

    /// The bucket of a record, or `None` when it is outside the range.
    pub(crate) fn index_of(&self, millis: i64) -> Option<usize> {
        let first = *self.starts.first()?;
        let start_millis = self.start.saturating_mul(1000);
        let end_millis = self.end.saturating_mul(1000);
        if millis < start_millis || millis >= end_millis {
            return None;
        }
        let seconds = millis.div_euclid(1000);
        let index = calendar::bucket_index(seconds, first, &self.interval);
        usize::try_from(index)
            .ok()
            .filter(|index| *index < self.starts.len())
    }
}

/// Refuses a value the SDK keeps as `Other` (`is_other`): the emulator computes only the
/// `known` ones.
pub(crate) fn supported(
    field: &'static str,
    value: &str,
    is_other: bool,
    known: &[&str],
) -> Result<(), UsageError> {
    if is_other {
        return Err(UsageError::Unsupported {
            field,
            value: value.to_owned(),
            known: known.join(", "),
        });
    }
    Ok(())
}

/// Prefixes a validation error's field with `parent.`.
fn prefix(error: &ValidationError, parent: &str) -> ValidationError {
    ValidationError::new(format!("{parent}.{}", error.field()), error.rule().clone())
}

/// Running aggregate of the values of one bucket (or one whole group).
#[derive(Debug, Clone, Copy)]
struct Accumulator {
    sum: f64,
    count: u64,
    min: f64,
    max: f64,
}

impl Default for Accumulator {
    fn default() -> Self {
        Accumulator {
            sum: 0.0,
            count: 0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }
}

impl Accumulator {
    fn add(&mut self, value: f64) {
        self.sum += value;
        self.count += 1;
        self.min = self.min.min(value);
        self.max = self.max.max(value);
    }

    fn value(&self, aggregation: &AggregationType) -> f64 {
        if self.count == 0 {
            return 0.0;
        }
        match aggregation {
            AggregationType::Count => self.count as f64,
            AggregationType::Min => self.min,
            AggregationType::Max => self.max,
            // SUM, and any aggregation added later.
            _ => self.sum,
        }
    }
}

/// One group's accumulators: per bucket and over the whole range.
#[derive(Debug)]
struct GroupAccumulator {
    total: Accumulator,
    buckets: Vec<Accumulator>,
}

/// Whether a record passes `filter`: for every name, the record's value (`attribute(name)`)
/// is one of the listed values. No filter passes everything.
pub(crate) fn matches_filter<'a>(
    filter: Option<&BTreeMap<String, Vec<String>>>,
    attribute: impl Fn(&str) -> Option<&'a str>,
) -> bool {
    filter.is_none_or(|filter| {
        filter.iter().all(|(name, allowed)| {
            attribute(name).is_some_and(|value| allowed.iter().any(|a| a == value))
        })
    })
}

/// Orders `list` by `value` (ascending when the take says so; ties keep their order) and
/// keeps its first `limit`. No take leaves the list as it is.
pub(crate) fn apply_take<T>(list: &mut Vec<T>, take: Option<&Take>, value: impl Fn(&T) -> f64) {
    let Some(take) = take else {
        return;
    };
    if take.is_ascending() {
        list.sort_by(|a, b| value(a).total_cmp(&value(b)));
    } else {
        list.sort_by(|a, b| value(b).total_cmp(&value(a)));
    }
    list.truncate(usize::try_from(take.limit()).unwrap_or(usize::MAX));
}

/// The change from `previous` to `value` in percent of `previous`; 0 without a previous
/// value or when it is 0.
pub(crate) fn percentage_change(value: f64, previous: Option<f64>) -> f64 {
    match previous {
        Some(previous) if previous != 0.0 => (value - previous) / previous.abs() * 100.0,
        _ => 0.0,
    }
}

/// Computes the usage report for `query` over `records`, as `POST /usage/` does.
///
/// `now_seconds` ends open ranges. See the [module docs](self) for the exact semantics.
///
/// ```
/// use amberflo_emulator::usage::aggregate;
/// use amberflo_types::{
///     AggregationType, EpochMillis, EpochSeconds, MeterRecord, TimeGroupingInterval,
///     TimeRange, UsageQuery,
/// };
///
/// let records = vec![
///     MeterRecord::builder("ApiCalls", 2.0, "c1")
///         .meter_time(EpochMillis::new(1_700_000_000_000))
///         .build()?,
///     MeterRecord::builder("ApiCalls", 3.0, "c2")
///         .meter_time(EpochMillis::new(1_700_000_100_000))
///         .build()?,
/// ];
/// let range = TimeRange::between(
///     EpochSeconds::new(1_699_920_000),
///     EpochSeconds::new(1_700_006_400),
/// )?;
/// let query = UsageQuery::builder(
///     "ApiCalls",
///     AggregationType::Sum,
///     TimeGroupingInterval::Day,
///     range,
/// )
/// .group_by(["customerId"])
/// .build()?;
/// let report = aggregate(&records, &query, 1_800_000_000)?;
/// assert_eq!(report.seconds_since_epoch_intervals[0].get(), 1_699_920_000);
/// assert_eq!(report.client_meters.len(), 2);
/// assert_eq!(report.client_meters[1].group_value, 3.0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn aggregate(
    records: &[MeterRecord],
    query: &UsageQuery,
    now_seconds: i64,
) -> Result<UsageReport, UsageError> {
    aggregate_views(records.iter(), query, now_seconds)
}

/// [`aggregate`] over any records.
pub(crate) fn aggregate_views<'a, V: RecordView<'a>>(
    records: impl Iterator<Item = V> + Clone,
    query: &UsageQuery,
    now_seconds: i64,
) -> Result<UsageReport, UsageError> {
    query.validate()?;
    let buckets = Buckets::new(
        query.time_range(),
        query.time_grouping_interval(),
        now_seconds,
    )?;
    let group_by = query.group_by().unwrap_or(&[]);
    let filter = query.filter();
    let bucket_count = buckets.starts.len();

    let mut groups: BTreeMap<Vec<&'a str>, GroupAccumulator> = BTreeMap::new();
    let meter = query.meter_api_name();
    let records = records.filter(|record| record.meter_api_name() == meter);
    for record in crate::cancel::live(records) {
        let Some(index) = buckets.index_of(record.meter_time_in_millis()) else {
            continue;
        };
        if !matches_filter(filter, |name| record.attribute(name)) {
            continue;
        }
        let key: Vec<&'a str> = group_by
            .iter()
            .map(|name| record.attribute(name).unwrap_or(""))
            .collect();
        if !groups.contains_key(&key)
            && (groups.len() + 1).saturating_mul(bucket_count) > MAX_REPORT_VALUES
        {
            return Err(UsageError::TooLarge {
                what: "values",
                limit: MAX_REPORT_VALUES,
            });
        }
        let group = groups.entry(key).or_insert_with(|| GroupAccumulator {
            total: Accumulator::default(),
            buckets: vec![Accumulator::default(); bucket_count],
        });
        let value = record.meter_value();
        group.total.add(value);
        if let Some(bucket) = group.buckets.get_mut(index) {
            bucket.add(value);
        }
    }
    if group_by.is_empty() && groups.is_empty() {
        groups.insert(
            Vec::new(),
            GroupAccumulator {
                total: Accumulator::default(),
                buckets: vec![Accumulator::default(); bucket_count],
            },
        );
    }

    let aggregation = query.aggregation();
    supported(
        "aggregation",
        aggregation.as_str(),
        aggregation.is_other(),
        AggregationType::KNOWN,
    )?;
    let mut client_meters: Vec<ClientMeter> = groups
        .into_iter()
        .map(|(key, group)| {
            let info = (!group_by.is_empty()).then(|| {
                MeterGroup::new(
                    group_by
                        .iter()
                        .zip(key)
                        .map(|(name, value)| (name.clone(), value.to_owned()))
                        .collect(),
                )
            });
            let values = bucket_values(&group.buckets, &buckets.starts, aggregation);
            ClientMeter::new(info, group.total.value(aggregation), values)
        })
        .collect();
    apply_take(&mut client_meters, query.take(), |meter| meter.group_value);
    let metadata = serde_json::to_value(query).unwrap_or(serde_json::Value::Null);
    Ok(UsageReport::new(
        metadata,
        buckets.epoch_starts(),
        client_meters,
    ))
}

fn bucket_values(
    accumulators: &[Accumulator],
    starts: &[i64],
    aggregation: &AggregationType,
) -> Vec<UsageValue> {
    let mut previous: Option<f64> = None;
    accumulators
        .iter()
        .zip(starts)
        .map(|(accumulator, start)| {
            let value = accumulator.value(aggregation);
            let percentage = percentage_change(value, previous);
            previous = Some(value);
            UsageValue::new(value, EpochSeconds::new(*start), percentage)
        })
        .collect()
}

/// Computes `GET /usage/all`: one `SUM` report per meter that has records in the range (for
/// the filtered customer, when one is given), ordered by meter name, grouped by `customerId`
/// when the query asks for it.
///
/// ```
/// use amberflo_emulator::usage::aggregate_all;
/// use amberflo_types::{
///     AllUsageQuery, EpochMillis, EpochSeconds, MeterRecord, TimeGroupingInterval, TimeRange,
/// };
///
/// let records = vec![
///     MeterRecord::builder("ApiCalls", 2.0, "c1")
///         .meter_time(EpochMillis::new(1_700_000_000_000))
///         .build()?,
///     MeterRecord::builder("Storage", 5.0, "c1")
///         .meter_time(EpochMillis::new(1_700_000_000_000))
///         .build()?,
/// ];
/// let query = AllUsageQuery::builder(
///     TimeGroupingInterval::Day,
///     TimeRange::since(EpochSeconds::new(1_699_920_000))?,
/// )
/// .build()?;
/// let reports = aggregate_all(&records, &query, 1_700_006_400)?;
/// assert_eq!(reports.len(), 2);
/// assert_eq!(reports[1].metadata["meterApiName"], "Storage");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn aggregate_all(
    records: &[MeterRecord],
    query: &AllUsageQuery,
    now_seconds: i64,
) -> Result<Vec<UsageReport>, UsageError> {
    aggregate_all_views(&records.iter(), query, now_seconds)
}

/// [`aggregate_all`] over any records.
pub(crate) fn aggregate_all_views<'a, V: RecordView<'a>>(
    records: &(impl Iterator<Item = V> + Clone),
    query: &AllUsageQuery,
    now_seconds: i64,
) -> Result<Vec<UsageReport>, UsageError> {
    query.validate()?;
    let range = query.time_range();
    let interval = query.time_grouping_interval();
    let buckets = Buckets::new(&range, interval, now_seconds)?;
    let customer = query.customer_id();
    let meters: BTreeSet<&str> = records
        .clone()
        .filter(|record| customer.is_none_or(|customer| record.customer_id() == customer))
        .filter(|record| buckets.index_of(record.meter_time_in_millis()).is_some())
        .map(RecordView::meter_api_name)
        .collect();
    // Resolve an open end once, so every report covers the same buckets.
    let range = TimeRange::between(
        EpochSeconds::new(range.start_time_in_seconds()),
        EpochSeconds::new(buckets.end),
    )?;
    let group_by = query.group_by().and_then(|group_by| match group_by {
        AllUsageGroupBy::CustomerId => Some(vec!["customerId".to_owned()]),
        // `AllUsageGroupBy` is non-exhaustive; the emulator groups only by customer.
        _ => None,
    });
    meters
        .into_iter()
        .map(|meter| {
            let mut query =
                UsagePayloadFactory::create(meter, AggregationType::Sum, interval.clone(), range);
            if let Some(group_by) = &group_by {
                query = query.group_by(group_by.iter());
            }
            if let Some(customer) = customer {
                query = query.filter("customerId", [customer]);
            }
            let query = query.build()?;
            aggregate_views(records.clone(), &query, now_seconds)
        })
        .collect()
}
