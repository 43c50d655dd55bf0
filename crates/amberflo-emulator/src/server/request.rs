//! [`ApiRequest`]: a request with its body read (bounded), and helpers to get at its query
//! parameters and its JSON body (gzip or plain).

use std::borrow::Cow;

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use serde::de::DeserializeOwned;

use super::respond::Failure;
use crate::ingest::{self, BodyEncoding, IngestError};

/// A request as the routes see it.
#[derive(Debug)]
pub(crate) struct ApiRequest {
    pub(crate) method: Method,
    /// The raw query string ("" when absent).
    pub(crate) query: String,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

/// Strips one trailing `/` so that `/ingest` and `/ingest/` are the same route.
pub(crate) fn normalize(path: &str) -> &str {
    match path.strip_suffix('/') {
        Some(stripped) if !stripped.is_empty() => stripped,
        _ => path,
    }
}

/// Decodes `%XX` escapes of a path segment (invalid escapes are kept as they are).
pub(crate) fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        if byte == b'%'
            && let Some(hex) = bytes.get(index + 1..index + 3)
            && let Ok(hex) = std::str::from_utf8(hex)
            && let Ok(value) = u8::from_str_radix(hex, 16)
        {
            decoded.push(value);
            index += 3;
            continue;
        }
        decoded.push(byte);
        index += 1;
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

impl ApiRequest {
    /// The body's encoding from `Content-Encoding`, or a 415 for one the emulator lacks.
    pub(crate) fn encoding(&self) -> Result<BodyEncoding, Failure> {
        let Some(value) = self.headers.get(http::header::CONTENT_ENCODING) else {
            return Ok(BodyEncoding::Identity);
        };
        match value.to_str().map(str::trim) {
            Ok(value)
                if value.eq_ignore_ascii_case("gzip") || value.eq_ignore_ascii_case("x-gzip") =>
            {
                Ok(BodyEncoding::Gzip)
            }
            Ok(value) if value.is_empty() || value.eq_ignore_ascii_case("identity") => {
                Ok(BodyEncoding::Identity)
            }
            _ => Err(Failure::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported Content-Encoding; send gzip or plain JSON",
            )),
        }
    }

    /// The query parameters, in order.
    pub(crate) fn params(&self) -> Vec<(String, String)> {
        serde_urlencoded::from_str(&self.query).unwrap_or_default()
    }

    /// One query parameter, its name matched case-insensitively (`CustomerId` or
    /// `customerId`); the last one wins.
    pub(crate) fn param(&self, name: &str) -> Option<String> {
        self.params()
            .into_iter()
            .rev()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value)
    }

    /// The first of `names` present (a parameter with aliases), or a 400 "`names[0]` must be
    /// set" when none is.
    pub(crate) fn required_param(&self, names: &[&str]) -> Result<String, Failure> {
        names
            .iter()
            .find_map(|name| self.param(name))
            .ok_or_else(|| Failure::bad_request(format!("{} must be set", names[0])))
    }

    /// A boolean query parameter (`true`/`false`, any case), or `default` when absent.
    pub(crate) fn flag(&self, name: &str, default: bool) -> Result<bool, Failure> {
        match self.param(name) {
            None => Ok(default),
            Some(value) if value.eq_ignore_ascii_case("true") => Ok(true),
            Some(value) if value.eq_ignore_ascii_case("false") => Ok(false),
            Some(value) => Err(Failure::bad_request(format!(
                "{name} must be true or false, not {value:?}"
            ))),
        }
    }

    /// The body, decompressed if it is gzip, within the decoded-size limit.
    pub(crate) fn decoded_body(&self, max_decoded: usize) -> Result<Cow<'_, [u8]>, Failure> {
        let encoding = self.encoding()?;
        ingest::decode_body(&self.body, encoding, max_decoded).map_err(|error| ingest_error(&error))
    }

    /// The body parsed as JSON of type `T`; a 400 says what is wrong (`what` names it).
    pub(crate) fn json<T: DeserializeOwned>(
        &self,
        what: &str,
        max_decoded: usize,
    ) -> Result<T, Failure> {
        let body = self.decoded_body(max_decoded)?;
        serde_json::from_slice(&body)
            .map_err(|error| Failure::bad_request(format!("malformed {what}: {error}")))
    }
}

/// The response for an ingest (or body decoding) error.
pub(crate) fn ingest_error(error: &IngestError) -> Failure {
    let status = match error {
        IngestError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        _ => StatusCode::BAD_REQUEST,
    };
    Failure::new(status, error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_escapes() {
        assert_eq!(normalize("/ingest/"), "/ingest");
        assert_eq!(normalize("/"), "/");
        assert_eq!(percent_decode("a%20b%2Fc%zz%4"), "a b/c%zz%4");
    }
}
