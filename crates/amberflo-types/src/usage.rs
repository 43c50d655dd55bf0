//! Usage queries and reports: [`UsageQuery`] (built by [`UsagePayloadFactory::create`], also
//! named [`UsageQuery::builder`]), [`AllUsageQuery`] for every meter at once, and
//! [`UsageReport`].

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::error::{Rule, ValidationError};
use crate::open_enum::open_enum;
use crate::time::EpochSeconds;
use crate::{time, validate};

open_enum! {
    any_case
    /// How a usage query aggregates the values of each time bucket.
    ///
    /// Sent upper case (`"SUM"`); read in any case, as the API reads it: the Go and TypeScript
    /// SDKs send lower case (`"sum"`). An aggregation this SDK does not know is kept in `Other`.
    AggregationType {
        /// The sum of the values.
        Sum => "SUM",
        /// The number of records.
        Count => "COUNT",
        /// The smallest value.
        Min => "MIN",
        /// The largest value.
        Max => "MAX",
    }
}

open_enum! {
    any_case
    /// The width of the time buckets of a usage report.
    ///
    /// Sent upper case (`"DAY"`); read in any case, as the API reads it: the Go and TypeScript
    /// SDKs send lower case (`"day"`). An interval this SDK does not know is kept in `Other`.
    TimeGroupingInterval {
        /// One bucket per hour.
        Hour => "HOUR",
        /// One bucket per day (UTC).
        Day => "DAY",
        /// One bucket per week.
        Week => "WEEK",
        /// One bucket per calendar month.
        Month => "MONTH",
    }
}

/// A time range in Unix seconds: a start and an optional end after it.
///
/// Made from [`SystemTime`]s or [`EpochSeconds`] ([`TimeRange::since`],
/// [`TimeRange::between`]), or from a [`Duration`] back from now ([`TimeRange::last`]).
/// Every constructor validates: the start must be after the epoch (an error on
/// `start_time_in_seconds`) and the end after the start (an error on `end_time_in_seconds`).
/// Times are kept to the whole second (truncated).
///
/// ```
/// use amberflo_types::{EpochSeconds, Rule, TimeRange};
/// use std::time::{Duration, UNIX_EPOCH};
///
/// let start = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
/// let range = TimeRange::between(start, start + Duration::from_secs(86_400))?;
/// assert_eq!(range.start_time_in_seconds(), 1_700_000_000);
/// assert_eq!(
///     range,
///     TimeRange::between(
///         EpochSeconds::new(1_700_000_000),
///         EpochSeconds::new(1_700_086_400)
///     )?
/// );
///
/// // The last 24 hours, open-ended.
/// let recent = TimeRange::last(Duration::from_secs(24 * 60 * 60))?;
/// assert_eq!(recent.end_time(), None);
///
/// let error = TimeRange::between(EpochSeconds::new(10), EpochSeconds::new(5)).unwrap_err();
/// assert_eq!(error.field(), "end_time_in_seconds");
/// assert_eq!(error.rule(), &Rule::EndNotAfterStart);
/// # Ok::<(), amberflo_types::ValidationError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct TimeRange {
    #[cfg_attr(feature = "schemars", schemars(range(min = 1, max = crate::MAX_EPOCH_SECONDS)))]
    start_time_in_seconds: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "schemars",
        schemars(with = "i64", range(min = 1, max = crate::MAX_EPOCH_SECONDS))
    )]
    end_time_in_seconds: Option<i64>,
}

impl TimeRange {
    fn checked(start: i64, end: Option<i64>) -> Result<Self, ValidationError> {
        let range = TimeRange {
            start_time_in_seconds: start,
            end_time_in_seconds: end,
        };
        range.validate()?;
        Ok(range)
    }

    /// An open-ended range starting at `start` (which must be after the epoch). Takes a
    /// [`SystemTime`], or an [`EpochSeconds`] for a number you have.
    pub fn since(start: impl Into<SystemTime>) -> Result<Self, ValidationError> {
        Self::checked(time::to_epoch_seconds(start.into()), None)
    }

