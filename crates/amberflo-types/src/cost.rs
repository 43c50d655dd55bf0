//! Usage cost (`POST /payments/cost/usage-cost`): the paged [`UsageCostQuery`] and the
//! lenient [`UsageCostReport`], with [`PageRequest`] / [`PageInfo`] for paging.
//!
//! One file on purpose: paging ties the query, the report and `PageInfo::next_page` together.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::billing::default_product_id;
use crate::error::ValidationError;
use crate::time::EpochSeconds;
use crate::usage::{Take, TimeGroupingInterval, TimeRange};
use crate::validate;

/// Which page of a paged answer to return: `{"number", "size", "token"}`, each optional.
///
/// ```
/// use amberflo_types::{PageRequest, Rule};
///
/// let page = PageRequest::builder().number(2).size(50).build()?;
/// assert_eq!(serde_json::to_value(&page).unwrap(), serde_json::json!({"number": 2, "size": 50}));
/// let error = PageRequest::builder().size(0).build().unwrap_err();
/// assert_eq!((error.field(), error.rule()), ("size", &Rule::NotPositive));
/// # Ok::<(), amberflo_types::ValidationError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct PageRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schemars", schemars(with = "u32", range(min = 1)))]
    number: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schemars", schemars(with = "u32", range(min = 1)))]
    size: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::NonBlank"))]
    token: Option<String>,
}

impl PageRequest {
    /// Starts a page request (every part optional).
    pub fn builder() -> PageRequestBuilder {
        PageRequestBuilder {
            page: PageRequest::default(),
        }
    }

    /// Checks that the number and size are positive and the token is not blank.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if let Some(number) = self.number {
            validate::positive("number", number)?;
        }
        if let Some(size) = self.size {
            validate::positive("size", size)?;
        }
        validate::optional_non_blank("token", self.token.as_deref())
    }

    /// The page number (1 is the first), if set.
    pub fn number(&self) -> Option<u32> {
        self.number
    }

    /// The page size, if set.
    pub fn size(&self) -> Option<u32> {
        self.size
    }

    /// The continuation token of the previous page, if set.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }
}

/// Builds a validated [`PageRequest`]; see [`PageRequest::builder`].
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct PageRequestBuilder {
    page: PageRequest,
}

impl PageRequestBuilder {
    /// Sets the page number (positive; 1 is the first page).
    pub fn number(mut self, number: u32) -> Self {
        self.page.number = Some(number);
        self
    }

    /// Sets the page size (positive).
    pub fn size(mut self, size: u32) -> Self {
        self.page.size = Some(size);
        self
    }

    /// Sets the continuation token a previous page returned (not blank).
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.page.token = Some(token.into());
        self
    }

    /// Validates and returns the page request.
    pub fn build(self) -> Result<PageRequest, ValidationError> {
        self.page.validate()?;
        Ok(self.page)
    }
}

/// Where a page sits in a paged answer (`pageInfo`); lenient, every field optional.
///
/// ```
/// use amberflo_types::PageInfo;
///
/// let info: PageInfo = serde_json::from_str(
///     r#"{"pageNumber": 1, "pageSize": 2, "totalPages": 3, "totalResults": 5, "pageToken": "t2"}"#,
/// )?;
/// let next = info.next_page().unwrap();
/// assert_eq!((next.number(), next.size(), next.token()), (Some(2), Some(2), Some("t2")));
/// let last: PageInfo = serde_json::from_str(r#"{"pageNumber": 3, "totalPages": 3}"#)?;
/// assert!(last.next_page().is_none());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PageInfo {
    /// This page's number (1 is the first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_number: Option<u32>,
    /// The page size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_size: Option<u32>,
    /// The token that asks for the next page, if the server uses tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_token: Option<String>,
    /// How many pages there are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_pages: Option<u32>,
    /// How many results there are over all pages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_results: Option<u64>,
    /// Every other field the server sent.
    #[serde(flatten, deserialize_with = "crate::extra::bounded")]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl PageInfo {
    /// The request for the page after this one, or `None` when this is the last: the next
    /// number (with the same size and the returned token) while `pageNumber < totalPages`;
    /// without page numbers, a non-empty `pageToken` alone continues.
    pub fn next_page(&self) -> Option<PageRequest> {
        let token = self
            .page_token
            .clone()
            .filter(|token| !validate::is_blank(token));
        let number = match (self.page_number, self.total_pages) {
            (Some(number), Some(total)) if number < total => Some(number.saturating_add(1)),
            (Some(_), Some(_)) => return None,
            _ => None,
        };
        if number.is_none() && token.is_none() {
            return None;
        }
        Some(PageRequest {
            number,
            size: self.page_size.filter(|size| *size > 0),
            token,
        })
    }
}

