//! The per-request pipeline: read the body (bounded), apply faults and authentication to API
//! requests, route, and turn a panicking handler into a 500 instead of a lost connection.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::{CONTENT_LENGTH, RETRY_AFTER};
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Incoming;

use super::request::normalize;
use super::respond::{self, Reply};
use super::{ApiRequest, Shared};
use crate::faults::Action;
use crate::routes::{self, Route};
use crate::stats::Counters;

/// The header carrying the API key.
const API_KEY_HEADER: &str = "x-api-key";

/// Returned instead of a response to make hyper close the connection without answering.
#[derive(Debug, thiserror::Error)]
#[error("connection dropped by an injected fault")]
pub(crate) struct Dropped;

type Pipeline = Pin<Box<dyn Future<Output = Result<Reply, Dropped>> + Send>>;

/// Handles one request; a panic anywhere in it becomes a 500.
pub(crate) fn handle(shared: Arc<Shared>, request: Request<Incoming>) -> CatchPanic {
    CatchPanic {
        inner: Box::pin(pipeline(Arc::clone(&shared), request)),
        shared,
    }
}

/// A future that answers 500 if the request's future panics while polled.
pub(crate) struct CatchPanic {
    inner: Pipeline,
    shared: Arc<Shared>,
}

impl Future for CatchPanic {
    type Output = Result<Reply, Dropped>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = &mut self.inner;
        match std::panic::catch_unwind(AssertUnwindSafe(|| inner.as_mut().poll(cx))) {
            Ok(poll) => poll,
            Err(_) => {
                Counters::bump(&self.shared.counters.panics);
                tracing::error!("a request handler panicked; answering 500");
                // The pipeline is done for: a later poll would be a poll after panic.
                self.inner = Box::pin(std::future::pending());
                Poll::Ready(Ok(respond::error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error in the emulator",
                )))
            }
        }
    }
}

/// Compares two strings in time that depends only on their lengths.
fn same_key(given: &[u8], expected: &[u8]) -> bool {
    given.len() == expected.len()
        && given
            .iter()
            .zip(expected)
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
}

fn authorized(shared: &Shared, headers: &HeaderMap) -> bool {
    let Some(expected) = &shared.config.api_key else {
        return true;
    };
    headers
        .get(API_KEY_HEADER)
        .is_some_and(|given| same_key(given.as_bytes(), expected.as_bytes()))
}

fn too_large(limit: usize) -> Reply {
    respond::error(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("request body exceeds the limit of {limit} bytes"),
    )
}

async fn pipeline(shared: Arc<Shared>, request: Request<Incoming>) -> Result<Reply, Dropped> {
    let (parts, body) = request.into_parts();
    let raw_path = parts.uri.path();
    let path = normalize(raw_path).to_owned();
    let route = Route::resolve(&path);
    // Unknown paths are treated like API paths (auth, faults, counters) before their 404.
    let is_api = route.as_ref().is_none_or(Route::is_api);
    if is_api {
        Counters::bump(&shared.counters.requests);
    }
    tracing::debug!(method = %parts.method, path = %raw_path, "request");

    let limit = shared.config.max_body_bytes;
    let declared = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Ok(too_large(limit));
    }
    let body = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.downcast_ref::<LengthLimitError>().is_some() => {
            return Ok(too_large(limit));
        }
        Err(error) => {
            tracing::debug!(%error, "cannot read a request body");
            return Ok(respond::bad_request(format!(
                "cannot read the request body: {error}"
            )));
        }
    };

    if is_api {
        if let Some(latency) = shared.faults.latency() {
            tokio::time::sleep(latency).await;
        }
        match shared.faults.decide(raw_path) {
            Action::Proceed => {}
            Action::Drop => {
                Counters::bump(&shared.counters.faulted);
                Counters::bump(&shared.counters.dropped);
                tracing::info!(path = %raw_path, "fault: dropping the connection");
                return Err(Dropped);
            }
            Action::Fail {
                status,
                retry_after,
                message,
            } => {
                Counters::bump(&shared.counters.faulted);
                tracing::info!(path = %raw_path, %status, "fault: failing the request");
                let mut reply = respond::error(status, message);
                if let Some(retry_after) = retry_after {
                    reply.headers_mut().insert(RETRY_AFTER, retry_after);
                }
                return Ok(reply);
            }
        }
        if !authorized(&shared, &parts.headers) {
            Counters::bump(&shared.counters.unauthorized);
            return Ok(respond::error(
                StatusCode::UNAUTHORIZED,
                "missing or invalid X-API-KEY header",
            ));
        }
    }

    let Some(route) = route else {
        return Ok(respond::error(
            StatusCode::NOT_FOUND,
            format!("no such endpoint: {raw_path}"),
        ));
    };
    let request = ApiRequest {
        method: parts.method,
        query: parts.uri.query().unwrap_or_default().to_owned(),
        headers: parts.headers,
        body,
    };
    Ok(routes::dispatch(&shared, &route, &request))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EmulatorBuilder;

    #[tokio::test]
    async fn a_panicking_handler_answers_500() {
        let shared = Arc::new(Shared::new(
            EmulatorBuilder::default(),
            "http://x".to_owned(),
        ));
        let panicking = CatchPanic {
            inner: Box::pin(async { panic!("handler bug") }),
            shared: Arc::clone(&shared),
        };
        let reply = panicking.await.expect("a reply, not a dropped connection");
        assert_eq!(reply.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(shared.stats().handler_panics, 1);
    }

    #[test]
    fn key_comparison() {
        assert!(same_key(b"secret", b"secret"));
        assert!(!same_key(b"secreT", b"secret"));
        assert!(!same_key(b"secret2", b"secret"));
        assert!(!same_key(b"", b"secret"));
    }
}
