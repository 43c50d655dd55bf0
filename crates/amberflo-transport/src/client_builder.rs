//! [`ApiClientBuilder`]: settings for an [`ApiClient`], checked in [`build`](ApiClientBuilder::build).

use std::fmt;
use std::sync::Arc;

use crate::{
    ApiClient, ApiKey, BuiltinOptions, Error, Transport, TransportKind, defaults, url_policy,
};

/// Settings for an [`ApiClient`].
///
/// | setting | default |
/// | --- | --- |
/// | [`api_url`](Self::api_url) | `https://app.amberflo.io` |
/// | [`ingest_url`](Self::ingest_url) | `https://ingest.amberflo.io` |
/// | [`allow_insecure_http`](Self::allow_insecure_http) | `false`: `http://` only to loopback |
/// | [`max_decoded_bytes`](Self::max_decoded_bytes) | [`MAX_DECODED_BYTES`](defaults::MAX_DECODED_BYTES) (128 MiB) |
/// | [`transport`](Self::transport) | the built-in transport of [`TransportKind::default_for_build`] (reqwest, else hyper) with its defaults; required in a build with neither |
///
/// ```
/// use amberflo_transport::{ApiClient, ApiKey, Error};
///
/// let err = ApiClient::builder(ApiKey::new("k")?)
///     .api_url("http://amberflo.example")
///     .build()
///     .unwrap_err();
/// assert!(matches!(err, Error::InvalidConfig { field: "api_url", .. }));
/// # Ok::<(), Error>(())
/// ```
#[must_use]
pub struct ApiClientBuilder {
    api_key: ApiKey,
    api_url: String,
    ingest_url: String,
    allow_insecure_http: bool,
    max_decoded_bytes: usize,
    transport: Option<Arc<dyn Transport>>,
}

impl ApiClientBuilder {
    /// A builder with the defaults above and `api_key`.
    pub fn new(api_key: ApiKey) -> Self {
        Self {
            api_key,
            api_url: defaults::API_URL.to_owned(),
            ingest_url: defaults::INGEST_URL.to_owned(),
            allow_insecure_http: false,
            max_decoded_bytes: defaults::MAX_DECODED_BYTES,
            transport: None,
        }
    }

    /// The API base URL; may carry a path prefix (`https://proxy.example/amberflo`).
    pub fn api_url(mut self, url: impl Into<String>) -> Self {
        self.api_url = url.into();
        self
    }

    /// The ingest base URL; may carry a path prefix.
    pub fn ingest_url(mut self, url: impl Into<String>) -> Self {
        self.ingest_url = url.into();
        self
    }

    /// Allows `http://` base URLs to non-loopback hosts, which sends the API key in clear text.
    /// Plain http to `127.0.0.0/8`, `::1` and `localhost` is always allowed.
    pub fn allow_insecure_http(mut self) -> Self {
        self.allow_insecure_http = true;
        self
    }

    /// The most memory an answer may take once decoded (default 128 MiB, twice the built-in
    /// transports' response cap): strings count their length, list elements and map entries
    /// what the collections holding them allocate. An answer over it is an
    /// [`Error::Decode`] before it is built, so that an answer of tiny elements (`[{},{},…]`,
    /// a few bytes each in JSON, a whole struct each decoded) cannot take many times the
    /// response cap. Lower it with the response cap: twice the cap keeps a call within about
    /// three times the cap.
    ///
    /// ```
    /// # #[cfg(feature = "mock")] {
    /// use amberflo_transport::{ApiClient, ApiKey, Error, MockReply, MockTransport};
    ///
    /// let mock = MockTransport::new();
    /// mock.push_reply(MockReply::text(200, format!("[{}]", vec!["[]"; 1000].join(","))));
    /// let client = ApiClient::builder(ApiKey::new("k")?)
    ///     .max_decoded_bytes(16 * 1024)
    ///     .transport(mock)
    ///     .build()?;
    /// # let rt = tokio::runtime::Builder::new_current_thread().build().map_err(|e| e.to_string())?;
    /// let answer = rt.block_on(client.get_json::<_, Vec<Vec<String>>>("/lists", &()));
    /// assert!(matches!(answer, Err(Error::Decode { .. })));
    /// # }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn max_decoded_bytes(mut self, limit: usize) -> Self {
        self.max_decoded_bytes = limit;
        self
    }

    /// The transport to send through.
    pub fn transport<T: Transport + 'static>(self, transport: T) -> Self {
        self.shared_transport(Arc::new(transport))
    }

    /// The transport to send through, already shared.
    pub fn shared_transport(mut self, transport: Arc<dyn Transport>) -> Self {
        self.transport = Some(transport);
        self
    }

    /// Checks the settings and builds the client.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] naming `api_url` or `ingest_url` for a URL the policy refuses,
    /// or `transport` when none was given and this build has no default; [`Error::Transport`]
    /// when the default transport cannot be built.
    pub fn build(self) -> Result<ApiClient, Error> {
        let api_url =
            url_policy::check_base_url("api_url", &self.api_url, self.allow_insecure_http)?;
        let ingest_url =
            url_policy::check_base_url("ingest_url", &self.ingest_url, self.allow_insecure_http)?;
        let transport = match self.transport {
            Some(t) => t,
            None => default_transport()?,
        };
        tracing::debug!(
            transport = transport.name(),
            api_url = api_url.as_str(),
            ingest_url = ingest_url.as_str(),
            "amberflo api client built"
        );
        Ok(ApiClient::from_parts(
            transport,
            self.api_key,
            api_url,
            ingest_url,
            self.max_decoded_bytes,
        ))
    }
}

