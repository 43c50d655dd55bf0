//! `POST /ingest`: plain and gzip bodies, one record or many, validation, limits, dedup and
//! custom-schema records.

use amberflo_emulator::Emulator;
use amberflo_types::EpochMillis;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::{Harness, JAN_1_2024, error_of, gzip, record};

#[tokio::test]
async fn gzip_array_is_stored_and_counted() {
    let harness = Harness::new();
    let records: Vec<_> = (0..5)
        .map(|i| record("ApiCalls", f64::from(i), "c1", JAN_1_2024 + i64::from(i)))
        .collect();
    let response = harness.ingest(&records).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.text().await.expect("text"),
        "5 records were ingested"
    );
    assert_eq!(harness.emulator.records(), records);
    let stats = harness.emulator.stats();
    assert_eq!((stats.records, stats.ingest_batches), (5, 1));
}

#[tokio::test]
async fn plain_single_object_without_trailing_slash() {
    let harness = Harness::new();
    let one = record("ApiCalls", 2.5, "c1", JAN_1_2024);
    let response = harness.send_json(Method::POST, "/ingest", &one).await;
    assert_eq!(
        response.text().await.expect("text"),
        "1 records were ingested"
    );
    assert_eq!(harness.emulator.records(), vec![one]);
}

#[tokio::test]
async fn bad_record_rejects_the_batch_naming_the_field() {
    let harness = Harness::new();
    let good = serde_json::to_value(record("ApiCalls", 1.0, "c1", JAN_1_2024)).expect("json");
    let mut bad = good.clone();
    bad["meterApiName"] = json!("  ");
    let body = json!([good, good, good, bad]);
    let (status, message) =
        error_of(harness.send_json(Method::POST, "/ingest/", &body).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(message, "records[3]: meter_api_name must not be blank");
    assert_eq!(harness.emulator.record_count(), 0, "nothing stored");

    let mut missing = good.clone();
    missing
        .as_object_mut()
        .expect("object")
        .remove("customerId");
    let (status, message) = error_of(
        harness
            .send_json(Method::POST, "/ingest/", &json!([good, missing]))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        message.starts_with("records[1]: missing field `customerId`"),
        "{message}"
    );

    let mut dimension = good;
    dimension["dimensions"] = json!({"region": ""});
    let (_, message) = error_of(
        harness
            .send_json(Method::POST, "/ingest/", &dimension)
            .await,
    )
    .await;
    assert_eq!(message, "records[0]: dimensions.region must not be blank");
    assert_eq!(harness.emulator.stats().ingest_rejected, 3);
}

#[tokio::test]
async fn malformed_json_bad_gzip_and_unknown_encoding_are_4xx() {
    let harness = Harness::new();
    let send = |body: Vec<u8>, encoding: Option<&'static str>| {
        let mut request = harness.request(Method::POST, "/ingest/").body(body);
        if let Some(encoding) = encoding {
            request = request.header("Content-Encoding", encoding);
        }
        request.send()
    };
    let (status, message) = error_of(send(b"[{".to_vec(), None).await.expect("sent")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message.starts_with("malformed JSON"), "{message}");

    let (status, message) = error_of(
        send(b"not gzip".to_vec(), Some("gzip"))
            .await
            .expect("sent"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message.starts_with("invalid gzip body"), "{message}");

    let response = send(b"[]".to_vec(), Some("br")).await.expect("sent");
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let response = send(gzip(b"[]"), Some("gzip")).await.expect("sent");
    assert_eq!(
        response.text().await.expect("text"),
        "0 records were ingested"
    );
}

#[tokio::test]
async fn bodies_over_the_limits_get_413() {
    let emulator = Emulator::builder()
        .worker_threads(1)
        .max_body_bytes(2_000)
        .max_decoded_bytes(5_000)
        .start()
        .expect("emulator starts");
    let harness = Harness::from(emulator);
    let big = vec![b' '; 3_000];
    let response = harness
        .request(Method::POST, "/ingest/")
        .body(big)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);

    // Small on the wire, large once decompressed.
    let bomb = gzip(&vec![b' '; 50_000]);
    assert!(bomb.len() < 2_000);
    let (status, message) = error_of(
        harness
            .request(Method::POST, "/ingest/")
            .header("Content-Encoding", "gzip")
            .body(bomb)
            .send()
            .await
            .expect("sent"),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(message.contains("5000"), "{message}");
    // The server is still fine.
    let ok = harness.ingest(&[record("m", 1.0, "c", JAN_1_2024)]).await;
    assert_eq!(ok.status(), StatusCode::OK);
}

#[tokio::test]
async fn duplicates_are_stored_once_and_same_id_new_content_is_kept() {
    let harness = Harness::new();
    let records: Vec<_> = (0..3)
        .map(|i| record("ApiCalls", 1.0, "c1", JAN_1_2024 + i))
        .collect();
    // A retried batch: the same ids and content.
    for _ in 0..2 {
        let response = harness.ingest(&records).await;
        assert_eq!(
            response.text().await.expect("text"),
            "3 records were ingested"
        );
    }
    assert_eq!(harness.emulator.record_count(), 3);
    assert_eq!(harness.emulator.stats().duplicates_dropped, 3);

    let reused = amberflo_types::MeterRecord::builder("ApiCalls", 9.0, "c1")
        .unique_id(records[0].unique_id().clone())
        .meter_time(EpochMillis::new(JAN_1_2024 * 1000))
        .build()
        .expect("valid record");
    harness.ingest(std::slice::from_ref(&reused)).await;
    assert_eq!(harness.emulator.record_count(), 4);
    assert_eq!(harness.emulator.records()[3], reused);
}

#[tokio::test]
async fn custom_schema_records_are_stored_as_is() {
    let harness = Harness::new();
    let body = json!([{"anything": 1, "nested": {"x": [1, 2]}}, {"other": "field"}]);
    let response = harness
        .send_json(Method::POST, "/ingest?schemaDetection=AUTO", &body)
        .await;
    assert_eq!(
        response.text().await.expect("text"),
        "2 records were ingested"
    );
    assert_eq!(
        harness.emulator.store().custom_records(),
        body.as_array().cloned().unwrap_or_default()
    );
    assert_eq!(harness.emulator.record_count(), 0);
    let (status, message) = error_of(
        harness
            .send_json(Method::POST, "/ingest/?schemaDetection=AUTO", &json!([1]))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(message, "records[0]: must be a JSON object");
    let listed: serde_json::Value = harness
        .get("/_emulator/custom-records")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(listed, body);
}

#[tokio::test]
async fn api_key_is_required_when_configured() {
    let harness = Harness::with_key("secret");
    let records = [record("ApiCalls", 1.0, "c1", JAN_1_2024)];
    assert_eq!(harness.ingest(&records).await.status(), StatusCode::OK);

    let missing = harness
        .http
        .post(harness.url("/ingest/"))
        .json(&records)
        .send()
        .await
        .expect("sent");
    assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
    let wrong = harness
        .http
        .get(harness.url("/customers/"))
        .header("X-API-KEY", "secreT")
        .send()
        .await
        .expect("sent");
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    // The emulator's own routes stay open.
    let stats = harness
        .http
        .get(harness.url("/_emulator/stats"))
        .send()
        .await
        .expect("sent");
    assert_eq!(stats.status(), StatusCode::OK);
    assert_eq!(harness.emulator.stats().unauthorized, 2);
    assert_eq!(harness.emulator.record_count(), 1);
}
