//! The [`Transport`] trait: one HTTP exchange, object-safe so it can live in an `Arc<dyn _>`.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;

use crate::{TlsBackend, TransportError};

/// Sends one HTTP request and returns the whole response.
///
/// This is the seam between the Amberflo client and the HTTP stack. Implementations exist for
/// reqwest (`ReqwestTransport`, feature `reqwest`), hyper (`HyperTransport`, feature `hyper`)
/// and a scripted mock (`MockTransport`, feature `mock`); you can write your own.
///
/// # Contract
///
/// - The request is complete: method, absolute URI (`https://host/path?query`), headers and body.
///   The transport must not add, drop or rewrite headers other than those the wire needs
///   (`Host`, `Content-Length`).
/// - Any status, including 4xx and 5xx, is an `Ok(response)`: classifying statuses is the caller's
///   job, and headers such as `Retry-After` must survive.
/// - `Err` is reserved for exchanges that produced no complete response: see [`TransportError`].
/// - The trait is object safe; hold it as `Arc<dyn Transport>`. It is implemented for `Arc<T>`
///   and `Box<T>` of any transport.
///
/// # Example
///
/// A transport that answers every request itself:
///
/// ```
/// use std::sync::Arc;
/// use amberflo_transport::{async_trait, Transport, TransportError};
/// use bytes::Bytes;
///
/// struct AlwaysAccepted;
///
/// #[async_trait]
/// impl Transport for AlwaysAccepted {
///     async fn send(
///         &self,
///         _request: http::Request<Bytes>,
///     ) -> Result<http::Response<Bytes>, TransportError> {
///         Ok(http::Response::new(Bytes::from_static(b"1 records were ingested")))
///     }
/// }
///
/// let transport: Arc<dyn Transport> = Arc::new(AlwaysAccepted);
/// assert_eq!(transport.name(), "custom");
/// ```
#[async_trait]
pub trait Transport: Send + Sync {
    /// Sends `request` and returns the response with its body fully read.
    async fn send(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<Bytes>, TransportError>;

    /// A short name for diagnostics (`Debug` output and logs), such as `"reqwest"`.
    fn name(&self) -> &'static str {
        "custom"
    }

    /// The TLS library this transport uses for `https://`, when it knows (`None` for plain
    /// `http://` only, or a transport that does not say).
    fn tls_backend(&self) -> Option<TlsBackend> {
        None
    }
}

#[async_trait]
impl<T: Transport + ?Sized> Transport for Arc<T> {
    async fn send(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<Bytes>, TransportError> {
        (**self).send(request).await
    }

    fn name(&self) -> &'static str {
        (**self).name()
    }

    fn tls_backend(&self) -> Option<TlsBackend> {
        (**self).tls_backend()
    }
}

#[async_trait]
impl<T: Transport + ?Sized> Transport for Box<T> {
    async fn send(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<Bytes>, TransportError> {
        (**self).send(request).await
    }

    fn name(&self) -> &'static str {
        (**self).name()
    }

    fn tls_backend(&self) -> Option<TlsBackend> {
        (**self).tls_backend()
    }
}