    /// The range from `start` to `end`; `end` must be after `start`. Takes [`SystemTime`]s,
    /// or [`EpochSeconds`] for numbers you have.
    pub fn between(
        start: impl Into<SystemTime>,
        end: impl Into<SystemTime>,
    ) -> Result<Self, ValidationError> {
        Self::checked(
            time::to_epoch_seconds(start.into()),
            Some(time::to_epoch_seconds(end.into())),
        )
    }

    /// An open-ended range starting `duration` before now: `last(24 hours)` is the last day's
    /// usage. A duration reaching back before the epoch fails on `start_time_in_seconds`.
    pub fn last(duration: Duration) -> Result<Self, ValidationError> {
        let start = SystemTime::now()
            .checked_sub(duration)
            .unwrap_or(UNIX_EPOCH);
        Self::since(start)
    }

    /// Checks the rules the constructors enforce (for deserialised ranges).
    pub fn validate(&self) -> Result<(), ValidationError> {
        validate::epoch_seconds("start_time_in_seconds", self.start_time_in_seconds)?;
        if let Some(end) = self.end_time_in_seconds {
            if end <= self.start_time_in_seconds {
                return Err(ValidationError::new(
                    "end_time_in_seconds",
                    Rule::EndNotAfterStart,
                ));
            }
            validate::epoch_seconds("end_time_in_seconds", end)?;
        }
        Ok(())
    }

    /// The start, in Unix seconds.
    pub fn start_time_in_seconds(&self) -> i64 {
        self.start_time_in_seconds
    }

    /// The end, in Unix seconds, if the range has one.
    pub fn end_time_in_seconds(&self) -> Option<i64> {
        self.end_time_in_seconds
    }

    /// The start.
    pub fn start_time(&self) -> SystemTime {
        time::from_epoch_seconds(self.start_time_in_seconds)
    }

    /// The end, if the range has one.
    pub fn end_time(&self) -> Option<SystemTime> {
        self.end_time_in_seconds.map(time::from_epoch_seconds)
    }
}

/// Keep only the first `limit` groups: the largest ([`Take::largest`]) or the smallest
/// ([`Take::smallest`]) by group value.
///
/// ```
/// use amberflo_types::{Rule, Take};
///
/// let take = Take::largest(10)?;
/// assert_eq!((take.limit(), take.is_ascending()), (10, false));
/// assert_eq!(
///     serde_json::to_value(Take::smallest(3)?).unwrap(),
///     serde_json::json!({"limit": 3, "isAscending": true})
/// );
/// let error = Take::largest(0).unwrap_err();
/// assert_eq!((error.field(), error.rule()), ("limit", &Rule::NotPositive));
/// # Ok::<(), amberflo_types::ValidationError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Take {
    #[cfg_attr(feature = "schemars", schemars(range(min = 1)))]
    limit: u32,
    #[serde(default)]
    is_ascending: bool,
}

impl Take {
    fn checked(limit: u32, is_ascending: bool) -> Result<Self, ValidationError> {
        let take = Take {
            limit,
            is_ascending,
        };
        take.validate()?;
        Ok(take)
    }

    /// The `limit` (positive) groups with the largest values, largest first
    /// (`isAscending: false`).
    pub fn largest(limit: u32) -> Result<Self, ValidationError> {
        Self::checked(limit, false)
    }

    /// The `limit` (positive) groups with the smallest values, smallest first
    /// (`isAscending: true`).
    pub fn smallest(limit: u32) -> Result<Self, ValidationError> {
        Self::checked(limit, true)
    }

    /// Checks that the limit is positive.
    pub fn validate(&self) -> Result<(), ValidationError> {
        validate::positive("limit", self.limit)
    }

    /// How many groups to keep.
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// Whether the smallest groups come first.
    pub fn is_ascending(&self) -> bool {
        self.is_ascending
    }
}

