//! The async API under Tokio: meter from a task, then run usage and customer calls
//! concurrently. Against an embedded emulator by default (or `--api-key`, `--endpoint`).
//!
//! ```text
//! cargo run --example async_api
//! ```
#![allow(clippy::print_stdout)]

use std::time::Duration;

use amberflo::types::{AggregationType, TimeGroupingInterval, TimeRange, UsageQuery};
use clap::Parser;

/// Meter and query Amberflo from async code.
#[derive(Debug, Parser)]
struct Args {
    #[command(flatten)]
    target: amberflo_examples::TargetArgs,
    /// The customer metered and looked up.
    #[arg(long, default_value = "customer-1")]
    customer_id: String,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    amberflo_examples::init_logging();
    let args = Args::parse();
    let target = args.target.target()?;
    let client = target.builder.build()?;

    // `meter` never blocks and never awaits: call it from any task.
    for request in 0..10 {
        client.meter("ApiCalls", f64::from(request % 3 + 1), &args.customer_id)?;
    }
    // `flush_async` waits for delivery without blocking the executor.
    client.flush_async(Duration::from_secs(10)).await?;

    let query = UsageQuery::builder(
        "ApiCalls",
        AggregationType::Sum,
        TimeGroupingInterval::Hour,
        // Open-ended: up to now, the records just sent included.
        TimeRange::last(Duration::from_secs(3600))?,
    )
    .group_by(["customerId"])
    .build()?;
    // API calls are futures that run on the SDK's own I/O runtime: join them freely.
    let usage = client.usage();
    let customers = client.customers();
    let (report, customer) = tokio::join!(usage.get(&query), customers.get(&args.customer_id));
    let total = report?
        .client_meters
        .iter()
        .fold(0.0, |total, meter| total + meter.group_value);
    println!("ApiCalls in the last hour: {total}");
    println!(
        "customer {}: {}",
        args.customer_id,
        if customer?.is_some() {
            "exists"
        } else {
            "not created yet"
        }
    );
    Ok(())
}
