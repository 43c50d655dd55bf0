//! Source-side aggregation end to end over loopback HTTP, against the emulator: the same
//! records sent raw by one client and aggregated by another give the same usage answers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use amberflo::aggregate::{Aggregation, MAX_GRACE};
use amberflo::types::{AggregationType, EpochMillis, TimeGroupingInterval, TimeRange, UsageQuery};
use amberflo::{Client, ClientBuilder, Error, FailedBatch, MeterRecord, RetryPolicy};
use amberflo_batcher::block_on as run;
use amberflo_emulator::Emulator;

const WAIT: Duration = Duration::from_secs(120);
/// 2024-01-01T00:00:00Z: the first of the windows.
const T0: i64 = 1_704_067_200_000;
const HOUR: i64 = 3_600_000;

const RECORDS: usize = 1_000_000;
const CUSTOMERS: usize = 100;
const DIMENSION_SETS: [(&str, &str); 3] = [("us", "free"), ("eu", "free"), ("eu", "pro")];
const WINDOWS: usize = 60;
const THREADS: usize = 4;

fn builder(emulator: &Emulator) -> ClientBuilder {
    Client::builder()
        .api_key("test-key")
        .endpoint(emulator.url())
        .max_batch_size(2_000)
        .request_timeout(Duration::from_secs(30))
}

/// Record `i` of the workload: even ones meter `ApiCalls` (summed), odd ones `LatencyMs`
/// (the maximum), spread over the customers, dimension sets and hourly windows.
fn workload(i: usize) -> MeterRecord {
    let n = i / 2;
    let customer = n % CUSTOMERS;
    let (region, tier) = DIMENSION_SETS[(n / CUSTOMERS) % DIMENSION_SETS.len()];
    let window = (n / (CUSTOMERS * DIMENSION_SETS.len())) % WINDOWS;
    let time = T0 + window as i64 * HOUR + ((i * 7_919) as i64 % HOUR);
    let (meter, value) = match i % 2 {
        0 => ("ApiCalls", (i % 7 + 1) as f64),
        _ => ("LatencyMs", ((i * 31) % 1_000) as f64),
    };
    MeterRecord::builder(meter, value, format!("customer-{customer}"))
        .dimension("region", region)
        .dimension("tier", tier)
        .meter_time(EpochMillis::new(time))
        .build()
        .unwrap()
}

/// Meters the whole workload from [`THREADS`] threads, waiting for room when the queue is full.
fn meter_workload(client: &Client) {
    std::thread::scope(|scope| {
        for thread in 0..THREADS {
            scope.spawn(move || {
                for i in (thread..RECORDS).step_by(THREADS) {
                    client.meter_record_timeout(workload(i), WAIT).unwrap();
                }
            });
        }
    });
}

/// Every customer's, dimension set's and window's answer for `meter` under `aggregation`.
fn answers(client: &Client, meter: &str, aggregation: AggregationType) -> Vec<(String, Vec<f64>)> {
    let range = TimeRange::between(
        EpochMillis::new(T0),
        EpochMillis::new(T0 + WINDOWS as i64 * HOUR),
    )
    .unwrap();
    let query = UsageQuery::builder(meter, aggregation, TimeGroupingInterval::Hour, range)
        .group_by(["customerId", "region", "tier"])
        .build()
        .unwrap();
    let report = run(client.usage().get(&query)).unwrap();
    report
        .client_meters
        .iter()
        .map(|group| {
            let key = format!("{:?}", group.group);
            let values = group.values.iter().map(|value| value.value).collect();
            (key, values)
        })
        .collect()
}

fn capture_failures(builder: ClientBuilder) -> (ClientBuilder, Arc<Mutex<Vec<FailedBatch>>>) {
    let failures = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&failures);
    let builder = builder.on_error(move |_, batch| sink.lock().unwrap().push(batch));
    (builder, failures)
}

