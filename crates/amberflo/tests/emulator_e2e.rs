//! End to end over real loopback HTTP: the facade against the emulator, once per transport.
//!
//! Every case runs for reqwest and for hyper: metering from many threads arrives intact and
//! exactly once, usage sums match what the test computes itself, faults (5xx, 429 with
//! `Retry-After`, dropped connections) still deliver everything once, and every API client
//! round-trips.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use amberflo::types::EpochMillis;
use amberflo::types::EpochSeconds;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use amberflo::types::{
    AggregationType, AllInvoicesQuery, AllUsageGroupBy, AllUsageQuery, CalendarDate,
    CustomerPayload, CustomerPortalSessionRequest, CustomerProductPlanPayload,
    CustomerProductQuery, InvoiceQuery, Month, PrepaidOrderPayload, TimeGroupingInterval,
    TimeRange, UsageQuery,
};
use amberflo::{Client, ClientBuilder, FailedBatch, MeterRecord, RetryPolicy};
use amberflo_batcher::block_on as run;
use amberflo_emulator::{DropConnections, Emulator, FailRequests};

const WAIT: Duration = Duration::from_secs(30);
/// A fixed hour, so usage buckets are predictable: 2024-01-01T00:00:00Z.
const HOUR_START_MILLIS: i64 = 1_704_067_200_000;

fn fast_retries() -> RetryPolicy {
    RetryPolicy::new([Duration::from_millis(10); 6])
        .with_max_retry_after(Duration::from_millis(1500))
}

fn builder(emulator: &Emulator) -> ClientBuilder {
    Client::builder()
        .api_key("test-key")
        .endpoint(emulator.url())
        .linger(Duration::from_millis(20))
        .retry_policy(fast_retries())
        .request_timeout(Duration::from_secs(5))
}

