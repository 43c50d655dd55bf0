//! `MockTransport` as users see it: scripted sequences, per-path scripts, request capture with
//! gunzipped bodies, delays without a runtime, and concurrent use from many threads.

#![cfg(feature = "mock")]
// Helpers outside `#[test]` functions panic on failure too; that is what tests do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use amberflo_transport::{
    ApiClient, ApiKey, Error, MockReply, MockTransport, Transport, TransportError, USER_AGENT,
};
use serde_json::{Value, json};

fn client(mock: &MockTransport) -> ApiClient {
    ApiClient::builder(ApiKey::new("mock-key").unwrap())
        .transport(mock.clone())
        .build()
        .unwrap()
}

#[test]
fn default_answer_is_200_and_configurable() {
    let mock = MockTransport::new();
    let client = client(&mock);
    let reply = common::block_on(client.ingest(&[json!({"a": 1})])).unwrap();
    assert_eq!(reply, "");
    mock.set_default_reply(MockReply::text(503, "down"));
    let err = common::block_on(client.ingest(&[json!({"a": 1})])).unwrap_err();
    assert_eq!(err.status(), Some(http::StatusCode::SERVICE_UNAVAILABLE));
    assert!(err.is_retryable());
}

#[test]
fn scripted_sequence_is_answered_in_order() {
    let mock = MockTransport::new();
    mock.push_replies([
        MockReply::text(500, "boom"),
        MockReply::text(429, "slow").with_header("retry-after", "7"),
        MockReply::error(TransportError::timeout(Duration::from_secs(1))),
        MockReply::text(200, "3 records were ingested"),
    ]);
    let client = client(&mock);
    let records = [json!({"a": 1}), json!({"a": 2}), json!({"a": 3})];
    let mut outcomes = Vec::new();
    for _ in 0..5 {
        outcomes.push(common::block_on(client.ingest(&records)));
    }
    assert!(matches!(&outcomes[0], Err(Error::Api(e)) if e.status == 500 && e.body == "boom"));
    assert_eq!(
        outcomes[1].as_ref().unwrap_err().retry_after(),
        Some(Duration::from_secs(7))
    );
    assert!(matches!(
        &outcomes[2],
        Err(Error::Transport(TransportError::Timeout { .. }))
    ));
    assert!(outcomes[2].as_ref().unwrap_err().is_retryable());
    assert_eq!(outcomes[3].as_ref().unwrap(), "3 records were ingested");
    assert_eq!(outcomes[4].as_ref().unwrap(), ""); // script exhausted: the default
    assert_eq!(mock.request_count(), 5);
    assert_eq!(mock.pending_replies(), 0);
}

#[test]
fn per_path_scripts() {
    let mock = MockTransport::new();
    mock.push_reply_for("/ingest/", MockReply::text(200, "1 records were ingested"));
    mock.set_default_reply_for(
        "/customers/",
        MockReply::json(200, &json!({"customerId": "c1"})),
    );
    mock.push_reply(MockReply::json(200, &json!([{"clientMeters": []}])));
    let client = client(&mock);

    let customer: Value =
        common::block_on(client.get_json("/customers/", &[("customerId", "c1")])).unwrap();
    assert_eq!(customer["customerId"], "c1");
    let usage: Value = common::block_on(client.post_json("/usage/", &(), &json!({}))).unwrap();
    assert_eq!(usage[0]["clientMeters"], json!([]));
    let again: Value = common::block_on(client.get_json("/customers/", &())).unwrap();
    assert_eq!(again["customerId"], "c1"); // sticky per-path reply
    let ingested = common::block_on(client.ingest(&[json!({"a": 1})])).unwrap();
    assert_eq!(ingested, "1 records were ingested");

    assert_eq!(mock.requests_for("/customers/").len(), 2);
    let first = &mock.requests_for("/customers/")[0];
    assert_eq!(
        first.query_pairs(),
        vec![("customerId".to_owned(), "c1".to_owned())]
    );
}

