//! [`RecordedRequest`]: what a [`MockTransport`](crate::MockTransport) saw, body decoded.

use bytes::Bytes;
use http::{HeaderMap, Method, Uri};
use serde::de::DeserializeOwned;

/// A request captured by a [`MockTransport`](crate::MockTransport).
///
/// `body` is decoded: gunzipped when the request had `Content-Encoding: gzip`; `raw_body` is
/// what went on the wire. The `X-API-KEY` header value stays marked sensitive, so `Debug`
/// output shows `Sensitive` instead of the key.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RecordedRequest {
    /// The method.
    pub method: Method,
    /// The full URI, as sent.
    pub uri: Uri,
    /// The request headers.
    pub headers: HeaderMap,
    /// The body, gunzipped if it was gzip-encoded.
    pub body: Bytes,
    /// The body as sent.
    pub raw_body: Bytes,
}

impl RecordedRequest {
    /// The URI path, such as `/ingest/`.
    #[must_use]
    pub fn path(&self) -> &str {
        self.uri.path()
    }

    /// The raw query string, if any.
    #[must_use]
    pub fn query(&self) -> Option<&str> {
        self.uri.query()
    }

    /// The decoded query parameters, in order.
    #[must_use]
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        self.query()
            .and_then(|q| serde_urlencoded::from_str(q).ok())
            .unwrap_or_default()
    }

    /// The first value of header `name`, if present and valid text.
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The decoded body as text (lossy UTF-8).
    #[must_use]
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The decoded body parsed as JSON.
    ///
    /// # Errors
    ///
    /// When the body is not a JSON `T`.
    pub fn body_json<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }
}
