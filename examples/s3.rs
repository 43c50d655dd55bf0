//! Delivers meter records as objects in an S3 bucket that Amberflo reads, instead of calling
//! the ingest API (feature `s3`). Credentials come from `AWS_ACCESS_KEY_ID` /
//! `AWS_SECRET_ACCESS_KEY` (and `AWS_SESSION_TOKEN`).
//!
//! ```text
//! cargo run --example s3 -- --bucket my-amberflo-bucket --region us-west-2
//! cargo run --example s3 -- --endpoint http://127.0.0.1:8014 --bucket test --count 1000  # s3s-fs
//! ```
#![allow(clippy::print_stdout)]

use std::time::Duration;

use amberflo::s3::{S3BodyFormat, S3Destination};
use clap::{Parser, ValueEnum};

/// Meter records into an S3 bucket.
#[derive(Debug, Parser)]
struct Args {
    /// The bucket Amberflo reads.
    #[arg(long)]
    bucket: String,
    /// The bucket's region.
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// An S3-compatible endpoint (path-style), e.g. a local `s3s-fs`.
    #[arg(long)]
    endpoint: Option<String>,
    /// A prefix for every object key.
    #[arg(long, default_value = "")]
    prefix: String,
    /// How batches are written.
    #[arg(long, value_enum, default_value = "json")]
    format: Format,
    /// How many records to meter.
    #[arg(long, default_value_t = 100)]
    count: u32,
}

/// The object formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Json,
    GzipJson,
    Ndjson,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    amberflo_examples::init_logging();
    let args = Args::parse();
    let mut destination = S3Destination::builder(&args.bucket)
        .region(&args.region)
        .prefix(&args.prefix)
        .body_format(match args.format {
            Format::Json => S3BodyFormat::Json,
            Format::GzipJson => S3BodyFormat::GzipJson,
            Format::Ndjson => S3BodyFormat::Ndjson,
        });
    if let Some(endpoint) = &args.endpoint {
        destination = destination.endpoint_url(endpoint);
    }
    let client = amberflo::Client::builder()
        .api_key(std::env::var("AMBERFLO_API_KEY").unwrap_or_else(|_| "unused-for-s3".into()))
        .ingest_to_s3(destination.build()?)
        .on_error(|error, batch| println!("{} record(s) not delivered: {error}", batch.len()))
        .build()?;
    for i in 0..args.count {
        client.meter("ApiCalls", 1.0, format!("customer-{}", i % 5))?;
    }
    client.shutdown(Duration::from_secs(30))?;
    let stats = client.stats();
    println!(
        "{} record(s) written to s3://{}/{} ({} failed)",
        stats.delivered, args.bucket, args.prefix, stats.failed
    );
    Ok(())
}