#[test]
fn captures_method_url_headers_and_gunzipped_body() {
    let mock = MockTransport::new();
    let client = ApiClient::builder(ApiKey::new("mock-key").unwrap())
        .transport(mock.clone())
        .ingest_url("http://127.0.0.1:7/prefix")
        .build()
        .unwrap();
    let records = vec![
        json!({"uniqueId": "u1", "meterApiName": "calls", "customerId": "c1", "meterValue": 1.5}),
        json!({"uniqueId": "u2", "meterApiName": "calls", "customerId": "c2", "meterValue": 2}),
    ];
    common::block_on(client.ingest(&records)).unwrap();
    common::block_on(client.ingest_custom(&json!([{"event": "x"}]))).unwrap();

    let sent = mock.take_requests();
    assert_eq!(sent.len(), 2);
    let ingest = &sent[0];
    assert_eq!(ingest.method, http::Method::POST);
    assert_eq!(ingest.uri.to_string(), "http://127.0.0.1:7/prefix/ingest/");
    assert_eq!(ingest.header("x-api-key"), Some("mock-key"));
    assert_eq!(ingest.header("content-type"), Some("application/json"));
    assert_eq!(ingest.header("accept"), Some("application/json"));
    assert_eq!(ingest.header("user-agent"), Some(USER_AGENT));
    assert_eq!(ingest.header("content-encoding"), Some("gzip"));
    assert_eq!(&ingest.raw_body[..2], &[0x1f, 0x8b]);
    assert_eq!(ingest.body_json::<Vec<Value>>().unwrap(), records);

    let custom = &sent[1];
    assert_eq!(custom.path(), "/prefix/ingest");
    assert_eq!(custom.query(), Some("schemaDetection=AUTO"));
    assert_eq!(custom.body_text(), r#"[{"event":"x"}]"#);
    assert_eq!(mock.request_count(), 0);
}

#[test]
fn delay_works_without_any_runtime() {
    let mock = MockTransport::new();
    mock.push_reply(MockReply::ok().with_delay(Duration::from_millis(60)));
    let started = Instant::now();
    let response = common::block_on(
        mock.send(
            http::Request::get("https://app.amberflo.io/x")
                .body(bytes::Bytes::new())
                .unwrap(),
        ),
    )
    .unwrap();
    assert_eq!(response.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(60));
}

#[tokio::test]
async fn delay_works_under_tokio_and_can_be_timed_out() {
    let mock = MockTransport::new();
    mock.push_reply(MockReply::ok().with_delay(Duration::from_secs(5)));
    mock.push_reply(MockReply::text(200, "fast").with_delay(Duration::from_millis(20)));
    let request = || {
        http::Request::get("https://app.amberflo.io/x")
            .body(bytes::Bytes::new())
            .unwrap()
    };
    let slow = tokio::time::timeout(Duration::from_millis(50), mock.send(request())).await;
    assert!(
        slow.is_err(),
        "the 5 s delay should outlast the 50 ms timeout"
    );
    let fast = mock.send(request()).await.unwrap();
    assert_eq!(fast.body(), "fast");
}

#[test]
fn shared_by_eight_threads() {
    const THREADS: usize = 8;
    const PER_THREAD: usize = 25;
    let mock = MockTransport::new();
    mock.set_default_reply_for("/ingest/", MockReply::text(200, "1 records were ingested"));
    let transport: Arc<dyn Transport> = Arc::new(mock.clone());
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let client = ApiClient::builder(ApiKey::new("k").unwrap())
                .shared_transport(Arc::clone(&transport))
                .build()
                .unwrap();
            thread::spawn(move || {
                for i in 0..PER_THREAD {
                    let record = json!({"thread": t, "i": i});
                    let reply = common::block_on(client.ingest(&[record])).unwrap();
                    assert_eq!(reply, "1 records were ingested");
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
    let sent = mock.requests();
    assert_eq!(sent.len(), THREADS * PER_THREAD);
    let mut seen: Vec<(u64, u64)> = sent
        .iter()
        .map(|r| {
            let v: Vec<Value> = r.body_json().unwrap();
            (
                v[0]["thread"].as_u64().unwrap(),
                v[0]["i"].as_u64().unwrap(),
            )
        })
        .collect();
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(
        seen.len(),
        THREADS * PER_THREAD,
        "every request recorded once"
    );
}

#[test]
fn mock_is_send_sync_clone_and_debug_has_no_key() {
    fn assert_send_sync<T: Send + Sync + Clone + 'static>() {}
    assert_send_sync::<MockTransport>();
    let mock = MockTransport::new();
    let client = ApiClient::builder(ApiKey::new("very-secret-key").unwrap())
        .transport(mock.clone())
        .build()
        .unwrap();
    common::block_on(client.get_json::<_, ()>("/customers/", &())).unwrap();
    let shown = format!("{client:?} {mock:?} {:?}", mock.requests());
    assert!(!shown.contains("very-secret-key"), "{shown}");
    assert!(shown.contains("\"mock\""), "{shown}");
}
