//! [`AllUsageQuery`] (`GET /usage/all`): every meter at once.

use serde::{Deserialize, Serialize};

use super::{TimeGroupingInterval, TimeRange};
use crate::error::ValidationError;
use crate::validate;

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
                start_time_in_seconds: time_range.start_time_in_seconds(),
                end_time_in_seconds: time_range.end_time_in_seconds(),
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
