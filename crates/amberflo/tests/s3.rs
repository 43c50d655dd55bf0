//! S3 delivery against a real S3-compatible server that checks signatures: `s3s-fs` on
//! 127.0.0.1 (installed by `.ci/run`: `cargo install s3s-fs --version 0.14.1 --features
//! binary --locked`; set `S3S_FS` to use another path). Its buckets are directories, so the
//! tests read what landed straight from the disk.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use amberflo::s3::{S3BodyFormat, S3Credentials, S3Destination};
use amberflo::{Client, DeliveryError, FailedBatch, MeterRecord, RetryPolicy};

const WAIT: Duration = Duration::from_secs(30);

#[path = "support/s3_server.rs"]
mod s3_server;
use s3_server::{ACCESS_KEY, BUCKET, S3Server, SECRET};

fn destination(url: &str, secret: &str, format: S3BodyFormat) -> S3Destination {
    S3Destination::builder(BUCKET)
        .region("us-east-1")
        .endpoint_url(url)
        .credentials(
            S3Credentials::builder()
                .access_key_id(ACCESS_KEY)
                .secret_access_key(secret)
                .build()
                .unwrap(),
        )
        .body_format(format)
        .build()
        .unwrap()
}

fn client(destination: S3Destination) -> amberflo::ClientBuilder {
    Client::builder()
        .api_key("unused-for-s3")
        .ingest_to_s3(destination)
        .linger(Duration::from_millis(20))
        .retry_policy(RetryPolicy::new([Duration::from_millis(20); 3]))
}

/// Whether `key` is `{uuid4}-{dd}-{Mon}-{yyyy}-{HH}-{MM}-{SS}-{ffffff}{suffix}`.
fn is_python_layout(key: &str, suffix: &str) -> bool {
    let Some(stem) = key.strip_suffix(suffix) else {
        return false;
    };
    let (id, date) = stem.split_at(stem.len().min(36));
    let parts: Vec<&str> = date.trim_start_matches('-').split('-').collect();
    let digits = |text: &str, n: usize| text.len() == n && text.bytes().all(|b| b.is_ascii_digit());
    id.len() == 36
        && id.as_bytes()[14] == b'4'
        && parts.len() == 7
        && digits(parts[0], 2)
        && parts[1].len() == 3
        && digits(parts[2], 4)
        && digits(parts[3], 2)
        && digits(parts[4], 2)
        && digits(parts[5], 2)
        && digits(parts[6], 6)
}

fn gunzip(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(data)
        .read_to_end(&mut out)
        .unwrap();
    out
}

