//! [`HyperTransport`]: a transport on hyper 1 and hyper-util's pooled legacy client.

use std::error::Error as StdError;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, LengthLimitError, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use crate::connection::{ConnectionSettings, connection_setters};
use crate::runtime::{ensure_tokio, error_chain};
use crate::{TlsBackend, Transport, TransportError};

#[cfg(feature = "rustls")]
type Connector = hyper_rustls::HttpsConnector<HttpConnector>;
#[cfg(not(feature = "rustls"))]
type Connector = HttpConnector;

/// A [`Transport`] on hyper 1: hyper-util's pooled legacy client over HTTP/1.1 with
/// keep-alive, a connect timeout on the connector, a request timeout over the whole exchange
/// (`tokio::time::timeout`), and TLS through rustls (ring provider, platform verifier) when
/// the `rustls` feature is on. Without `rustls` it speaks plain `http://` only; `native-tls`
/// does not apply to it.
///
/// It must be driven by a Tokio runtime with I/O and time enabled (polling it elsewhere gives
/// a [`TransportError::Other`], not a panic). Cloning is cheap and shares the pool.
///
/// Available with the `hyper` feature.
///
/// ```
/// use std::time::Duration;
/// use amberflo_transport::{HyperTransport, Transport};
///
/// let transport = HyperTransport::builder()
///     .connect_timeout(Duration::from_secs(5))
///     .request_timeout(Duration::from_secs(20))
///     .build()?;
/// assert_eq!(transport.name(), "hyper");
/// # Ok::<(), amberflo_transport::TransportError>(())
/// ```
#[derive(Debug, Clone)]
pub struct HyperTransport {
    client: Client<Connector, Full<Bytes>>,
    request_timeout: Duration,
    max_response_bytes: usize,
}

impl HyperTransport {
    /// A transport with the defaults of [`HyperTransportBuilder`].
    ///
    /// # Errors
    ///
    /// [`TransportError::Setup`] when the TLS stack cannot be initialized.
    pub fn new() -> Result<Self, TransportError> {
        Self::builder().build()
    }

    /// A builder for the timeouts and pool settings.
    pub fn builder() -> HyperTransportBuilder {
        HyperTransportBuilder::default()
    }

    async fn exchange(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<Bytes>, TransportError> {
        let response = self
            .client
            .request(request.map(Full::new))
            .await
            .map_err(|e| map_client_error(&e))?;
        let (parts, body) = response.into_parts();
        let limit = self.max_response_bytes;
        let body = Limited::new(body, limit)
            .collect()
            .await
            .map_err(|error| {
                if error.is::<LengthLimitError>() {
                    TransportError::ResponseTooLarge { limit }
                } else {
                    io_error(&*error)
                }
            })?
            .to_bytes();
        Ok(http::Response::from_parts(parts, body))
    }
}

#[async_trait]
impl Transport for HyperTransport {
    async fn send(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<Bytes>, TransportError> {
        ensure_tokio("hyper")?;
        let uri = request.uri();
        let scheme = uri.scheme_str();
        if scheme.is_none() || uri.authority().is_none() {
            return Err(TransportError::invalid_request(format!(
                "the URI `{uri}` is not absolute"
            )));
        }
        if scheme != Some("http") && !(cfg!(feature = "rustls") && scheme == Some("https")) {
            return Err(TransportError::invalid_request(format!(
                "HyperTransport cannot send to `{uri}`: supported schemes are http{}",
                if cfg!(feature = "rustls") {
                    " and https"
                } else {
                    " (enable the `rustls` feature for https)"
                }
            )));
        }
        match tokio::time::timeout(self.request_timeout, self.exchange(request)).await {
            Ok(outcome) => outcome,
            Err(_elapsed) => Err(TransportError::timeout(self.request_timeout)),
        }
    }

    fn name(&self) -> &'static str {
        "hyper"
    }

    fn tls_backend(&self) -> Option<TlsBackend> {
        cfg!(feature = "rustls").then_some(TlsBackend::Rustls)
    }
}

fn map_client_error(error: &hyper_util::client::legacy::Error) -> TransportError {
    if error.is_connect() {
        return TransportError::Connect {
            message: error_chain(error),
            source: Some(Arc::new(std::io::Error::other(error_chain(error)))),
        };
    }
    if chain_has_timeout(error) {
        return TransportError::Timeout { timeout: None };
    }
    io_error(error)
}

fn io_error(error: &(dyn StdError + 'static)) -> TransportError {
    let message = error_chain(error);
    TransportError::Io {
        source: Some(Arc::new(std::io::Error::other(message.clone()))),
        message,
    }
}

fn chain_has_timeout(error: &(dyn StdError + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(err) = current {
        if err
            .downcast_ref::<hyper::Error>()
            .is_some_and(hyper::Error::is_timeout)
            || err
                .downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
        {
            return true;
        }
        current = err.source();
    }
    false
}

/// Settings for a [`HyperTransport`].
///
/// | setting | default |
/// | --- | --- |
/// | [`connect_timeout`](Self::connect_timeout) | 10 s (TCP connect; the TLS handshake counts against the request timeout) |
/// | [`request_timeout`](Self::request_timeout) | 30 s, connect to last body byte |
/// | [`pool_idle_timeout`](Self::pool_idle_timeout) | 90 s |
/// | [`pool_max_idle_per_host`](Self::pool_max_idle_per_host) | 8 |
/// | [`tcp_keepalive`](Self::tcp_keepalive) | 60 s |
/// | [`max_response_bytes`](Self::max_response_bytes) | 64 MiB |
///
/// It never follows redirects (a 3xx is a response like any other).
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct HyperTransportBuilder {
    settings: ConnectionSettings,
}

impl HyperTransportBuilder {
    connection_setters!();

    /// Builds the transport. Needs no runtime; sending does.
    ///
    /// # Errors
    ///
    /// [`TransportError::Setup`] when the TLS stack cannot be initialized.
    pub fn build(self) -> Result<HyperTransport, TransportError> {
        let mut http = HttpConnector::new();
        http.set_connect_timeout(Some(self.settings.connect_timeout));
        http.set_keepalive(Some(self.settings.tcp_keepalive));
        http.set_nodelay(true);
        let connector = wrap_tls(http)?;
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(self.settings.pool_idle_timeout)
            .pool_max_idle_per_host(self.settings.pool_max_idle_per_host)
            .pool_timer(TokioTimer::new())
            .build(connector);
        Ok(HyperTransport {
            client,
            request_timeout: self.settings.request_timeout,
            max_response_bytes: self.settings.max_response_bytes,
        })
    }
}

#[cfg(feature = "rustls")]
fn wrap_tls(mut http: HttpConnector) -> Result<Connector, TransportError> {
    http.enforce_http(false);
    let config = crate::tls::client_config()?;
    Ok(hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(config)
        .https_or_http()
        .enable_http1()
        .wrap_connector(http))
}

#[cfg(not(feature = "rustls"))]
#[allow(clippy::unnecessary_wraps)]
fn wrap_tls(http: HttpConnector) -> Result<Connector, TransportError> {
    Ok(http)
}
