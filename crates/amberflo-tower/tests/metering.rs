//! `MeteringLayer` against the embedded emulator: an axum router and a plain `service_fn`
//! driven with `oneshot`, and an axum app served over real HTTP on 127.0.0.1. Each request
//! must make exactly the expected records (meter, value, customer, dimensions); streaming
//! bodies are metered when they end, dropped ones as `aborted`; requests without a customer
//! are skipped; a full queue never fails a request.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use amberflo::{Client, FsyncPolicy, MeterRecord, SpoolConfig};
use amberflo_emulator::Emulator;
use amberflo_tower::{
    ConfigError, Dimension, InvalidCustomer, MeterValue, MeteringLayer, MissingCustomer, Outcome,
    RequestBody,
};
use axum::Router;
use axum::body::Body;
use axum::routing::{get, post};
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body::Frame;
use http_body_util::{BodyExt, Full};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::{Layer, ServiceExt, service_fn};

const WAIT: Duration = Duration::from_secs(30);

fn client(emulator: &Emulator) -> Client {
    Client::builder()
        .api_key("k")
        .endpoint(emulator.url())
        .linger(Duration::from_millis(10))
        .build()
        .unwrap()
}

fn dims(record: &MeterRecord) -> BTreeMap<String, String> {
    record
        .dimensions()
        .map(|dimensions| dimensions.to_map())
        .unwrap_or_default()
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
        .collect()
}

/// The emulator's records, sorted by meter, customer, then value.
async fn delivered(client: &Client, emulator: &Emulator) -> Vec<MeterRecord> {
    client.flush_async(WAIT).await.unwrap();
    let mut records = emulator.records();
    records.sort_by(|a, b| {
        (a.meter_api_name(), a.customer_id())
            .cmp(&(b.meter_api_name(), b.customer_id()))
            .then(a.meter_value().total_cmp(&b.meter_value()))
    });
    records
}

/// Waits (at most [`WAIT`]) until the emulator holds `count` records: what a server does
/// after a client disconnects happens on its own task.
async fn wait_for_records(client: &Client, emulator: &Emulator, count: usize) -> Vec<MeterRecord> {
    let deadline = Instant::now() + WAIT;
    loop {
        let records = delivered(client, emulator).await;
        if records.len() >= count || Instant::now() > deadline {
            return records;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The route the `route` dimension holds for an axum route: the template with the `axum`
/// feature, the path without it.
fn axum_route<'a>(template: &'a str, path: &'a str) -> &'a str {
    if cfg!(feature = "axum") {
        template
    } else {
        path
    }
}

/// A body of `count` chunks of `size` bytes, each ready at once.
struct Chunks {
    left: usize,
    chunk: Bytes,
}

impl Chunks {
    fn new(count: usize, size: usize) -> Self {
        Chunks {
            left: count,
            chunk: Bytes::from(vec![b'x'; size]),
        }
    }
}

impl http_body::Body for Chunks {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.left == 0 {
            return Poll::Ready(None);
        }
        self.left -= 1;
        Poll::Ready(Some(Ok(Frame::data(self.chunk.clone()))))
    }
}

fn request(method: &str, uri: &str, customer: Option<&str>, body: &'static str) -> Request<Body> {
    let mut builder = Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "api.example.com")
        .header("x-region", "eu-west-1");
    if let Some(customer) = customer {
        builder = builder.header("x-customer-id", customer);
    }
    builder.body(Body::from(body)).unwrap()
}

async fn call(app: &Router, request: Request<Body>) -> (StatusCode, Bytes) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    (
        status,
        response.into_body().collect().await.unwrap().to_bytes(),
    )
}

/// The test service's routes, without a layer.
fn routes() -> Router {
    Router::new()
        .route("/users/{id}", get(|| async { "user 42" }))
        .route(
            "/upload",
            post(|body: Bytes| async move { format!("got {}", body.len()) }),
        )
        .route("/stream", get(|| async { Body::new(Chunks::new(5, 1000)) }))
        .route("/empty", get(|| async { StatusCode::NO_CONTENT }))
}

fn app(layer: MeteringLayer) -> Router {
    routes().layer(layer)
}