#[test]
fn s3_ten_thousand_records_from_eight_threads_land_exactly_once() {
    let server = S3Server::start();
    let client = client(destination(&server.url, SECRET, S3BodyFormat::Json))
        .build()
        .unwrap();
    let sent: BTreeSet<String> = thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|thread| {
                let client = client.clone();
                scope.spawn(move || {
                    (0..1250)
                        .map(|i| {
                            let record = MeterRecord::builder(
                                "ApiCalls",
                                f64::from(i),
                                format!("customer-{thread}"),
                            )
                            .dimension("thread", thread.to_string())
                            .build()
                            .unwrap();
                            let id = record.unique_id().to_string();
                            client.meter_record(record).unwrap();
                            id
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| handle.join().unwrap())
            .collect()
    });
    client.flush(WAIT).unwrap();
    assert_eq!(client.stats().delivered, 10_000);

    let mut landed = Vec::new();
    for (key, body) in server.objects() {
        assert!(is_python_layout(&key, ".json"), "key {key}");
        let records: Vec<MeterRecord> = serde_json::from_slice(&body).unwrap();
        landed.extend(records.iter().map(|record| record.unique_id().to_string()));
    }
    assert_eq!(landed.len(), 10_000, "each record exactly once");
    assert_eq!(landed.into_iter().collect::<BTreeSet<_>>(), sent);
}

#[test]
fn s3_gzip_and_ndjson_bodies_round_trip() {
    for format in [S3BodyFormat::GzipJson, S3BodyFormat::Ndjson] {
        let server = S3Server::start();
        let client = client(destination(&server.url, SECRET, format))
            .build()
            .unwrap();
        for i in 0..50 {
            client.meter("Storage", f64::from(i), "customer-1").unwrap();
        }
        client.flush(WAIT).unwrap();
        let mut values = Vec::new();
        for (key, body) in server.objects() {
            assert!(is_python_layout(&key, format.suffix()), "{format:?}: {key}");
            let records: Vec<MeterRecord> = match format {
                S3BodyFormat::GzipJson => serde_json::from_slice(&gunzip(&body)).unwrap(),
                _ => body
                    .split(|&b| b == b'\n')
                    .filter(|line| !line.is_empty())
                    .map(|line| serde_json::from_slice(line).unwrap())
                    .collect(),
            };
            values.extend(records.iter().map(MeterRecord::meter_value));
        }
        values.sort_by(f64::total_cmp);
        assert_eq!(
            values,
            (0..50).map(f64::from).collect::<Vec<_>>(),
            "{format:?}"
        );
    }
}

#[test]
fn s3_custom_payloads_land_under_schema_detection_auto() {
    let server = S3Server::start();
    let client = client(destination(&server.url, SECRET, S3BodyFormat::Json))
        .build()
        .unwrap();
    client
        .send_custom(serde_json::json!({"event": "login", "user": "u-1"}))
        .unwrap();
    client.flush(WAIT).unwrap();
    let objects = server.objects();
    assert_eq!(objects.len(), 1);
    let (key, body) = &objects[0];
    let file = key
        .strip_prefix("ingest/schema_detection=AUTO/")
        .expect(key);
    assert!(is_python_layout(file, ".json"), "{key}");
    let payloads: serde_json::Value = serde_json::from_slice(body).unwrap();
    assert_eq!(
        payloads,
        serde_json::json!([{"event": "login", "user": "u-1"}])
    );
}

#[test]
fn s3_a_wrong_secret_is_a_typed_signature_error() {
    let server = S3Server::start();
    let failures = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&failures);
    let client = client(destination(
        &server.url,
        "not-the-secret",
        S3BodyFormat::Json,
    ))
    .on_error(move |error, batch| sink.lock().unwrap().push((error, batch)))
    .build()
    .unwrap();
    client.meter("ApiCalls", 1.0, "customer-1").unwrap();
    client.flush(WAIT).unwrap();
    let failures = failures.lock().unwrap();
    let [(error, FailedBatch::Records(records))] = &failures[..] else {
        panic!("expected one failed batch, got {failures:?}");
    };
    assert_eq!(records.len(), 1);
    assert!(
        matches!(error, DeliveryError::Fatal { attempts: 1, .. }),
        "{error:?}"
    );
    let source = std::error::Error::source(error)
        .and_then(std::error::Error::source)
        .and_then(|source| source.downcast_ref::<amberflo_transport::Error>());
    let Some(amberflo_transport::Error::S3(s3)) = source else {
        panic!("expected an S3 error inside, got {error:?}");
    };
    assert_eq!(s3.status, amberflo::StatusCode::FORBIDDEN);
    assert_eq!(s3.code, "SignatureDoesNotMatch");
    assert!(server.objects().is_empty());
}

#[test]
fn s3_a_server_that_503s_first_is_retried() {
    // A small S3 stand-in: the first PUT gets 503 SlowDown, later ones 200.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let puts = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&puts);
    thread::spawn(move || {
        for stream in listener.incoming().take(4) {
            let Ok(mut stream) = stream else { return };
            let n = counted.fetch_add(1, Ordering::SeqCst);
            read_request(&mut stream);
            let answer: &[u8] = if n == 0 {
                b"HTTP/1.1 503 Slow Down\r\nContent-Length: 56\r\nConnection: close\r\n\r\n<Error><Code>SlowDown</Code><Message>m</Message></Error>"
            } else {
                b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            };
            let _ = stream.write_all(answer);
        }
    });
    let client = client(destination(&url, SECRET, S3BodyFormat::Json))
        .build()
        .unwrap();
    client.meter("ApiCalls", 1.0, "customer-1").unwrap();
    client.flush(WAIT).unwrap();
    let stats = client.stats();
    assert_eq!((stats.delivered, stats.failed, stats.retried), (1, 0, 1));
    assert_eq!(puts.load(Ordering::SeqCst), 2);
}

/// Reads a request's head and its `Content-Length` body.
fn read_request(stream: &mut TcpStream) {
    stream.set_read_timeout(Some(WAIT)).ok();
    let mut data = Vec::new();
    let mut buf = [0_u8; 8192];
    loop {
        let Ok(n) = stream.read(&mut buf) else { return };
        if n == 0 {
            return;
        }
        data.extend_from_slice(&buf[..n]);
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&data[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .and_then(|value| value.trim().parse().ok())
                .unwrap_or(0);
            if data.len() >= end + 4 + length {
                return;
            }
        }
    }
}
