//! [`ApiClient`]: the Amberflo exchange (URLs, headers, gzip, classification) over any transport.

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;
use url::Url;

use crate::request::{self, Body};
use crate::{ApiClientBuilder, ApiKey, Error, Transport, gzip, response};

/// Path of the ingest endpoint, under the ingest base URL.
const INGEST_PATH: &str = "/ingest/";
/// Path (and fixed query) of the custom-schema ingest endpoint.
const INGEST_CUSTOM_PATH: &str = "/ingest?schemaDetection=AUTO";

/// Which of Amberflo's two base URLs a call goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Api,
    Ingest,
}

/// Talks to Amberflo over a [`Transport`]: builds requests with the right URL and headers,
/// gzips ingest bodies, classifies responses and decodes JSON.
///
/// It is generic over payloads (`Serialize` in, `DeserializeOwned` out), cheap to clone (an
/// [`Arc`] inside), and never prints the API key in its `Debug` output.
///
/// The reqwest and hyper transports must be driven by a Tokio runtime; the mock transport
/// works under any executor.
///
/// # Example
///
/// ```
/// # #[cfg(feature = "mock")] {
/// use amberflo_transport::{ApiClient, ApiKey, MockReply, MockTransport};
///
/// let mock = MockTransport::new();
/// mock.push_reply(MockReply::text(200, "2 records were ingested"));
/// let client = ApiClient::builder(ApiKey::new("my-key")?)
///     .transport(mock.clone())
///     .build()?;
///
/// # let rt = tokio::runtime::Builder::new_current_thread().build().map_err(|e| e.to_string())?;
/// # rt.block_on(async {
/// let records = [serde_json::json!({"customerId": "c1", "meterApiName": "calls", "meterValue": 1})];
/// let reply = client.ingest(&records[..]).await?;
/// assert_eq!(reply, "2 records were ingested");
/// # Ok::<(), amberflo_transport::Error>(())
/// # }).map_err(|e| e.to_string())?;
///
/// let sent = &mock.requests()[0];
/// assert_eq!(sent.uri.to_string(), "https://ingest.amberflo.io/ingest/");
/// assert_eq!(sent.body_json::<serde_json::Value>()?[0]["customerId"], "c1");
/// # }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct ApiClient {
    inner: Arc<Inner>,
}

struct Inner {
    transport: Arc<dyn Transport>,
    api_key: ApiKey,
    api_url: Url,
    ingest_url: Url,
    max_decoded_bytes: usize,
}

impl ApiClient {
    /// A builder for a client using `api_key`; see [`ApiClientBuilder`] for the settings.
    pub fn builder(api_key: ApiKey) -> ApiClientBuilder {
        ApiClientBuilder::new(api_key)
    }

