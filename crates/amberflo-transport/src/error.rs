//! The crate's error type, [`Error`], and [`ApiError`] for non-2xx answers from Amberflo.

use std::sync::Arc;
use std::time::Duration;

use http::StatusCode;

use crate::TransportError;
use crate::defaults::MAX_ERROR_BODY_BYTES;
use crate::transport_error::SharedError;

/// How many characters of a response body error messages quote.
const SNIPPET_CHARS: usize = 256;

/// Everything that can go wrong talking to Amberflo.
///
/// Use [`is_retryable`](Self::is_retryable) and [`retry_after`](Self::retry_after) to decide
/// whether and when to try again.
///
/// ```
/// use amberflo_transport::{ApiError, Error};
/// use http::StatusCode;
///
/// let err = Error::from(ApiError::new(StatusCode::TOO_MANY_REQUESTS, "slow down", None));
/// assert!(err.is_retryable());
/// let err = Error::from(ApiError::new(StatusCode::BAD_REQUEST, "bad meter", None));
/// assert!(!err.is_retryable());
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The exchange produced no complete response.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// Amberflo answered with a non-2xx status.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The request could not be encoded (JSON body, query string, gzip, URL).
    #[error("could not encode the request: {message}")]
    Encode {
        /// What could not be encoded.
        message: String,
        /// The underlying error, if any.
        #[source]
        source: Option<SharedError>,
    },
    /// A 2xx response body was not the expected JSON.
    #[error("could not decode the response: {message}; body starts with {snippet:?}")]
    Decode {
        /// What the decoder said.
        message: String,
        /// The start of the body (at most 256 characters).
        snippet: String,
        /// The underlying error.
        #[source]
        source: Option<SharedError>,
    },
    /// S3 answered with a non-2xx status (feature `s3`).
    #[cfg(feature = "s3")]
    #[error(transparent)]
    S3(#[from] crate::S3Error),
    /// A setting is invalid; `field` names it (`api_key`, `api_url`, `ingest_url`, ...).
    #[error("invalid configuration for `{field}`: {reason}")]
    InvalidConfig {
        /// The setting at fault.
        field: &'static str,
        /// Why it is invalid.
        reason: String,
    },
}

impl Error {
    /// Whether trying again may succeed: retryable transport errors, and API errors with status
    /// 408, 429 or 5xx. Encoding, decoding and configuration errors are not retryable.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Transport(e) => e.is_retryable(),
            Self::Api(e) => e.is_retryable(),
            #[cfg(feature = "s3")]
            Self::S3(e) => e.is_retryable(),
            Self::Encode { .. } | Self::Decode { .. } | Self::InvalidConfig { .. } => false,
        }
    }

    /// How long Amberflo asked us to wait before retrying (its `Retry-After` header), if it did.
    #[must_use]
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Api(e) => e.retry_after,
            #[cfg(feature = "s3")]
            Self::S3(e) => e.retry_after,
            _ => None,
        }
    }

    /// The HTTP status, when Amberflo answered with a non-2xx one.
    #[must_use]
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Api(e) => Some(e.status),
            #[cfg(feature = "s3")]
            Self::S3(e) => Some(e.status),
            _ => None,
        }
    }

    pub(crate) fn invalid_config(field: &'static str, reason: impl Into<String>) -> Self {
        Self::InvalidConfig {
            field,
            reason: reason.into(),
        }
    }

    pub(crate) fn encode(
        what: &str,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::Encode {
            message: format!("{what}: {source}"),
            source: Some(Arc::new(source)),
        }
    }

    pub(crate) fn decode(body: &[u8], source: serde_json::Error) -> Self {
        Self::Decode {
            message: source.to_string(),
            snippet: snippet(body),
            source: Some(Arc::new(source)),
        }
    }
}

