//! Sets up a customer, against an embedded emulator by default: create or update it, read it
//! back, open a portal session, assign a product plan. By default it is exactly the Python SDK
//! README's `setup_customer`: customer `1234`, `Stark Industries`, traits `region=midwest` and
//! `stripeId=cus_AJ6bY3VqcaLAEs`.
//!
//! ```text
//! cargo run --example customer
//! cargo run --example customer -- --api-key KEY --customer-id acme --customer-name "Acme Inc." \
//!     --traits tier=gold
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
    #[arg(long, default_value = "1234")]
    customer_id: String,
    /// The customer's display name.
    #[arg(long, default_value = "Stark Industries")]
    customer_name: String,
    /// The customer's traits, as KEY=VALUE pairs.
    #[arg(
        long,
        value_delimiter = ',',
        value_parser = parse_trait,
        default_value = "region=midwest,stripeId=cus_AJ6bY3VqcaLAEs"
    )]
    traits: Vec<(String, String)>,
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

    let mut payload = CustomerPayload::builder(&args.customer_id)
        .customer_name(&args.customer_name)
        .traits(args.traits.iter().map(|(key, value)| (key, value)));
    if let Some(email) = &args.customer_email {
        payload = payload.customer_email(email);
    }
    if args.create_in_stripe {
        payload = payload.create_in_stripe();
    }
    // `create_or_update` replaces (PUT): keep the traits an existing customer already has and
    // this run does not set, and its email unless a new one is given.
    if let Some(existing) = api.customers().get(&args.customer_id)? {
        let kept = existing
            .traits
            .iter()
            .filter(|(key, _)| !args.traits.iter().any(|(set, _)| set == *key));
        payload = payload.traits(kept);
        if let (None, Some(email)) = (&args.customer_email, existing.customer_email) {
            payload = payload.customer_email(email);
        }
    }
    let customer = api.customers().create_or_update(&payload.build()?)?;
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
        let plan = CustomerProductPlanPayload::builder(&args.customer_id)
            .product_plan_id(plan_id)
            .build()?;
        api.product_plans().assign(&plan)?;
        let latest = api.product_plans().get(&args.customer_id)?;
        println!(
            "product plan: {}",
            latest.map_or_else(|| "none".to_owned(), |p| p.product_plan_id)
        );
    }
    Ok(())
}

/// Parses one `KEY=VALUE` trait.
fn parse_trait(text: &str) -> Result<(String, String), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("a trait is KEY=VALUE, not `{text}`"))?;
    Ok((key.to_owned(), value.to_owned()))
}
