//! Usage cost (`POST /payments/cost/usage-cost`) computed from the stored records and a
//! price per meter that tests set ([`Store::set_meter_price`](crate::Store::set_meter_price),
//! or `POST /_emulator/prices` with `{"ApiCalls": 0.01}`).
//!
//! Semantics, as the emulator implements them:
//! - Records are selected like usage ([`crate::usage`]): the range is `[start, end)` (an open
//!   end means now), buckets are aligned in UTC, and `filters` keep records whose dimension,
//!   `customerId` or `meterApiName` has one of the listed values.
//! - A record's price is its value times its meter's price; a meter without a price costs 0
//!   (its units still count). A record with the dimension
//!   `aflo.cancel_previous_resource_event: "true"` cancels the record it repeats: neither
//!   counts (as in [`crate::usage`]).
//! - `groupBy` names are dimension keys, `customerId` or `meterApiName`; `groupInfos` maps each
//!   to the group's value (`""` when a record lacks it). Without `groupBy` there is one group
//!   (with empty `groupInfos`), even when nothing matched.
//! - Groups are ordered by key; `take` orders them by price (ascending when `isAscending`,
//!   ties by key) and keeps the first `limit`.
//! - No discounts, prepaid or promotions are applied: the "before discounts" and "minus
//!   prepaid" prices equal the price, the "used" amounts are 0.
//! - `key` echoes the query the page answers (the Go SDK's `UsageCostsKey`).
//! - Paging: `page.size` groups a page (all of them without a size); `page.number` counts
//!   from 1; `page.token` is the `pageToken` of the previous page (`page-<n>`) and wins over
//!   the number. `pageInfo` has `pageNumber`, `pageSize`, `totalPages`, `totalResults`, and
//!   `pageToken` (empty on the last page). A page past the last is empty.

use std::collections::BTreeMap;

use amberflo_types::{
    CostGroup, CostValue, EpochSeconds, PageInfo, Rule, UsageCostQuery, UsageCostReport,
    ValidationError,
};

use crate::usage::{Buckets, UsageError, apply_take, matches_filter, percentage_change};
use crate::view::RecordView;

/// Accumulated units and price of one group.
#[derive(Debug, Clone)]
struct GroupCost {
    units: f64,
    price: f64,
    buckets: Vec<(f64, f64)>,
}

fn attribute<'a, V: RecordView<'a>>(record: V, name: &str) -> Option<&'a str> {
    if name == "meterApiName" {
        Some(record.meter_api_name())
    } else {
        record.attribute(name)
    }
}

/// The page number a query asks for: its token's, else its number, else 1.
fn page_number(query: &UsageCostQuery) -> Result<u32, UsageError> {
    let Some(page) = query.page() else {
        return Ok(1);
    };
    if let Some(token) = page.token() {
        return token
            .strip_prefix("page-")
            .and_then(|number| number.parse::<u32>().ok())
            .filter(|number| *number > 0)
            .ok_or_else(|| {
                ValidationError::new(
                    "page.token",
                    Rule::WrongType {
                        expected: "a pageToken this server returned",
                    },
                )
                .into()
            });
    }
    Ok(page.number().unwrap_or(1))
}