#[tokio::test]
async fn axum_router_meters_every_request_with_its_meters_customer_and_dimensions() {
    let emulator = Emulator::start().unwrap();
    let client = client(&emulator);
    let layer = MeteringLayer::builder(client.clone())
        .meter("api-calls", MeterValue::Count)
        .meter("api-bytes-out", MeterValue::ResponseBytes)
        .meter("api-bytes-in", MeterValue::RequestBytes)
        .dimension(Dimension::Host)
        .header_dimension("x-region")
        .build()
        .unwrap();
    let app = app(layer.clone());

    let (status, body) = call(&app, request("GET", "/users/42", Some("acme"), "")).await;
    assert_eq!((status, &body[..]), (StatusCode::OK, &b"user 42"[..]));
    let (status, body) = call(&app, request("POST", "/upload", Some("globex"), "hello")).await;
    assert_eq!((status, &body[..]), (StatusCode::OK, &b"got 5"[..]));
    let (status, _) = call(&app, request("GET", "/empty", Some("acme"), "")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let records = delivered(&client, &emulator).await;
    assert_eq!(records.len(), 9, "three meters for each of three requests");
    let found = |meter: &str, customer: &str, route: &str| -> Vec<&MeterRecord> {
        records
            .iter()
            .filter(|r| {
                r.meter_api_name() == meter
                    && r.customer_id() == customer
                    && dims(r).get("route").map(String::as_str) == Some(route)
            })
            .collect()
    };
    let user_route = axum_route("/users/{id}", "/users/42");
    let expected = [
        ("api-calls", "acme", user_route, 1.0),
        ("api-bytes-out", "acme", user_route, 7.0),
        ("api-bytes-in", "acme", user_route, 0.0),
        ("api-calls", "globex", "/upload", 1.0),
        ("api-bytes-out", "globex", "/upload", 5.0),
        ("api-bytes-in", "globex", "/upload", 5.0),
        ("api-calls", "acme", "/empty", 1.0),
        ("api-bytes-out", "acme", "/empty", 0.0),
        ("api-bytes-in", "acme", "/empty", 0.0),
    ];
    for (meter, customer, route, value) in expected {
        let matching = found(meter, customer, route);
        assert_eq!(
            matching.len(),
            1,
            "{meter} {customer} {route}: {records:#?}"
        );
        assert_eq!(
            matching[0].meter_value(),
            value,
            "{meter} {customer} {route}"
        );
    }
    let upload = found("api-calls", "globex", "/upload")[0];
    assert_eq!(
        dims(upload),
        map(&[
            ("method", "POST"),
            ("route", "/upload"),
            ("status_class", "2xx"),
            ("outcome", "completed"),
            ("host", "api.example.com"),
            ("x-region", "eu-west-1"),
        ])
    );
    assert_eq!(
        dims(found("api-calls", "acme", "/empty")[0])["status_class"],
        "2xx"
    );
    // The three records of one request share everything but the meter and the value.
    let times: Vec<i64> = found("api-calls", "acme", user_route)
        .iter()
        .chain(&found("api-bytes-out", "acme", user_route))
        .map(|r| r.meter_time_in_millis())
        .collect();
    assert_eq!(times[0], times[1]);
    assert_eq!(layer.stats(), Default::default());
    assert_eq!(client.stats().rejected, 0);
}

#[tokio::test]
async fn unmatched_routes_use_the_fallback_value() {
    let emulator = Emulator::start().unwrap();
    let client = client(&emulator);
    let layer = MeteringLayer::builder(client.clone())
        .meter("api-calls", MeterValue::Count)
        .unmatched_route("unmatched")
        .build()
        .unwrap();
    let app = app(layer);
    let (status, _) = call(&app, request("GET", "/users/7", Some("acme"), "")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = call(&app, request("GET", "/nope/123", Some("acme"), "")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let records = delivered(&client, &emulator).await;
    let mut routes: Vec<String> = records.iter().map(|r| dims(r)["route"].clone()).collect();
    routes.sort();
    let user_route = axum_route("/users/{id}", "unmatched");
    let mut expected = vec!["unmatched".to_owned(), user_route.to_owned()];
    expected.sort();
    assert_eq!(routes, expected);
    let not_found = records
        .iter()
        .find(|r| dims(r)["status_class"] == "4xx")
        .expect("the 404 is metered");
    assert_eq!(dims(not_found)["route"], "unmatched");
}

#[derive(Clone)]
struct User(&'static str);

#[tokio::test]
async fn service_fn_with_customer_from_extensions_latency_and_errors() {
    let emulator = Emulator::start().unwrap();
    let client = client(&emulator);
    let layer = MeteringLayer::builder(client.clone())
        .meter("api-calls", MeterValue::Count)
        .meter("api-latency", MeterValue::LatencyMillis)
        .meter(
            "api-errors",
            MeterValue::custom(|request| {
                (request.outcome() != Outcome::Completed
                    || request.status().is_some_and(|s| !s.is_success()))
                .then_some(1.0)
            }),
        )
        .customer_fn(|parts| parts.extensions.get::<User>().map(|user| user.0.to_owned()))
        .missing_customer(MissingCustomer::Use("anonymous".to_owned()))
        .dimensions([
            Dimension::Method,
            Dimension::Route,
            Dimension::Status,
            Dimension::Outcome,
        ])
        .build()
        .unwrap();
    let service = layer.layer(service_fn(
        |request: Request<RequestBody<Full<Bytes>>>| async move {
            match request.uri().path() {
                "/fail" => Err("the service failed"),
                "/missing" => Ok(Response::builder()
                    .status(StatusCode::NOT_FOUND)
                    .body(Full::new(Bytes::from_static(b"no")))
                    .unwrap()),
                _ => Ok(Response::new(Full::new(Bytes::from_static(b"fine")))),
            }
        },
    ));
    let send = |path: &str, user: Option<&'static str>| {
        let mut request = Request::builder()
            .uri(path)
            .body(Full::new(Bytes::new()))
            .unwrap();
        if let Some(user) = user {
            request.extensions_mut().insert(User(user));
        }
        service.clone().oneshot(request)
    };

    let response = send("/items/7?verbose=1", Some("initech")).await.unwrap();
    assert_eq!(
        response.into_body().collect().await.unwrap().to_bytes(),
        "fine"
    );
    let response = send("/missing", None).await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    response.into_body().collect().await.unwrap();
    assert_eq!(
        send("/fail", Some("initech")).await.unwrap_err(),
        "the service failed"
    );

    let records = delivered(&client, &emulator).await;
    let of = |meter: &str| -> Vec<&MeterRecord> {
        records
            .iter()
            .filter(|r| r.meter_api_name() == meter)
            .collect()
    };
    assert_eq!(of("api-calls").len(), 3);
    assert_eq!(of("api-latency").len(), 3);
    assert_eq!(
        of("api-errors").len(),
        2,
        "the 404 and the failure: {records:#?}"
    );
    for latency in of("api-latency") {
        assert!(latency.meter_value().is_finite() && latency.meter_value() >= 0.0);
    }
    let calls = of("api-calls");
    let by_route = |route: &str| {
        calls
            .iter()
            .find(|r| dims(r)["route"] == route)
            .unwrap_or_else(|| panic!("no record for {route}: {records:#?}"))
    };
    let ok = by_route("/items/7");
    assert_eq!(ok.customer_id(), "initech");
    assert_eq!(
        dims(ok),
        map(&[
            ("method", "GET"),
            ("route", "/items/7"),
            ("status", "200"),
            ("outcome", "completed")
        ])
    );
    let missing = by_route("/missing");
    assert_eq!(missing.customer_id(), "anonymous");
    assert_eq!(dims(missing)["status"], "404");
    let failed = by_route("/fail");
    assert_eq!(
        dims(failed),
        map(&[("method", "GET"), ("route", "/fail"), ("outcome", "error")]),
        "no status when the service failed"
    );
}

#[tokio::test]
async fn axum_customer_from_an_authentication_layer() {
    let emulator = Emulator::start().unwrap();
    let client = client(&emulator);
    let layer = MeteringLayer::builder(client.clone())
        .meter("api-calls", MeterValue::Count)
        .customer_fn(|parts| parts.extensions.get::<User>().map(|user| user.0.to_owned()))
        .build()
        .unwrap();
    // Added after the metering layer, so it runs first.
    let app = Router::new()
        .route("/me", get(|| async { "me" }))
        .layer(layer)
        .layer(tower::util::MapRequestLayer::new(
            |mut request: Request<Body>| {
                if request.headers().contains_key("authorization") {
                    request.extensions_mut().insert(User("user-from-token"));
                }
                request
            },
        ));
    let mut authenticated = request("GET", "/me", None, "");
    authenticated
        .headers_mut()
        .insert("authorization", "Bearer t".parse().unwrap());
    assert_eq!(call(&app, authenticated).await.0, StatusCode::OK);
    assert_eq!(
        call(&app, request("GET", "/me", None, "")).await.0,
        StatusCode::OK
    );

    let records = delivered(&client, &emulator).await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].customer_id(), "user-from-token");
}

#[tokio::test]
async fn streaming_bodies_are_metered_when_they_end_and_dropped_ones_as_aborted() {
    let emulator = Emulator::start().unwrap();
    let client = client(&emulator);
    let layer = MeteringLayer::builder(client.clone())
        .meter("api-bytes-out", MeterValue::ResponseBytes)
        .build()
        .unwrap();
    let app = app(layer);

    // Read two of five chunks: nothing is metered until the body ends.
    let response = app
        .clone()
        .oneshot(request("GET", "/stream", Some("acme"), ""))
        .await
        .unwrap();
    let mut body = response.into_body();
    for _ in 0..2 {
        let frame = body.frame().await.unwrap().unwrap();
        assert_eq!(frame.into_data().unwrap().len(), 1000);
    }
    assert!(
        delivered(&client, &emulator).await.is_empty(),
        "metered before the end"
    );
    let rest = body.collect().await.unwrap().to_bytes();
    assert_eq!(rest.len(), 3000);
    let records = delivered(&client, &emulator).await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].meter_value(), 5000.0);
    assert_eq!(dims(&records[0])["outcome"], "completed");

    // Read one chunk, then drop the body (a client that went away).
    emulator.clear_records();
    let response = app
        .clone()
        .oneshot(request("GET", "/stream", Some("globex"), ""))
        .await
        .unwrap();
    let mut body = response.into_body();
    body.frame().await.unwrap().unwrap();
    drop(body);
    // Dropping the whole response before reading anything.
    let response = app
        .clone()
        .oneshot(request("GET", "/stream", Some("initech"), ""))
        .await
        .unwrap();
    drop(response);

    let records = delivered(&client, &emulator).await;
    assert_eq!(
        records.len(),
        2,
        "each dropped response metered once: {records:#?}"
    );
    let globex = records
        .iter()
        .find(|r| r.customer_id() == "globex")
        .unwrap();
    assert_eq!(globex.meter_value(), 1000.0);
    assert_eq!(dims(globex)["outcome"], "aborted");
    assert_eq!(dims(globex)["status_class"], "2xx");
    let initech = records
        .iter()
        .find(|r| r.customer_id() == "initech")
        .unwrap();
    assert_eq!(initech.meter_value(), 0.0);
    assert_eq!(dims(initech)["outcome"], "aborted");
}