    pub(crate) fn from_parts(
        transport: Arc<dyn Transport>,
        api_key: ApiKey,
        api_url: Url,
        ingest_url: Url,
        max_decoded_bytes: usize,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                transport,
                api_key,
                api_url,
                ingest_url,
                max_decoded_bytes,
            }),
        }
    }

    /// The same client (key, URLs) sending through `transport` instead: for example one
    /// transport per sending thread, each with its own connections.
    ///
    /// ```
    /// # #[cfg(feature = "mock")] {
    /// use amberflo_transport::{ApiClient, ApiKey, MockTransport};
    ///
    /// let client = ApiClient::builder(ApiKey::new("my-key")?).transport(MockTransport::new()).build()?;
    /// let other = MockTransport::new();
    /// let twin = client.with_transport(std::sync::Arc::new(other.clone()));
    /// assert_eq!(twin.ingest_url(), client.ingest_url());
    /// # }
    /// # Ok::<(), amberflo_transport::Error>(())
    /// ```
    #[must_use]
    pub fn with_transport(&self, transport: Arc<dyn Transport>) -> ApiClient {
        let inner = &*self.inner;
        Self::from_parts(
            transport,
            inner.api_key.clone(),
            inner.api_url.clone(),
            inner.ingest_url.clone(),
            inner.max_decoded_bytes,
        )
    }

    /// The API base URL (default `https://app.amberflo.io`).
    #[must_use]
    pub fn api_url(&self) -> &Url {
        &self.inner.api_url
    }

    /// The ingest base URL (default `https://ingest.amberflo.io`).
    #[must_use]
    pub fn ingest_url(&self) -> &Url {
        &self.inner.ingest_url
    }

    /// The transport this client sends through.
    #[must_use]
    pub fn transport(&self) -> &Arc<dyn Transport> {
        &self.inner.transport
    }

    /// Encodes a body-less API request, `{method} {api}{path}?{query}`, to send later with
    /// [`send_json`](Self::send_json), possibly on another task: nothing stays borrowed.
    ///
    /// `query` is anything serde_urlencoded accepts: a struct (with `Option` fields skipped
    /// when `None`), a map, a slice of pairs, or `&()` for none.
    ///
    /// # Errors
    ///
    /// [`Error::Encode`] for a query or path that cannot be encoded.
    pub fn request<Q>(&self, method: Method, path: &str, query: &Q) -> Result<ApiRequest, Error>
    where
        Q: Serialize + ?Sized,
    {
        self.prepare(method, Endpoint::Api, path, query, Body::Empty)
    }

    /// Like [`request`](Self::request), with `body` encoded as JSON.
    ///
    /// # Errors
    ///
    /// As [`request`](Self::request), and [`Error::Encode`] when `body` cannot be serialized.
    pub fn request_json<Q, B>(
        &self,
        method: Method,
        path: &str,
        query: &Q,
        body: &B,
    ) -> Result<ApiRequest, Error>
    where
        Q: Serialize + ?Sized,
        B: Serialize + ?Sized,
    {
        let json = request::json(body)?;
        self.prepare(method, Endpoint::Api, path, query, Body::Json(json))
    }

    /// Sends a request made by [`request`](Self::request) or
    /// [`request_json`](Self::request_json) and decodes the JSON reply; an empty reply body
    /// decodes as JSON `null` (so `()` and `Option<T>` work).
    ///
    /// # Errors
    ///
    /// [`Error::Transport`] when no response came, [`Error::Api`] for a non-2xx status,
    /// [`Error::Decode`] when the body is not an `R`.
    pub async fn send_json<R: DeserializeOwned>(&self, request: ApiRequest) -> Result<R, Error> {
        let body = self.execute(request).await?;
        response::decode_json(&body, self.inner.max_decoded_bytes)
    }

    /// Sends a request made by [`request`](Self::request) whose answer is not read (a
    /// delete): any 2xx is success, whatever its body (JSON, text or nothing).
    ///
    /// # Errors
    ///
    /// [`Error::Transport`] when no response came, [`Error::Api`] for a non-2xx status.
    pub async fn send_discarding_body(&self, request: ApiRequest) -> Result<(), Error> {
        self.execute(request).await.map(drop)
    }

    /// `GET {api}{path}?{query}` and decodes the JSON reply: [`request`](Self::request) and
    /// [`send_json`](Self::send_json) in one call.
    ///
    /// # Errors
    ///
    /// As [`request`](Self::request) and [`send_json`](Self::send_json).
    pub async fn get_json<Q, R>(&self, path: &str, query: &Q) -> Result<R, Error>
    where
        Q: Serialize + ?Sized,
        R: DeserializeOwned,
    {
        self.send_json(self.request(Method::GET, path, query)?)
            .await
    }

    /// `POST {api}{path}?{query}` with `body` as JSON, and decodes the JSON reply.
    ///
    /// # Errors
    ///
    /// As [`request_json`](Self::request_json) and [`send_json`](Self::send_json).
    pub async fn post_json<Q, B, R>(&self, path: &str, query: &Q, body: &B) -> Result<R, Error>
    where
        Q: Serialize + ?Sized,
        B: Serialize + ?Sized,
        R: DeserializeOwned,
    {
        self.send_json(self.request_json(Method::POST, path, query, body)?)
            .await
    }

    /// `PUT {api}{path}?{query}` with `body` as JSON, and decodes the JSON reply.
    ///
    /// # Errors
    ///
    /// As [`post_json`](Self::post_json).
    pub async fn put_json<Q, B, R>(&self, path: &str, query: &Q, body: &B) -> Result<R, Error>
    where
        Q: Serialize + ?Sized,
        B: Serialize + ?Sized,
        R: DeserializeOwned,
    {
        self.send_json(self.request_json(Method::PUT, path, query, body)?)
            .await
    }

    /// Ingests `records`: `POST {ingest}/ingest/` with the gzipped JSON array, and returns the
    /// reply text (`"N records were ingested"`).
    ///
    /// # Errors
    ///
    /// [`Error::Encode`] when a record cannot be serialized; otherwise as
    /// [`ingest_body`](Self::ingest_body).
    pub async fn ingest<T: Serialize>(&self, records: &[T]) -> Result<String, Error> {
        let body = gzip::encode_ingest_body(records)?;
        self.ingest_body(body).await
    }

    /// Ingests an already gzipped JSON array (see [`gzip_ingest_body`](crate::gzip_ingest_body),
    /// for JSON written by `amberflo_types::write_records_json` or `serde_json`), so a batching
    /// sink can encode a batch once and resend the same bytes on retries.
    ///
    /// # Errors
    ///
    /// [`Error::Transport`] when no response came, [`Error::Api`] for a non-2xx status.
    pub async fn ingest_body(&self, gzipped: Bytes) -> Result<String, Error> {
        self.post_ingest(INGEST_PATH, gzipped).await
    }

    /// Ingests records of a custom schema: `POST {ingest}/ingest?schemaDetection=AUTO` with
    /// `records` (usually a JSON array of objects) gzipped.
    ///
    /// # Errors
    ///
    /// As [`ingest`](Self::ingest).
    pub async fn ingest_custom<T: Serialize + ?Sized>(&self, records: &T) -> Result<String, Error> {
        let body = gzip::encode_ingest_body(records)?;
        self.ingest_custom_body(body).await
    }

    /// Custom-schema ingest of an already gzipped JSON body.
    ///
    /// # Errors
    ///
    /// As [`ingest_body`](Self::ingest_body).
    pub async fn ingest_custom_body(&self, gzipped: Bytes) -> Result<String, Error> {
        self.post_ingest(INGEST_CUSTOM_PATH, gzipped).await
    }

    /// `POST {ingest}{path}` with a gzipped JSON body; returns the reply text.
    async fn post_ingest(&self, path: &str, gzipped: Bytes) -> Result<String, Error> {
        let request = self.prepare(
            Method::POST,
            Endpoint::Ingest,
            path,
            &(),
            Body::GzipJson(gzipped),
        )?;
        let reply = self.execute(request).await?;
        Ok(response::ingest_reply(&reply))
    }

    fn prepare<Q: Serialize + ?Sized>(
        &self,
        method: Method,
        endpoint: Endpoint,
        path: &str,
        query: &Q,
        body: Body,
    ) -> Result<ApiRequest, Error> {
        let inner = &*self.inner;
        let base = match endpoint {
            Endpoint::Api => &inner.api_url,
            Endpoint::Ingest => &inner.ingest_url,
        };
        let url = request::url_for(base, path, query)?;
        let http = request::build(&inner.api_key, method, &url, body)?;
        Ok(ApiRequest { http })
    }

    async fn execute(&self, request: ApiRequest) -> Result<Bytes, Error> {
        let http = request.http;
        let method = http.method().clone();
        let path = http.uri().path().to_owned();
        let started = Instant::now();
        let outcome = self.inner.transport.send(http).await;
        let elapsed_ms = started.elapsed().as_millis();
        match outcome {
            Ok(resp) => {
                let status = resp.status().as_u16();
                tracing::debug!(%method, path, status, elapsed_ms, "amberflo call answered");
                Ok(response::classify_response(resp)?)
            }
            Err(error) => {
                tracing::debug!(%method, path, %error, elapsed_ms, "amberflo call failed");
                Err(error.into())
            }
        }
    }
}