/// A usage query for one meter (`POST /usage/`, or a list of them to `POST /usage/batch`).
///
/// Build it with [`UsagePayloadFactory::create`] (or [`UsageQuery::builder`], the same call);
/// `build()` validates.
///
/// ```
/// use amberflo_types::{
///     AggregationType, Rule, Take, TimeGroupingInterval, TimeRange, UsageQuery,
/// };
/// use std::time::Duration;
///
/// let last_day = TimeRange::last(Duration::from_secs(24 * 60 * 60))?;
/// let query = UsageQuery::builder(
///     "ApiCalls",
///     AggregationType::Sum,
///     TimeGroupingInterval::Hour,
///     last_day,
/// )
/// .group_by(["customerId"])
/// .filter("region", ["us-east-1"])
/// .take(Take::largest(5)?)
/// .build()?;
/// let json = serde_json::to_value(&query).unwrap();
/// assert_eq!(json["aggregation"], "SUM");
/// assert_eq!(json["groupBy"][0], "customerId");
///
/// let error = UsageQuery::builder(
///     "ApiCalls",
///     AggregationType::Sum,
///     TimeGroupingInterval::Hour,
///     last_day,
/// )
/// .filter("region", [" "])
/// .build()
/// .unwrap_err();
/// assert_eq!(
///     (error.field(), error.rule()),
///     ("filter.region.0", &Rule::Blank)
/// );
/// # Ok::<(), amberflo_types::ValidationError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct UsageQuery {
    aggregation: AggregationType,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::NonBlank"))]
    meter_api_name: String,
    time_grouping_interval: TimeGroupingInterval,
    time_range: TimeRange,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::NonBlankList"))]
    group_by: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::FilterMap"))]
    filter: Option<BTreeMap<String, Vec<String>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schemars", schemars(with = "Take"))]
    take: Option<Take>,
}

impl UsageQuery {
    /// Starts a query for `meter_api_name`: the same builder as
    /// [`UsagePayloadFactory::create`], under the name Rust code looks for.
    pub fn builder(
        meter_api_name: impl Into<String>,
        aggregation: AggregationType,
        time_grouping_interval: TimeGroupingInterval,
        time_range: TimeRange,
    ) -> UsageQueryBuilder {
        UsagePayloadFactory::create(
            meter_api_name,
            aggregation,
            time_grouping_interval,
            time_range,
        )
    }

    /// Checks every rule: meter name not blank, a valid time range, group-by a non-empty
    /// list of non-blank names, filter values non-empty lists of non-blank strings, and a
    /// positive take limit (and no blank `Other` aggregation or interval).
    pub fn validate(&self) -> Result<(), ValidationError> {
        validate::non_blank("meter_api_name", &self.meter_api_name)?;
        self.aggregation.check("aggregation")?;
        self.time_grouping_interval
            .check("time_grouping_interval")?;
        self.time_range
            .validate()
            .map_err(|e| e.within("time_range"))?;
        if let Some(group_by) = &self.group_by {
            validate::string_list("group_by", group_by)?;
        }
        if let Some(filter) = &self.filter {
            validate::string_list_map("filter", filter)?;
        }
        if let Some(take) = &self.take {
            take.validate().map_err(|e| e.within("take"))?;
        }
        Ok(())
    }

    /// How values are aggregated.
    pub fn aggregation(&self) -> &AggregationType {
        &self.aggregation
    }

    /// The meter queried.
    pub fn meter_api_name(&self) -> &str {
        &self.meter_api_name
    }

    /// The bucket width.
    pub fn time_grouping_interval(&self) -> &TimeGroupingInterval {
        &self.time_grouping_interval
    }

    /// The time range queried.
    pub fn time_range(&self) -> &TimeRange {
        &self.time_range
    }

    /// The dimensions (or `customerId`) usage is grouped by.
    pub fn group_by(&self) -> Option<&[String]> {
        self.group_by.as_deref()
    }

