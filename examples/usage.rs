//! Queries usage (the Python SDK's `call_usage`), against an embedded emulator by default.
//!
//! ```text
//! cargo run --example usage                   # offline: meters sample data, then queries it
//! cargo run --example usage -- --api-key KEY  # your Amberflo account
//! ```
#![allow(clippy::print_stdout)]

use std::time::Duration;

use amberflo::MeterRecord;
use amberflo::types::{
    AggregationType, AllUsageQuery, Take, TimeGroupingInterval, TimeRange, UsageQuery, UsageReport,
};
use clap::Parser;

/// Query usage from Amberflo (or an embedded emulator with sample data).
#[derive(Debug, Parser)]
struct Args {
    #[command(flatten)]
    target: amberflo_examples::TargetArgs,
    /// The meter to query.
    #[arg(long, default_value = "ApiCalls")]
    meter_api_name: String,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    amberflo_examples::init_logging();
    let args = Args::parse();
    let target = args.target.target()?;
    let client = target.builder.build()?;
    let now = amberflo::types::now_seconds();

    if target.emulator.is_some() {
        // Sample data: three customers, two regions, over the last three hours.
        for i in 0..300_i64 {
            let record = MeterRecord::builder(
                &args.meter_api_name,
                (i % 7 + 1) as f64,
                format!("customer-{}", i % 3),
            )
            .dimension("region", if i % 2 == 0 { "us-east-1" } else { "eu-west-1" })
            .time_in_millis((now - 3 * 3600 + i * 30) * 1000)
            .build()?;
            client.meter_record(record)?;
        }
        client.flush(Duration::from_secs(10))?;
    }

    let range = TimeRange::new(now - 24 * 3600, Some(now + 60))?;
    let usage = client.blocking().usage();

    let total = UsageQuery::builder(
        &args.meter_api_name,
        AggregationType::Sum,
        TimeGroupingInterval::Hour,
        range,
    )
    .build()?;
    print_report("total per hour", &usage.get(&total)?);

    let per_customer = UsageQuery::builder(
        &args.meter_api_name,
        AggregationType::Sum,
        TimeGroupingInterval::Day,
        range,
    )
    .group_by(["customerId"])
    .take(Take::new(2, false)?)
    .build()?;
    print_report(
        "top 2 customers, last 24 hours, per day",
        &usage.get(&per_customer)?,
    );

    let us_east = UsageQuery::builder(
        &args.meter_api_name,
        AggregationType::Count,
        TimeGroupingInterval::Day,
        range,
    )
    .filter("region", ["us-east-1"])
    .build()?;
    print_report("records from us-east-1", &usage.get(&us_east)?);

    let all = usage
        .all(&AllUsageQuery::new(TimeGroupingInterval::Day, range).group_by_customer_id(true))?;
    println!("all meters: {} report(s)", all.len());
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
