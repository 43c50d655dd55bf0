//! Queries usage against an embedded emulator by default. The first query is exactly the
//! Python SDK README's `call_usage`: meter `my_meter`, SUM per DAY over the last 24 hours,
//! grouped by `customerId`, filtered to customer `1234`, the top 10 descending.
//!
//! ```text
//! cargo run --example usage                   # offline: meters sample data, then queries it
//! cargo run --example usage -- --api-key KEY  # your Amberflo account
//! ```
#![allow(clippy::print_stdout)]

use std::time::{Duration, SystemTime};

use amberflo::MeterRecord;
use amberflo::types::{
    AggregationType, AllUsageGroupBy, AllUsageQuery, Take, TimeGroupingInterval, TimeRange,
    UsageQuery, UsageReport,
};
use clap::Parser;

const DAY: Duration = Duration::from_secs(24 * 60 * 60);

/// Query usage from Amberflo (or an embedded emulator with sample data).
#[derive(Debug, Parser)]
struct Args {
    #[command(flatten)]
    target: amberflo_examples::TargetArgs,
    /// The meter to query.
    #[arg(long, default_value = "my_meter")]
    meter_api_name: String,
    /// The customer the first query filters on.
    #[arg(long, default_value = "1234")]
    customer_id: String,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    amberflo_examples::init_logging();
    let args = Args::parse();
    let target = args.target.target()?;
    let client = target.builder.build()?;
    let now = SystemTime::now();

    if target.emulator.is_some() {
        // Sample data: three customers (one of them the filtered one), two regions, over the
        // last three hours.
        let customers = [args.customer_id.as_str(), "customer-2", "customer-3"];
        for i in 0..300_u32 {
            let record = MeterRecord::builder(
                &args.meter_api_name,
                f64::from(i % 7 + 1),
                customers[i as usize % customers.len()],
            )
            .dimension("region", if i % 2 == 0 { "us-east-1" } else { "eu-west-1" })
            .meter_time(now - Duration::from_secs(3 * 3600) + Duration::from_secs(30) * i)
            .build()?;
            client.meter_record(record)?;
        }
        client.flush(Duration::from_secs(10))?;
    }

    let usage = client.blocking().usage();

    // The Python SDK README's `call_usage`, call for call.
    let call_usage = UsageQuery::builder(
        &args.meter_api_name,
        AggregationType::Sum,
        TimeGroupingInterval::Day,
        TimeRange::last(DAY)?,
    )
    .group_by(["customerId"])
    .filter("customerId", [args.customer_id.as_str()])
    .take(Take::largest(10)?)
    .build()?;
    print_report(
        &format!(
            "call_usage: customer {}, last 24 hours, per day",
            args.customer_id
        ),
        &usage.get(&call_usage)?,
    );

    let range = TimeRange::last(DAY)?;
    let total = UsageQuery::builder(
        &args.meter_api_name,
        AggregationType::Sum,
        TimeGroupingInterval::Hour,
        range,
    )
    .build()?;
    print_report("total per hour", &usage.get(&total)?);

    let us_east = UsageQuery::builder(
        &args.meter_api_name,
        AggregationType::Count,
        TimeGroupingInterval::Day,
        range,
    )
    .filter("region", ["us-east-1"])
    .build()?;
    print_report("records from us-east-1", &usage.get(&us_east)?);

    let all = AllUsageQuery::builder(TimeGroupingInterval::Day, range)
        .group_by(AllUsageGroupBy::CustomerId)
        .build()?;
    println!("all meters: {} report(s)", usage.list(&all)?.len());
    Ok(())
}

fn print_report(title: &str, report: &UsageReport) {
    println!("{title}:");
    for meter in &report.client_meters {
        let group = meter
            .group
            .as_ref()
            .map(|group| format!("{:?}", group.group_info))
            .unwrap_or_else(|| "(all)".to_owned());
        let values: Vec<String> = meter
            .values
            .iter()
            .filter(|v| v.value != 0.0)
            .map(|v| v.value.to_string())
            .collect();
        println!("  {group}: {} [{}]", meter.group_value, values.join(", "));
    }
}
