//! Limits and hostile peers, over real loopback HTTP: oversized input, huge or lying
//! answers, redirects, a `Retry-After` waited only up to the policy cap, and secrets that
//! never show in errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use amberflo::types::{
    AggregationType, AllInvoicesQuery, Rule, TimeGroupingInterval, TimeRange, UsageQuery,
};
use amberflo::{Client, ClientBuilder, Error, FailedBatch, MeterRecord, RetryPolicy};
use amberflo_emulator::Emulator;

const WAIT: Duration = Duration::from_secs(10);
const KEY: &str = "hostile-test-key-3141";

/// A tiny HTTP/1.1 server on 127.0.0.1: every request gets `respond(request head)`, then the
/// connection closes. It counts requests and stops accepting after a few seconds.
struct Server {
    addr: SocketAddr,
    requests: Arc<AtomicUsize>,
}

impl Server {
    fn start(respond: impl Fn(&str) -> Vec<u8> + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        listener.set_nonblocking(true).unwrap();
        let requests = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&requests);
        let respond = Arc::new(respond);
        thread::spawn(move || {
            let until = Instant::now() + Duration::from_secs(20);
            while Instant::now() < until {
                match listener.accept() {
                    Ok((stream, _)) => {
                        counted.fetch_add(1, Ordering::SeqCst);
                        let respond = Arc::clone(&respond);
                        thread::spawn(move || answer(stream, &*respond));
                    }
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Server { addr, requests }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// Reads one request (head and `Content-Length` body), writes the answer, closes.
fn answer(mut stream: TcpStream, respond: &(dyn Fn(&str) -> Vec<u8> + Send + Sync)) {
    stream.set_nonblocking(false).ok();
    stream.set_read_timeout(Some(WAIT)).ok();
    let mut data = Vec::new();
    let mut buf = [0_u8; 8192];
    let head_end = loop {
        let Ok(n) = stream.read(&mut buf) else { return };
        if n == 0 {
            return;
        }
        data.extend_from_slice(&buf[..n]);
        if let Some(at) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&data[..head_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0);
    while data.len() < head_end + length {
        let Ok(n) = stream.read(&mut buf) else { return };
        if n == 0 {
            return;
        }
        data.extend_from_slice(&buf[..n]);
    }
    let _ = stream.write_all(&respond(&head));
}

fn response(status: &str, headers: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

fn client_for(url: &str) -> ClientBuilder {
    Client::builder()
        .api_key(KEY)
        .endpoint(url)
        .linger(Duration::from_millis(10))
        .retry_policy(RetryPolicy::new([Duration::from_millis(10); 2]))
        .request_timeout(Duration::from_secs(5))
}

fn usage_query() -> UsageQuery {
    UsageQuery::builder(
        "ApiCalls",
        AggregationType::Sum,
        TimeGroupingInterval::Day,
        TimeRange::last(Duration::from_secs(86_400)).unwrap(),
    )
    .build()
    .unwrap()
}

#[test]
fn an_oversized_record_is_refused_alone_and_the_rest_is_delivered() {
    let emulator = Emulator::start().unwrap();
    let client = client_for(emulator.url()).build().unwrap();
    let huge_customer = "c".repeat(12 * 1024 * 1024);
    for i in 0..93 {
        let outcome = if i == 46 {
            client.meter("ApiCalls", 1.0, &huge_customer)
        } else {
            client.meter("ApiCalls", 1.0, format!("customer-{i}"))
        };
        match outcome {
            Ok(()) => assert_ne!(i, 46),
            Err(error) => {
                assert_eq!(i, 46, "{error}");
                let amberflo::MeterError::Invalid(invalid) = error else {
                    panic!("expected a validation error, got {error:?}");
                };
                assert_eq!(invalid.field(), "customer_id");
                assert_eq!(invalid.rule(), &Rule::TooLong { max_bytes: 256 });
            }
        }
    }
    client.flush(WAIT).unwrap();
    let stats = client.stats();
    assert_eq!((stats.enqueued, stats.delivered, stats.failed), (92, 92, 0));
    assert_eq!(emulator.record_count(), 92);
}

#[test]
fn seconds_given_as_milliseconds_are_refused() {
    let emulator = Emulator::start().unwrap();
    let client = client_for(emulator.url()).build().unwrap();
    // A record from elsewhere (say, another service's JSON) with seconds by mistake.
    let record: MeterRecord = serde_json::from_value(serde_json::json!({
        "uniqueId": "id-1", "meterApiName": "ApiCalls", "meterValue": 1,
        "customerId": "customer-1", "meterTimeInMillis": 1_700_000_000_i64,
    }))
    .unwrap();
    let error = client.meter_record(record).unwrap_err();
    let amberflo::MeterError::Invalid(invalid) = error else {
        panic!("expected a validation error, got {error:?}");
    };
    assert_eq!(invalid.field(), "meter_time_in_millis");
    assert!(
        matches!(invalid.rule(), Rule::OutOfRange { .. }),
        "{invalid}"
    );
    assert_eq!(client.stats().enqueued, 0);
}

#[test]
fn a_huge_answer_stops_at_the_limit() {
    let server = Server::start(|_| response("200 OK", "", &vec![b'x'; 8 * 1024 * 1024]));
    let client = client_for(&server.url())
        .max_response_bytes(1024 * 1024)
        .build()
        .unwrap();
    let error = amberflo_batcher::block_on(client.usage().get(&usage_query())).unwrap_err();
    assert!(
        matches!(
            error,
            Error::Transport(amberflo::TransportError::ResponseTooLarge { limit: 1_048_576 })
        ),
        "{error:?}"
    );
}

#[test]
fn a_wrong_shape_answer_is_a_decode_error_naming_the_field() {
    let server = Server::start(|_| response("200 OK", "", br#"{"unexpected": true}"#));
    let client = client_for(&server.url()).build().unwrap();
    let error = amberflo_batcher::block_on(client.usage().get(&usage_query())).unwrap_err();
    assert!(matches!(error, Error::Decode { .. }), "{error:?}");
    assert!(error.to_string().contains("clientMeters"), "{error}");
}

#[test]
fn a_redirected_ingest_is_not_delivered_and_the_key_stays_home() {
    let elsewhere = Server::start(|_| response("200 OK", "", b"1 records were ingested"));
    let target = elsewhere.addr;
    let redirecting = Server::start(move |_| {
        let location = format!("Location: http://{target}/ingest/\r\n");
        response("301 Moved Permanently", &location, b"")
    });
    let failed = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&failed);
    let client = client_for(&redirecting.url())
        .on_error(move |_, batch| sink.lock().unwrap().push(batch))
        .build()
        .unwrap();
    client.meter("ApiCalls", 1.0, "customer-1").unwrap();
    client.flush(WAIT).unwrap();
    let stats = client.stats();
    assert_eq!((stats.delivered, stats.failed), (0, 1));
    assert!(
        matches!(&failed.lock().unwrap()[..], [FailedBatch::Records(records)] if records.len() == 1)
    );
    assert_eq!(elsewhere.requests.load(Ordering::SeqCst), 0);
}

/// A `Retry-After` of three thousand years is reported as sent, and waited only up to the
/// retry policy's cap: the call ends after its retries instead of hanging.
#[test]
fn a_huge_retry_after_waits_only_the_policy_cap() {
    let server = Server::start(|_| {
        response(
            "429 Too Many Requests",
            "Retry-After: 99999999999\r\n",
            b"slow down",
        )
    });
    let policy = RetryPolicy::new([Duration::from_millis(10); 2])
        .with_max_retry_after(Duration::from_millis(100));
    let client = client_for(&server.url())
        .api_retry_policy(policy)
        .build()
        .unwrap();
    let error = amberflo_batcher::block_on(client.customers().list()).unwrap_err();
    assert_eq!(
        error.status(),
        Some(amberflo::StatusCode::TOO_MANY_REQUESTS)
    );
    assert_eq!(
        error.retry_after(),
        Some(Duration::from_secs(99_999_999_999))
    );
    assert_eq!(
        server.requests.load(Ordering::SeqCst),
        3,
        "the first try and two retries"
    );
}

#[test]
fn api_calls_validate_deserialised_queries_before_sending() {
    let server = Server::start(|_| response("200 OK", "", b"[]"));
    let client = client_for(&server.url()).build().unwrap();
    let query: AllInvoicesQuery = serde_json::from_value(serde_json::json!({
        "customerId": " ", "productId": "1", "fromCache": true, "withPaymentStatus": true
    }))
    .unwrap();
    let error = amberflo_batcher::block_on(client.invoices().list(&query)).unwrap_err();
    assert_eq!(error.validation().unwrap().field(), "customer_id");
    assert_eq!(server.requests.load(Ordering::SeqCst), 0);
}

#[test]
fn no_error_or_debug_output_shows_the_key_or_url_credentials() {
    let mut shown = Vec::new();
    for url in [
        "http://user:S3CRET@example.com",
        "https://user:S3CRET@example.com",
        "ftp://user:S3CRET@example.com",
        "https://user:S3CRET@",
        "not a url user:S3CRET@x",
        // Unencoded `#`, `?`, `/` or `@` in the password, and a third slash.
        "https://user:S3CRET#x@example.com",
        "https://user:x?S3CRET@example.com",
        "https://user:S3CRET/x@example.com",
        "https://user:S3CRET@x@example.com",
        "https:///user:S3CRET@example.com",
    ] {
        for builder in [
            Client::builder().api_key(KEY).api_url(url),
            Client::builder().api_key(KEY).ingest_url(url),
        ] {
            shown.push(format!("{builder:?}"));
            if let Err(error) = builder.build() {
                shown.push(format!("{error} {error:?}"));
            }
        }
    }
    let server = Server::start(|_| response("401 Unauthorized", "", b"bad key"));
    let client = client_for(&server.url()).build().unwrap();
    shown.push(format!("{client:?}"));
    let error = amberflo_batcher::block_on(client.customers().list()).unwrap_err();
    shown.push(format!("{error} {error:?}"));
    for text in shown {
        assert!(!text.contains("S3CRET"), "{text}");
        assert!(!text.contains(KEY), "{text}");
    }
}

#[test]
fn a_413_splits_the_batch_until_the_parts_fit() {
    // The server decodes at most 64 KiB of JSON per request; a batch of 1,000 records is
    // about four times that.
    let emulator = Emulator::builder()
        .max_decoded_bytes(64 * 1024)
        .start()
        .unwrap();
    // One worker that lingers until the batch is full (or the flush): the batch holds all
    // 1,000 records however slowly they are metered (a 200 ms linger let a loaded machine
    // send small batches that fit, and nothing was split).
    let client = client_for(emulator.url())
        .max_batch_size(1000)
        .workers(1)
        .linger(Duration::from_secs(600))
        .build()
        .unwrap();
    for i in 0..1000 {
        client
            .meter("ApiCalls", 1.0, format!("customer-{}", i % 7))
            .unwrap();
    }
    client.flush(WAIT).unwrap();
    let stats = client.stats();
    assert_eq!(
        (stats.enqueued, stats.delivered, stats.failed),
        (1000, 1000, 0)
    );
    assert!(stats.split > 0, "{stats:?}");
    assert_eq!(emulator.record_count(), 1000);
}

#[test]
fn bodies_over_max_request_bytes_are_split_before_sending_and_a_lone_giant_fails_alone() {
    let emulator = Emulator::start().unwrap();
    let failed = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&failed);
    let client = client_for(emulator.url())
        .max_request_bytes(2 * 1024)
        .max_batch_size(500)
        // One batch of all 200 (sent by the flush), however slowly they are metered: the
        // giant is never alone in a batch before a split.
        .workers(1)
        .linger(Duration::from_secs(600))
        .on_error(move |error, batch| sink.lock().unwrap().push((error.to_string(), batch)))
        .build()
        .unwrap();
    // Random letters compress badly: ten values of them make one record over 2 KiB gzipped.
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut noise = || -> String {
        (0..1000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                char::from(b'a' + (state % 26) as u8)
            })
            .collect()
    };
    for i in 0..200_u64 {
        let mut record = MeterRecord::builder("ApiCalls", 1.0, format!("customer-{i}"));
        if i == 100 {
            for d in 0..10 {
                record = record.dimension(format!("blob{d}"), noise());
            }
        }
        client.meter_record(record.build().unwrap()).unwrap();
    }
    client.flush(WAIT).unwrap();
    let stats = client.stats();
    assert_eq!((stats.delivered, stats.failed), (199, 1), "{stats:?}");
    assert!(stats.split > 0);
    assert_eq!(emulator.record_count(), 199);
    let failed = failed.lock().unwrap();
    let [(error, FailedBatch::Records(records))] = &failed[..] else {
        panic!("expected one failed record, got {failed:?}");
    };
    assert!(error.contains("too large"), "{error}");
    assert_eq!(records[0].customer_id(), "customer-100");
}

#[test]
fn shutdown_cancels_a_stuck_request_and_hands_its_records_over_before_returning() {
    // Accepts, reads, never answers.
    let silent = Server::start(|_| {
        thread::sleep(Duration::from_secs(15));
        Vec::new()
    });
    let failed = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&failed);
    let client = client_for(&silent.url())
        .request_timeout(Duration::from_secs(30))
        .on_error(move |_, batch| sink.lock().unwrap().push(batch))
        .build()
        .unwrap();
    client.meter("ApiCalls", 1.0, "customer-1").unwrap();
    client.meter("ApiCalls", 2.0, "customer-2").unwrap();
    // Let the batch go out and get stuck.
    let deadline = Instant::now() + WAIT;
    while silent.requests.load(Ordering::SeqCst) == 0 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(10));
    }
    let started = Instant::now();
    let outcome = client.shutdown(Duration::from_millis(500));
    let took = started.elapsed();
    assert!(outcome.is_err(), "nothing was delivered");
    assert!(took < Duration::from_secs(5), "shutdown took {took:?}");
    // Handed over before `shutdown` returned.
    let handed: usize = failed.lock().unwrap().iter().map(FailedBatch::len).sum();
    assert_eq!(handed, 2);
    let stats = client.stats();
    assert_eq!((stats.enqueued, stats.delivered, stats.failed), (2, 0, 2));
    assert_eq!(stats.in_flight, 0);
}

#[test]
fn poisoned_records_are_isolated_and_the_rest_of_their_batch_delivered() {
    let emulator = Emulator::start().unwrap();
    let ids: Vec<String> = (0..1000).map(|i| format!("record-{i:04}")).collect();
    let poisoned = [&ids[3], &ids[500], &ids[998]];
    emulator
        .faults()
        .reject_ids(poisoned.iter().map(|id| id.as_str()));
    let failed = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&failed);
    let client = client_for(emulator.url())
        .max_batch_size(1000)
        .linger(Duration::from_millis(500))
        .on_error(move |error, batch| {
            // The whole chain: the delivery error, the sink's, the server's answer.
            let mut chain = error.to_string();
            let mut source = std::error::Error::source(&error);
            while let Some(cause) = source {
                chain.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            sink.lock().unwrap().push((chain, batch));
        })
        .build()
        .unwrap();
    for id in &ids {
        let record = MeterRecord::builder("ApiCalls", 1.0, "customer-1")
            .unique_id(id.as_str())
            .build()
            .unwrap();
        client.meter_record(record).unwrap();
    }
    client.flush(WAIT).unwrap();
    let stats = client.stats();
    assert_eq!((stats.delivered, stats.failed), (997, 3), "{stats:?}");
    assert_eq!(emulator.record_count(), 997);
    let failed = failed.lock().unwrap();
    let mut refused = Vec::new();
    for (error, batch) in failed.iter() {
        let FailedBatch::Records(records) = batch else {
            panic!("{batch:?}");
        };
        assert_eq!(records.len(), 1, "each refused record alone");
        let id = records[0].unique_id().to_string();
        // The server's own message, naming the record.
        assert!(
            error.contains(&format!("records refused: uniqueId {id}")),
            "{error}"
        );
        refused.push(id);
    }
    refused.sort();
    assert_eq!(refused, poisoned.map(|id| id.clone()));
}