/// The report (one page) `POST /payments/cost/usage-cost` answers for `query`.
pub(crate) fn usage_cost<'a, V: RecordView<'a>>(
    records: impl Iterator<Item = V> + Clone,
    query: &UsageCostQuery,
    prices: &BTreeMap<String, f64>,
    now_seconds: i64,
) -> Result<UsageCostReport, UsageError> {
    query.validate()?;
    let buckets = Buckets::new(
        query.time_range(),
        query.time_grouping_interval(),
        now_seconds,
    )?;
    let number = page_number(query)?;
    let group_by = query.group_by().unwrap_or(&[]);
    let count = buckets.starts.len();
    let mut groups: BTreeMap<Vec<&'a str>, GroupCost> = BTreeMap::new();
    for record in crate::cancel::live(records) {
        let Some(index) = buckets.index_of(record.meter_time_in_millis()) else {
            continue;
        };
        if !matches_filter(query.filters(), |name| attribute(record, name)) {
            continue;
        }
        let meter = record.meter_api_name();
        let key: Vec<&'a str> = group_by
            .iter()
            .map(|name| attribute(record, name).unwrap_or(""))
            .collect();
        let units = record.meter_value();
        let price = units * prices.get(meter).copied().unwrap_or(0.0);
        let group = groups.entry(key).or_insert_with(|| GroupCost {
            units: 0.0,
            price: 0.0,
            buckets: vec![(0.0, 0.0); count],
        });
        group.units += units;
        group.price += price;
        if let Some(bucket) = group.buckets.get_mut(index) {
            bucket.0 += units;
            bucket.1 += price;
        }
    }
    if group_by.is_empty() && groups.is_empty() {
        groups.insert(
            Vec::new(),
            GroupCost {
                units: 0.0,
                price: 0.0,
                buckets: vec![(0.0, 0.0); count],
            },
        );
    }
    let mut list: Vec<CostGroup> = groups
        .into_iter()
        .map(|(key, group)| cost_group(group_by, &key, &group, &buckets.starts))
        .collect();
    apply_take(&mut list, query.take(), |group| group.price);
    let total = list.len();
    let size = query
        .page()
        .and_then(|page| page.size())
        .and_then(|size| usize::try_from(size).ok())
        .unwrap_or(total.max(1));
    let pages = total.div_ceil(size).max(1);
    let skip = usize::try_from(number - 1)
        .unwrap_or(usize::MAX)
        .saturating_mul(size);
    let cost_list: Vec<CostGroup> = list.into_iter().skip(skip).take(size).collect();
    let mut info = PageInfo::default();
    let total_pages = u32::try_from(pages).unwrap_or(u32::MAX);
    info.page_number = Some(number);
    info.page_size = Some(u32::try_from(size).unwrap_or(u32::MAX));
    info.total_pages = Some(total_pages);
    info.total_results = Some(u64::try_from(total).unwrap_or(u64::MAX));
    // Empty on the last page, as the Go SDK's `PageInfo` (a string, always present) reads it.
    info.page_token = Some(if number < total_pages {
        format!("page-{}", number + 1)
    } else {
        String::new()
    });
    let mut report = UsageCostReport::default();
    report.key = Some(query.clone());
    report.seconds_since_epoch_intervals = buckets.epoch_starts();
    report.cost_list = cost_list;
    report.page_info = Some(info);
    Ok(report)
}

fn cost_group(group_by: &[String], key: &[&str], group: &GroupCost, starts: &[i64]) -> CostGroup {
    let mut cost = CostGroup::default();
    cost.group_infos = group_by
        .iter()
        .zip(key)
        .map(|(name, value)| (name.clone(), (*value).to_owned()))
        .collect();
    cost.metered_units = group.units;
    cost.price = group.price;
    cost.price_before_discounts = group.price;
    cost.price_minus_prepaid = group.price;
    cost.price_after_pay_as_you_go_promotion = group.price;
    cost.price_after_non_pay_as_you_go_promotion = group.price;
    let mut previous: Option<(f64, f64)> = None;
    cost.costs = group
        .buckets
        .iter()
        .zip(starts)
        .map(|(&(units, price), &start)| {
            let mut value = CostValue::default();
            value.start_time_in_seconds = EpochSeconds::new(start);
            value.metered_units = units;
            value.price = price;
            value.price_before_discounts = price;
            value.price_percentage_diff = percentage_change(price, previous.map(|p| p.1));
            value.meter_units_percentage_diff = percentage_change(units, previous.map(|p| p.0));
            previous = Some((units, price));
            value
        })
        .collect();
    cost
}
