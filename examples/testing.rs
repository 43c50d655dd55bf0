//! How to test an application that meters with Amberflo, two ways:
//!
//! - with `MockTransport` (feature `mock`): no server; assert on the exact requests sent and
//!   script failures;
//! - with the emulator (feature `emulator`): a real Amberflo-compatible server on 127.0.0.1;
//!   assert on what it stored.
//!
//! ```text
//! cargo test --example testing   # runs the two tests below
//! cargo run --example testing    # runs the application code against the emulator
//! ```
#![allow(clippy::print_stdout)]

use std::time::Duration;

use amberflo::{Client, MeterRecord};

/// The application code under test: meters a checkout as one record per item kind.
fn record_checkout(
    client: &Client,
    customer_id: &str,
    items: &[(&str, u32)],
) -> Result<(), amberflo::Error> {
    for (sku, quantity) in items {
        let record = MeterRecord::builder("ItemsSold", f64::from(*quantity), customer_id)
            .dimension("sku", sku)
            .build()?;
        client.meter_record(record)?;
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let emulator = amberflo::emulator::Emulator::start()?;
    let client = Client::builder()
        .api_key("test-key")
        .endpoint(emulator.url())
        .build()?;
    record_checkout(&client, "customer-1", &[("apple", 3), ("pear", 1)])?;
    client.flush(Duration::from_secs(10))?;
    println!("the emulator stored {} records", emulator.record_count());
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::time::Duration;

    use amberflo::mock::{MockReply, MockTransport};
    use amberflo::{Client, RetryPolicy};

    use super::record_checkout;

    /// With the mock: the exact request, and a retried 503, without any server.
    #[test]
    fn sends_one_record_per_item_and_retries_a_503() {
        let mock = MockTransport::new();
        mock.push_reply(MockReply::status(503)); // then the default 200
        // One worker, so both records go in one batch (two workers may each take one).
        let client = Client::builder()
            .api_key("test-key")
            .transport(mock.clone())
            .workers(1)
            .retry_policy(RetryPolicy::new([Duration::from_millis(10)]))
            .build()
            .unwrap();

        record_checkout(&client, "customer-1", &[("apple", 3), ("pear", 1)]).unwrap();
        client.flush(Duration::from_secs(10)).unwrap();

        let requests = mock.requests();
        assert_eq!(requests.len(), 2, "the 503 was retried once");
        let records: serde_json::Value = requests[1].body_json().unwrap();
        assert_eq!(records[0]["meterApiName"], "ItemsSold");
        assert_eq!(records[0]["dimensions"]["sku"], "apple");
        assert_eq!(records[1]["meterValue"], 1);
    }

    /// With the emulator: real HTTP on 127.0.0.1, then what it stored.
    #[test]
    fn the_emulator_stores_the_checkout() {
        let emulator = amberflo::emulator::Emulator::start().unwrap();
        let client = Client::builder()
            .api_key("test-key")
            .endpoint(emulator.url())
            .build()
            .unwrap();

        record_checkout(&client, "customer-1", &[("apple", 3), ("pear", 1)]).unwrap();
        client.flush(Duration::from_secs(10)).unwrap();

        let mut stored = emulator.records();
        stored.sort_by(|a, b| a.meter_value().total_cmp(&b.meter_value()));
        assert_eq!(stored.len(), 2);
        assert_eq!(stored[1].meter_value(), 3.0);
        assert_eq!(&stored[1].dimensions().unwrap()["sku"], "apple");
    }
}
