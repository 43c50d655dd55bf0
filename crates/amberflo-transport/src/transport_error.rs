//! [`TransportError`]: why an exchange produced no complete response.

use std::error::Error as StdError;
use std::sync::Arc;
use std::time::Duration;

/// A shared, cloneable underlying error, kept as the `source()` of this crate's errors.
pub type SharedError = Arc<dyn StdError + Send + Sync + 'static>;

/// Why a [`Transport`](crate::Transport) produced no complete HTTP response.
///
/// A non-2xx status is *not* a transport error: it is a response. This type covers the
/// exchanges that never got one.
///
/// | variant | meaning | [`is_retryable`](Self::is_retryable) |
/// | --- | --- | --- |
/// | `Connect` | no connection (refused, DNS, TLS handshake, connect timeout); the request was not sent | yes |
/// | `Timeout` | the request timeout elapsed before the whole response arrived | yes |
/// | `Io` | the connection broke while sending or reading (reset, truncated body) | yes |
/// | `InvalidRequest` | the request could not be sent as built (bad URI, unsupported scheme) | no |
/// | `Setup` | the transport itself could not be built (TLS roots, settings) | no |
/// | `ResponseTooLarge` | the response body was over the transport's `max_response_bytes` | no |
/// | `Redirected` | the response came from another URL than the one requested | no |
/// | `Other` | anything else | no |
///
/// The type is `Clone` (sources are held in an [`Arc`]) so scripted mocks and retry loops can
/// hand the same error around.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// No connection could be made; the request never left this machine.
    #[error("could not connect: {message}")]
    Connect {
        /// What went wrong, for humans.
        message: String,
        /// The underlying error, if any.
        #[source]
        source: Option<SharedError>,
    },
    /// The whole exchange did not finish within the request timeout.
    #[error("{}", timeout_message(*.timeout))]
    Timeout {
        /// The timeout that elapsed, when known.
        timeout: Option<Duration>,
    },
    /// The connection failed while sending the request or reading the response.
    #[error("I/O error during the exchange: {message}")]
    Io {
        /// What went wrong, for humans.
        message: String,
        /// The underlying error, if any.
        #[source]
        source: Option<SharedError>,
    },
    /// The request could not be sent as built.
    #[error("invalid request: {message}")]
    InvalidRequest {
        /// What is wrong with the request.
        message: String,
    },
    /// The transport could not be constructed.
    #[error("could not build the transport: {message}")]
    Setup {
        /// What went wrong, for humans.
        message: String,
        /// The underlying error, if any.
        #[source]
        source: Option<SharedError>,
    },
    /// The response body was longer than the transport accepts; reading stopped there.
    #[error("the response body is over the {limit}-byte limit")]
    ResponseTooLarge {
        /// The limit, in bytes (`max_response_bytes`).
        limit: usize,
    },
    /// The response came from another URL than the one requested (a client that followed a
    /// redirect). Built-in transports never follow redirects; nothing was delivered.
    #[error("the request was redirected; redirects are never followed")]
    Redirected,
    /// Any other failure.
    #[error("transport error: {message}")]
    Other {
        /// What went wrong, for humans.
        message: String,
        /// The underlying error, if any.
        #[source]
        source: Option<SharedError>,
    },
}

fn timeout_message(timeout: Option<Duration>) -> String {
    match timeout {
        Some(t) => format!("request timed out after {t:?}"),
        None => "request timed out".to_owned(),
    }
}

impl TransportError {
    /// A connect failure caused by `source`.
    pub fn connect(source: impl StdError + Send + Sync + 'static) -> Self {
        Self::Connect {
            message: source.to_string(),
            source: Some(Arc::new(source)),
        }
    }

    /// A timeout after `timeout`.
    pub fn timeout(timeout: Duration) -> Self {
        Self::Timeout {
            timeout: Some(timeout),
        }
    }

    /// An I/O failure during the exchange caused by `source`.
    pub fn io(source: impl StdError + Send + Sync + 'static) -> Self {
        Self::Io {
            message: source.to_string(),
            source: Some(Arc::new(source)),
        }
    }

    /// An invalid request, described by `message`.
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::InvalidRequest {
            message: message.into(),
        }
    }

    /// Any other failure caused by `source`.
    pub fn other(source: impl StdError + Send + Sync + 'static) -> Self {
        Self::Other {
            message: source.to_string(),
            source: Some(Arc::new(source)),
        }
    }

    /// Whether trying the same request again may succeed: true for connect failures,
    /// timeouts and I/O errors.
    ///
    /// ```
    /// use std::time::Duration;
    /// use amberflo_transport::TransportError;
    ///
    /// assert!(TransportError::timeout(Duration::from_secs(1)).is_retryable());
    /// assert!(!TransportError::invalid_request("no host").is_retryable());
    /// ```
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Connect { .. } | Self::Timeout { .. } | Self::Io { .. }
        )
    }

    /// Whether this is a [`Connect`](Self::Connect) failure.
    #[must_use]
    pub fn is_connect(&self) -> bool {
        matches!(self, Self::Connect { .. })
    }

    /// Whether this is a [`Timeout`](Self::Timeout).
    #[must_use]
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Timeout { .. })
    }

    /// Whether this is an [`Io`](Self::Io) failure.
    #[must_use]
    pub fn is_io(&self) -> bool {
        matches!(self, Self::Io { .. })
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    #[test]
    fn retryability_by_variant() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert!(TransportError::connect(io).is_retryable());
        assert!(TransportError::timeout(Duration::from_millis(5)).is_retryable());
        let reset = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        assert!(TransportError::io(reset).is_retryable());
        assert!(!TransportError::invalid_request("bad").is_retryable());
        let other = std::io::Error::other("x");
        assert!(!TransportError::other(other).is_retryable());
    }

    #[test]
    fn keeps_source_and_clones() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let err = TransportError::connect(io);
        let copy = err.clone();
        assert_eq!(copy.to_string(), err.to_string());
        assert!(copy.source().is_some());
        assert_eq!(copy.to_string(), "could not connect: refused");
        assert!(copy.is_connect() && !copy.is_timeout() && !copy.is_io());
    }

    #[test]
    fn timeout_display_names_duration() {
        let err = TransportError::timeout(Duration::from_millis(250));
        assert_eq!(err.to_string(), "request timed out after 250ms");
        assert!(err.is_timeout());
    }
}
