//! The facade over `MockTransport`: what `meter` sends, how refusals and failures surface,
//! and that every record ends in exactly one bucket.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use amberflo::types::EpochMillis;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use amberflo::mock::{MockReply, MockTransport};
use amberflo::types::Rule;
use amberflo::{
    Client, ClientBuilder, CustomPayloadError, FailedBatch, MeterError, MeterRecord, RetryPolicy,
};

const WAIT: Duration = Duration::from_secs(10);

fn builder(mock: &MockTransport) -> ClientBuilder {
    Client::builder()
        .api_key("secret-test-key")
        .transport(mock.clone())
        .linger(Duration::from_millis(10))
        .retry_policy(RetryPolicy::new([Duration::from_millis(5); 3]))
}

fn failures(builder: ClientBuilder) -> (ClientBuilder, Arc<Mutex<Vec<FailedBatch>>>) {
    let failures = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&failures);
    (
        builder.on_error(move |_, batch| sink.lock().unwrap().push(batch)),
        failures,
    )
}

#[test]
fn meter_sends_gzip_json_records_with_the_api_headers() {
    let mock = MockTransport::new();
    let client = builder(&mock).build().unwrap();
    let record = MeterRecord::builder("ApiCalls", 3.0, "customer-1")
        .dimension("region", "us-east-1")
        .meter_time(EpochMillis::new(1_700_000_000_000))
        .unique_id("id-1")
        .build()
        .unwrap();
    client.meter_record(record).unwrap();
    client.flush(WAIT).unwrap();

    let requests = mock.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(
        request.uri.to_string(),
        "https://ingest.amberflo.io/ingest/"
    );
    assert_eq!(request.header("x-api-key"), Some("secret-test-key"));
    assert_eq!(request.header("content-encoding"), Some("gzip"));
    assert!(
        request
            .header("user-agent")
            .unwrap()
            .starts_with("amberflo-rs/")
    );
    let body: serde_json::Value = request.body_json().unwrap();
    assert_eq!(
        body,
        serde_json::json!([{"uniqueId": "id-1", "meterApiName": "ApiCalls", "meterValue": 3,
            "customerId": "customer-1", "meterTimeInMillis": 1_700_000_000_000_i64,
            "dimensions": {"region": "us-east-1"}}])
    );
}

#[test]
fn invalid_records_are_refused_naming_the_field() {
    let mock = MockTransport::new();
    let client = builder(&mock).build().unwrap();
    let cases = [
        (" ", 1.0, "c", "meter_api_name"),
        ("m", f64::NAN, "c", "meter_value"),
        ("m", 1.0, "", "customer_id"),
    ];
    for (name, value, customer, field) in cases {
        match client.meter(name, value, customer).unwrap_err() {
            MeterError::Invalid(invalid) => assert_eq!(invalid.field(), field),
            other => panic!("expected a validation error, got {other}"),
        }
    }
    client.flush(WAIT).unwrap();
    assert_eq!(mock.request_count(), 0);
    assert_eq!(client.stats().enqueued, 0);
}

#[test]
fn a_full_queue_and_a_shut_down_client_hand_the_record_back() {
    let mock = MockTransport::new();
    mock.set_default_reply(MockReply::ok().with_delay(Duration::from_millis(300)));
    let client = builder(&mock)
        .queue_capacity(2)
        .max_batch_size(1)
        .workers(1)
        .build()
        .unwrap();
    let mut refused = Vec::new();
    for i in 0..10 {
        if let Err(error) = client.meter("ApiCalls", f64::from(i), "customer-1") {
            assert!(
                matches!(error, MeterError::Rejected(ref e) if e.is_full()),
                "{error}"
            );
            refused.push(error.into_record().unwrap().meter_value());
        }
    }
    assert!(!refused.is_empty(), "a queue of 2 took 10 records at once");
    client.shutdown(WAIT).unwrap();
    let stats = client.stats();
    assert_eq!(stats.rejected as usize, refused.len());
    assert_eq!(stats.enqueued + stats.rejected, 10);
    assert_eq!(stats.delivered, stats.enqueued);

    let after = client.meter("ApiCalls", 99.0, "customer-1").unwrap_err();
    assert!(
        matches!(after, MeterError::Rejected(ref e) if e.is_closed()),
        "{after}"
    );
    assert_eq!(after.into_record().unwrap().meter_value(), 99.0);
}