/// An API request, encoded and ready to send: made from borrowed parts on the caller's
/// thread by [`ApiClient::request`] or [`ApiClient::request_json`], sent by
/// [`ApiClient::send_json`] on any task. It owns its bytes, so it can move to another thread
/// without copying the payload it was made from. `Debug` shows the method and URI only (never
/// the API key).
///
/// ```
/// # #[cfg(feature = "mock")] {
/// use amberflo_transport::{ApiClient, ApiKey, MockTransport};
/// use http::Method;
///
/// let client = ApiClient::builder(ApiKey::new("my-key")?).transport(MockTransport::new()).build()?;
/// let request = client.request(Method::GET, "/customers/", &[("customerId", "c1")])?;
/// assert_eq!(request.uri().to_string(), "https://app.amberflo.io/customers/?customerId=c1");
/// # }
/// # Ok::<(), amberflo_transport::Error>(())
/// ```
pub struct ApiRequest {
    http: http::Request<Bytes>,
}

impl ApiRequest {
    /// The request method.
    #[must_use]
    pub fn method(&self) -> &Method {
        self.http.method()
    }

    /// The full URI, query included.
    #[must_use]
    pub fn uri(&self) -> &http::Uri {
        self.http.uri()
    }
}

impl Clone for ApiRequest {
    /// A copy to send again (a retry): method, URI, version, headers and body (the body's
    /// bytes are shared, not copied). Extensions are not copied; requests made by
    /// [`ApiClient`] have none.
    fn clone(&self) -> Self {
        let mut http = http::Request::new(self.http.body().clone());
        *http.method_mut() = self.http.method().clone();
        *http.uri_mut() = self.http.uri().clone();
        *http.version_mut() = self.http.version();
        *http.headers_mut() = self.http.headers().clone();
        ApiRequest { http }
    }
}

impl fmt::Debug for ApiRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiRequest")
            .field("method", self.http.method())
            .field("uri", self.http.uri())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiClient")
            .field("transport", &self.inner.transport.name())
            .field("api_key", &self.inner.api_key)
            .field("api_url", &self.inner.api_url.as_str())
            .field("ingest_url", &self.inner.ingest_url.as_str())
            .finish()
    }
}