/// Records `threads × per_thread` records, each with a distinct value (fractions that need
/// every digit to survive the round trip) and dimensions.
fn meter_from_threads(client: &Client, threads: usize, per_thread: usize) -> Vec<MeterRecord> {
    let handles: Vec<_> = (0..threads)
        .map(|thread| {
            let client = client.clone();
            std::thread::spawn(move || {
                (0..per_thread)
                    .map(|i| {
                        let record = MeterRecord::builder(
                            "ApiCalls",
                            (thread * per_thread + i) as f64 * 0.001 + 0.1,
                            format!("customer-{}", i % 5),
                        )
                        .dimension("region", if i % 2 == 0 { "us-east-1" } else { "eu-west-1" })
                        .dimension("thread", thread.to_string())
                        .meter_time(EpochMillis::new(HOUR_START_MILLIS + i as i64))
                        .build()
                        .unwrap();
                        client.meter_record(record.clone()).unwrap();
                        record
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    handles
        .into_iter()
        .flat_map(|handle| handle.join().unwrap())
        .collect()
}

fn assert_holds_exactly(emulator: &Emulator, sent: &[MeterRecord]) {
    let held = emulator.records();
    assert_eq!(
        held.len(),
        sent.len(),
        "the emulator holds a different number of records"
    );
    let by_id: HashMap<String, &MeterRecord> = held
        .iter()
        .map(|r| (r.unique_id().to_string(), r))
        .collect();
    assert_eq!(by_id.len(), held.len(), "a unique id is stored twice");
    for record in sent {
        let stored = by_id
            .get(&record.unique_id().to_string())
            .expect("a sent record is missing");
        assert_eq!(*stored, record, "a field changed on the way");
    }
}

/// Sums of floats depend on the order they are added in: compare to a relative 1e-9.
fn assert_close(got: f64, expected: f64) {
    assert!(
        (got - expected).abs() <= expected.abs() * 1e-9,
        "got {got}, expected {expected}"
    );
}

/// The batches handed to the error callback.
type Failures = Arc<Mutex<Vec<FailedBatch>>>;

fn capture_failures(builder: ClientBuilder) -> (ClientBuilder, Failures) {
    let failures = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&failures);
    (
        builder.on_error(move |_, batch| sink.lock().unwrap().push(batch)),
        failures,
    )
}

/// Meters, flushes (async and blocking), calls an API and drops the client, all from inside
/// the caller's runtime; nothing may panic or deadlock, and every record arrives.
async fn inside_a_runtime(client: fn(&Emulator) -> (Client, Failures)) {
    let emulator = Emulator::start().unwrap();
    let (client, _) = client(&emulator);
    client.meter("ApiCalls", 1.0, "customer-1").unwrap();
    client.flush_async(WAIT).await.unwrap();
    assert_eq!(emulator.record_count(), 1);
    client.meter("ApiCalls", 2.0, "customer-1").unwrap();
    client.flush(WAIT).unwrap();
    assert_eq!(emulator.record_count(), 2);
    assert!(client.customers().list().await.unwrap().is_empty());
    #[cfg(feature = "blocking")]
    assert!(client.blocking().customers().list().unwrap().is_empty());
    client.meter("ApiCalls", 3.0, "customer-1").unwrap();
    drop(client);
    assert_eq!(emulator.record_count(), 3);
    emulator.shutdown();
}

macro_rules! e2e_suite {
    ($name:ident, $choose:ident) => {
        mod $name {
            use super::*;

            fn client(emulator: &Emulator) -> (Client, Failures) {
                let (builder, failures) = capture_failures(builder(emulator).$choose());
                (builder.build().unwrap(), failures)
            }

            #[test]
            fn eight_threads_meter_ten_thousand_records_that_arrive_intact_and_once() {
                let emulator = Emulator::start().unwrap();
                let (client, failures) = client(&emulator);
                let sent = meter_from_threads(&client, 8, 1250);
                client.shutdown(WAIT).unwrap();

                assert_holds_exactly(&emulator, &sent);
                let stats = client.stats();
                assert_eq!(
                    (
                        stats.enqueued,
                        stats.delivered,
                        stats.failed,
                        stats.rejected
                    ),
                    (10_000, 10_000, 0, 0)
                );
                assert!(failures.lock().unwrap().is_empty());
            }

            #[test]
            fn usage_queries_return_the_sums_the_test_computes() {
                let emulator = Emulator::start().unwrap();
                let (client, _) = client(&emulator);
                let sent = meter_from_threads(&client, 2, 50);
                client.flush(WAIT).unwrap();

                let mut expected: BTreeMap<String, f64> = BTreeMap::new();
                for record in &sent {
                    *expected.entry(record.customer_id().to_owned()).or_default() +=
                        record.meter_value();
                }
                let start = HOUR_START_MILLIS / 1000;
                let range =
                    TimeRange::between(EpochSeconds::new(start), EpochSeconds::new(start + 3600))
                        .unwrap();
                let query = UsageQuery::builder(
                    "ApiCalls",
                    AggregationType::Sum,
                    TimeGroupingInterval::Hour,
                    range,
                )
                .group_by(["customerId"])
                .build()
                .unwrap();
                let report = run(client.usage().get(&query)).unwrap();
                let got: BTreeMap<String, f64> = report
                    .client_meters
                    .iter()
                    .map(|m| {
                        (
                            m.group.as_ref().unwrap().group_info["customerId"].clone(),
                            m.group_value,
                        )
                    })
                    .collect();
                assert_eq!(
                    got.keys().collect::<Vec<_>>(),
                    expected.keys().collect::<Vec<_>>()
                );
                for (customer, sum) in &expected {
                    assert_close(got[customer], *sum);
                }

                let count = UsageQuery::builder(
                    "ApiCalls",
                    AggregationType::Count,
                    TimeGroupingInterval::Day,
                    range,
                )
                .filter("region", ["us-east-1"])
                .build()
                .unwrap();
                let reports = run(client.usage().batch(&[count])).unwrap();
                let us_east = sent
                    .iter()
                    .filter(|r| &r.dimensions().unwrap()["region"] == "us-east-1")
                    .count();
                assert_eq!(reports[0].client_meters[0].group_value, us_east as f64);

                let all = AllUsageQuery::builder(TimeGroupingInterval::Day, range)
                    .group_by(AllUsageGroupBy::CustomerId)
                    .build()
                    .unwrap();
                let all = run(client.usage().list(&all)).unwrap();
                let total: f64 = all
                    .iter()
                    .flat_map(|r| &r.client_meters)
                    .map(|m| m.group_value)
                    .sum();
                assert_close(total, expected.values().sum::<f64>());
            }

            #[test]
            fn server_errors_and_429_with_retry_after_still_deliver_everything_once() {
                let emulator = Emulator::start().unwrap();
                emulator
                    .faults()
                    .fail_next(FailRequests::new(3, 503).path_prefix("/ingest"))
                    .unwrap();
                let (client, failures) = client(&emulator);
                let first = meter_from_threads(&client, 2, 100);
                client.flush(WAIT).unwrap();
                emulator
                    .faults()
                    .fail_next(
                        FailRequests::new(2, 429)
                            .retry_after_secs(1)
                            .path_prefix("/ingest"),
                    )
                    .unwrap();
                let started = std::time::Instant::now();
                let second = meter_from_threads(&client, 2, 100);
                client.shutdown(WAIT).unwrap();
                // Retries wait 10 ms, unless the server's `Retry-After: 1` says otherwise.
                let waited = started.elapsed();
                assert!(
                    waited >= Duration::from_millis(950),
                    "Retry-After was not honoured: {waited:?}"
                );

                let sent: Vec<_> = first.into_iter().chain(second).collect();
                assert_holds_exactly(&emulator, &sent);
                assert_eq!(emulator.stats().requests_failed_by_faults, 5);
                let stats = client.stats();
                assert!(stats.retried >= 5, "{stats:?}");
                assert_eq!(stats.delivered, 400);
                assert!(failures.lock().unwrap().is_empty());
            }

            #[test]
            fn dropped_connections_are_retried_without_duplicates() {
                let emulator = Emulator::start().unwrap();
                emulator
                    .faults()
                    .drop_next(DropConnections::new(3).path_prefix("/ingest"));
                let (client, failures) = client(&emulator);
                let sent = meter_from_threads(&client, 4, 250);
                client.shutdown(WAIT).unwrap();

                assert_holds_exactly(&emulator, &sent);
                assert_eq!(emulator.stats().connections_dropped, 3);
                assert!(failures.lock().unwrap().is_empty());
            }

            #[test]
            fn a_rejected_batch_goes_to_the_error_callback_with_its_records() {
                let emulator = Emulator::start().unwrap();
                emulator
                    .faults()
                    .fail_next(FailRequests::new(1, 400).path_prefix("/ingest"))
                    .unwrap();
                let (client, failures) = client(&emulator);
                client.meter("ApiCalls", 1.0, "customer-1").unwrap();
                client.flush(WAIT).unwrap();
                client.meter("ApiCalls", 2.0, "customer-1").unwrap();
                client.shutdown(WAIT).unwrap();

                let failures = failures.lock().unwrap();
                assert_eq!(failures.len(), 1);
                let FailedBatch::Records(records) = &failures[0] else {
                    panic!("not records")
                };
                assert_eq!(records[0].meter_value(), 1.0);
                assert_eq!(emulator.records().len(), 1);
                let stats = client.stats();
                assert_eq!((stats.enqueued, stats.delivered, stats.failed), (2, 1, 1));
            }

            #[tokio::test(flavor = "current_thread")]
            async fn inside_a_current_thread_runtime_meter_flush_and_drop_work() {
                inside_a_runtime(client).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn inside_a_multi_thread_runtime_meter_flush_and_drop_work() {
                inside_a_runtime(client).await;
            }

            #[cfg(feature = "blocking")]
            #[test]
            fn blocking_twins_work_with_no_runtime() {
                let emulator = Emulator::start().unwrap();
                let (client, _) = client(&emulator);
                let payload = CustomerPayload::builder("customer-9")
                    .customer_name("Blocking Ltd")
                    .build()
                    .unwrap();
                client.blocking().customers().create(&payload).unwrap();
                let found = client.blocking().customers().get("customer-9").unwrap();
                assert_eq!(found.unwrap().customer_name, "Blocking Ltd");
                let error = client.blocking().customers().get(" ").unwrap_err();
                assert!(matches!(error, amberflo::Error::Validation(_)), "{error}");
            }

            #[test]
            fn every_api_client_round_trips() {
                let emulator = Emulator::start().unwrap();
                let (client, _) = client(&emulator);
                let customers = client.customers();
                assert_eq!(run(customers.get("customer-1")).unwrap(), None);
                let payload = CustomerPayload::builder("customer-1")
                    .customer_name("Acme")
                    .customer_email("a@acme.test")
                    .create_in_stripe()
                    .build()
                    .unwrap();
                let added = run(customers.create_or_update(&payload)).unwrap();
                assert_eq!(added.customer_id, "customer-1");
                assert!(added.traits.contains_key("stripeId"));
                let renamed = CustomerPayload::builder("customer-1")
                    .customer_name("Acme Two")
                    .build()
                    .unwrap();
                run(customers.create_or_update(&renamed)).unwrap();
                let fetched = run(customers.get("customer-1")).unwrap().unwrap();
                assert_eq!(fetched.customer_name, "Acme Two");
                assert_eq!(run(customers.list()).unwrap().len(), 1);
                let conflict = run(customers.create(&payload)).unwrap_err();
                assert_eq!(conflict.status(), Some(amberflo::StatusCode::CONFLICT));

                let request = CustomerPortalSessionRequest::builder("customer-1")
                    .build()
                    .unwrap();
                let session = run(client.portal_sessions().create(&request)).unwrap();
                assert!(session.url.starts_with(emulator.url()), "{}", session.url);
                assert!(!session.session_token.is_empty());

                let plans = client.product_plans();
                assert_eq!(run(plans.get("customer-1")).unwrap(), None);
                let plan = CustomerProductPlanPayload::builder("customer-1")
                    .product_plan_id("plan-gold")
                    .start_time(EpochSeconds::new(1_700_000_000))
                    .build()
                    .unwrap();
                run(plans.assign(&plan)).unwrap();
                assert_eq!(
                    run(plans.get("customer-1"))
                        .unwrap()
                        .unwrap()
                        .product_plan_id,
                    "plan-gold"
                );
                assert_eq!(run(plans.list("customer-1")).unwrap().len(), 1);

                let order = PrepaidOrderPayload::builder("customer-1")
                    .id("order-1")
                    .start_time(EpochSeconds::new(1_700_000_000))
                    .prepaid_price(100.0)
                    .build()
                    .unwrap();
                let stored = run(client.prepaid_orders().create(&order)).unwrap();
                assert_eq!(stored.id, "order-1");
                let query = CustomerProductQuery::builder("customer-1").build().unwrap();
                let active = run(client.prepaid_orders().list(&query)).unwrap();
                assert_eq!(
                    active.iter().map(|o| o.id.as_str()).collect::<Vec<_>>(),
                    ["order-1"]
                );

                let all = AllInvoicesQuery::builder("customer-1").build().unwrap();
                run(client.invoices().list(&all)).unwrap();
                let latest = InvoiceQuery::builder("customer-1").build().unwrap();
                assert!(run(client.invoices().get(&latest)).unwrap().is_some());
                // No invoice starts on that date: `None` (the API's 404), not an error.
                let missing = InvoiceQuery::builder("customer-1")
                    .product_plan_id("no-such-plan")
                    .start_date(CalendarDate::new(2001, Month::January, 1).unwrap())
                    .build()
                    .unwrap();
                assert_eq!(run(client.invoices().get(&missing)).unwrap(), None);
            }
        }
    };
}

#[cfg(feature = "reqwest")]
e2e_suite!(reqwest, use_reqwest);
#[cfg(feature = "hyper")]
e2e_suite!(hyper, use_hyper);

#[test]
fn ingest_send_reaches_the_emulator_at_once() {
    let emulator = Emulator::start().unwrap();
    let client = builder(&emulator).build().unwrap();
    let records: Vec<MeterRecord> = (0..3)
        .map(|i| {
            MeterRecord::builder("ApiCalls", f64::from(i), "customer-1")
                .build()
                .unwrap()
        })
        .collect();
    let reply = run(client.ingest().send(&records)).unwrap();
    assert!(reply.contains('3'), "{reply}");
    assert_eq!(emulator.record_count(), 3, "stored before send returned");
    assert_eq!(client.stats().enqueued, 0, "around the queue");
}
