//! The rest of the API, offline against an embedded emulator by default: what usage costs
//! (paged), signals, promotions, meter definitions, a customer's lifecycle stage, and
//! cancelling a metered event.
//!
//! ```text
//! cargo run --example billing                   # offline, with sample data and prices
//! cargo run --example billing -- --api-key KEY  # your Amberflo account (read-only calls
//!                                               # and a signal that is deleted again)
//! ```
#![allow(clippy::print_stdout)]

use std::time::{Duration, SystemTime};

use amberflo::MeterRecord;
use amberflo::types::{
    ApplyPromotionPayload, CustomerLifecycleStagePayload, CustomerPayload, CustomerProductQuery,
    LifecycleStage, MeterDefinitionPayload, MeterType, NotificationType, PageRequest, Promotion,
    SignalPayload, ThresholdCondition, TimeGroupingInterval, TimeRange, UsageCostQuery,
};
use clap::Parser;

/// Usage cost, signals, promotions and meters (against an embedded emulator by default).
#[derive(Debug, Parser)]
struct Args {
    #[command(flatten)]
    target: amberflo_examples::TargetArgs,
    /// The meter metered and priced.
    #[arg(long, default_value = "ApiCalls")]
    meter_api_name: String,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    amberflo_examples::init_logging();
    let args = Args::parse();
    let target = args.target.target()?;
    let client = target.builder.build()?;
    let api = client.blocking();
    let now = SystemTime::now();
    let meter = args.meter_api_name.as_str();

    if let Some(emulator) = &target.emulator {
        // Sample data: 4 customers, customer i with 10 * (i + 1) calls over the last hour, and
        // a price the emulator uses to compute cost (the real API uses your pricing plans).
        emulator.store().set_meter_price(meter, 0.002)?;
        let launch: Promotion = serde_json::from_value(serde_json::json!({
            "id": "launch-10", "promotionName": "Launch: 10% off"
        }))?;
        emulator.store().add_promotion(launch);
        for customer in 0..4_u32 {
            let payload = CustomerPayload::builder(format!("customer-{customer}"))
                .customer_name(format!("Customer {customer}"))
                .lifecycle_stage(LifecycleStage::Trial)
                .build()?;
            api.customers().create_or_update(&payload)?;
            for call in 0..10 * (customer + 1) {
                let record = MeterRecord::builder(meter, 1.0, format!("customer-{customer}"))
                    .meter_time(now - Duration::from_secs(3600) + Duration::from_secs(call.into()))
                    .build()?;
                client.meter_record(record)?;
            }
        }
        // A mistaken event, then its cancellation: it stops counting. The cancellation cancels
        // a previous event, so the event is delivered first.
        let mistake = MeterRecord::builder(meter, 1000.0, "customer-0")
            .meter_time(now - Duration::from_secs(60))
            .unique_id("mistake-1");
        client.meter_record(mistake.clone().build()?)?;
        client.flush(Duration::from_secs(10))?;
        client.meter_record(
            mistake
                .unique_id("mistake-1-cancel")
                .cancel_previous()
                .build()?,
        )?;
        client.flush(Duration::from_secs(10))?;

        // Meter definitions: create, then deprecate and delete (PUT needs the server id).
        let definition = MeterDefinitionPayload::builder("Storage")
            .label("Storage (GB)")
            .meter_type(MeterType::SumOfAllUsage)
            .unit("GB")
            .build()?;
        let created = api.meters().create(&definition)?;
        println!("meter {} has id {}", created.meter_api_name, created.id);
        api.meters().update(
            &definition
                .to_builder()
                .id(&created.id)
                .deprecated()
                .build()?,
        )?;
        api.meters().delete(&created.id)?;
        println!("meters after deleting it: {}", api.meters().list()?.len());

        // Lifecycle: customer-3 converts.
        let stage = CustomerLifecycleStagePayload::new("customer-3", LifecycleStage::Active)?;
        let customer = api.customers().set_lifecycle_stage(&stage)?;
        println!(
            "{} is now {}",
            customer.customer_id,
            customer
                .lifecycle_stage
                .as_ref()
                .map_or("unknown", |stage| stage.as_str())
        );
    }

    // What usage cost over the last day, per customer, two customers a page.
    let query = UsageCostQuery::builder(
        TimeGroupingInterval::Day,
        TimeRange::last(Duration::from_secs(24 * 3600))?,
    )
    .group_by(["customerId"])
    .page(PageRequest::builder().number(1).size(2).build()?)
    .build()?;
    let mut total = 0.0;
    for (number, page) in api.usage_cost().pages(&query).enumerate() {
        let page = page?;
        for group in &page.cost_list {
            println!(
                "page {}: {:?} used {} units, costing {:.4}",
                number + 1,
                group.group_infos,
                group.metered_units,
                group.price
            );
            total += group.price;
        }
    }
    println!("total cost: {total:.4}");

    // A signal: alert when a customer's usage passes 1000 calls.
    let signal = SignalPayload::builder("High API usage", NotificationType::Usage)
        .threshold(ThresholdCondition::GreaterThan, 1000.0)
        .email("ops@example.test")
        .build()?;
    let created = api.signals().create(&signal)?;
    println!(
        "signal {} created; {} signals",
        created.id,
        api.signals().list()?.len()
    );
    api.signals().delete(&created.id)?;

    // Promotions: apply the first one to customer-1, list, remove.
    let promotions = api.promotions().list()?;
    println!("{} promotions in the account", promotions.len());
    if target.emulator.is_some()
        && let Some(promotion) = promotions.first()
    {
        let apply = ApplyPromotionPayload::builder("customer-1")
            .promotion_id(&promotion.id)
            .build()?;
        api.promotions().apply(&apply)?;
        let applied = api
            .promotions()
            .list_applied(&CustomerProductQuery::builder("customer-1").build()?)?;
        println!("customer-1 has {} promotion(s) applied", applied.len());
        api.promotions().remove("customer-1", &promotion.id)?;
    }

    client.shutdown(Duration::from_secs(10))?;
    Ok(())
}
