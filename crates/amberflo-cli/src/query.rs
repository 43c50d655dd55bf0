//! `amberflo usage` and `amberflo cost`.

use std::io::Write;

use amberflo::Client;
use amberflo::types::{AggregationType, UsageCostQuery, UsageQuery};

use crate::cli::{CostArgs, OutputFormat, Range, UsageArgs};
use crate::error::CliError;
use crate::output::{Table, utc};
use crate::range::{interval, time_range};

pub(crate) fn usage(
    client: &Client,
    args: &UsageArgs,
    format: OutputFormat,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let range = time_range(&args.range, "24h")?;
    let interval = interval(&args.range, &range);
    let builder = UsageQuery::builder(
        &args.meter,
        AggregationType::from(args.aggregation.as_str()),
        interval,
        range,
    );
    let builder = narrowed(
        builder,
        &args.range,
        |b, names| b.group_by(names),
        |b, key, values| b.filter(key, values),
    )?;
    let query = builder
        .build()
        .map_err(|error| CliError::config(format!("usage query: {error}")))?;
    let report = client
        .blocking()
        .usage()
        .get(&query)
        .map_err(|error| CliError::sdk("usage", &error))?;
    let mut rows = Vec::new();
    for meter in &report.client_meters {
        let group = meter
            .group
            .as_ref()
            .map(|g| pairs(&g.group_info))
            .unwrap_or_default();
        for value in &meter.values {
            rows.push(vec![
                group.clone(),
                utc(value.seconds_since_epoch_utc.get()),
                value.value.to_string(),
            ]);
        }
    }
    Table {
        headers: &["group", "time", "value"],
        rows,
        json: &report,
    }
    .print(format, out)
}

pub(crate) fn cost(
    client: &Client,
    args: &CostArgs,
    format: OutputFormat,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let range = time_range(&args.range, "30d")?;
    let interval = interval(&args.range, &range);
    let builder = narrowed(
        UsageCostQuery::builder(interval, range).product_id(&args.product_id),
        &args.range,
        |b, names| b.group_by(names),
        |b, key, values| b.filter(key, values),
    )?;
    let query = builder
        .build()
        .map_err(|error| CliError::config(format!("cost query: {error}")))?;
    let report = client
        .blocking()
        .usage_cost()
        .get(&query)
        .map_err(|error| CliError::sdk("cost", &error))?;
    let rows = report
        .cost_list
        .iter()
        .map(|group| {
            vec![
                pairs(&group.group_infos),
                group.metered_units.to_string(),
                group.price.to_string(),
            ]
        })
        .collect();
    Table {
        headers: &["group", "units", "price"],
        rows,
        json: &report,
    }
    .print(format, out)
}

/// `builder` with the range's `--group-by` (given `group_by`) and `--filter`s (given
/// `filter`): the usage and cost builders have both, with no trait in common.
fn narrowed<B>(
    mut builder: B,
    range: &Range,
    group_by: impl Fn(B, Vec<String>) -> B,
    filter: impl Fn(B, String, Vec<String>) -> B,
) -> Result<B, CliError> {
    if !range.group_by.is_empty() {
        builder = group_by(builder, range.group_by.clone());
    }
    for (key, values) in filters(range)? {
        builder = filter(builder, key, values);
    }
    Ok(builder)
}

/// `--filter name=a,b` as (name, values).
fn filters(range: &Range) -> Result<Vec<(String, Vec<String>)>, CliError> {
    range
        .filter
        .iter()
        .map(|filter| {
            let (name, values) = filter.split_once('=').ok_or_else(|| {
                CliError::config(format!(
                    "--filter {filter:?}: expected NAME=VALUE[,VALUE...]"
                ))
            })?;
            Ok((
                name.to_owned(),
                values.split(',').map(str::to_owned).collect(),
            ))
        })
        .collect()
}

/// `k=v` pairs joined with `;`.
fn pairs<'a>(map: impl IntoIterator<Item = (&'a String, &'a String)>) -> String {
    map.into_iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect::<Vec<_>>()
        .join(";")
}