#[test]
fn custom_payloads_have_their_own_queue_capacity() {
    let mock = MockTransport::new();
    mock.set_default_reply(MockReply::ok().with_delay(Duration::from_millis(300)));
    let client = builder(&mock)
        .queue_capacity(100)
        .custom_queue_capacity(2)
        .max_batch_size(1)
        .build()
        .unwrap();
    let refused = (0..10)
        .filter_map(|i| client.send_custom(serde_json::json!({ "n": i })).err())
        .inspect(|error| {
            assert!(
                matches!(error, CustomPayloadError::Rejected(refused) if refused.is_full()),
                "{error}"
            );
        })
        .count();
    // One payload may be in the worker's hands; the queue holds two more.
    assert!((7..=8).contains(&refused), "{refused} of 10 refused");
    // The records' queue is not affected.
    for i in 0..10 {
        client
            .meter("ApiCalls", f64::from(i), "customer-1")
            .unwrap();
    }
    client.shutdown(WAIT).unwrap();
    assert_eq!(client.custom_stats().delivered as usize, 10 - refused);
    assert_eq!(client.stats().delivered, 10);
}

#[test]
fn retryable_failures_are_retried_and_fatal_ones_reach_the_callback() {
    let mock = MockTransport::new();
    mock.push_replies([
        MockReply::status(500),
        MockReply::status(503),
        MockReply::ok(),
    ]);
    let (builder, failures) = failures(builder(&mock));
    let client = builder.build().unwrap();
    client.meter("ApiCalls", 1.0, "customer-1").unwrap();
    client.flush(WAIT).unwrap();
    assert_eq!(mock.request_count(), 3);
    assert_eq!(client.stats().retried, 2);
    assert!(failures.lock().unwrap().is_empty());

    mock.push_reply(MockReply::status(400).with_body("bad meter"));
    client.meter("ApiCalls", 2.0, "customer-1").unwrap();
    client.flush(WAIT).unwrap();
    assert_eq!(mock.request_count(), 4, "a 400 must not be retried");
    let failed = failures.lock().unwrap();
    assert_eq!(failed.len(), 1);
    assert!(matches!(&failed[0], FailedBatch::Records(records) if records[0].meter_value() == 2.0));
    let stats = client.stats();
    assert_eq!((stats.enqueued, stats.delivered, stats.failed), (2, 1, 1));
}

#[test]
fn exhausted_retries_hand_the_batch_over() {
    let mock = MockTransport::new();
    mock.set_default_reply(MockReply::status(502));
    let (builder, failures) = failures(builder(&mock));
    let client = builder.build().unwrap();
    client.meter("ApiCalls", 1.0, "customer-1").unwrap();
    client.flush(WAIT).unwrap();
    assert_eq!(mock.request_count(), 4, "one attempt and three retries");
    assert_eq!(failures.lock().unwrap().len(), 1);
    assert_eq!(client.stats().failed, 1);
}

#[test]
fn custom_payloads_go_to_schema_detection() {
    let mock = MockTransport::new();
    let client = builder(&mock).build().unwrap();
    client
        .send_custom(serde_json::json!({"event": "signup", "customer": "c-1"}))
        .unwrap();
    client.flush(WAIT).unwrap();
    let request = &mock.requests()[0];
    assert_eq!(request.path(), "/ingest");
    assert_eq!(request.query(), Some("schemaDetection=AUTO"));
    let body: serde_json::Value = request.body_json().unwrap();
    assert_eq!(
        body,
        serde_json::json!([{"event": "signup", "customer": "c-1"}])
    );
    assert_eq!(client.custom_stats().delivered, 1);
}

