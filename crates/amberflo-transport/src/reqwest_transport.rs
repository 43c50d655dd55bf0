//! [`ReqwestTransport`]: the default transport, on reqwest (pooled HTTP/1.1, rustls).

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

use crate::connection::{ConnectionSettings, connection_setters};
use crate::runtime::{ensure_tokio, error_chain};
use crate::{TlsBackend, Transport, TransportError};

/// A [`Transport`] on [`reqwest`]: a pooled HTTP/1.1 client with keep-alive, connect and
/// request timeouts, and TLS through rustls (ring provider, platform verifier) or, with the
/// `native-tls` feature, the platform's TLS library.
///
/// It must be driven by a Tokio runtime (polling it elsewhere gives a
/// [`TransportError::Other`], not a panic). Cloning is cheap and shares the pool.
///
/// Available with the `reqwest` feature (on by default).
///
/// ```
/// use std::time::Duration;
/// use amberflo_transport::{ReqwestTransport, Transport};
///
/// let transport = ReqwestTransport::builder()
///     .connect_timeout(Duration::from_secs(5))
///     .request_timeout(Duration::from_secs(20))
///     .build()?;
/// assert_eq!(transport.name(), "reqwest");
///
/// // Or bring your own client, starting from this crate's settings (TLS included):
/// let client = ReqwestTransport::builder()
///     .into_client_builder()?
///     .default_headers(http::HeaderMap::new())
///     .build()
///     .map_err(amberflo_transport::TransportError::other)?;
/// let transport = ReqwestTransport::from_client(client);
/// # Ok::<(), amberflo_transport::TransportError>(())
/// ```
#[derive(Debug, Clone)]
pub struct ReqwestTransport {
    client: reqwest::Client,
    request_timeout: Option<Duration>,
    tls: Option<TlsBackend>,
}

impl ReqwestTransport {
    /// A transport with the defaults of [`ReqwestTransportBuilder`].
    ///
    /// # Errors
    ///
    /// [`TransportError::Setup`] when the TLS stack cannot be initialized.
    pub fn new() -> Result<Self, TransportError> {
        Self::builder().build()
    }

    /// A builder for the timeouts and pool settings.
    pub fn builder() -> ReqwestTransportBuilder {
        ReqwestTransportBuilder::default()
    }

    /// Wraps an existing client; its own timeouts, TLS and proxy settings apply (its
    /// [`tls_backend`](Transport::tls_backend) is then unknown: `None`).
    ///
    /// Beware `reqwest::Client::new()` / `reqwest::Client::builder()`: when reqwest's only TLS
    /// backend is this crate's (feature `rustls`, which enables reqwest's `rustls-no-provider`),
    /// reqwest panics building a client unless a process-wide rustls `CryptoProvider` is
    /// installed. Start from [`ReqwestTransportBuilder::into_client_builder`] instead, which
    /// carries a ready rustls configuration.
    #[must_use]
    pub fn from_client(client: reqwest::Client) -> Self {
        Self {
            client,
            request_timeout: None,
            tls: None,
        }
    }

    /// The underlying client.
    #[must_use]
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    fn map_error(&self, error: &reqwest::Error) -> TransportError {
        let message = error_chain(error);
        let source = Some(std::sync::Arc::new(error_chain_owned(error)) as _);
        if error.is_connect() {
            TransportError::Connect { message, source }
        } else if error.is_timeout() {
            TransportError::Timeout {
                timeout: self.request_timeout,
            }
        } else if error.is_builder() {
            TransportError::InvalidRequest { message }
        } else if error.is_body() || error.is_decode() || error.is_request() {
            TransportError::Io { message, source }
        } else {
            TransportError::Other { message, source }
        }
    }
}

/// reqwest's error is not `Clone`; keep its text as the shared source.
fn error_chain_owned(error: &reqwest::Error) -> std::io::Error {
    std::io::Error::other(error_chain(error))
}

#[async_trait]
impl Transport for ReqwestTransport {
    async fn send(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<Bytes>, TransportError> {
        ensure_tokio("reqwest")?;
        if request.uri().scheme().is_none() || request.uri().authority().is_none() {
            return Err(TransportError::invalid_request(format!(
                "the URI `{}` is not absolute",
                request.uri()
            )));
        }
        let request = reqwest::Request::try_from(request).map_err(|e| self.map_error(&e))?;
        let mut response = self
            .client
            .execute(request)
            .await
            .map_err(|e| self.map_error(&e))?;
        let status = response.status();
        let version = response.version();
        let headers = std::mem::take(response.headers_mut());
        let body = response.bytes().await.map_err(|e| self.map_error(&e))?;
        let mut out = http::Response::new(body);
        *out.status_mut() = status;
        *out.version_mut() = version;
        *out.headers_mut() = headers;
        Ok(out)
    }

    fn name(&self) -> &'static str {
        "reqwest"
    }

