//! Sets up a customer (the Python SDK's `setup_customer`), against an embedded emulator by
//! default: create or update it, read it back, open a portal session, assign a product plan.
//!
//! ```text
//! cargo run --example customer
//! cargo run --example customer -- --api-key KEY --customer-id acme --customer-name "Acme Inc."
//! ```
#![allow(clippy::print_stdout)]

use amberflo::types::{CustomerPayload, CustomerPortalSessionRequest, CustomerProductPlanPayload};
use clap::Parser;

/// Create or update a customer in Amberflo (or an embedded emulator).
#[derive(Debug, Parser)]
struct Args {
    #[command(flatten)]
    target: amberflo_examples::TargetArgs,
    /// The customer's id.
    #[arg(long, default_value = "customer-1")]
    customer_id: String,
    /// The customer's display name.
    #[arg(long, default_value = "Example Customer")]
    customer_name: String,
    /// The customer's email.
    #[arg(long)]
    customer_email: Option<String>,
    /// Also create the customer in Stripe.
    #[arg(long)]
    create_in_stripe: bool,
    /// Put the customer on this product plan.
    #[arg(long)]
    product_plan_id: Option<String>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    amberflo_examples::init_logging();
    let args = Args::parse();
    let target = args.target.target()?;
    let client = target.builder.build()?;
    let api = client.blocking();

    let mut payload = CustomerPayload::builder(&args.customer_id, &args.customer_name)
        .with_trait("source", "amberflo-rs example");
    if let Some(email) = &args.customer_email {
        payload = payload.email(email);
    }
    // `add_or_update` replaces (PUT): keep the traits an existing customer already has, such
    // as its `stripeId`, and its email unless a new one is given.
    if let Some(existing) = api.customers().get(&args.customer_id)? {
        for (key, value) in existing
            .traits
            .iter()
            .filter(|(key, _)| key.as_str() != "source")
        {
            payload = payload.with_trait(key, value);
        }
        if let (None, Some(email)) = (&args.customer_email, existing.customer_email) {
            payload = payload.email(email);
        }
    }
    let customer = api
        .customers()
        .add_or_update(&payload.build()?, args.create_in_stripe)?;
    println!(
        "customer {} ({}) traits {:?}",
        customer.customer_id, customer.customer_name, customer.traits
    );

    let fetched = api.customers().get(&args.customer_id)?;
    println!(
        "read back: {}",
        fetched.map_or_else(|| "missing!".to_owned(), |c| c.customer_name)
    );
    println!(
        "{} customer(s) in the account",
        api.customers().list()?.len()
    );

    let session = api
        .portal_sessions()
        .create(&CustomerPortalSessionRequest::builder(&args.customer_id).build()?)?;
    println!("portal session: {}", session.url);

    if let Some(plan_id) = &args.product_plan_id {
        let plan = CustomerProductPlanPayload::builder(&args.customer_id, plan_id).build()?;
        api.product_plans().add_or_update(&plan)?;
        let latest = api.product_plans().get(&args.customer_id)?;
        println!(
            "product plan: {}",
            latest.map_or_else(|| "none".to_owned(), |p| p.product_plan_id)
        );
    }
    Ok(())
}