/// A usage cost query (`POST /payments/cost/usage-cost`): cost per group and time bucket,
/// one page at a time.
///
/// Build it with [`UsageCostQuery::builder`]. Note the plural `filters` (the usage query
/// says `filter`).
///
/// ```
/// use amberflo_types::{
///     EpochSeconds, PageRequest, Rule, TimeGroupingInterval, TimeRange, UsageCostQuery,
/// };
///
/// let range = TimeRange::between(
///     EpochSeconds::new(1_700_000_000),
///     EpochSeconds::new(1_700_086_400),
/// )?;
/// let query = UsageCostQuery::builder(TimeGroupingInterval::Day, range)
///     .group_by(["customerId"])
///     .filter("customerId", ["customer-1"])
///     .page(PageRequest::builder().number(1).size(20).build()?)
///     .build()?;
/// let json = serde_json::to_value(&query).unwrap();
/// assert_eq!(json["productId"], "1");
/// assert_eq!(json["filters"]["customerId"][0], "customer-1");
/// assert_eq!(json["page"]["size"], 20);
///
/// let error = UsageCostQuery::builder(TimeGroupingInterval::Day, range)
///     .group_by([" "])
///     .build()
///     .unwrap_err();
/// assert_eq!((error.field(), error.rule()), ("group_by.0", &Rule::Blank));
/// # Ok::<(), amberflo_types::ValidationError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct UsageCostQuery {
    #[serde(default = "default_product_id")]
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::NonBlank"))]
    product_id: String,
    time_range: TimeRange,
    time_grouping_interval: TimeGroupingInterval,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::FilterMap"))]
    filters: Option<BTreeMap<String, Vec<String>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::NonBlankList"))]
    group_by: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schemars", schemars(with = "Take"))]
    take: Option<Take>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schemars", schemars(with = "PageRequest"))]
    page: Option<PageRequest>,
}

impl UsageCostQuery {
    /// Starts a cost query over `time_range` in `time_grouping_interval` buckets, for
    /// product `"1"`.
    pub fn builder(
        time_grouping_interval: TimeGroupingInterval,
        time_range: TimeRange,
    ) -> UsageCostQueryBuilder {
        UsageCostQueryBuilder {
            query: UsageCostQuery {
                product_id: default_product_id(),
                time_range,
                time_grouping_interval,
                filters: None,
                group_by: None,
                take: None,
                page: None,
            },
        }
    }

    /// Checks every rule: product not blank, a valid time range, filters and group-by as in
    /// usage queries, a positive take limit and a valid page.
    pub fn validate(&self) -> Result<(), ValidationError> {
        validate::non_blank("product_id", &self.product_id)?;
        self.time_grouping_interval
            .check("time_grouping_interval")?;
        self.time_range
            .validate()
            .map_err(|e| e.within("time_range"))?;
        if let Some(filters) = &self.filters {
            validate::string_list_map("filters", filters)?;
        }
        if let Some(group_by) = &self.group_by {
            validate::string_list("group_by", group_by)?;
        }
        if let Some(take) = &self.take {
            take.validate().map_err(|e| e.within("take"))?;
        }
        if let Some(page) = &self.page {
            page.validate().map_err(|e| e.within("page"))?;
        }
        Ok(())
    }

