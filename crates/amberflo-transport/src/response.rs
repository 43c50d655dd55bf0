//! Classifying responses: 2xx gives the body, anything else an [`ApiError`].

use std::time::SystemTime;

use bytes::Bytes;
use serde::de::DeserializeOwned;

use crate::{ApiError, Error, retry_after};

/// Turns a response into its body when the status is 2xx, or an [`ApiError`] carrying the
/// status, the body text and the `Retry-After` wait (relative to now) otherwise.
///
/// # Errors
///
/// [`ApiError`] for any non-2xx status.
pub(crate) fn classify_response(response: http::Response<Bytes>) -> Result<Bytes, ApiError> {
    classify_at(response, SystemTime::now())
}

pub(crate) fn classify_at(
    response: http::Response<Bytes>,
    now: SystemTime,
) -> Result<Bytes, ApiError> {
    let (parts, body) = response.into_parts();
    if parts.status.is_success() {
        return Ok(body);
    }
    Err(ApiError::new(
        parts.status,
        &body,
        retry_after::from_headers(&parts.headers, now),
    ))
}

/// Decodes a 2xx JSON body into at most `max_decoded_bytes` of memory (see
/// [`decode_budget`](crate::decode_budget)); an empty body decodes as JSON `null` (so `()` and
/// `Option<T>` work).
pub(crate) fn decode_json<R: DeserializeOwned>(
    body: &[u8],
    max_decoded_bytes: usize,
) -> Result<R, Error> {
    let trimmed = body.trim_ascii();
    let json: &[u8] = if trimmed.is_empty() { b"null" } else { trimmed };
    crate::decode_budget::decode(json, max_decoded_bytes).map_err(|e| Error::decode(body, e))
}

/// The text of an ingest reply (`N records were ingested`), also when sent as a JSON string.
pub(crate) fn ingest_reply(body: &[u8]) -> String {
    serde_json::from_slice::<String>(body)
        .unwrap_or_else(|_| String::from_utf8_lossy(body).trim().to_owned())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn response(
        status: u16,
        headers: &[(&str, &str)],
        body: &'static str,
    ) -> http::Response<Bytes> {
        let mut b = http::Response::builder().status(status);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(Bytes::from_static(body.as_bytes())).unwrap()
    }

    #[test]
    fn success_is_the_body() {
        for status in [200, 201, 202, 204] {
            assert_eq!(
                classify_response(response(status, &[], "ok")).unwrap(),
                "ok"
            );
        }
    }

    #[test]
    fn failure_keeps_status_body_and_retry_after() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480 - 30);
        let err = classify_at(
            response(
                429,
                &[("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")],
                "slow",
            ),
            now,
        )
        .unwrap_err();
        assert_eq!(err.status, 429);
        assert_eq!(err.body, "slow");
        assert_eq!(err.retry_after, Some(Duration::from_secs(30)));
        let err = classify_response(response(404, &[("retry-after", "x")], "nope")).unwrap_err();
        assert_eq!(err.retry_after, None);
        assert!(!err.is_retryable());
        let err = classify_response(response(302, &[], "")).unwrap_err();
        assert_eq!(err.status, 302);
    }

    #[test]
    fn decodes_json_and_empty_bodies() {
        let v: serde_json::Value = decode_json(b"{\"a\":1}", 1024).unwrap();
        assert_eq!(v["a"], 1);
        decode_json::<()>(b"", 1024).unwrap();
        assert_eq!(decode_json::<Option<u8>>(b"  ", 1024).unwrap(), None);
        let err = decode_json::<u8>(b"<html>", 1024).unwrap_err();
        assert!(matches!(err, Error::Decode { ref snippet, .. } if snippet == "<html>"));
    }

    #[test]
    fn ingest_reply_text_or_json_string() {
        assert_eq!(
            ingest_reply(b"2 records were ingested\n"),
            "2 records were ingested"
        );
        assert_eq!(
            ingest_reply(b"\"3 records were ingested\""),
            "3 records were ingested"
        );
    }
}