    /// Allowed values per dimension.
    pub fn filter(&self) -> Option<&BTreeMap<String, Vec<String>>> {
        self.filter.as_ref()
    }

    /// The top-N limit, if any.
    pub fn take(&self) -> Option<&Take> {
        self.take.as_ref()
    }
}

/// Builds a validated [`UsageQuery`]; see [`UsageQuery::builder`].
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct UsageQueryBuilder {
    query: UsageQuery,
}

impl UsageQueryBuilder {
    /// Groups usage by these dimensions (use `"customerId"` for per-customer usage).
    pub fn group_by<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        let group_by = self.query.group_by.get_or_insert_with(Vec::new);
        group_by.extend(names.into_iter().map(Into::into));
        self
    }

    /// Keeps only records whose dimension `key` has one of `values`.
    pub fn filter<S: Into<String>>(
        mut self,
        key: impl Into<String>,
        values: impl IntoIterator<Item = S>,
    ) -> Self {
        let filter = self.query.filter.get_or_insert_with(BTreeMap::new);
        filter
            .entry(key.into())
            .or_default()
            .extend(values.into_iter().map(Into::into));
        self
    }

    /// Keeps only the first `take.limit()` groups.
    pub fn take(mut self, take: Take) -> Self {
        self.query.take = Some(take);
        self
    }

    /// Validates and returns the query, or the first rule broken.
    pub fn build(self) -> Result<UsageQuery, ValidationError> {
        self.query.validate()?;
        Ok(self.query)
    }
}

/// The usage payload factory, as the Python SDK's `create_usage_query` users know it: the
/// required parts as arguments, the optional ones (`group_by`, `filter`, `take`) as named
/// setters of the builder it returns, every rule checked at `build()`. It is the one way to
/// build a [`UsageQuery`]: [`UsageQuery::builder`] is this same call.
///
/// ```
/// use amberflo_types::{
///     AggregationType, EpochSeconds, Take, TimeGroupingInterval, TimeRange,
///     UsagePayloadFactory,
/// };
///
/// let query = UsagePayloadFactory::create(
///     "ApiCalls",
///     AggregationType::Sum,
///     TimeGroupingInterval::Hour,
///     TimeRange::since(EpochSeconds::new(1_700_000_000))?,
/// )
/// .group_by(["customerId"])
/// .take(Take::largest(10)?)
/// .build()?;
/// assert_eq!(query.group_by(), Some(&["customerId".to_owned()][..]));
///
/// let error = UsagePayloadFactory::create(
///     "ApiCalls",
///     AggregationType::Sum,
///     TimeGroupingInterval::Hour,
///     TimeRange::since(EpochSeconds::new(1_700_000_000))?,
/// )
/// .group_by(Vec::<String>::new())
/// .build()
/// .unwrap_err();
/// assert_eq!(error.to_string(), "group_by must not be an empty list");
/// # Ok::<(), amberflo_types::ValidationError>(())
/// ```
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct UsagePayloadFactory;

impl UsagePayloadFactory {
    /// Starts a usage query for `meter_api_name` from its required parts; set the optional
    /// ones on the builder, then [`build`](UsageQueryBuilder::build) validates every rule.
    pub fn create(
        meter_api_name: impl Into<String>,
        aggregation: AggregationType,
        time_grouping_interval: TimeGroupingInterval,
        time_range: TimeRange,
    ) -> UsageQueryBuilder {
        UsageQueryBuilder {
            query: UsageQuery {
                aggregation,
                meter_api_name: meter_api_name.into(),
                time_grouping_interval,
                time_range,
                group_by: None,
                filter: None,
                take: None,
            },
        }
    }
}