    /// The same query asking for `page` (what a pager uses to follow `pageInfo`).
    #[must_use]
    pub fn with_page(&self, page: PageRequest) -> UsageCostQuery {
        UsageCostQuery {
            page: Some(page),
            ..self.clone()
        }
    }

    /// The query for the page after the one `info` describes, or `None` when that was the
    /// last page (see [`PageInfo::next_page`]). The page size asked for is kept when the
    /// server does not echo it; a "next" page equal to the current one ends the paging too,
    /// so a server that repeats itself cannot loop a pager forever.
    ///
    /// ```
    /// use amberflo_types::{
    ///     EpochSeconds, PageInfo, PageRequest, TimeGroupingInterval, TimeRange, UsageCostQuery,
    /// };
    ///
    /// let range = TimeRange::between(
    ///     EpochSeconds::new(1_700_000_000),
    ///     EpochSeconds::new(1_700_086_400),
    /// )?;
    /// let first = UsageCostQuery::builder(TimeGroupingInterval::Day, range)
    ///     .page(PageRequest::builder().number(1).size(2).build()?)
    ///     .build()?;
    /// let info: PageInfo = serde_json::from_str(r#"{"pageNumber": 1, "totalPages": 2}"#).unwrap();
    /// let second = first.next_query(&info).unwrap();
    /// assert_eq!(second.page().and_then(|page| page.number()), Some(2));
    /// assert_eq!(second.page().and_then(|page| page.size()), Some(2));
    /// let info: PageInfo = serde_json::from_str(r#"{"pageNumber": 2, "totalPages": 2}"#).unwrap();
    /// assert!(second.next_query(&info).is_none());
    /// # Ok::<(), amberflo_types::ValidationError>(())
    /// ```
    pub fn next_query(&self, info: &PageInfo) -> Option<UsageCostQuery> {
        let mut next = info.next_page()?;
        let current = self.page.clone().unwrap_or_default();
        if next.size.is_none() {
            next.size = current.size;
        }
        if next == current || next.validate().is_err() {
            return None;
        }
        Some(self.with_page(next))
    }

    /// The product (default `"1"`).
    pub fn product_id(&self) -> &str {
        &self.product_id
    }

    /// The time range.
    pub fn time_range(&self) -> &TimeRange {
        &self.time_range
    }

    /// The bucket width.
    pub fn time_grouping_interval(&self) -> &TimeGroupingInterval {
        &self.time_grouping_interval
    }

    /// Allowed values per dimension (or `customerId`), if filtered.
    pub fn filters(&self) -> Option<&BTreeMap<String, Vec<String>>> {
        self.filters.as_ref()
    }

    /// The names costs are grouped by, if grouped.
    pub fn group_by(&self) -> Option<&[String]> {
        self.group_by.as_deref()
    }

    /// The top-N limit, if any.
    pub fn take(&self) -> Option<&Take> {
        self.take.as_ref()
    }

    /// The page asked for, if any.
    pub fn page(&self) -> Option<&PageRequest> {
        self.page.as_ref()
    }
}

/// Builds a validated [`UsageCostQuery`]; see [`UsageCostQuery::builder`].
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct UsageCostQueryBuilder {
    query: UsageCostQuery,
}

impl UsageCostQueryBuilder {
    /// Sets the product (default `"1"`; not blank).
    pub fn product_id(mut self, product_id: impl Into<String>) -> Self {
        self.query.product_id = product_id.into();
        self
    }

    /// Keeps only costs whose dimension (or `customerId`) `key` has one of `values`.
    pub fn filter<S: Into<String>>(
        mut self,
        key: impl Into<String>,
        values: impl IntoIterator<Item = S>,
    ) -> Self {
        self.query
            .filters
            .get_or_insert_with(BTreeMap::new)
            .entry(key.into())
            .or_default()
            .extend(values.into_iter().map(Into::into));
        self
    }

