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
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                transport,
                api_key,
                api_url,
                ingest_url,
            }),
        }
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

    /// `GET {api}{path}?{query}` and decodes the JSON reply.
    ///
    /// `query` is anything serde_urlencoded accepts: a struct (with `Option` fields skipped
    /// when `None`), a map, a slice of pairs, or `&()` for none. An empty reply body decodes
    /// as JSON `null`.
    ///
    /// # Errors
    ///
    /// [`Error::Encode`] for a bad query, [`Error::Transport`] when no response came,
    /// [`Error::Api`] for a non-2xx status, [`Error::Decode`] when the body is not an `R`.
    pub async fn get_json<Q, R>(&self, path: &str, query: &Q) -> Result<R, Error>
    where
        Q: Serialize + ?Sized,
        R: DeserializeOwned,
    {
        let body = self
            .call(Method::GET, Endpoint::Api, path, query, Body::Empty)
            .await?;
        response::decode_json(&body)
    }

    /// `POST {api}{path}?{query}` with `body` as JSON, and decodes the JSON reply.
    ///
    /// # Errors
    ///
    /// As [`get_json`](Self::get_json), plus [`Error::Encode`] when `body` cannot be serialized.
    pub async fn post_json<Q, B, R>(&self, path: &str, query: &Q, body: &B) -> Result<R, Error>
    where
        Q: Serialize + ?Sized,
        B: Serialize + ?Sized,
        R: DeserializeOwned,
    {
        self.send_json(Method::POST, path, query, body).await
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
        self.send_json(Method::PUT, path, query, body).await
    }

    /// `{method} {api}{path}?{query}` with `body` as JSON, and decodes the JSON reply.
    async fn send_json<Q, B, R>(
        &self,
        method: Method,
        path: &str,
        query: &Q,
        body: &B,
    ) -> Result<R, Error>
    where
        Q: Serialize + ?Sized,
        B: Serialize + ?Sized,
        R: DeserializeOwned,
    {
        let json = request::json(body)?;
        let reply = self
            .call(method, Endpoint::Api, path, query, Body::Json(json))
            .await?;
        response::decode_json(&reply)
    }

    /// `DELETE {api}{path}?{query}` and decodes the JSON reply (use `()` to ignore it).
    ///
    /// # Errors
    ///
    /// As [`get_json`](Self::get_json).
    pub async fn delete_json<Q, R>(&self, path: &str, query: &Q) -> Result<R, Error>
    where
        Q: Serialize + ?Sized,
        R: DeserializeOwned,
    {
        let reply = self
            .call(Method::DELETE, Endpoint::Api, path, query, Body::Empty)
            .await?;
        response::decode_json(&reply)
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

    /// Ingests an already gzipped JSON array (see [`encode_ingest_body`](crate::encode_ingest_body),
    /// or [`gzip_ingest_body`](crate::gzip_ingest_body) for JSON written by
    /// `amberflo_types::write_records_json`), so a batching sink can encode a batch once and
    /// resend the same bytes on retries.
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
        let body = Body::GzipJson(gzipped);
        let reply = self
            .call(Method::POST, Endpoint::Ingest, path, &(), body)
            .await?;
        Ok(response::ingest_reply(&reply))
    }

    async fn call<Q: Serialize + ?Sized>(
        &self,
        method: Method,
        endpoint: Endpoint,
        path: &str,
        query: &Q,
        body: Body,
    ) -> Result<Bytes, Error> {
        let inner = &*self.inner;
        let base = match endpoint {
            Endpoint::Api => &inner.api_url,
            Endpoint::Ingest => &inner.ingest_url,
        };
        let url = request::url_for(base, path, query)?;
        let req = request::build(&inner.api_key, method.clone(), &url, body)?;
        let started = Instant::now();
        let outcome = inner.transport.send(req).await;
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