/// Usage of every meter at once (`GET /usage/all`), sent as query parameters.
///
/// Build it with [`AllUsageQuery::builder`].
///
/// ```
/// use amberflo_types::{
///     AllUsageGroupBy, AllUsageQuery, EpochSeconds, Rule, TimeGroupingInterval, TimeRange,
/// };
///
/// let range = TimeRange::since(EpochSeconds::new(1_700_000_000))?;
/// let query = AllUsageQuery::builder(TimeGroupingInterval::Day, range)
///     .group_by(AllUsageGroupBy::CustomerId)
///     .customer_id("customer-1")
///     .build()?;
/// assert_eq!(query.customer_id(), Some("customer-1"));
/// assert_eq!(
///     serde_urlencoded::to_string(&query).unwrap(),
///     "startTimeInSeconds=1700000000&timeGroupingInterval=DAY&groupBy=customerId&customerId=customer-1"
/// );
///
/// let error = AllUsageQuery::builder(TimeGroupingInterval::Day, range)
///     .customer_id(" ")
///     .build()
///     .unwrap_err();
/// assert_eq!((error.field(), error.rule()), ("customer_id", &Rule::Blank));
/// # Ok::<(), amberflo_types::ValidationError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct AllUsageQuery {
    #[cfg_attr(feature = "schemars", schemars(range(min = 1, max = crate::MAX_EPOCH_SECONDS)))]
    start_time_in_seconds: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "schemars",
        schemars(with = "i64", range(min = 1, max = crate::MAX_EPOCH_SECONDS))
    )]
    end_time_in_seconds: Option<i64>,
    time_grouping_interval: TimeGroupingInterval,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schemars", schemars(with = "AllUsageGroupBy"))]
    group_by: Option<AllUsageGroupBy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::NonBlank"))]
    customer_id: Option<String>,
}

/// How `GET /usage/all` groups usage (`groupBy=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub enum AllUsageGroupBy {
    /// One group per customer (`groupBy=customerId`).
    #[serde(rename = "customerId")]
    CustomerId,
}

impl AllUsageQuery {
    /// Starts a query of all meters' usage over `time_range`, in `time_grouping_interval`
    /// buckets.
    pub fn builder(
        time_grouping_interval: TimeGroupingInterval,
        time_range: TimeRange,
    ) -> AllUsageQueryBuilder {
        AllUsageQueryBuilder {
            query: AllUsageQuery {
                start_time_in_seconds: time_range.start_time_in_seconds,
                end_time_in_seconds: time_range.end_time_in_seconds,
                time_grouping_interval,
                group_by: None,
                customer_id: None,
            },
        }
    }

    /// Checks the time range and that the customer filter, if set, is not blank (nor an
    /// `Other` interval).
    pub fn validate(&self) -> Result<(), ValidationError> {
        self.time_grouping_interval
            .check("time_grouping_interval")?;
        self.time_range()
            .validate()
            .map_err(|e| e.within("time_range"))?;
        validate::optional_non_blank("customer_id", self.customer_id.as_deref())
    }

    /// The time range queried.
    pub fn time_range(&self) -> TimeRange {
        TimeRange {
            start_time_in_seconds: self.start_time_in_seconds,
            end_time_in_seconds: self.end_time_in_seconds,
        }
    }

    /// The bucket width.
    pub fn time_grouping_interval(&self) -> &TimeGroupingInterval {
        &self.time_grouping_interval
    }

    /// How usage is grouped, if it is.
    pub fn group_by(&self) -> Option<AllUsageGroupBy> {
        self.group_by
    }

    /// The customer whose usage is kept, if filtered.
    pub fn customer_id(&self) -> Option<&str> {
        self.customer_id.as_deref()
    }
}

/// Builds a validated [`AllUsageQuery`]; see [`AllUsageQuery::builder`].
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct AllUsageQueryBuilder {
    query: AllUsageQuery,
}

impl AllUsageQueryBuilder {
    /// Groups the usage (by customer: the only grouping the endpoint has).
    pub fn group_by(mut self, group_by: AllUsageGroupBy) -> Self {
        self.query.group_by = Some(group_by);
        self
    }

