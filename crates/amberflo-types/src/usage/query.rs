//! [`UsageQuery`] (`POST /usage`), built by [`UsagePayloadFactory::create`] or
//! [`UsageQuery::builder`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{AggregationType, Take, TimeGroupingInterval, TimeRange};
use crate::error::ValidationError;
use crate::validate;

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