#[tokio::test]
async fn a_response_future_dropped_before_the_response_is_aborted() {
    let emulator = Emulator::start().unwrap();
    let client = client(&emulator);
    let layer = MeteringLayer::new(client.clone(), "api-calls").unwrap();
    let service = layer.layer(service_fn(|_request: Request<RequestBody<Body>>| async {
        std::future::pending::<Result<Response<Body>, Infallible>>().await
    }));
    let mut future = Box::pin(service.oneshot(request("GET", "/slow", Some("acme"), "")));
    // Poll once, so the request reaches the service, then give up on it.
    assert!(futures_poll_once(future.as_mut()).is_pending());
    drop(future);

    let records = delivered(&client, &emulator).await;
    assert_eq!(records.len(), 1);
    assert_eq!(
        dims(&records[0]),
        map(&[
            ("method", "GET"),
            ("route", "/slow"),
            ("outcome", "aborted")
        ])
    );
}

fn futures_poll_once<F: std::future::Future>(future: Pin<&mut F>) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(std::task::Waker::noop()))
}

#[tokio::test]
async fn requests_without_a_customer_are_skipped() {
    let emulator = Emulator::start().unwrap();
    let client = client(&emulator);
    let layer = MeteringLayer::new(client.clone(), "api-calls").unwrap();
    let app = app(layer.clone());
    assert_eq!(
        call(&app, request("GET", "/users/1", None, "")).await.0,
        StatusCode::OK
    );
    assert_eq!(
        call(&app, request("GET", "/users/2", Some("  "), ""))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        call(&app, request("GET", "/users/4", Some("acme"), ""))
            .await
            .0,
        StatusCode::OK
    );

    let records = delivered(&client, &emulator).await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].customer_id(), "acme");
    assert_eq!(layer.stats().skipped, 2);
}