    /// Keeps only one customer's usage (the id must not be blank).
    pub fn customer_id(mut self, customer_id: impl Into<String>) -> Self {
        self.query.customer_id = Some(customer_id.into());
        self
    }

    /// Validates and returns the query, or the first rule broken.
    pub fn build(self) -> Result<AllUsageQuery, ValidationError> {
        self.query.validate()?;
        Ok(self.query)
    }
}

/// A usage report: the bucket start times and, per group, a value per bucket.
///
/// Parsed leniently where it can be: unknown fields are ignored and optional ones default,
/// but the fields a report cannot do without are required (`clientMeters`; per meter
/// `groupValue` and `values`; per value `value` and `secondsSinceEpochUtc`), so an answer
/// of the wrong shape is a decode error naming the missing field, never an empty report.
///
/// ```
/// use amberflo_types::UsageReport;
///
/// let error = serde_json::from_str::<UsageReport>(r#"{"unexpected": 1}"#).unwrap_err();
/// assert!(error.to_string().contains("missing field `clientMeters`"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct UsageReport {
    /// Report metadata as the server sent it (meter, aggregation, time range, ...).
    #[serde(default)]
    pub metadata: serde_json::Value,
    /// The start of each bucket, in Unix seconds.
    #[serde(default, deserialize_with = "crate::lenient::null_as_default")]
    #[cfg_attr(feature = "schemars", schemars(with = "Option<Vec<EpochSeconds>>"))]
    pub seconds_since_epoch_intervals: Vec<EpochSeconds>,
    /// One entry per group (one in all when the query had no group-by).
    pub client_meters: Vec<ClientMeter>,
}

/// The usage of one group in a [`UsageReport`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ClientMeter {
    /// The group's key, absent when the query had no group-by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<MeterGroup>,
    /// The group's aggregate over the whole range.
    pub group_value: f64,
    /// The group's change from the previous period, in percent, when the server sends it
    /// (the TypeScript SDK's `ClientMeter` has it; the docs' sample does not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percentage_from_previous: Option<f64>,
    /// One value per bucket.
    pub values: Vec<UsageValue>,
}

/// The key of a group: dimension (or `customerId`) name to value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct MeterGroup {
    /// The grouped-by names and this group's values for them.
    pub group_info: BTreeMap<String, String>,
}

/// One bucket's value in a [`ClientMeter`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct UsageValue {
    /// The aggregate of the bucket.
    pub value: f64,
    /// The bucket's start, in Unix seconds.
    pub seconds_since_epoch_utc: EpochSeconds,
    /// Change from the previous bucket, in percent.
    #[serde(default, deserialize_with = "crate::lenient::null_as_default")]
    #[cfg_attr(feature = "schemars", schemars(with = "Option<f64>"))]
    pub percentage_from_previous: f64,
}

impl UsageReport {
    /// A report from its parts (for servers, such as the emulator, and tests).
    pub fn new(
        metadata: serde_json::Value,
        seconds_since_epoch_intervals: Vec<EpochSeconds>,
        client_meters: Vec<ClientMeter>,
    ) -> Self {
        UsageReport {
            metadata,
            seconds_since_epoch_intervals,
            client_meters,
        }
    }
}

impl ClientMeter {
    /// A group's usage from its parts.
    pub fn new(group: Option<MeterGroup>, group_value: f64, values: Vec<UsageValue>) -> Self {
        ClientMeter {
            group,
            group_value,
            percentage_from_previous: None,
            values,
        }
    }
}

impl MeterGroup {
    /// A group key from name/value pairs.
    pub fn new(group_info: BTreeMap<String, String>) -> Self {
        MeterGroup { group_info }
    }
}

impl UsageValue {
    /// One bucket's value.
    pub fn new(
        value: f64,
        seconds_since_epoch_utc: EpochSeconds,
        percentage_from_previous: f64,
    ) -> Self {
        UsageValue {
            value,
            seconds_since_epoch_utc,
            percentage_from_previous,
        }
    }
}