#[test]
fn aggregation_gives_the_same_usage_answers_as_raw_records_with_far_fewer_records() {
    let (raw_server, aggregated_server) = (Emulator::start().unwrap(), Emulator::start().unwrap());
    let (raw, raw_failures) = capture_failures(builder(&raw_server));
    let raw = raw.build().unwrap();
    // A grace of an hour: no cell closes before the flush, whatever the machine's pace.
    let hourly = |aggregation: Aggregation| aggregation.grace(MAX_GRACE);
    let window = Duration::from_secs(3_600);
    let (aggregated, aggregated_failures) = capture_failures(
        builder(&aggregated_server)
            .aggregate(hourly(Aggregation::sum("ApiCalls", window)))
            .aggregate(hourly(Aggregation::max("LatencyMs", window))),
    );
    let aggregated = aggregated.build().unwrap();

    meter_workload(&raw);
    meter_workload(&aggregated);
    raw.flush(WAIT).unwrap();
    aggregated.flush(WAIT).unwrap();

    assert_eq!(raw_server.record_count(), RECORDS);
    let keys = CUSTOMERS * DIMENSION_SETS.len() * WINDOWS;
    let sent = aggregated_server.record_count();
    assert!(
        sent <= 2 * keys,
        "{sent} aggregates for {keys} keys of each of 2 meters"
    );
    let stats = aggregated.aggregation_stats();
    assert_eq!(stats.records_in, RECORDS as u64);
    assert_eq!(stats.aggregates_out, sent as u64);
    assert_eq!((stats.passed_through, stats.open_keys), (0, 0));

    for (meter, aggregation) in [
        ("ApiCalls", AggregationType::Sum),
        ("LatencyMs", AggregationType::Max),
    ] {
        let expected = answers(&raw, meter, aggregation.clone());
        assert_eq!(expected.len(), CUSTOMERS * DIMENSION_SETS.len(), "{meter}");
        assert!(expected.iter().all(|(_, values)| values.len() == WINDOWS));
        assert_eq!(
            answers(&aggregated, meter, aggregation),
            expected,
            "{meter}"
        );
    }
    let expected_sum: f64 = (0..RECORDS).step_by(2).map(|i| (i % 7 + 1) as f64).sum();
    let total: f64 = answers(&raw, "ApiCalls", AggregationType::Sum)
        .iter()
        .flat_map(|(_, values)| values)
        .sum();
    assert_eq!(total, expected_sum);

    raw.shutdown(WAIT).unwrap();
    aggregated.shutdown(WAIT).unwrap();
    assert!(raw_failures.lock().unwrap().is_empty());
    assert!(aggregated_failures.lock().unwrap().is_empty());
}

#[test]
fn aggregation_sends_open_cells_at_shutdown_and_late_records_under_new_ids() {
    let server = Emulator::start().unwrap();
    let client = builder(&server)
        .aggregate(Aggregation::count("Requests", Duration::from_secs(60)))
        .build()
        .unwrap();
    let at = |offset: i64| {
        MeterRecord::builder("Requests", 5.0, "customer-1")
            .meter_time(EpochMillis::new(T0 + offset))
            .build()
            .unwrap()
    };
    for offset in 0..10 {
        client.meter_record(at(offset)).unwrap();
    }
    client.meter("Other", 2.0, "customer-1").unwrap(); // not aggregated
    client.flush(WAIT).unwrap();
    let mut first = server.records();
    first.sort_by(|a, b| a.meter_api_name().cmp(b.meter_api_name()));
    assert_eq!(first.len(), 2);
    assert_eq!(
        (first[0].meter_api_name(), first[0].meter_value()),
        ("Other", 2.0)
    );
    assert_eq!(
        (first[1].meter_value(), first[1].meter_time_in_millis()),
        (10.0, T0)
    );

    // The same window after its aggregate was sent early: a new aggregate, its own id.
    client.meter_record(at(30_000)).unwrap();
    client.shutdown(WAIT).unwrap();
    let all = server.records();
    assert_eq!(all.len(), 3);
    let late = all
        .iter()
        .find(|r| r.meter_api_name() == "Requests" && r.unique_id() != first[1].unique_id())
        .unwrap();
    assert_eq!((late.meter_value(), late.meter_time_in_millis()), (1.0, T0));
}

