//! Meter every request of an axum app with `amberflo_tower::MeteringLayer`: a small API
//! served on 127.0.0.1, an embedded Amberflo emulator, a few requests from three customers
//! (one of them hanging up in the middle of a download), then the usage per customer and
//! route as the emulator received it.
//!
//! ```text
//! cargo run --example axum_metering
//! ```
#![allow(clippy::print_stdout)]

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use amberflo::emulator::Emulator;
use amberflo_tower::{Dimension, MeterValue, MeteringLayer};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::Path;
use axum::routing::{get, post};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    amberflo_examples::init_logging();
    let emulator = Emulator::start()?;
    let client = amberflo::Client::builder()
        .api_key("example-key")
        .endpoint(emulator.url())
        .linger(Duration::from_millis(50))
        .build()?;

    // Two meters per request: the call, and the bytes sent back.
    let metering = MeteringLayer::builder(client.clone())
        .meter("api-calls", MeterValue::Count)
        .meter("api-bytes-out", MeterValue::ResponseBytes)
        .customer_header("x-customer-id")
        .dimension(Dimension::Host)
        .build()?;
    let app = Router::new()
        .route(
            "/users/{id}",
            get(|Path(id): Path<u32>| async move { format!("user {id}") }),
        )
        .route(
            "/reports",
            post(|body: Bytes| async move { format!("stored {} bytes", body.len()) }),
        )
        // A streamed body: one frame per row, produced as the client reads.
        .route(
            "/export/{rows}",
            get(|Path(rows): Path<u32>| async move {
                let rows = (0..rows).map(|row| Ok::<_, Infallible>(format!("row {row}\n")));
                Body::from_stream(futures_util::stream::iter(rows))
            }),
        )
        .layer(metering.clone());

    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    println!("app on http://{address}, emulator on {}", emulator.url());

    for (customer, method, path, body) in [
        ("acme", "GET", "/users/1", ""),
        ("acme", "GET", "/users/2", ""),
        ("acme", "POST", "/reports", "quarterly numbers"),
        ("globex", "GET", "/users/3", ""),
        ("globex", "GET", "/export/1000", ""),
        ("", "GET", "/users/4", ""), // no customer: not metered
    ] {
        let (status, bytes) = request(address, method, path, customer, body).await?;
        println!(
            "{method:4} {path:12} customer {customer:8} -> {status}, {bytes} bytes on the wire"
        );
    }
    // A client that reads a little of the export and hangs up: metered as `aborted`.
    let mut stream = TcpStream::connect(address).await?;
    stream
        .write_all(
            b"GET /export/10000000 HTTP/1.1\r\nHost: localhost\r\nx-customer-id: initech\r\n\r\n",
        )
        .await?;
    let mut some = [0_u8; 2048];
    stream.read_exact(&mut some).await?;
    drop(stream);
    println!(
        "GET  /export/10000000 customer initech -> hung up after {} bytes",
        some.len()
    );

    // The hang-up is noticed by the server's connection task: wait (at most 10 s) for it.
    let expected = 2 * 6;
    for _ in 0..200 {
        client.flush_async(Duration::from_secs(10)).await?;
        if emulator.record_count() >= expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let mut usage: BTreeMap<(String, String, String, String), f64> = BTreeMap::new();
    for record in emulator.records() {
        let dimensions = record.dimensions().map(|d| d.to_map()).unwrap_or_default();
        let key = (
            record.customer_id().to_owned(),
            dimensions.get("route").cloned().unwrap_or_default(),
            dimensions.get("outcome").cloned().unwrap_or_default(),
            record.meter_api_name().to_owned(),
        );
        *usage.entry(key).or_default() += record.meter_value();
    }
    println!(
        "\nusage per customer and route ({} records):",
        emulator.record_count()
    );
    println!(
        "{:8} {:14} {:10} {:14} {:>9}",
        "customer", "route", "outcome", "meter", "value"
    );
    for ((customer, route, outcome, meter), value) in &usage {
        println!("{customer:8} {route:14} {outcome:10} {meter:14} {value:>9}");
    }
    println!(
        "layer: {:?}; client: {} enqueued, {} delivered",
        metering.stats(),
        client.stats().enqueued,
        client.stats().delivered
    );

    server.abort();
    client.shutdown(Duration::from_secs(10))?;
    if emulator.record_count() != expected {
        return Err(format!(
            "expected {expected} records, got {}",
            emulator.record_count()
        )
        .into());
    }
    Ok(())
}

/// A plain HTTP/1.1 request (`Connection: close`); the status and the body's length.
async fn request(
    address: SocketAddr,
    method: &str,
    path: &str,
    customer: &str,
    body: &str,
) -> Result<(u16, usize), Box<dyn std::error::Error>> {
    let mut stream = TcpStream::connect(address).await?;
    let customer = if customer.is_empty() {
        String::new()
    } else {
        format!("x-customer-id: {customer}\r\n")
    };
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\n{customer}Content-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let text = String::from_utf8_lossy(&response);
    let status = text
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .ok_or("no status line")?;
    let body_start = text.find("\r\n\r\n").map_or(response.len(), |i| i + 4);
    Ok((status, response.len() - body_start))
}
