//! Response builders: JSON, text and HTML bodies, and the JSON error shape
//! `{"message": "..."}` every 4xx/5xx carries.

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderValue};
use http::{Method, Response, StatusCode};
use http_body_util::Full;
use serde::Serialize;

/// The body type of every response.
pub(crate) type Body = Full<Bytes>;

/// A response ready to send.
pub(crate) type Reply = Response<Body>;

fn with_type(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Reply {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// A JSON response (a 500 if the value cannot be serialised, which would be a bug).
pub(crate) fn json<T: Serialize + ?Sized>(status: StatusCode, value: &T) -> Reply {
    match serde_json::to_vec(value) {
        Ok(body) => with_type(status, "application/json", body),
        Err(failure) => {
            tracing::error!(error = %failure, "cannot serialise a response");
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "cannot serialise the response",
            )
        }
    }
}

/// A plain-text response.
pub(crate) fn text(status: StatusCode, body: impl Into<String>) -> Reply {
    with_type(status, "text/plain; charset=utf-8", body.into())
}

/// An HTML response.
pub(crate) fn html(status: StatusCode, body: impl Into<Bytes>) -> Reply {
    with_type(status, "text/html; charset=utf-8", body)
}

/// An error response: `{"message": message}` with `status`.
pub(crate) fn error(status: StatusCode, message: impl Into<String>) -> Reply {
    #[derive(Serialize)]
    struct ErrorBody {
        message: String,
    }
    let body = ErrorBody {
        message: message.into(),
    };
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    with_type(status, "application/json", bytes)
}

/// A 400 naming what was wrong.
pub(crate) fn bad_request(message: impl Into<String>) -> Reply {
    error(StatusCode::BAD_REQUEST, message)
}

/// A 405 with the `Allow` header listing `allowed`.
pub(crate) fn method_not_allowed(method: &Method, allowed: &[Method]) -> Reply {
    let list = allowed
        .iter()
        .map(Method::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    let mut response = error(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("method {method} not allowed here; use {list}"),
    );
    if let Ok(value) = HeaderValue::from_str(&list) {
        response.headers_mut().insert(http::header::ALLOW, value);
    }
    response
}

/// A handler's refusal: a status and a message, sent as [`error`] (kept small so that
/// `Result<_, Failure>` stays cheap to return).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    status: StatusCode,
    message: String,
}

impl Failure {
    /// A refusal with `status`.
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Failure {
            status,
            message: message.into(),
        }
    }

    /// A 400 naming what was wrong.
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Failure::new(StatusCode::BAD_REQUEST, message)
    }

    /// The response to send.
    pub(crate) fn into_reply(self) -> Reply {
        error(self.status, self.message)
    }
}