/// Counts the warnings this crate logs.
struct CountWarnings(Arc<AtomicUsize>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for CountWarnings {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        let metadata = event.metadata();
        if *metadata.level() == tracing::Level::WARN && metadata.target() == "amberflo_tower" {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
}

#[tokio::test]
async fn a_full_queue_never_fails_a_request_and_is_logged_once_per_episode() {
    use tracing_subscriber::layer::SubscriberExt as _;

    let warnings = Arc::new(AtomicUsize::new(0));
    let _subscriber = tracing::subscriber::set_default(
        tracing_subscriber::registry().with(CountWarnings(Arc::clone(&warnings))),
    );
    let emulator = Emulator::start().unwrap();
    // One worker, a queue of 10: while the emulator holds the first record's batch for 5 s,
    // the queue fills at once and refuses the rest. The hold must outlast the 50 calls even on
    // a busy machine: were the batch answered meanwhile, the queue would drain and a second
    // overflow episode begin.
    let client = Client::builder()
        .api_key("k")
        .endpoint(emulator.url())
        .queue_capacity(10)
        .max_batch_size(10)
        .workers(1)
        .linger(Duration::from_millis(1))
        .build()
        .unwrap();
    emulator.faults().set_latency(Duration::from_secs(5));
    let layer = MeteringLayer::new(client.clone(), "api-calls").unwrap();
    let app = app(layer.clone());

    for i in 0..50 {
        let (status, body) = call(
            &app,
            request("GET", &format!("/users/{i}"), Some("acme"), ""),
        )
        .await;
        assert_eq!((status, &body[..]), (StatusCode::OK, &b"user 42"[..]));
        if i == 0 {
            // The worker holds the first record in its held request before the rest come:
            // otherwise it could empty a full queue mid-loop and end the episode.
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            while client.stats().in_flight == 0 {
                assert!(
                    std::time::Instant::now() < deadline,
                    "the worker took nothing"
                );
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    }
    let refused = layer.stats().rejected;
    assert!(refused >= 30, "only {refused} of 50 records refused");
    assert_eq!(client.stats().rejected, refused);
    assert_eq!(
        warnings.load(Ordering::SeqCst),
        1,
        "one warning for the episode"
    );

    emulator.faults().clear();
    let records = delivered(&client, &emulator).await;
    assert_eq!(
        records.len() as u64,
        50 - refused,
        "every accepted record arrives"
    );

    // Accepted again: the episode is over. A shut-down client refuses: a new episode.
    call(&app, request("GET", "/users/1", Some("acme"), "")).await;
    assert_eq!(layer.stats().rejected, refused);
    client.shutdown(WAIT).unwrap();
    for _ in 0..3 {
        assert_eq!(
            call(&app, request("GET", "/users/1", Some("acme"), ""))
                .await
                .0,
            StatusCode::OK
        );
    }
    assert_eq!(layer.stats().rejected, refused + 3);
    assert_eq!(
        warnings.load(Ordering::SeqCst),
        2,
        "one warning per episode"
    );
}

#[tokio::test]
async fn invalid_records_are_counted_not_sent() {
    let emulator = Emulator::start().unwrap();
    let client = client(&emulator);
    let layer = MeteringLayer::builder(client.clone())
        .meter("api-calls", MeterValue::Count)
        .meter("broken", MeterValue::custom(|_| Some(f64::NAN)))
        .build()
        .unwrap();
    let app = app(layer.clone());
    assert_eq!(
        call(&app, request("GET", "/users/1", Some("acme"), ""))
            .await
            .0,
        StatusCode::OK
    );
    let records = delivered(&client, &emulator).await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].meter_api_name(), "api-calls");
    assert_eq!(layer.stats().invalid, 1, "the NaN");
}

/// A layer that meters `api-calls` and counts how often the service behind it ran.
fn counted_app(layer: MeteringLayer) -> (Router, Arc<AtomicUsize>) {
    let served = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&served);
    let app = Router::new()
        .route(
            "/users/{id}",
            get(move || {
                counter.fetch_add(1, Ordering::SeqCst);
                async { "user 42" }
            }),
        )
        .layer(layer);
    (app, served)
}

#[tokio::test]
async fn a_customer_that_cannot_be_metered_is_refused_and_the_service_not_called() {
    let emulator = Emulator::start().unwrap();
    let client = client(&emulator);
    let layer = MeteringLayer::new(client.clone(), "api-calls").unwrap();
    let (app, served) = counted_app(layer.clone());

    // 300 bytes: over the 256-byte customer id limit.
    let long = "c".repeat(300);
    let (status, body) = call(&app, request("GET", "/users/1", Some(&long), "")).await;
    assert_eq!(
        (status, body.len()),
        (StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, 0)
    );
    // Not UTF-8.
    let mut binary = request("GET", "/users/1", None, "");
    binary.headers_mut().insert(
        "x-customer-id",
        http::HeaderValue::from_bytes(b"acme\xff").unwrap(),
    );
    assert_eq!(call(&app, binary).await.0, StatusCode::BAD_REQUEST);
    // Missing: skipped (the `MissingCustomer` policy), served.
    assert_eq!(
        call(&app, request("GET", "/users/1", None, "")).await.0,
        StatusCode::OK
    );
    // Exactly 256 bytes is fine.
    let longest = "c".repeat(256);
    assert_eq!(
        call(&app, request("GET", "/users/1", Some(&longest), ""))
            .await
            .0,
        StatusCode::OK
    );

    assert_eq!(
        served.load(Ordering::SeqCst),
        2,
        "refused requests never reach the service"
    );
    let stats = layer.stats();
    assert_eq!((stats.refused, stats.skipped, stats.invalid), (2, 1, 0));
    let records = delivered(&client, &emulator).await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].customer_id(), longest);
}

