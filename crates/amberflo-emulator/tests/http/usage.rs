//! `POST /usage/`, `POST /usage/batch` and `GET /usage/all` over HTTP.

use amberflo_types::EpochMillis;
use amberflo_types::{
    AggregationType, EpochSeconds, MeterRecord, Take, TimeGroupingInterval, TimeRange, UsageQuery,
    UsageReport,
};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::{Harness, JAN_1_2024, error_of, record};

const DAY: i64 = 86_400;

fn regional(value: f64, customer: &str, seconds: i64, region: &str) -> MeterRecord {
    MeterRecord::builder("ApiCalls", value, customer)
        .meter_time(EpochMillis::new(seconds * 1000))
        .dimension("region", region)
        .build()
        .expect("valid record")
}

async fn seeded() -> Harness {
    let harness = Harness::new();
    let records = [
        regional(1.0, "c1", JAN_1_2024 + 10, "eu"),
        regional(2.0, "c1", JAN_1_2024 + DAY + 10, "us"),
        regional(4.0, "c2", JAN_1_2024 + 20, "eu"),
        regional(8.0, "c2", JAN_1_2024 + 2 * DAY, "us"), // outside a 2-day range
        record("Storage", 100.0, "c1", JAN_1_2024 + 5),
    ];
    assert_eq!(harness.ingest(&records).await.status(), StatusCode::OK);
    harness
}

fn day_query(aggregation: AggregationType) -> amberflo_types::UsageQueryBuilder {
    let range = TimeRange::between(
        EpochSeconds::new(JAN_1_2024),
        EpochSeconds::new(JAN_1_2024 + 2 * DAY),
    )
    .expect("valid range");
    UsageQuery::builder("ApiCalls", aggregation, TimeGroupingInterval::Day, range)
}

