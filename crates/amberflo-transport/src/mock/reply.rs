//! [`MockReply`]: one scripted answer of a [`MockTransport`](crate::MockTransport).

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

use crate::TransportError;

/// One scripted answer: a response (status, headers, body) or a transport error, optionally
/// after a delay.
///
/// ```
/// use std::time::Duration;
/// use amberflo_transport::{MockReply, TransportError};
///
/// let busy = MockReply::text(429, "slow down").with_header("retry-after", "7");
/// let slow = MockReply::ok().with_delay(Duration::from_millis(50));
/// let down = MockReply::error(TransportError::invalid_request("simulated"));
/// let usage = MockReply::json(200, &serde_json::json!([{"clientMeters": []}]));
/// ```
#[derive(Debug, Clone)]
pub struct MockReply {
    pub(crate) outcome: Outcome,
    pub(crate) delay: Option<Duration>,
}

#[derive(Debug, Clone)]
pub(crate) enum Outcome {
    Response {
        status: StatusCode,
        headers: HeaderMap,
        body: Bytes,
    },
    Error(TransportError),
}

impl MockReply {
    /// A response with `status` and an empty body. A code outside `100..=999` becomes 500
    /// (with a warning in the logs).
    pub fn status(status: u16) -> Self {
        let status = StatusCode::from_u16(status).unwrap_or_else(|_| {
            tracing::warn!(status, "MockReply: invalid status code; using 500");
            StatusCode::INTERNAL_SERVER_ERROR
        });
        Self {
            outcome: Outcome::Response {
                status,
                headers: HeaderMap::new(),
                body: Bytes::new(),
            },
            delay: None,
        }
    }

    /// `200 OK` with an empty body (the default answer).
    pub fn ok() -> Self {
        Self::status(200)
    }

    /// A `text/plain` response.
    pub fn text(status: u16, body: impl Into<String>) -> Self {
        Self::status(status)
            .with_header("content-type", "text/plain; charset=utf-8")
            .with_body(body.into())
    }

    /// An `application/json` response with `body` serialized. Should serialization fail, the
    /// reply is a 500 whose body says why (with a warning in the logs).
    pub fn json<T: serde::Serialize + ?Sized>(status: u16, body: &T) -> Self {
        match serde_json::to_vec(body) {
            Ok(json) => Self::status(status)
                .with_header("content-type", "application/json")
                .with_body(json),
            Err(error) => {
                tracing::warn!(%error, "MockReply::json: body does not serialize; using 500");
                Self::text(500, format!("MockReply::json: {error}"))
            }
        }
    }

    /// The transport fails with `error` instead of answering.
    pub fn error(error: TransportError) -> Self {
        Self {
            outcome: Outcome::Error(error),
            delay: None,
        }
    }

    /// Adds a response header (ignored, with a warning, if the name or value is invalid, or
    /// if this reply is an error).
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        if let Outcome::Response { headers, .. } = &mut self.outcome {
            match (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                (Ok(name), Ok(value)) => {
                    headers.append(name, value);
                }
                _ => tracing::warn!(name, "MockReply: invalid header ignored"),
            }
        }
        self
    }

    /// Sets the response body (ignored if this reply is an error).
    pub fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        if let Outcome::Response { body: b, .. } = &mut self.outcome {
            *b = body.into();
        }
        self
    }

    /// Waits `delay` before answering (or failing). The wait needs no async runtime.
    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }

    pub(crate) fn into_result(self) -> Result<http::Response<Bytes>, TransportError> {
        match self.outcome {
            Outcome::Response {
                status,
                headers,
                body,
            } => {
                let mut response = http::Response::new(body);
                *response.status_mut() = status;
                *response.headers_mut() = headers;
                Ok(response)
            }
            Outcome::Error(error) => Err(error),
        }
    }
}

impl Default for MockReply {
    fn default() -> Self {
        Self::ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_responses() {
        let r = MockReply::text(429, "slow")
            .with_header("retry-after", "7")
            .into_result()
            .unwrap();
        assert_eq!(r.status(), 429);
        assert_eq!(r.headers()["retry-after"], "7");
        assert_eq!(r.body(), "slow");
        let r = MockReply::status(42).into_result().unwrap();
        assert_eq!(r.status(), 500);
        let r = MockReply::ok()
            .with_header("bad header", "x")
            .into_result()
            .unwrap();
        assert!(r.headers().is_empty());
    }

    #[test]
    fn error_replies_fail() {
        let e = MockReply::error(TransportError::invalid_request("x"))
            .with_body("ignored")
            .into_result()
            .unwrap_err();
        assert!(matches!(e, TransportError::InvalidRequest { .. }));
    }
}