/// The transport of [`TransportKind::default_for_build`], with its default settings.
fn default_transport() -> Result<Arc<dyn Transport>, Error> {
    let kind = TransportKind::default_for_build().ok_or_else(|| {
        Error::invalid_config(
            "transport",
            "this build has no transport (enable the `reqwest` or `hyper` feature); \
             pass one with ApiClientBuilder::transport",
        )
    })?;
    Ok(kind.build(&BuiltinOptions::default())?)
}

impl fmt::Debug for ApiClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiClientBuilder")
            .field("api_key", &self.api_key)
            .field("api_url", &url_policy::redacted_url(&self.api_url))
            .field("ingest_url", &url_policy::redacted_url(&self.ingest_url))
            .field("allow_insecure_http", &self.allow_insecure_http)
            .field("max_decoded_bytes", &self.max_decoded_bytes)
            .field("transport", &self.transport.as_ref().map(|t| t.name()))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use async_trait::async_trait;
    use bytes::Bytes;

    use super::*;
    use crate::TransportError;

    struct Nop;

    #[async_trait]
    impl Transport for Nop {
        async fn send(
            &self,
            _request: http::Request<Bytes>,
        ) -> Result<http::Response<Bytes>, TransportError> {
            Ok(http::Response::new(Bytes::new()))
        }
    }

    const SECRET: &str = "super-secret-key-123";

    #[test]
    fn debug_output_never_shows_the_key() {
        let builder = ApiClient::builder(ApiKey::new(SECRET).unwrap()).transport(Nop);
        let shown = format!("{builder:?} {builder:#?}");
        assert!(!shown.contains(SECRET), "{shown}");
        assert!(shown.contains("ApiKey(***)"));
        let client = builder.build().unwrap();
        let shown = format!("{client:?} {client:#?}");
        assert!(!shown.contains(SECRET), "{shown}");
        assert!(shown.contains("ApiKey(***)") && shown.contains("\"custom\""));
    }

    #[test]
    fn defaults_and_overrides() {
        let key = ApiKey::new("k").unwrap();
        let client = ApiClient::builder(key.clone())
            .transport(Nop)
            .build()
            .unwrap();
        assert_eq!(client.api_url().as_str(), "https://app.amberflo.io/");
        assert_eq!(client.ingest_url().as_str(), "https://ingest.amberflo.io/");
        let client = ApiClient::builder(key)
            .transport(Nop)
            .api_url("http://127.0.0.1:1/api/")
            .ingest_url("http://[::1]:2")
            .build()
            .unwrap();
        assert_eq!(client.api_url().as_str(), "http://127.0.0.1:1/api");
        assert_eq!(client.ingest_url().as_str(), "http://[::1]:2/");
    }

    #[test]
    fn url_policy_names_the_field() {
        let key = ApiKey::new("k").unwrap();
        let err = ApiClient::builder(key.clone())
            .transport(Nop)
            .ingest_url("http://ingest.amberflo.io")
            .build()
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidConfig {
                    field: "ingest_url",
                    ..
                }
            ),
            "{err:?}"
        );
        let ok = ApiClient::builder(key)
            .transport(Nop)
            .ingest_url("http://ingest.amberflo.io")
            .allow_insecure_http()
            .build();
        assert!(ok.is_ok());
    }

    #[cfg(not(any(feature = "reqwest", feature = "hyper")))]
    #[test]
    fn no_default_transport_is_a_config_error_not_a_panic() {
        let err = ApiClient::builder(ApiKey::new("k").unwrap())
            .build()
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidConfig {
                    field: "transport",
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[cfg(any(feature = "reqwest", feature = "hyper"))]
    #[test]
    fn the_default_transport_follows_the_precedence() {
        let client = ApiClient::builder(ApiKey::new("k").unwrap())
            .build()
            .unwrap();
        let expected = if cfg!(feature = "reqwest") {
            "reqwest"
        } else {
            "hyper"
        };
        assert_eq!(client.transport().name(), expected);
    }
}