#[test]
fn aggregation_settings_are_checked_at_build_naming_the_meter() {
    let server = Emulator::start().unwrap();
    let refused = |builder: ClientBuilder| match builder.build() {
        Err(Error::Config { field, reason }) => format!("{field}: {reason}"),
        other => panic!("expected a configuration error, got {other:?}"),
    };
    let minute = Duration::from_secs(60);
    let half = refused(
        builder(&server).aggregate(Aggregation::sum("ApiCalls", Duration::from_millis(1_500))),
    );
    assert!(half.starts_with("aggregate: meter \"ApiCalls\""), "{half}");
    let long = refused(
        builder(&server).aggregate(Aggregation::sum("ApiCalls", Duration::from_secs(7_200))),
    );
    assert!(long.contains("1 s to 1 h"), "{long}");
    let twice = refused(
        builder(&server)
            .aggregate(Aggregation::sum("ApiCalls", minute))
            .aggregate(Aggregation::max("ApiCalls", minute)),
    );
    assert!(
        twice.contains("\"ApiCalls\" is aggregated twice"),
        "{twice}"
    );
    let unique = refused(builder(&server).aggregate(
        Aggregation::sum("Users", minute).meter_type(amberflo::types::MeterType::ActiveUsers),
    ));
    assert!(
        unique.contains("\"Users\" is of type \"active_users\""),
        "{unique}"
    );
}

#[test]
fn aggregation_with_a_spool_delivers_what_an_outage_held_after_a_restart() {
    let server = Emulator::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let aggregated = |builder: ClientBuilder| {
        builder
            .spool(dir.path())
            .aggregate(Aggregation::sum("ApiCalls", Duration::from_secs(60)))
    };
    // Amberflo unreachable, and retries that would outlast the shutdown: the aggregates stay
    // on disk.
    let down = aggregated(
        Client::builder()
            .api_key("test-key")
            .endpoint("http://127.0.0.1:1")
            .retry_policy(RetryPolicy::new([Duration::from_secs(3_600)])),
    )
    .build()
    .unwrap();
    let mut expected = 0.0;
    for i in 0..1_000 {
        let value = (i % 5 + 1) as f64;
        expected += value;
        let record = MeterRecord::builder("ApiCalls", value, format!("customer-{}", i % 10))
            .meter_time(EpochMillis::new(T0 + (i % 3) * 60_000))
            .build()
            .unwrap();
        down.meter_record(record).unwrap();
    }
    let outage = down.shutdown(Duration::from_millis(300)).unwrap_err();
    assert!(outage.to_string().contains("left on the spool"), "{outage}");
    drop(down);

    // Built without aggregating: what the journal holds is delivered all the same.
    let up = builder(&server).spool(dir.path()).build().unwrap();
    up.shutdown(WAIT).unwrap();
    let records = server.records();
    assert_eq!(records.len(), 30, "one aggregate per customer and window");
    assert_eq!(
        records.iter().map(MeterRecord::meter_value).sum::<f64>(),
        expected
    );
    // The journal let go of each window once the spooled queue held its aggregates: each
    // was sent once, by the spool.
    assert_eq!(server.stats().duplicates_dropped, 0);
}

#[test]
fn aggregation_is_checked_against_the_live_meter_definitions() {
    use amberflo::types::{MeterDefinitionPayload, MeterType};

    let server = Emulator::start().unwrap();
    let minute = Duration::from_secs(60);
    let setup = builder(&server).build().unwrap();
    for (name, meter_type) in [
        ("ApiCalls", MeterType::SumOfAllUsage),
        ("Users", MeterType::ActiveUsers),
    ] {
        let payload = MeterDefinitionPayload::builder(name)
            .label(name)
            .meter_type(meter_type)
            .build()
            .unwrap();
        run(setup.meters().create(&payload)).unwrap();
    }
    let checked = |aggregation: Aggregation| {
        let client = builder(&server).aggregate(aggregation).build().unwrap();
        run(client.check_aggregations())
    };
    checked(Aggregation::count("ApiCalls", minute)).unwrap();
    let unique = checked(Aggregation::sum("Users", minute)).unwrap_err();
    assert!(
        unique
            .to_string()
            .contains("\"Users\" is of type \"active_users\""),
        "{unique}"
    );
    let missing = checked(Aggregation::sum("Nope", minute)).unwrap_err();
    assert!(
        missing.to_string().contains("\"Nope\" is not defined"),
        "{missing}"
    );
}
