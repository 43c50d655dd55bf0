//! `POST /usage`, `POST /usage/batch` and `GET /usage/all`, answered from the stored records
//! (see [`crate::usage`] for the aggregation rules).

use amberflo_types::EpochSeconds;
use amberflo_types::{AllUsageGroupBy, AllUsageQuery, TimeGroupingInterval, TimeRange, UsageQuery};
use http::StatusCode;

use super::Handled;
use crate::server::respond::{self, Failure};
use crate::server::{ApiRequest, Shared};
use crate::usage::UsageError;

fn usage_error(error: &UsageError, position: Option<usize>) -> Failure {
    match position {
        Some(index) => Failure::bad_request(format!("queries[{index}]: {error}")),
        None => Failure::bad_request(error.to_string()),
    }
}

pub(super) fn one(shared: &Shared, request: &ApiRequest) -> Handled {
    let query: UsageQuery = request.json("usage query", shared.config.max_decoded_bytes)?;
    let report = shared
        .store
        .usage(&query)
        .map_err(|error| usage_error(&error, None))?;
    Ok(respond::json(StatusCode::OK, &report))
}

pub(super) fn batch(shared: &Shared, request: &ApiRequest) -> Handled {
    let queries: Vec<UsageQuery> =
        request.json("usage query batch", shared.config.max_decoded_bytes)?;
    let reports = queries
        .iter()
        .enumerate()
        .map(|(index, query)| {
            shared
                .store
                .usage(query)
                .map_err(|error| usage_error(&error, Some(index)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(respond::json(StatusCode::OK, &reports))
}

fn seconds(request: &ApiRequest, name: &str) -> Result<Option<i64>, Failure> {
    request
        .param(name)
        .map(|value| {
            value.trim().parse::<i64>().map_err(|_| {
                Failure::bad_request(format!("{name} must be an integer, not {value:?}"))
            })
        })
        .transpose()
}

fn all_query(request: &ApiRequest) -> Result<AllUsageQuery, Failure> {
    let start = seconds(request, "startTimeInSeconds")?
        .ok_or_else(|| Failure::bad_request("startTimeInSeconds is required"))?;
    let end = seconds(request, "endTimeInSeconds")?;
    let interval = match request.param("timeGroupingInterval") {
        None => return Err(Failure::bad_request("timeGroupingInterval is required")),
        Some(value) => TimeGroupingInterval::from(value),
    };
    let group_by = match request.param("groupBy") {
        None => None,
        Some(value) if value == "customerId" => Some(AllUsageGroupBy::CustomerId),
        Some(value) => {
            return Err(Failure::bad_request(format!(
                "groupBy supports only customerId, not {value:?}"
            )));
        }
    };
    let range = match end {
        None => TimeRange::since(EpochSeconds::new(start)),
        Some(end) => TimeRange::between(EpochSeconds::new(start), EpochSeconds::new(end)),
    }
    .map_err(|error| Failure::bad_request(format!("time_range.{error}")))?;
    let mut query = AllUsageQuery::builder(interval, range);
    if let Some(group_by) = group_by {
        query = query.group_by(group_by);
    }
    if let Some(customer) = request.param("customerId") {
        query = query.customer_id(customer);
    }
    query
        .build()
        .map_err(|error| Failure::bad_request(error.to_string()))
}

pub(super) fn all(shared: &Shared, request: &ApiRequest) -> Handled {
    let query = all_query(request)?;
    let reports = shared
        .store
        .all_usage(&query)
        .map_err(|error| usage_error(&error, None))?;
    Ok(respond::json(StatusCode::OK, &reports))
}
