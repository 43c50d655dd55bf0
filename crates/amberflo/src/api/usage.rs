//! [`UsageApi`]: `POST /usage/`, `POST /usage/batch`, `GET /usage/all`.

use amberflo_types::{AllUsageQuery, UsageQuery, UsageReport};

use crate::client::Client;
use crate::error::Error;
use http::Method;

const USAGE: &str = "/usage/";
const USAGE_BATCH: &str = "/usage/batch";
const USAGE_ALL: &str = "/usage/all";

/// Queries aggregated meter values; from [`Client::usage`].
///
/// ```no_run
/// use std::time::Duration;
/// use amberflo::types::{AggregationType, TimeGroupingInterval, TimeRange, UsageQuery};
///
/// # async fn demo(client: amberflo::Client) -> Result<(), amberflo::Error> {
/// let query = UsageQuery::builder(
///     "ApiCalls",
///     AggregationType::Sum,
///     TimeGroupingInterval::Day,
///     TimeRange::last(Duration::from_secs(7 * 24 * 60 * 60))?,
/// )
/// .group_by(["customerId"])
/// .build()?;
/// let report = client.usage().get(&query).await?;
/// for meter in &report.client_meters {
///     println!("{:?}: {}", meter.group, meter.group_value);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct UsageApi<'a> {
    client: &'a Client,
}

impl<'a> UsageApi<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        UsageApi { client }
    }

    /// The usage report of one query.
    ///
    /// # Errors
    /// [`Error::Validation`] for a query that breaks a rule (nothing is sent), else as any call.
    pub async fn get(self, query: &UsageQuery) -> Result<UsageReport, Error> {
        query.validate()?;
        self.client.query_json(USAGE, query).await
    }

    /// One report per query, in order, in one request.
    ///
    /// # Errors
    /// As [`get`](Self::get), for the first invalid query.
    pub async fn batch(self, queries: &[UsageQuery]) -> Result<Vec<UsageReport>, Error> {
        queries.iter().try_for_each(UsageQuery::validate)?;
        self.client.query_json(USAGE_BATCH, queries).await
    }

    /// One report per meter (sums), optionally per customer.
    ///
    /// # Errors
    /// As [`get`](Self::get).
    #[doc(alias("get_all", "all"))]
    pub async fn list(self, query: &AllUsageQuery) -> Result<Vec<UsageReport>, Error> {
        query.validate()?;
        self.client.call(Method::GET, USAGE_ALL, query).await
    }
}