    fn tls_backend(&self) -> Option<TlsBackend> {
        self.tls
    }
}

/// Settings for a [`ReqwestTransport`].
///
/// | setting | default |
/// | --- | --- |
/// | [`connect_timeout`](Self::connect_timeout) | 10 s |
/// | [`request_timeout`](Self::request_timeout) | 30 s, connect to last body byte |
/// | [`pool_idle_timeout`](Self::pool_idle_timeout) | 90 s |
/// | [`pool_max_idle_per_host`](Self::pool_max_idle_per_host) | 8 |
/// | [`tcp_keepalive`](Self::tcp_keepalive) | 60 s |
/// | [`tls_backend`](Self::tls_backend) | [`TlsBackend::default_for_build`]: native-tls when the `native-tls` feature is on, else rustls |
#[derive(Debug, Clone)]
#[must_use]
pub struct ReqwestTransportBuilder {
    settings: ConnectionSettings,
    tls: Option<TlsBackend>,
}

impl Default for ReqwestTransportBuilder {
    fn default() -> Self {
        Self {
            settings: ConnectionSettings::default(),
            tls: TlsBackend::default_for_build(),
        }
    }
}

impl ReqwestTransportBuilder {
    connection_setters!();

    /// The TLS library for `https://`; it must be compiled in (features `rustls`,
    /// `native-tls`), or [`build`](Self::build) fails naming it.
    ///
    /// ```
    /// use amberflo_transport::{ReqwestTransport, TlsBackend, Transport};
    ///
    /// # #[cfg(feature = "rustls")] {
    /// let transport = ReqwestTransport::builder().tls_backend(TlsBackend::Rustls).build()?;
    /// assert_eq!(transport.tls_backend(), Some(TlsBackend::Rustls));
    /// # }
    /// # Ok::<(), amberflo_transport::TransportError>(())
    /// ```
    pub fn tls_backend(mut self, backend: TlsBackend) -> Self {
        self.tls = Some(backend);
        self
    }

    /// Builds the transport.
    ///
    /// # Errors
    ///
    /// [`TransportError::Setup`] when the TLS stack cannot be initialized, or the chosen TLS
    /// library is not compiled in.
    pub fn build(self) -> Result<ReqwestTransport, TransportError> {
        let request_timeout = self.settings.request_timeout;
        let tls = self.tls;
        let client = self
            .into_client_builder()?
            .build()
            .map_err(|e| TransportError::Setup {
                message: error_chain(&e),
                source: Some(std::sync::Arc::new(e)),
            })?;
        Ok(ReqwestTransport {
            client,
            request_timeout: Some(request_timeout),
            tls,
        })
    }

    /// A `reqwest::ClientBuilder` with these settings and this crate's TLS configuration
    /// (HTTP/1.1 only, no redirects), to customize further and pass to
    /// [`ReqwestTransport::from_client`].
    ///
    /// # Errors
    ///
    /// As [`build`](Self::build).
    pub fn into_client_builder(self) -> Result<reqwest::ClientBuilder, TransportError> {
        let builder = reqwest::Client::builder()
            .connect_timeout(self.settings.connect_timeout)
            .timeout(self.settings.request_timeout)
            .pool_idle_timeout(self.settings.pool_idle_timeout)
            .pool_max_idle_per_host(self.settings.pool_max_idle_per_host)
            .tcp_keepalive(self.settings.tcp_keepalive)
            .tcp_nodelay(true)
            .http1_only()
            .redirect(reqwest::redirect::Policy::none());
        // Arms for libraries this build lacks are cut out; the last arm then refuses them.
        #[allow(unreachable_patterns)]
        match self.tls {
            None => Ok(builder),
            #[cfg(feature = "native-tls")]
            Some(TlsBackend::NativeTls) => Ok(builder.tls_backend_native()),
            #[cfg(feature = "rustls")]
            Some(TlsBackend::Rustls) => rustls(builder),
            Some(backend) => Err(TransportError::Setup {
                message: format!(
                    "the TLS backend {backend:?} is not compiled in (enable its feature)"
                ),
                source: None,
            }),
        }
    }
}

/// rustls with the ring provider, passed as a ready `ClientConfig` so reqwest needs no
/// process-wide default provider (and never panics for the lack of one).
#[cfg(feature = "rustls")]
fn rustls(builder: reqwest::ClientBuilder) -> Result<reqwest::ClientBuilder, TransportError> {
    let mut config = crate::tls::client_config()?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(builder.tls_backend_preconfigured(config))
}