#[tokio::test]
async fn serving_an_invalid_customer_is_a_choice_and_is_counted() {
    let emulator = Emulator::start().unwrap();
    let client = client(&emulator);
    let layer = MeteringLayer::builder(client.clone())
        .meter("api-calls", MeterValue::Count)
        .invalid_customer(InvalidCustomer::Serve)
        .build()
        .unwrap();
    let (app, served) = counted_app(layer.clone());
    let long = "c".repeat(300);
    assert_eq!(
        call(&app, request("GET", "/users/1", Some(&long), ""))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(served.load(Ordering::SeqCst), 1);
    assert_eq!((layer.stats().invalid, layer.stats().refused), (1, 0));
    assert!(delivered(&client, &emulator).await.is_empty());
}

#[tokio::test]
async fn header_dimensions_are_cut_to_fit_on_a_character_boundary() {
    let emulator = Emulator::start().unwrap();
    let client = client(&emulator);
    let layer = MeteringLayer::builder(client.clone())
        .meter("api-calls", MeterValue::Count)
        .header_dimension("user-agent")
        .build()
        .unwrap();
    let agent_app = app(layer.clone());
    // 1,100 bytes of two-byte characters: the cut lands inside one unless it steps back.
    let agent = "é".repeat(550);
    let mut with_agent = request("GET", "/users/1", Some("acme"), "");
    with_agent.headers_mut().insert(
        "user-agent",
        http::HeaderValue::from_bytes(agent.as_bytes()).unwrap(),
    );
    assert_eq!(call(&agent_app, with_agent).await.0, StatusCode::OK);

    // Twenty headers of 1,000 bytes: together over the 16 KiB record limit.
    let wide = MeteringLayer::builder(client.clone())
        .meter("wide-calls", MeterValue::Count)
        .dimensions((0..20).map(|i| Dimension::header(format!("x-d{i}"))))
        .build()
        .unwrap();
    let wide_app = app(wide.clone());
    let mut many = request("GET", "/users/1", Some("acme"), "");
    for i in 0..20 {
        many.headers_mut().insert(
            http::HeaderName::from_bytes(format!("x-d{i}").as_bytes()).unwrap(),
            http::HeaderValue::from_str(&"v".repeat(1000)).unwrap(),
        );
    }
    assert_eq!(call(&wide_app, many).await.0, StatusCode::OK);

    let records = delivered(&client, &emulator).await;
    assert_eq!(records.len(), 2, "both metered, none invalid");
    assert_eq!((layer.stats().invalid, wide.stats().invalid), (0, 0));
    let cut = &dims(&records[0])["user-agent"];
    assert!(
        cut.len() <= 1024 && cut.ends_with('…'),
        "{} bytes",
        cut.len()
    );
    assert!(agent.starts_with(cut.trim_end_matches('…')));
    let wide_dims = dims(&records[1]);
    assert_eq!(wide_dims.len(), 20);
    let total: usize = wide_dims
        .iter()
        .map(|(key, value)| key.len() + value.len())
        .sum();
    assert!(total <= 16_384, "{total}");
    assert!(wide_dims.values().all(|value| value.ends_with('…')));
}

#[test]
fn configuration_errors_are_typed() {
    let client = Client::builder().api_key("k").build().unwrap();
    let error = MeteringLayer::builder(client.clone()).build().unwrap_err();
    assert!(matches!(error, ConfigError::NoMeter));
    let error = MeteringLayer::new(client.clone(), "  ").unwrap_err();
    let ConfigError::Invalid(invalid) = error else {
        panic!("expected a validation error, got {error:?}");
    };
    assert_eq!(invalid.field(), "meter_api_name");
    let error = MeteringLayer::builder(client.clone())
        .meter("api-calls", MeterValue::Count)
        .customer_header("bad header")
        .build()
        .unwrap_err();
    assert!(matches!(error, ConfigError::InvalidHeaderName { name } if name == "bad header"));
    let error = MeteringLayer::builder(client.clone())
        .meter("api-calls", MeterValue::Count)
        .dimension(Dimension::Method)
        .build()
        .unwrap_err();
    assert!(matches!(error, ConfigError::DuplicateDimension { name } if name == "method"));
    let error = MeteringLayer::builder(client.clone())
        .meter("api-calls", MeterValue::Count)
        .meter("api-calls", MeterValue::ResponseBytes)
        .build()
        .unwrap_err();
    assert!(matches!(error, ConfigError::DuplicateMeter { .. }));
    let error = MeteringLayer::builder(client)
        .meter("api-calls", MeterValue::Count)
        .missing_customer(MissingCustomer::Use(String::new()))
        .build()
        .unwrap_err();
    assert!(matches!(error, ConfigError::Invalid(invalid) if invalid.field() == "customer_id"));
}

// Over real HTTP: axum served on 127.0.0.1, a raw HTTP/1.1 client.

async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    address
}

