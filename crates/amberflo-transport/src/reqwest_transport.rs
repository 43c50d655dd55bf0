//! [`ReqwestTransport`]: the default transport, on reqwest (pooled HTTP/1.1, rustls).

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

use crate::connection::{ConnectionSettings, connection_setters};
use crate::runtime::{ensure_tokio, error_chain};
use crate::{TlsBackend, Transport, TransportError};

/// A [`Transport`] on [`reqwest`]: a pooled HTTP/1.1 client with keep-alive, connect and
/// request timeouts, a response size cap, no redirects (ever: a response from another URL
/// is [`TransportError::Redirected`]), and TLS through rustls (ring provider, platform
/// verifier) or, with the `native-tls` feature, the platform's TLS library.
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
/// # Ok::<(), amberflo_transport::TransportError>(())
/// ```
#[derive(Debug, Clone)]
pub struct ReqwestTransport {
    client: reqwest::Client,
    request_timeout: Duration,
    max_response_bytes: usize,
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
                timeout: Some(self.request_timeout),
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

impl ReqwestTransport {
    /// Reads the body chunk by chunk, stopping at `max_response_bytes`.
    async fn read_body(&self, response: &mut reqwest::Response) -> Result<Bytes, TransportError> {
        let limit = self.max_response_bytes;
        let too_large = TransportError::ResponseTooLarge { limit };
        let length = response.content_length();
        if length.is_some_and(|length| length > limit as u64) {
            return Err(too_large);
        }
        // One buffer of the announced length (within the limit), so a big answer is not
        // copied as the buffer doubles; a body longer than announced still grows it.
        let announced = length.map_or(0, |length| usize::try_from(length).unwrap_or(limit));
        let mut body = bytes::BytesMut::with_capacity(announced);
        while let Some(chunk) = response.chunk().await.map_err(|e| self.map_error(&e))? {
            if body.len() + chunk.len() > limit {
                return Err(too_large);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
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
        let requested = request.url().clone();
        let mut response = self
            .client
            .execute(request)
            .await
            .map_err(|e| self.map_error(&e))?;
        // Redirects are off; a response from elsewhere would mean the key went elsewhere.
        if *response.url() != requested {
            return Err(TransportError::Redirected);
        }
        let status = response.status();
        let version = response.version();
        let headers = std::mem::take(response.headers_mut());
        let body = self.read_body(&mut response).await?;
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
/// | [`max_response_bytes`](Self::max_response_bytes) | 64 MiB |
/// | [`customize`](Self::customize) | none (redirects stay off whatever it does) |
/// | [`tls_backend`](Self::tls_backend) | [`TlsBackend::default_for_build`]: native-tls when the `native-tls` feature is on, else rustls |
#[derive(Clone)]
#[must_use]
pub struct ReqwestTransportBuilder {
    settings: ConnectionSettings,
    tls: Option<TlsBackend>,
    customize: Option<Customize>,
}

/// A user's adjustment of the reqwest client builder (proxies, root certificates, ...).
type Customize =
    std::sync::Arc<dyn Fn(reqwest::ClientBuilder) -> reqwest::ClientBuilder + Send + Sync>;

impl std::fmt::Debug for ReqwestTransportBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReqwestTransportBuilder")
            .field("settings", &self.settings)
            .field("tls", &self.tls)
            .field("customized", &self.customize.is_some())
            .finish()
    }
}

impl Default for ReqwestTransportBuilder {
    fn default() -> Self {
        Self {
            settings: ConnectionSettings::default(),
            tls: TlsBackend::default_for_build(),
            customize: None,
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

    /// Adjusts the reqwest client beyond these settings (a proxy, extra root certificates,
    /// local address, ...). It runs after this builder's settings; redirects stay off whatever
    /// it does, so the API key is only ever sent to the configured URLs.
    ///
    /// ```
    /// use amberflo_transport::ReqwestTransport;
    ///
    /// let transport = ReqwestTransport::builder()
    ///     .customize(|client| client.no_proxy().user_agent("my-app/1.0"))
    ///     .build()?;
    /// # Ok::<(), amberflo_transport::TransportError>(())
    /// ```
    pub fn customize<F>(mut self, adjust: F) -> Self
    where
        F: Fn(reqwest::ClientBuilder) -> reqwest::ClientBuilder + Send + Sync + 'static,
    {
        self.customize = Some(std::sync::Arc::new(adjust));
        self
    }

    /// Builds the transport.
    ///
    /// # Errors
    ///
    /// [`TransportError::Setup`] when the TLS stack cannot be initialized, or the chosen TLS
    /// library is not compiled in.
    pub fn build(self) -> Result<ReqwestTransport, TransportError> {
        let settings = self.settings;
        let tls = self.tls;
        let mut builder = self.client_builder()?;
        if let Some(adjust) = &self.customize {
            builder = adjust(builder);
        }
        let client = builder
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| TransportError::Setup {
                message: error_chain(&e),
                source: Some(std::sync::Arc::new(e)),
            })?;
        Ok(ReqwestTransport {
            client,
            request_timeout: settings.request_timeout,
            max_response_bytes: settings.max_response_bytes,
            tls,
        })
    }

    /// A `reqwest::ClientBuilder` with these settings and this crate's TLS configuration
    /// (HTTP/1.1 only, no redirects).
    fn client_builder(&self) -> Result<reqwest::ClientBuilder, TransportError> {
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