#[test]
fn llm_responses_become_token_records() {
    let mock = MockTransport::new();
    let client = builder(&mock).build().unwrap();
    let response = serde_json::json!({"object": "chat.completion", "model": "gpt-4o",
        "usage": {"prompt_tokens": 12, "completion_tokens": 30}});
    let dimensions = BTreeMap::from([("team".to_owned(), "search".to_owned())]);
    assert_eq!(
        client
            .meter_llm(&response, "customer-1", &dimensions)
            .unwrap(),
        2
    );
    client.flush(WAIT).unwrap();
    // The two records may travel in one batch or two.
    let mut records: Vec<serde_json::Value> = mock
        .requests()
        .iter()
        .flat_map(|request| request.body_json::<Vec<serde_json::Value>>().unwrap())
        .collect();
    records.sort_by_key(|record| {
        record["meterApiName"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    });
    let names: Vec<_> = records
        .iter()
        .map(|r| r["meterApiName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["input_tokens", "output_tokens"]);
    assert_eq!(records[0]["dimensions"]["team"], "search");
    assert_eq!(records[1]["meterValue"], 30);
}

#[test]
fn api_errors_keep_status_and_body() {
    let mock = MockTransport::new();
    mock.push_reply(MockReply::status(403).with_body("forbidden key"));
    let client = builder(&mock).build().unwrap();
    let error = amberflo_batcher::block_on(client.customers().list()).unwrap_err();
    match &error {
        amberflo::Error::Api(api) => {
            assert_eq!(api.status.as_u16(), 403);
            assert_eq!(api.body, "forbidden key");
        }
        other => panic!("expected an API error, got {other}"),
    }
    assert_eq!(error.status(), Some(amberflo::StatusCode::FORBIDDEN));
    assert!(!error.is_retryable());
}

#[test]
fn the_client_debug_output_never_shows_the_key() {
    let mock = MockTransport::new();
    let client = builder(&mock).build().unwrap();
    let debug = format!("{client:?} {:?}", builder(&mock));
    assert!(!debug.contains("secret-test-key"), "{debug}");
}

#[test]
fn unbounded_timeouts_do_not_overflow() {
    let mock = MockTransport::new();
    let client = builder(&mock)
        .shutdown_timeout(Duration::MAX)
        .build()
        .unwrap();
    client.meter("ApiCalls", 1.0, "customer-1").unwrap();
    client.flush(Duration::MAX).unwrap();
    amberflo_batcher::block_on(client.flush_async(Duration::MAX)).unwrap();
    client.shutdown(Duration::MAX).unwrap();
    drop(client); // drop uses the configured Duration::MAX
    assert_eq!(mock.request_count(), 1);
}

#[test]
fn flush_async_waits_only_for_what_was_enqueued_before_the_call() {
    let mock = MockTransport::new();
    mock.set_default_reply(MockReply::ok().with_delay(Duration::from_millis(500)));
    let client = builder(&mock).build().unwrap();
    let flushed = client.flush_async(WAIT); // nothing pending yet
    client.meter("ApiCalls", 1.0, "customer-1").unwrap();
    amberflo_batcher::block_on(flushed).unwrap();
    assert_eq!(
        client.stats().delivered,
        0,
        "the flush waited for a later record"
    );
    client.flush(WAIT).unwrap();
    assert_eq!(client.stats().delivered, 1);
}

#[test]
fn custom_payloads_must_be_objects_and_their_failures_reach_the_callback() {
    let mock = MockTransport::new();
    mock.push_reply(MockReply::status(400).with_body("no schema matched"));
    let (builder, failures) = failures(builder(&mock));
    let client = builder.build().unwrap();
    let refused = client.send_custom(serde_json::json!([1, 2])).unwrap_err();
    assert!(
        matches!(refused, amberflo::CustomPayloadError::NotAnObject(_)),
        "{refused}"
    );
    assert_eq!(refused.into_payload(), serde_json::json!([1, 2]));

    client
        .send_custom(serde_json::json!({"event": "signup"}))
        .unwrap();
    client.flush(WAIT).unwrap();
    let failed = failures.lock().unwrap();
    assert_eq!(
        *failed,
        vec![FailedBatch::Custom(vec![
            serde_json::json!({"event": "signup"})
        ])]
    );
    assert_eq!(client.custom_stats().failed, 1);
}

#[test]
fn a_stuck_server_hands_queued_and_in_flight_records_to_the_callback_at_the_shutdown_deadline() {
    let mock = MockTransport::new();
    mock.set_default_reply(MockReply::ok().with_delay(Duration::from_secs(3)));
    let (builder, failures) = failures(builder(&mock).max_batch_size(1).workers(1));
    let client = builder.build().unwrap();
    for i in 0..3 {
        client
            .meter("ApiCalls", f64::from(i), "customer-1")
            .unwrap();
    }
    std::thread::sleep(Duration::from_millis(100)); // the first batch is now in flight
    let started = std::time::Instant::now();
    let error = client.shutdown(Duration::from_millis(200)).unwrap_err();
    assert!(matches!(error, amberflo::Error::Shutdown(_)), "{error}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "shutdown overran its timeout"
    );
    // The two queued records, and the one whose request was cancelled, before `shutdown`
    // returned.
    let abandoned: usize = failures.lock().unwrap().iter().map(FailedBatch::len).sum();
    assert_eq!(abandoned, 3, "every record goes to the callback");
    let stats = client.stats();
    assert_eq!((stats.enqueued, stats.failed, stats.in_flight), (3, 3, 0));
}

#[test]
fn plain_http_to_a_remote_host_is_refused() {
    let mock = MockTransport::new();
    let error = builder(&mock)
        .endpoint("http://metering.example.com")
        .build()
        .unwrap_err();
    assert!(
        matches!(
            error,
            amberflo::Error::Config {
                field: "api_url",
                ..
            }
        ),
        "{error}"
    );
    assert!(
        builder(&mock)
            .endpoint("http://127.0.0.1:9")
            .build()
            .is_ok()
    );
    assert!(
        builder(&mock)
            .endpoint("http://metering.example.com")
            .allow_insecure_http()
            .build()
            .is_ok()
    );
}

#[test]
fn meter_record_timeout_waits_for_room_instead_of_refusing() {
    let mock = MockTransport::new();
    mock.set_default_reply(MockReply::ok().with_delay(Duration::from_millis(50)));
    let client = builder(&mock)
        .queue_capacity(1)
        .max_batch_size(1)
        .workers(1)
        .build()
        .unwrap();
    for i in 0..4 {
        let record = MeterRecord::builder("ApiCalls", f64::from(i), "customer-1")
            .build()
            .unwrap();
        client.meter_record_timeout(record, WAIT).unwrap();
    }
    client.shutdown(WAIT).unwrap();
    let stats = client.stats();
    assert_eq!((stats.enqueued, stats.rejected, stats.delivered), (4, 0, 4));

    // With no room and no time, the record comes back.
    mock.set_default_reply(MockReply::ok().with_delay(Duration::from_secs(2)));
    let slow = builder(&mock)
        .queue_capacity(1)
        .max_batch_size(1)
        .workers(1)
        .shutdown_timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let record = || {
        MeterRecord::builder("ApiCalls", 9.0, "customer-1")
            .build()
            .unwrap()
    };
    slow.meter_record(record()).unwrap(); // taken by the worker, stuck in the reply delay
    std::thread::sleep(Duration::from_millis(100));
    slow.meter_record(record()).unwrap(); // fills the queue
    let refused = slow
        .meter_record_timeout(record(), Duration::from_millis(50))
        .unwrap_err();
    assert!(
        matches!(refused, MeterError::Rejected(ref e) if e.is_full()),
        "{refused}"
    );
    assert_eq!(refused.into_record().unwrap().meter_value(), 9.0);
}

/// Metering and API calls share one error type: `?` converts each into `amberflo::Error`.
fn meter_and_list_customers(client: &Client, value: f64) -> Result<usize, amberflo::Error> {
    client.meter("ApiCalls", value, "customer-1")?;
    client.send_custom(serde_json::json!({"event": "login"}))?;
    let customers = amberflo_batcher::block_on(client.customers().list())?;
    client.flush(WAIT)?;
    Ok(customers.len())
}

#[test]
fn question_mark_works_across_meter_custom_payloads_and_api_calls() {
    let mock = MockTransport::new();
    mock.push_reply(MockReply::json(
        200,
        &serde_json::json!([{"customerId": "c1"}]),
    ));
    let client = builder(&mock).build().unwrap();
    assert_eq!(meter_and_list_customers(&client, 1.0).unwrap(), 1);

    let invalid = meter_and_list_customers(&client, f64::NAN).unwrap_err();
    assert!(matches!(
        invalid,
        amberflo::Error::Meter(MeterError::Invalid(_))
    ));
    assert_eq!(invalid.validation().unwrap().field(), "meter_value");

    client.shutdown(WAIT).unwrap();
    let refused = meter_and_list_customers(&client, 2.0).unwrap_err();
    let record = refused.into_record().unwrap();
    assert_eq!(record.meter_value(), 2.0);

    let not_object = client.send_custom(serde_json::json!([1])).unwrap_err();
    let error = amberflo::Error::from(not_object);
    assert!(
        matches!(
            error,
            amberflo::Error::CustomPayload(CustomPayloadError::NotAnObject(_))
        ),
        "{error:?}"
    );
}

#[test]
fn ingest_send_posts_at_once_around_the_queue_and_retries_the_same_records() {
    let mock = MockTransport::new();
    mock.push_replies([
        MockReply::status(503),
        MockReply::ok().with_body("2 records were ingested"),
    ]);
    let client = builder(&mock)
        .api_retry_policy(RetryPolicy::new([Duration::from_millis(5); 3]))
        .build()
        .unwrap();
    let records = [
        MeterRecord::builder("ApiCalls", 1.0, "customer-1")
            .build()
            .unwrap(),
        MeterRecord::builder("ApiCalls", 2.0, "customer-2")
            .build()
            .unwrap(),
    ];
    let reply = amberflo_batcher::block_on(client.ingest().send(&records)).unwrap();
    assert_eq!(reply, "2 records were ingested");
    let requests = mock.requests();
    assert_eq!(requests.len(), 2, "the 503 was retried once");
    let sent: Vec<MeterRecord> = requests[1].body_json().unwrap();
    assert_eq!(
        sent, records,
        "the retry resends the same records, unique ids included"
    );
    assert_eq!(requests[0].body_json::<Vec<MeterRecord>>().unwrap(), sent);
    assert_eq!(requests[1].header("content-encoding"), Some("gzip"));
    assert_eq!(client.stats().enqueued, 0, "around the queue");
}

#[test]
fn ingest_send_refuses_what_cannot_go_and_reports_a_refusal_for_these_records() {
    let mock = MockTransport::new();
    let client = builder(&mock).max_request_bytes(200).build().unwrap();
    let send = |records: &[MeterRecord]| amberflo_batcher::block_on(client.ingest().send(records));
    let error = send(&[]).unwrap_err();
    let invalid = error.validation().unwrap();
    assert_eq!(
        (invalid.field(), invalid.rule()),
        ("records", &Rule::EmptyList)
    );
    let many: Vec<MeterRecord> = (0..50)
        .map(|i| {
            MeterRecord::builder("ApiCalls", f64::from(i), "customer-1")
                .build()
                .unwrap()
        })
        .collect();
    let error = send(&many).unwrap_err();
    let invalid = error.validation().unwrap();
    assert_eq!(
        (invalid.field(), invalid.rule()),
        ("records", &Rule::TooLong { max_bytes: 200 })
    );
    assert_eq!(mock.request_count(), 0, "nothing was sent");

    mock.push_reply(MockReply::status(400).with_body("bad meter"));
    let error = send(&many[..1]).unwrap_err();
    assert_eq!(error.status(), Some(amberflo::StatusCode::BAD_REQUEST));
    assert_eq!(mock.request_count(), 1, "a 400 is not retried");
}

#[test]
fn a_delete_succeeds_on_any_2xx_body() {
    let mock = MockTransport::new();
    let client = builder(&mock).build().unwrap();
    for body in ["", "{}", "Customer deleted", r#"{"customerId": "c1"}"#] {
        mock.push_reply(MockReply::ok().with_body(body));
        amberflo_batcher::block_on(client.customers().delete("c1"))
            .unwrap_or_else(|error| panic!("{body:?}: {error}"));
    }
    mock.push_reply(MockReply::status(404).with_body("no such customer"));
    let error = amberflo_batcher::block_on(client.customers().delete("c1")).unwrap_err();
    assert_eq!(error.status(), Some(amberflo::StatusCode::NOT_FOUND));
}

#[test]
fn a_meter_lookup_by_name_takes_the_match_with_that_name() {
    let mock = MockTransport::new();
    let client = builder(&mock).build().unwrap();
    let listed = r#"[{"id": "m1", "label": "A", "meterApiName": "Other"},
                     {"id": "m2", "label": "B", "meterApiName": "ApiCalls"}]"#;
    mock.push_replies([
        MockReply::ok().with_body(listed),
        MockReply::ok().with_body("[]"),
    ]);
    let found = amberflo_batcher::block_on(client.meters().get("ApiCalls")).unwrap();
    assert_eq!(found.map(|meter| meter.id).as_deref(), Some("m2"));
    assert_eq!(
        amberflo_batcher::block_on(client.meters().get("ApiCalls")).unwrap(),
        None
    );
    let sent = mock.requests();
    assert_eq!(sent[0].uri.query(), Some("meterApiName=ApiCalls"));
}
