//! [`MeteringLayer`], the [`MeteringService`] it wraps services in, and their
//! [`ResponseFuture`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use amberflo::Client;
use http::{Request, Response, StatusCode};
use http_body::Body;
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::body::{RequestBody, ResponseBody};
use crate::config::{MeterValue, MeteringLayerBuilder, MeteringStats, Outcome};
use crate::shared::{Pending, Shared, Start};

/// A [`tower::Layer`](tower_layer::Layer) that meters every HTTP request of the services it
/// wraps: one record per configured meter, for the request's customer, with its dimensions,
/// once the response body has been sent (or dropped).
///
/// Cheap to clone (one `Arc`). Metering never blocks and never fails a request: records go
/// through [`Client::meter_record_async`], which enqueues without waiting (not even for a
/// spool's disk sync); a refused record is
/// counted ([`stats`](Self::stats)) and logged once per overflow episode.
///
/// ```
/// use amberflo_tower::MeteringLayer;
/// use axum::{Router, routing::get};
///
/// let client = amberflo::Client::builder().api_key("my-api-key").build()?;
/// // 1 `api-calls` per request, customer from `x-customer-id`, dimensions `method`,
/// // `route`, `status_class` and `outcome`.
/// let app: Router = Router::new()
///     .route("/users/{id}", get(|| async { "user" }))
///     .layer(MeteringLayer::new(client, "api-calls")?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct MeteringLayer {
    shared: Arc<Shared>,
}

impl fmt::Debug for MeteringLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.shared.fmt(f)
    }
}

impl MeteringLayer {
    /// A layer with the defaults: counts 1 `meter_api_name` per request, for the customer in
    /// the [`x-customer-id`](crate::DEFAULT_CUSTOMER_HEADER) header (requests without one are
    /// skipped), with the dimensions `method`, `route`, `status_class` and `outcome`.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`](crate::ConfigError::Invalid) when the meter name breaks an
    /// ingest rule (blank, over 256 bytes).
    ///
    /// ```
    /// let client = amberflo::Client::builder().api_key("my-api-key").build()?;
    /// let layer = amberflo_tower::MeteringLayer::new(client, "api-calls")?;
    /// # let _ = layer;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(
        client: Client,
        meter_api_name: impl Into<String>,
    ) -> Result<Self, crate::ConfigError> {
        Self::builder(client)
            .meter(meter_api_name, MeterValue::Count)
            .build()
    }

    /// A builder, to choose the meters, the customer lookup and the dimensions; see
    /// [`MeteringLayerBuilder`].
    pub fn builder(client: Client) -> MeteringLayerBuilder {
        MeteringLayerBuilder::new(client)
    }

    pub(crate) fn from_shared(shared: Arc<Shared>) -> Self {
        MeteringLayer { shared }
    }

    /// The client records are metered through (its [`stats`](Client::stats) count them).
    pub fn client(&self) -> &Client {
        &self.shared.client
    }

    /// Requests skipped, and records refused or invalid, so far.
    ///
    /// ```
    /// let client = amberflo::Client::builder().api_key("my-api-key").build()?;
    /// let layer = amberflo_tower::MeteringLayer::new(client, "api-calls")?;
    /// assert_eq!(layer.stats().rejected, 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn stats(&self) -> MeteringStats {
        self.shared.stats()
    }
}

impl<S> Layer<S> for MeteringLayer {
    type Service = MeteringService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        MeteringService {
            inner,
            shared: Arc::clone(&self.shared),
        }
    }
}

/// A service wrapped by [`MeteringLayer`]: it hands the inner service the request with a
/// [`RequestBody`] and returns its response with a [`ResponseBody`], which meters the request
/// when it ends.
///
/// Works with any `http` 1.x service whose response body implements `http_body::Body`
/// (axum, tonic, hyper). Errors of the inner service pass through untouched (the request is
/// metered with outcome `error`).
#[derive(Clone)]
pub struct MeteringService<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S: fmt::Debug> fmt::Debug for MeteringService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MeteringService")
            .field("inner", &self.inner)
            .field("layer", &self.shared)
            .finish()
    }
}

impl<S> MeteringService<S> {
    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for MeteringService<S>
where
    S: Service<Request<RequestBody<ReqBody>>, Response = Response<ResBody>>,
    ResBody: Body,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let (parts, body) = request.into_parts();
        let pending = match self.shared.start(&parts) {
            Start::Metered(pending) => Some(pending),
            Start::Unmetered => None,
            Start::Refused(status) => {
                return ResponseFuture {
                    inner: None,
                    pending: None,
                    refused: Some(status),
                };
            }
        };
        let counter = pending.as_ref().and_then(Pending::request_counter);
        let request = Request::from_parts(parts, RequestBody::new(body, counter));
        ResponseFuture {
            inner: Some(self.inner.call(request)),
            pending,
            refused: None,
        }
    }
}

pin_project! {
    /// The future of [`MeteringService`]: the inner service's future; once it has a response,
    /// the response with its body wrapped. Dropped before that (the client went away while
    /// the service was working), it meters the request with outcome `aborted`.
    pub struct ResponseFuture<F> {
        // `None` for a request refused without calling the service.
        #[pin]
        inner: Option<F>,
        pending: Option<Pending>,
        refused: Option<StatusCode>,
    }
}

impl<F> fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("pending", &self.pending)
            .finish_non_exhaustive()
    }
}

impl<F, ResBody, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
    ResBody: Body,
{
    type Output = Result<Response<ResponseBody<ResBody>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Some(status) = this.refused.take() {
            let mut response = Response::new(ResponseBody::empty());
            *response.status_mut() = status;
            return Poll::Ready(Ok(response));
        }
        let Some(inner) = this.inner.as_pin_mut() else {
            // Polled again after answering a refusal: nothing more will come.
            return Poll::Pending;
        };
        let result = ready!(inner.poll(cx));
        let mut pending = this.pending.take();
        Poll::Ready(match result {
            Ok(response) => {
                if let Some(pending) = pending.as_mut() {
                    pending.set_status(response.status());
                }
                let (parts, body) = response.into_parts();
                Ok(Response::from_parts(
                    parts,
                    ResponseBody::new(body, pending),
                ))
            }
            Err(error) => {
                if let Some(pending) = pending {
                    pending.finish(Outcome::Error);
                }
                Err(error)
            }
        })
    }
}
