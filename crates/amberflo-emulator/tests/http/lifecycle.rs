//! Starting and stopping: without any runtime, inside current-thread and multi-thread tokio
//! runtimes, with requests in flight, and when the port is taken.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use amberflo_emulator::{Emulator, EmulatorError};
use reqwest::StatusCode;

use crate::{Harness, JAN_1_2024, record};

/// A minimal blocking HTTP/1.1 GET, so no async runtime is involved at all.
fn blocking_get(emulator: &Emulator, path: &str) -> String {
    let mut stream = TcpStream::connect(emulator.addr()).expect("connects");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .expect("request written");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response read");
    response
}

#[test]
fn works_without_any_runtime() {
    let emulator = Emulator::start().expect("emulator starts");
    let response = blocking_get(&emulator, "/_emulator/stats");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("\"records\":0"));
    let addr = emulator.addr();
    emulator.shutdown();
    assert!(TcpStream::connect(addr).is_err(), "no longer listening");
}

#[tokio::test]
async fn dropped_inside_a_current_thread_runtime() {
    let harness = Harness::new();
    let response = harness.ingest(&[record("m", 1.0, "c", JAN_1_2024)]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let addr = harness.emulator.addr();
    // The pooled keep-alive connection is still open while the handle is dropped.
    drop(harness);
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_async_in_a_multi_thread_runtime() {
    let harness = Harness::new();
    assert_eq!(harness.get("/customers/").await.status(), StatusCode::OK);
    let addr = harness.emulator.addr();
    harness.emulator.shutdown_async().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn in_flight_requests_finish_during_shutdown() {
    let harness = Harness::new();
    harness
        .emulator
        .faults()
        .set_latency(Duration::from_millis(300));
    let request = harness.request(reqwest::Method::GET, "/customers/").send();
    let in_flight = tokio::spawn(request);
    tokio::time::sleep(Duration::from_millis(100)).await;
    harness.emulator.shutdown_async().await;
    let response = in_flight.await.expect("task").expect("answered");
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn shutdown_is_bounded_by_its_timeout() {
    let emulator = Emulator::builder()
        .worker_threads(1)
        .shutdown_timeout(Duration::from_millis(200))
        .latency(Duration::from_secs(30))
        .start()
        .expect("emulator starts");
    let harness = Harness::from(emulator);
    let stuck = tokio::spawn(harness.request(reqwest::Method::GET, "/customers/").send());
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    drop(harness);
    // Far below the 30 s the request would take: the wait is cut at the shutdown timeout.
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(
        stuck.await.expect("task").is_err(),
        "the stuck request was cut"
    );
}

#[test]
fn a_taken_port_is_a_bind_error() {
    let first = Emulator::start().expect("emulator starts");
    let second = Emulator::builder().addr(first.addr()).start();
    match second {
        Err(EmulatorError::Bind { addr, .. }) => assert_eq!(addr, first.addr()),
        other => panic!("expected a bind error, got {other:?}"),
    }
}