/// A non-2xx answer from Amberflo.
///
/// `body` keeps at most [`MAX_ERROR_BODY_BYTES`](crate::defaults::MAX_ERROR_BODY_BYTES) of the
/// response body (lossily decoded UTF-8, cut at a character boundary); `body_len` is the length
/// the server sent. `retry_after` is the server's `Retry-After` header (seconds or an HTTP
/// date, relative to the time the response arrived; dates in the past give zero), as the
/// server asked: the retry policy caps how long a retry actually waits.
///
/// ```
/// use std::time::Duration;
/// use amberflo_transport::ApiError;
/// use http::StatusCode;
///
/// let wait = Some(Duration::from_secs(3_600));
/// let error = ApiError::new(StatusCode::BAD_GATEWAY, "x".repeat(100_000), wait);
/// assert_eq!(error.body.len(), 4096);
/// assert_eq!(error.body_len, 100_000);
/// assert_eq!(error.retry_after, wait);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Amberflo answered {status}: {}", snippet(body.as_bytes()))]
#[non_exhaustive]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The start of the response body as text (at most 4 KiB).
    pub body: String,
    /// The length of the whole response body, in bytes.
    pub body_len: usize,
    /// The server's requested wait before retrying, from `Retry-After`.
    pub retry_after: Option<Duration>,
}

impl ApiError {
    /// An API error with these parts; `body` is cut to 4 KiB.
    pub fn new(status: StatusCode, body: impl AsRef<[u8]>, retry_after: Option<Duration>) -> Self {
        let body = body.as_ref();
        let mut kept = body.len().min(MAX_ERROR_BODY_BYTES);
        // Cut at a character boundary of valid UTF-8 (invalid bytes are replaced anyway).
        while kept < body.len() && kept > 0 && (body[kept] & 0xC0) == 0x80 {
            kept -= 1;
        }
        Self {
            status,
            body: String::from_utf8_lossy(&body[..kept]).into_owned(),
            body_len: body.len(),
            retry_after,
        }
    }

    /// True for 408 (request timeout), 429 (too many requests) and every 5xx; false otherwise.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        self.status == StatusCode::REQUEST_TIMEOUT
            || self.status == StatusCode::TOO_MANY_REQUESTS
            || self.status.is_server_error()
    }
}

/// The first [`SNIPPET_CHARS`] characters of `body`, lossily decoded.
pub(crate) fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    match text.char_indices().nth(SNIPPET_CHARS) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text.into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16) -> Error {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::IM_A_TEAPOT);
        Error::Api(ApiError::new(status, "x", Some(Duration::from_secs(3))))
    }

    #[test]
    fn retryable_statuses() {
        for s in [408, 429, 500, 502, 503, 504, 599] {
            assert!(api(s).is_retryable(), "{s} should be retryable");
        }
        for s in [400, 401, 403, 404, 409, 413, 422] {
            assert!(!api(s).is_retryable(), "{s} should not be retryable");
        }
    }

    #[test]
    fn retry_after_and_status_only_for_api_errors() {
        assert_eq!(api(429).retry_after(), Some(Duration::from_secs(3)));
        assert_eq!(api(429).status(), Some(StatusCode::TOO_MANY_REQUESTS));
        let t = Error::from(TransportError::timeout(Duration::from_secs(1)));
        assert_eq!(t.retry_after(), None);
        assert_eq!(t.status(), None);
        assert!(t.is_retryable());
        assert!(!Error::invalid_config("api_url", "bad").is_retryable());
    }

    #[test]
    fn decode_error_quotes_a_bounded_snippet() {
        let body = "x".repeat(1000);
        let source = serde_json::from_str::<u32>(&body).err();
        let Some(source) = source else {
            panic!("expected a parse error");
        };
        let err = Error::decode(body.as_bytes(), source);
        let Error::Decode { snippet, .. } = &err else {
            panic!("expected Decode, got {err:?}");
        };
        assert_eq!(snippet.len(), 256 + 3);
        assert!(!err.is_retryable());
    }

    #[test]
    fn snippet_respects_char_boundaries() {
        let body = "é".repeat(300);
        let s = snippet(body.as_bytes());
        assert_eq!(s.chars().count(), 256 + 3);
    }

    #[test]
    fn api_error_display() {
        let e = ApiError::new(StatusCode::BAD_REQUEST, "bad meter", None);
        assert_eq!(
            e.to_string(),
            "Amberflo answered 400 Bad Request: bad meter"
        );
    }
}
