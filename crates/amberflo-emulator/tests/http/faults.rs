//! Fault injection, from Rust and over `/_emulator/faults`: failures with `Retry-After`,
//! latency, and dropped connections.

use std::time::{Duration, Instant};

use amberflo_emulator::{DropConnections, FailRequests, FaultSettings};
use reqwest::{Method, StatusCode};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::{Harness, JAN_1_2024, error_of, record};

#[tokio::test]
async fn fail_next_requests_with_status_and_retry_after() {
    let harness = Harness::new();
    let settings = json!({"fail": {"count": 2, "status": 503, "retryAfter": "7",
                                   "pathPrefix": "/ingest"}});
    let set = harness
        .send_json(Method::POST, "/_emulator/faults", &settings)
        .await;
    assert_eq!(set.status(), StatusCode::OK);
    let records = [record("m", 1.0, "c", JAN_1_2024)];

    // Other paths are untouched and do not consume the count.
    assert_eq!(harness.get("/customers/").await.status(), StatusCode::OK);
    for _ in 0..2 {
        let response = harness.ingest(&records).await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            response.headers().get("retry-after").map(|v| v.as_bytes()),
            Some(&b"7"[..])
        );
    }
    assert_eq!(harness.ingest(&records).await.status(), StatusCode::OK);
    assert_eq!(
        harness.emulator.record_count(),
        1,
        "failed requests stored nothing"
    );
    let stats = harness.emulator.stats();
    assert_eq!(stats.requests_failed_by_faults, 2);
    assert_eq!(stats.requests_served, 4);

    // From Rust, without a prefix and with a custom message.
    harness
        .emulator
        .faults()
        .fail_next(FailRequests::new(1, 429).message("slow down"))
        .expect("valid fault");
    let (status, message) = error_of(harness.get("/customers/").await).await;
    assert_eq!(
        (status, message.as_str()),
        (StatusCode::TOO_MANY_REQUESTS, "slow down")
    );
    assert_eq!(harness.get("/customers/").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn latency_delays_api_requests() {
    let harness = Harness::new();
    harness
        .emulator
        .faults()
        .set_latency(Duration::from_millis(150));
    let started = Instant::now();
    assert_eq!(harness.get("/customers/").await.status(), StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(150));

    let settings: FaultSettings = harness
        .request(Method::DELETE, "/_emulator/faults")
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("settings");
    assert_eq!(settings, FaultSettings::default());
    assert_eq!(
        harness.emulator.faults().settings(),
        FaultSettings::default()
    );
}

#[tokio::test]
async fn dropped_connections_get_no_response() {
    let harness = Harness::new();
    harness
        .emulator
        .faults()
        .drop_next(DropConnections::new(1).path_prefix("/customers"));
    let mut stream = tokio::net::TcpStream::connect(harness.emulator.addr())
        .await
        .expect("connects");
    stream
        .write_all(b"GET /customers/ HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .expect("request written");
    let mut received = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut received))
        .await
        .expect("the server closes the connection");
    // Closed (or reset) without a single byte of response.
    assert!(read.is_err() || received.is_empty(), "{received:?}");

    // The next request is served; over reqwest a dropped one is an error.
    assert_eq!(harness.get("/customers/").await.status(), StatusCode::OK);
    harness.emulator.faults().drop_next(DropConnections::new(1));
    let dropped = harness.request(Method::GET, "/customers/").send().await;
    assert!(dropped.is_err(), "{dropped:?}");
    let stats = harness.emulator.stats();
    assert_eq!(
        (stats.connections_dropped, stats.requests_failed_by_faults),
        (2, 2)
    );
}

#[tokio::test]
async fn invalid_fault_settings_are_400() {
    let harness = Harness::new();
    for body in [
        json!({"fail": {"count": 1, "status": 42}}),
        json!({"fail": {"count": 1, "status": 503, "retryAfter": "a\nb"}}),
        json!({"latency": 5}),
    ] {
        let (status, _) = error_of(
            harness
                .send_json(Method::POST, "/_emulator/faults", &body)
                .await,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    }
    let current: FaultSettings = harness
        .send_json(
            Method::POST,
            "/_emulator/faults",
            &json!({"latencyMs": 5, "dropConnections": {"count": 3}}),
        )
        .await
        .json()
        .await
        .expect("settings");
    assert_eq!(current.latency_ms, Some(5));
    assert_eq!(current.drop_connections.map(|drop| drop.count()), Some(3));
}
