//! The layer's overhead per request: the same `tower::service_fn` service called with and
//! without `MeteringLayer` (the client delivers to a transport that answers in memory, so its
//! workers do no network I/O), with a request the layer skips (no customer), and with a client
//! whose spool syncs every record (`FsyncPolicy::Always`: the layer must not wait for it).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use amberflo::{Transport, TransportError};
use amberflo_tower::{MeterValue, MeteringLayer};
use amberflo_transport::async_trait;
use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use http::{Request, Response};
use http_body::Body;
use http_body_util::{BodyExt, Full};
use tower::{Layer, Service, service_fn};

/// Answers `200 OK` to every batch and keeps nothing: a recording mock would hold (and
/// gunzip) every batch of the millions of requests criterion makes.
struct Discard;

#[async_trait]
impl Transport for Discard {
    async fn send(
        &self,
        _request: http::Request<Bytes>,
    ) -> Result<http::Response<Bytes>, TransportError> {
        Ok(http::Response::new(Bytes::new()))
    }
}

/// Polls a future that is ready at once (the services and bodies here never wait).
fn ready_now<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the benchmarked service is always ready"),
    }
}

fn request(customer: bool) -> Request<Full<Bytes>> {
    let mut builder = Request::builder()
        .method("GET")
        .uri("http://api.example.com/users/42?fields=all")
        .header("host", "api.example.com");
    if customer {
        builder = builder.header("x-customer-id", "customer-1");
    }
    builder.body(Full::new(Bytes::new())).unwrap()
}

const BODY: &[u8] =
    b"{\"id\":42,\"name\":\"Ada Lovelace\",\"plan\":\"pro\",\"region\":\"eu-west-1\"}";

async fn handler<B>(_request: Request<B>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(BODY))))
}

/// Calls the service and reads the whole response body, as a server would.
fn round_trip<S, B>(service: &mut S, request: Request<Full<Bytes>>) -> usize
where
    S: Service<Request<Full<Bytes>>, Response = Response<B>, Error = Infallible>,
    B: Body<Data = Bytes>,
    B::Error: std::fmt::Debug,
{
    let response = ready_now(service.call(request)).unwrap();
    ready_now(response.into_body().collect())
        .unwrap()
        .to_bytes()
        .len()
}

fn overhead(c: &mut Criterion) {
    let client = amberflo::Client::builder()
        .api_key("bench")
        .transport(Discard)
        .queue_capacity(1 << 22)
        .max_batch_size(1000)
        .build()
        .unwrap();
    let count = MeteringLayer::new(client.clone(), "api-calls").unwrap();
    let two_meters = MeteringLayer::builder(client.clone())
        .meter("api-calls", MeterValue::Count)
        .meter("api-bytes-out", MeterValue::ResponseBytes)
        .build()
        .unwrap();

    let mut group = c.benchmark_group("per_request");
    let mut plain = service_fn(handler::<Full<Bytes>>);
    group.bench_function("without_layer", |b| {
        b.iter(|| round_trip(&mut plain, request(true)));
    });
    let mut metered = count.layer(service_fn(handler));
    group.bench_function("layer_count", |b| {
        b.iter(|| round_trip(&mut metered, request(true)));
    });
    let mut metered_two = two_meters.layer(service_fn(handler));
    group.bench_function("layer_count_and_bytes", |b| {
        b.iter(|| round_trip(&mut metered_two, request(true)));
    });
    group.bench_function("layer_skipped_no_customer", |b| {
        b.iter(|| round_trip(&mut metered, request(false)));
    });
    let dir = tempfile::tempdir().unwrap();
    let durable = amberflo::Client::builder()
        .api_key("bench")
        .transport(Discard)
        .max_batch_size(1000)
        .spool_config(amberflo::SpoolConfig::new(dir.path()).fsync(amberflo::FsyncPolicy::Always))
        .build()
        .unwrap();
    let count_durable = MeteringLayer::new(durable.clone(), "api-calls").unwrap();
    let mut metered_durable = count_durable.layer(service_fn(handler));
    group.bench_function("layer_count_spool_fsync_always", |b| {
        b.iter(|| round_trip(&mut metered_durable, request(true)));
    });
    group.finish();

    client.shutdown(Duration::from_secs(30)).unwrap();
    durable.shutdown(Duration::from_secs(60)).unwrap();
    assert_eq!(
        count.stats().rejected + two_meters.stats().rejected + count_durable.stats().rejected,
        0
    );
}

criterion_group!(benches, overhead);
criterion_main!(benches);
