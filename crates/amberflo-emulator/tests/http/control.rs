//! The emulator's own routes (`/`, `/_emulator/*`) and the generic 404 / 405 handling.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::{Harness, JAN_1_2024, error_of, record};

#[tokio::test]
async fn page_is_self_contained_html() {
    let harness = Harness::with_key("k");
    let response = harness
        .http
        .get(harness.url("/"))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap_or_default()
            .starts_with("text/html")
    );
    let html = response.text().await.expect("html");
    assert!(html.contains("<title>Amberflo emulator</title>"));
    assert!(html.contains("/_emulator/console") && html.contains("/_emulator/faults"));
    // Aggregating clients' reports, from the console data, in the promised wording.
    assert!(html.contains(r#"<ul id="clients">"#) && html.contains("view.clients"));
    for words in [
        "\" records in → \"",
        "\" aggregates (\"",
        "\" passed through, \"",
        "\" open keys\"",
    ] {
        assert!(html.contains(words), "the page writes {words}");
    }
    assert!(
        !html.contains("src=") && !html.contains("href=\"http"),
        "no assets from elsewhere: the page works offline"
    );
    let icon = harness
        .http
        .get(harness.url("/favicon.ico"))
        .send()
        .await
        .expect("sent");
    assert_eq!(icon.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        harness.emulator.stats().requests_served,
        0,
        "page traffic is not API traffic"
    );
}

#[tokio::test]
async fn console_is_the_page_data_and_names_a_bad_parameter() {
    let harness = Harness::new();
    let records = [
        record("calls", 1.0, "c1", JAN_1_2024),
        record("calls", 2.0, "c1", JAN_1_2024 + 90),
        record("calls", 5.0, "c2", JAN_1_2024 + 3600),
    ];
    harness.ingest(&records).await;
    harness.ingest(&records[..1]).await; // a duplicate
    let view: Value = harness
        .get("/_emulator/console?range=all&interval=minute")
        .await
        .json()
        .await
        .expect("console");
    assert_eq!(view["tiles"]["records"], 3);
    assert_eq!(
        view["tiles"]["customers"], 2,
        "customers seen in records count"
    );
    assert_eq!(view["meters"], serde_json::json!(["calls"]));
    let groups = &view["charts"][0]["groups"];
    assert_eq!(groups[0]["name"], "c2");
    assert_eq!(groups[0]["total"], 5.0);
    assert_eq!(
        groups[1]["points"].as_array().map(Vec::len),
        Some(2),
        "two minutes"
    );
    assert_eq!(view["latest"][0]["status"], "duplicate");
    assert_eq!(view["latest"][1]["status"], "stored");
    // Every point is drawn, with its data.
    assert_eq!(
        view["charts"][0]["svg"]
            .as_str()
            .map(|svg| svg.matches("class=\"point\"").count()),
        Some(3)
    );
    for (query, named) in [
        ("interval=week", "interval"),
        ("range=2y", "range"),
        ("group=region", "group"),
        ("range=30d&interval=minute", "buckets"),
    ] {
        let (status, message) =
            error_of(harness.get(&format!("/_emulator/console?{query}")).await).await;
        assert_eq!(status, reqwest::StatusCode::BAD_REQUEST, "{query}");
        assert!(message.contains(named), "{query}: {message}");
    }
}

#[tokio::test]
async fn records_stats_summary_and_clear() {
    let harness = Harness::new();
    let records = [
        record("calls", 1.0, "c1", JAN_1_2024),
        record("calls", 2.0, "c1", JAN_1_2024 + 1),
        record("storage", 5.0, "c2", JAN_1_2024 + 2),
    ];
    harness.ingest(&records).await;

    let all: Vec<amberflo_types::MeterRecord> = harness
        .get("/_emulator/records")
        .await
        .json()
        .await
        .expect("records");
    assert_eq!(all, records);
    let last_c1: Vec<amberflo_types::MeterRecord> = harness
        .get("/_emulator/records?customerId=c1&limit=1")
        .await
        .json()
        .await
        .expect("records");
    assert_eq!(last_c1, [records[1].clone()]);

    let stats: Value = harness
        .get("/_emulator/stats")
        .await
        .json()
        .await
        .expect("stats");
    assert_eq!(stats["records"], 3);
    assert_eq!(stats["ingestBatches"], 1);
    assert_eq!(stats["requestsServed"], 1, "control routes are not counted");

    let summary: Value = harness
        .get("/_emulator/summary")
        .await
        .json()
        .await
        .expect("summary");
    assert_eq!(summary["customers"][0]["customerId"], "c1");
    assert_eq!(summary["customers"][0]["meters"][0]["records"], 2);
    assert_eq!(summary["customers"][0]["meters"][0]["total"], 3.0);
    assert_eq!(
        summary["customers"][1]["meters"][0]["meterApiName"],
        "storage"
    );
    assert_eq!(
        summary["latest"][0]["meterApiName"], "storage",
        "newest first"
    );

    let cleared: Value = harness
        .request(Method::DELETE, "/_emulator/records")
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    assert_eq!(cleared["cleared"], 3);
    assert_eq!(harness.emulator.record_count(), 0);
    // Cleared ids can be ingested again.
    harness.ingest(&records).await;
    assert_eq!(harness.emulator.record_count(), 3);
    let summary: Value = harness
        .get("/_emulator/summary")
        .await
        .json()
        .await
        .expect("summary");
    assert_eq!(summary["customers"][0]["meters"][0]["records"], 2);
}

#[tokio::test]
async fn unknown_paths_404_and_wrong_methods_405() {
    let harness = Harness::new();
    let (status, message) = error_of(harness.get("/nope").await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(message, "no such endpoint: /nope");
    let response = harness.get("/ingest/").await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()["allow"], "POST");
    let response = harness
        .request(Method::PATCH, "/customers/")
        .send()
        .await
        .expect("sent");
    assert_eq!(response.headers()["allow"], "GET, POST, PUT");
    // Only `/customers/stage` takes `PUT`; another customer's 405 does not offer it.
    let response = harness
        .request(Method::PUT, "/customers/c1")
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()["allow"], "GET, DELETE");
    let response = harness
        .request(Method::PATCH, "/customers/stage")
        .send()
        .await
        .expect("sent");
    assert_eq!(response.headers()["allow"], "GET, DELETE, PUT");
}