    /// Groups costs by these names (`customerId`, `meterApiName` or dimensions).
    pub fn group_by<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.query
            .group_by
            .get_or_insert_with(Vec::new)
            .extend(names.into_iter().map(Into::into));
        self
    }

    /// Keeps only the first `take.limit()` groups.
    pub fn take(mut self, take: Take) -> Self {
        self.query.take = Some(take);
        self
    }

    /// Asks for one page.
    pub fn page(mut self, page: PageRequest) -> Self {
        self.query.page = Some(page);
        self
    }

    /// Validates and returns the query, or the first rule broken.
    pub fn build(self) -> Result<UsageCostQuery, ValidationError> {
        self.query.validate()?;
        Ok(self.query)
    }
}

/// One page of a usage cost answer.
///
/// Lenient, as the Go SDK reads it (`UsageCosts`, every field `omitempty`): unknown fields are
/// kept in `extra`, and every field may be absent (an empty answer has no `costList`).
///
/// ```
/// use amberflo_types::{TimeGroupingInterval, UsageCostReport};
///
/// let report: UsageCostReport = serde_json::from_str(
///     r#"{
///     "key": {"productId": "1", "timeGroupingInterval": "day",
///             "timeRange": {"startTimeInSeconds": 1700000000}},
///     "costList": [{"groupInfos": {"customerId": "c1"}, "meteredUnits": 3, "price": 1.5,
///                   "costs": [{"startTimeInSeconds": 1700000000, "price": 1.5}]}],
///     "pageInfo": {"pageNumber": 1, "totalPages": 1},
///     "new": true
/// }"#,
/// )?;
/// assert_eq!(report.cost_list[0].price, 1.5);
/// let key = report.key.as_ref().expect("the query it answers");
/// assert_eq!(key.time_grouping_interval(), &TimeGroupingInterval::Day);
/// assert!(report.extra.contains_key("new"));
/// assert!(
///     serde_json::from_str::<UsageCostReport>("{}")?
///         .cost_list
///         .is_empty()
/// );
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct UsageCostReport {
    /// The query this page answers, as the server echoes it (the Go SDK's `UsageCostsKey`);
    /// `None` when absent, `null` or in a shape this SDK does not read.
    #[serde(
        default,
        deserialize_with = "crate::lenient::or_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub key: Option<UsageCostQuery>,
    /// The start of each bucket, in Unix seconds.
    #[serde(default, deserialize_with = "crate::lenient::null_as_default")]
    #[cfg_attr(feature = "schemars", schemars(with = "Option<Vec<EpochSeconds>>"))]
    pub seconds_since_epoch_intervals: Vec<EpochSeconds>,
    /// One entry per group on this page (absent, so empty, when nothing matched).
    #[serde(default, deserialize_with = "crate::lenient::null_as_default")]
    #[cfg_attr(feature = "schemars", schemars(with = "Option<Vec<CostGroup>>"))]
    pub cost_list: Vec<CostGroup>,
    /// Where this page sits, when the answer is paged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_info: Option<PageInfo>,
    /// Every other field the server sent.
    #[serde(flatten, deserialize_with = "crate::extra::bounded")]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// The cost of one group in a [`UsageCostReport`], over the whole range and per bucket.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CostGroup {
    /// The grouped-by names and this group's values for them.
    #[serde(default, deserialize_with = "crate::lenient::null_values_as_default")]
    #[cfg_attr(
        feature = "schemars",
        schemars(with = "Option<BTreeMap<String, Option<String>>>")
    )]
    pub group_infos: BTreeMap<String, String>,
    /// Units metered.
    #[serde(default, deserialize_with = "crate::lenient::null_as_default")]
    #[cfg_attr(feature = "schemars", schemars(with = "Option<f64>"))]
    pub metered_units: f64,
    /// The price.
    #[serde(default, deserialize_with = "crate::lenient::null_as_default")]
    #[cfg_attr(feature = "schemars", schemars(with = "Option<f64>"))]
    pub price: f64,
    /// The price before discounts.
    #[serde(default, deserialize_with = "crate::lenient::null_as_default")]
    #[cfg_attr(feature = "schemars", schemars(with = "Option<f64>"))]
    pub price_before_discounts: f64,
    /// What prepaid orders covered.
    #[serde(default, deserialize_with = "crate::lenient::null_as_default")]
    #[cfg_attr(feature = "schemars", schemars(with = "Option<f64>"))]
    pub prepaid_used: f64,
    /// The price minus what prepaid orders covered.
    #[serde(default, deserialize_with = "crate::lenient::null_as_default")]
    #[cfg_attr(feature = "schemars", schemars(with = "Option<f64>"))]
    pub price_minus_prepaid: f64,
    /// Pay-as-you-go promotions used.
    #[serde(default, deserialize_with = "crate::lenient::null_as_default")]
    #[cfg_attr(feature = "schemars", schemars(with = "Option<f64>"))]
    pub pay_as_you_go_promotion_used: f64,
    /// Other promotions used.
    #[serde(default, deserialize_with = "crate::lenient::null_as_default")]
    #[cfg_attr(feature = "schemars", schemars(with = "Option<f64>"))]
    pub non_pay_as_you_go_promotion_used: f64,
    /// The price after pay-as-you-go promotions.
    #[serde(default, deserialize_with = "crate::lenient::null_as_default")]
    #[cfg_attr(feature = "schemars", schemars(with = "Option<f64>"))]
    pub price_after_pay_as_you_go_promotion: f64,
    /// The price after other promotions.
    #[serde(default, deserialize_with = "crate::lenient::null_as_default")]
    #[cfg_attr(feature = "schemars", schemars(with = "Option<f64>"))]
    pub price_after_non_pay_as_you_go_promotion: f64,
    /// One entry per bucket.
    #[serde(default, deserialize_with = "crate::lenient::null_as_default")]
    #[cfg_attr(feature = "schemars", schemars(with = "Option<Vec<CostValue>>"))]
    pub costs: Vec<CostValue>,
    /// Every other field the server sent.
    #[serde(flatten, deserialize_with = "crate::extra::bounded")]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// One bucket's cost in a [`CostGroup`]; `startTimeInSeconds` is required.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CostValue {
    /// The bucket's start, in Unix seconds.
    pub start_time_in_seconds: EpochSeconds,
    /// Units metered in the bucket.
    #[serde(default, deserialize_with = "crate::lenient::null_as_default")]
    #[cfg_attr(feature = "schemars", schemars(with = "Option<f64>"))]
    pub metered_units: f64,
    /// The bucket's price.
    #[serde(default, deserialize_with = "crate::lenient::null_as_default")]
    #[cfg_attr(feature = "schemars", schemars(with = "Option<f64>"))]
    pub price: f64,
    /// Price change from the previous bucket, in percent.
    #[serde(default, deserialize_with = "crate::lenient::null_as_default")]
    #[cfg_attr(feature = "schemars", schemars(with = "Option<f64>"))]
    pub price_percentage_diff: f64,
    /// Units change from the previous bucket, in percent.
    #[serde(default, deserialize_with = "crate::lenient::null_as_default")]
    #[cfg_attr(feature = "schemars", schemars(with = "Option<f64>"))]
    pub meter_units_percentage_diff: f64,
    /// The price before discounts.
    #[serde(default, deserialize_with = "crate::lenient::null_as_default")]
    #[cfg_attr(feature = "schemars", schemars(with = "Option<f64>"))]
    pub price_before_discounts: f64,
    /// What prepaid orders covered.
    #[serde(default, deserialize_with = "crate::lenient::null_as_default")]
    #[cfg_attr(feature = "schemars", schemars(with = "Option<f64>"))]
    pub prepaid_used: f64,
    /// Pay-as-you-go promotions used.
    #[serde(default, deserialize_with = "crate::lenient::null_as_default")]
    #[cfg_attr(feature = "schemars", schemars(with = "Option<f64>"))]
    pub pay_as_you_go_promotion_used: f64,
    /// Every other field the server sent.
    #[serde(flatten, deserialize_with = "crate::extra::bounded")]
    pub extra: BTreeMap<String, serde_json::Value>,
}