async fn send_raw(address: SocketAddr, head: &str) -> tokio::net::TcpStream {
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream
}

/// `GET` (or `POST` with `body`), `Connection: close`; the status and the raw body.
async fn http(
    address: SocketAddr,
    method: &str,
    path: &str,
    customer: &str,
    body: &str,
) -> (u16, Vec<u8>) {
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nx-customer-id: {customer}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = send_raw(address, &head).await;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8_lossy(&response);
    let status = text[9..12].parse().unwrap();
    let start = text.find("\r\n\r\n").unwrap() + 4;
    (status, response[start..].to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_real_http_completed_and_disconnected_requests() {
    let emulator = Emulator::start().unwrap();
    let client = client(&emulator);
    let layer = MeteringLayer::builder(client.clone())
        .meter("api-calls", MeterValue::Count)
        .meter("api-bytes-out", MeterValue::ResponseBytes)
        .meter("api-bytes-in", MeterValue::RequestBytes)
        .build()
        .unwrap();
    let app = routes()
        // 64 MiB at most, far more than the sockets' buffers hold.
        .route(
            "/endless",
            get(|| async { Body::new(Chunks::new(65_536, 1024)) }),
        )
        .layer(layer.clone());
    let address = serve(app).await;

    assert_eq!(
        http(address, "GET", "/users/9", "acme", "").await,
        (200, b"user 42".to_vec())
    );
    assert_eq!(
        http(address, "POST", "/upload", "globex", "0123456789").await,
        (200, b"got 10".to_vec())
    );
    // Read the head and a little of an endless body, then hang up.
    let mut stream = send_raw(
        address,
        "GET /endless HTTP/1.1\r\nHost: 127.0.0.1\r\nx-customer-id: initech\r\n\r\n",
    )
    .await;
    let mut buffer = [0_u8; 4096];
    let mut read = 0;
    while read < buffer.len() {
        let n = stream.read(&mut buffer[read..]).await.unwrap();
        assert!(n > 0, "the server closed early");
        read += n;
    }
    drop(stream);

    let records = wait_for_records(&client, &emulator, 9).await;
    assert_eq!(records.len(), 9, "{records:#?}");
    let value = |meter: &str, customer: &str| {
        let matching: Vec<_> = records
            .iter()
            .filter(|r| r.meter_api_name() == meter && r.customer_id() == customer)
            .collect();
        assert_eq!(matching.len(), 1, "{meter} {customer}");
        matching[0].meter_value()
    };
    assert_eq!(value("api-calls", "acme"), 1.0);
    assert_eq!(value("api-bytes-out", "acme"), 7.0);
    assert_eq!(value("api-bytes-in", "globex"), 10.0);
    assert_eq!(value("api-bytes-out", "globex"), 6.0);
    let sent = value("api-bytes-out", "initech");
    assert!(
        (4096.0..65_536.0 * 1024.0).contains(&sent),
        "bytes sent before the hang-up: {sent}"
    );
    for record in records.iter().filter(|r| r.customer_id() == "initech") {
        assert_eq!(dims(record)["outcome"], "aborted");
        assert_eq!(dims(record)["route"], "/endless");
    }
    for record in records.iter().filter(|r| r.customer_id() != "initech") {
        assert_eq!(dims(record)["outcome"], "completed");
    }
    let acme = records.iter().find(|r| r.customer_id() == "acme").unwrap();
    assert_eq!(dims(acme)["route"], axum_route("/users/{id}", "/users/9"));
}

/// A spool that syncs every record, on a disk whose sync never ends until the test says so:
/// the layer meters without waiting for it, so the single thread of a `current_thread`
/// runtime keeps serving requests while the sync is blocked.
#[tokio::test(flavor = "current_thread")]
async fn a_spool_syncing_every_record_does_not_stall_the_runtime_serving_requests() {
    let emulator = Emulator::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (started, sync_started) = std::sync::mpsc::channel();
    // Closed (dropped) by the test to let every sync through. A sync still waiting after
    // `WAIT` gives up and says so: a layer that waits for the disk blocks the runtime's only
    // thread, which this test would otherwise never get back to close the gate.
    let (gate, gate_closed) = std::sync::mpsc::sync_channel::<()>(0);
    let gate_closed = std::sync::Mutex::new(gate_closed);
    let gave_up = Arc::new(AtomicUsize::new(0));
    let gave_up_in_hook = Arc::clone(&gave_up);
    let spool = SpoolConfig::new(dir.path())
        .fsync(FsyncPolicy::Always)
        .before_sync_for_tests(move || {
            let _ = started.send(());
            let waited = gate_closed.lock().unwrap().recv_timeout(WAIT);
            if waited == Err(std::sync::mpsc::RecvTimeoutError::Timeout) {
                gave_up_in_hook.fetch_add(1, Ordering::SeqCst);
            }
        });
    let client = Client::builder()
        .api_key("k")
        .endpoint(emulator.url())
        .linger(Duration::from_millis(10))
        .spool_config(spool)
        .build()
        .unwrap();
    let layer = MeteringLayer::builder(client.clone())
        .meter("api-calls", MeterValue::Count)
        .build()
        .unwrap();
    let address = serve(routes().layer(layer.clone())).await;

    assert_eq!(http(address, "GET", "/users/1", "acme", "").await.0, 200);
    // Its record's sync starts and blocks (waited for off the runtime's only thread).
    tokio::task::spawn_blocking(move || sync_started.recv_timeout(WAIT))
        .await
        .unwrap()
        .unwrap();
    // Meanwhile the same thread serves more requests, each metered, before it lets the disk
    // finish.
    for id in 2..5 {
        let served = http(address, "GET", &format!("/users/{id}"), "globex", "").await;
        assert_eq!(served.0, 200);
    }
    drop(gate);
    assert_eq!(
        gave_up.load(Ordering::SeqCst),
        0,
        "the runtime's thread waited for the disk"
    );
    let records = wait_for_records(&client, &emulator, 4).await;
    assert_eq!(records.len(), 4, "{records:#?}");
    let stats = layer.stats();
    assert_eq!((stats.rejected, stats.invalid), (0, 0), "{stats:?}");
    assert!(client.stats().spool_syncs >= 1);
}
