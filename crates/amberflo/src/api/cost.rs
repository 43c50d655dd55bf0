//! [`UsageCostApi`]: `POST /payments/cost/usage-cost`, one page ([`UsageCostApi::get`]) or
//! every page ([`UsageCostApi::pages`], a [`UsageCostPages`] pager).

use amberflo_types::{UsageCostQuery, UsageCostReport};

use crate::client::Client;
use crate::error::Error;

const USAGE_COST: &str = "/payments/cost/usage-cost";

/// Queries what usage costs; from [`Client::usage_cost`].
///
/// ```no_run
/// use std::time::Duration;
/// use amberflo::types::{PageRequest, TimeGroupingInterval, TimeRange, UsageCostQuery};
///
/// # async fn demo(client: amberflo::Client) -> Result<(), amberflo::Error> {
/// let query = UsageCostQuery::builder(
///     TimeGroupingInterval::Day,
///     TimeRange::last(Duration::from_secs(7 * 86_400))?,
/// )
/// .group_by(["customerId"])
/// .page(PageRequest::builder().size(100).build()?)
/// .build()?;
/// let mut pages = client.usage_cost().pages(&query);
/// while let Some(page) = pages.next_page().await? {
///     for group in &page.cost_list {
///         println!("{:?}: {}", group.group_infos, group.price);
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct UsageCostApi<'a> {
    client: &'a Client,
}

impl<'a> UsageCostApi<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        UsageCostApi { client }
    }

    /// One page of costs (the page the query asks for; the server's first without one).
    /// A read: retried like a GET.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use amberflo::types::{TimeGroupingInterval, TimeRange, UsageCostQuery};
    ///
    /// # async fn demo(client: amberflo::Client) -> Result<(), amberflo::Error> {
    /// let query = UsageCostQuery::builder(
    ///     TimeGroupingInterval::Month,
    ///     TimeRange::last(Duration::from_secs(30 * 86_400))?,
    /// )
    /// .group_by(["customerId"])
    /// .build()?;
    /// let report = client.usage_cost().get(&query).await?;
    /// let total: f64 = report.cost_list.iter().map(|group| group.price).sum();
    /// println!("{total:.2} over {} customers", report.cost_list.len());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::Validation`] for an invalid query (nothing is sent), else as any API call.
    pub async fn get(self, query: &UsageCostQuery) -> Result<UsageCostReport, Error> {
        query.validate()?;
        self.client.query_json(USAGE_COST, query).await
    }

    /// A pager over every page, starting at the query's page and following `pageInfo`
    /// ([`UsageCostQuery::next_query`]). Nothing is sent until
    /// [`next_page`](UsageCostPages::next_page).
    pub fn pages(self, query: &UsageCostQuery) -> UsageCostPages<'a> {
        UsageCostPages {
            api: self,
            next: Some(query.clone()),
        }
    }
}

/// Follows the pages of a usage cost answer; from [`UsageCostApi::pages`].
#[derive(Debug, Clone)]
#[must_use = "a pager does nothing until `next_page` is awaited"]
pub struct UsageCostPages<'a> {
    api: UsageCostApi<'a>,
    next: Option<UsageCostQuery>,
}

impl UsageCostPages<'_> {
    /// The next page, or `None` after the last one.
    ///
    /// # Errors
    /// As [`UsageCostApi::get`]; the failed page is asked for again by the next call.
    pub async fn next_page(&mut self) -> Result<Option<UsageCostReport>, Error> {
        let Some(query) = self.next.take() else {
            return Ok(None);
        };
        match self.api.get(&query).await {
            Ok(report) => {
                self.next = report
                    .page_info
                    .as_ref()
                    .and_then(|info| query.next_query(info));
                Ok(Some(report))
            }
            Err(error) => {
                self.next = Some(query);
                Err(error)
            }
        }
    }

    /// Every remaining page, in order.
    ///
    /// # Errors
    /// As [`next_page`](Self::next_page), at the first page that fails.
    pub async fn collect_all(mut self) -> Result<Vec<UsageCostReport>, Error> {
        let mut pages = Vec::new();
        while let Some(page) = self.next_page().await? {
            pages.push(page);
        }
        Ok(pages)
    }
}