#[tokio::test]
async fn usage_by_customer_per_day() {
    let harness = seeded().await;
    let query = day_query(AggregationType::Sum)
        .group_by(["customerId"])
        .build()
        .expect("valid query");
    let response = harness.send_json(Method::POST, "/usage/", &query).await;
    assert_eq!(response.status(), StatusCode::OK);
    let report: UsageReport = response.json().await.expect("report");
    assert_eq!(
        report.seconds_since_epoch_intervals,
        [JAN_1_2024, JAN_1_2024 + DAY].map(EpochSeconds::new)
    );
    assert_eq!(report.metadata["meterApiName"], "ApiCalls");
    let summary: Vec<(String, f64, Vec<f64>)> = report
        .client_meters
        .iter()
        .map(|meter| {
            let group = meter.group.as_ref().expect("grouped");
            (
                group.group_info["customerId"].clone(),
                meter.group_value,
                meter.values.iter().map(|value| value.value).collect(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("c1".to_owned(), 3.0, vec![1.0, 2.0]),
            ("c2".to_owned(), 4.0, vec![4.0, 0.0]),
        ]
    );
    assert_eq!(
        report.client_meters[0].values[1].percentage_from_previous,
        100.0
    );
}

#[tokio::test]
async fn usage_filter_take_and_batch() {
    let harness = seeded().await;
    let filtered = day_query(AggregationType::Count)
        .filter("region", ["eu"])
        .build()
        .expect("valid query");
    let top = day_query(AggregationType::Max)
        .group_by(["region"])
        .take(Take::largest(1).expect("valid take"))
        .build()
        .expect("valid query");
    let response = harness
        .send_json(Method::POST, "/usage/batch", &[filtered, top])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let reports: Vec<UsageReport> = response.json().await.expect("reports");
    assert_eq!(reports.len(), 2);
    // Two "eu" records, both on the first day; no group-by: one client meter.
    assert_eq!(reports[0].client_meters.len(), 1);
    assert_eq!(reports[0].client_meters[0].group_value, 2.0);
    // Largest single value by region within range: us has 2, eu has 4; take 1 descending.
    assert_eq!(reports[1].client_meters.len(), 1);
    let winner = &reports[1].client_meters[0];
    assert_eq!(
        winner.group.as_ref().expect("grouped").group_info["region"],
        "eu"
    );
    assert_eq!(winner.group_value, 4.0);
}

#[tokio::test]
async fn usage_all_groups_by_customer() {
    let harness = seeded().await;
    let path = format!(
        "/usage/all?startTimeInSeconds={JAN_1_2024}&endTimeInSeconds={}&timeGroupingInterval=DAY&groupBy=customerId",
        JAN_1_2024 + 2 * DAY
    );
    let response = harness.get(&path).await;
    assert_eq!(response.status(), StatusCode::OK);
    let reports: Vec<UsageReport> = response.json().await.expect("reports");
    let meters: Vec<&str> = reports
        .iter()
        .map(|report| report.metadata["meterApiName"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(meters, ["ApiCalls", "Storage"]);
    assert_eq!(reports[0].client_meters.len(), 2);
    assert_eq!(reports[1].client_meters[0].group_value, 100.0);

    let filtered = harness
        .get(&format!(
            "/usage/all?startTimeInSeconds={JAN_1_2024}&timeGroupingInterval=MONTH&customerId=c2"
        ))
        .await;
    let reports: Vec<UsageReport> = filtered.json().await.expect("reports");
    assert_eq!(reports.len(), 1, "c2 has only ApiCalls");
    // Open range: all of c2's records (both days) count.
    assert_eq!(reports[0].client_meters[0].group_value, 12.0);
}

#[tokio::test]
async fn bad_usage_queries_are_400_naming_the_field() {
    let harness = seeded().await;
    let mut query = serde_json::to_value(
        day_query(AggregationType::Sum)
            .build()
            .expect("valid query"),
    )
    .expect("json");
    query["timeRange"]["endTimeInSeconds"] = json!(JAN_1_2024 - 1);
    let (status, message) = error_of(harness.send_json(Method::POST, "/usage", &query).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        message,
        "time_range.end_time_in_seconds must be after start"
    );

    query["timeRange"]["endTimeInSeconds"] = json!(JAN_1_2024 + DAY);
    query["groupBy"] = json!([]);
    let (_, message) = error_of(
        harness
            .send_json(Method::POST, "/usage/batch", &json!([query]))
            .await,
    )
    .await;
    assert_eq!(message, "queries[0]: group_by must not be an empty list");

    query["groupBy"] = json!(["customerId"]);
    query["aggregation"] = json!("MEDIAN");
    let (status, message) = error_of(harness.send_json(Method::POST, "/usage", &query).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        message,
        r#"aggregation "MEDIAN" is not supported; use one of SUM, COUNT, MIN, MAX"#
    );

    let (status, message) = error_of(
        harness
            .get("/usage/all?startTimeInSeconds=0&timeGroupingInterval=DAY")
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        message,
        "time_range.start_time_in_seconds must be greater than 0"
    );
    let (_, message) = error_of(harness.get("/usage/all?startTimeInSeconds=5").await).await;
    assert_eq!(message, "timeGroupingInterval is required");
    let (_, message) = error_of(
        harness
            .get("/usage/all?startTimeInSeconds=5&timeGroupingInterval=DAY&groupBy=region")
            .await,
    )
    .await;
    assert!(
        message.starts_with("groupBy supports only customerId"),
        "{message}"
    );
    // An hourly report over ~130 years is refused, not attempted.
    let (status, message) = error_of(
        harness
            .get("/usage/all?startTimeInSeconds=1&endTimeInSeconds=4102444799&timeGroupingInterval=HOUR")
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message.contains("buckets"), "{message}");
    // Milliseconds given as seconds: refused, naming the field.
    let (status, message) = error_of(
        harness
            .get("/usage/all?startTimeInSeconds=1&endTimeInSeconds=9999999999&timeGroupingInterval=HOUR")
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        message.starts_with("time_range.end_time_in_seconds must be between 1 and"),
        "{message}"
    );
}

/// A cancellation record (the Go SDK's `CancelMeter`) takes its event out of every aggregation:
/// 3 + 2.5 + 4 with the 2.5 cancelled sums to 7 over 2 records, and 2.5 is no longer the MIN.
#[tokio::test]
async fn a_cancelled_event_counts_for_no_aggregation() {
    let harness = Harness::new();
    let at = |value: f64, offset: i64| {
        MeterRecord::builder("ApiCalls", value, "c1")
            .meter_time(EpochMillis::new((JAN_1_2024 + offset) * 1000))
    };
    let records = [
        at(3.0, 10).build().expect("valid"),
        at(2.5, 20).build().expect("valid"),
        at(4.0, 30).build().expect("valid"),
        at(2.5, 20).cancel_previous().build().expect("valid"),
    ];
    assert_eq!(harness.ingest(&records).await.status(), StatusCode::OK);
    for (aggregation, expected) in [
        (AggregationType::Sum, 7.0),
        (AggregationType::Count, 2.0),
        (AggregationType::Min, 3.0),
        (AggregationType::Max, 4.0),
    ] {
        let query = day_query(aggregation.clone()).build().expect("valid query");
        let response = harness.send_json(Method::POST, "/usage/", &query).await;
        let report: UsageReport = response.json().await.expect("report");
        let meter = &report.client_meters[0];
        assert_eq!(meter.group_value, expected, "{aggregation:?}");
        assert_eq!(meter.values[0].value, expected, "{aggregation:?} first day");
    }
}

/// An open range (`TimeRange::last`) ends now with the current second included: a record
/// metered a moment ago is in the report.
#[tokio::test]
async fn an_open_range_includes_the_current_second() {
    let harness = Harness::new();
    let now_millis = amberflo_types::now_millis();
    let just_now = MeterRecord::builder("ApiCalls", 5.0, "c1")
        .meter_time(EpochMillis::new(now_millis))
        .build()
        .expect("valid record");
    assert_eq!(harness.ingest(&[just_now]).await.status(), StatusCode::OK);
    let range = TimeRange::last(std::time::Duration::from_secs(86_400)).expect("valid range");
    let query = UsageQuery::builder(
        "ApiCalls",
        AggregationType::Sum,
        TimeGroupingInterval::Hour,
        range,
    )
    .build()
    .expect("valid query");
    let response = harness.send_json(Method::POST, "/usage/", &query).await;
    let report: UsageReport = response.json().await.expect("report");
    assert_eq!(report.client_meters[0].group_value, 5.0);
}

/// The Go and TypeScript SDKs send enum names in lower case (`"day"`, `"sum"`); the API reads
/// them in any case, in `/usage` and `/usage/batch` as in `/usage/all` and usage cost.
#[tokio::test]
async fn enum_names_are_read_in_any_case() {
    let harness = seeded().await;
    let query = json!({
        "meterApiName": "ApiCalls",
        "aggregation": "sum",
        "timeGroupingInterval": "day",
        "timeRange": {"startTimeInSeconds": JAN_1_2024, "endTimeInSeconds": JAN_1_2024 + 2 * DAY}
    });
    let one = harness.send_json(Method::POST, "/usage", &query).await;
    assert_eq!(one.status(), StatusCode::OK);
    let report: UsageReport = one.json().await.expect("report");
    assert_eq!(report.client_meters[0].group_value, 7.0);
    let batch = harness
        .send_json(Method::POST, "/usage/batch", &json!([query]))
        .await;
    assert_eq!(batch.status(), StatusCode::OK);
    let cost = json!({
        "timeGroupingInterval": "Day",
        "timeRange": {"startTimeInSeconds": JAN_1_2024, "endTimeInSeconds": JAN_1_2024 + DAY}
    });
    let priced = harness
        .send_json(Method::POST, "/payments/cost/usage-cost", &cost)
        .await;
    assert_eq!(priced.status(), StatusCode::OK);
    let unknown = json!({"meterApiName": "ApiCalls", "aggregation": "sum", "timeGroupingInterval": "fortnight",
        "timeRange": {"startTimeInSeconds": JAN_1_2024}});
    let refused = harness.send_json(Method::POST, "/usage", &unknown).await;
    let (status, message) = error_of(refused).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        message.contains("\"fortnight\"") && message.contains("HOUR, DAY, WEEK, MONTH"),
        "{message}"
    );
}
