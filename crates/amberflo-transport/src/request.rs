//! Building Amberflo requests: URL from base + path + query, the standard headers, the body.

use bytes::Bytes;
use http::header::{ACCEPT, CONTENT_ENCODING, CONTENT_TYPE, USER_AGENT as USER_AGENT_HEADER};
use http::{HeaderName, HeaderValue, Method};
use serde::Serialize;
use url::Url;

use crate::{ApiKey, Error};

/// The `User-Agent` this crate sends: `amberflo-rs/<crate version>`.
pub const USER_AGENT: &str = concat!("amberflo-rs/", env!("CARGO_PKG_VERSION"));

/// The header carrying the API key.
pub const API_KEY_HEADER: &str = "x-api-key";

/// A request body and how it is encoded on the wire.
#[derive(Debug, Clone)]
pub(crate) enum Body {
    /// No body.
    Empty,
    /// Plain JSON.
    Json(Bytes),
    /// Gzipped JSON, sent with `Content-Encoding: gzip`.
    GzipJson(Bytes),
}

/// `base` + `path` + `?query`, where `query` is any `Serialize` value serde_urlencoded accepts
/// (a struct, a map, a slice of pairs, or `()` for none).
pub(crate) fn url_for<Q: Serialize + ?Sized>(
    base: &Url,
    path: &str,
    query: &Q,
) -> Result<String, Error> {
    let query =
        serde_urlencoded::to_string(query).map_err(|e| Error::encode("query parameters", e))?;
    let base = base.as_str().trim_end_matches('/');
    let mut url = String::with_capacity(base.len() + path.len() + query.len() + 2);
    url.push_str(base);
    if !path.starts_with('/') {
        url.push('/');
    }
    url.push_str(path);
    if !query.is_empty() {
        url.push(if path.contains('?') { '&' } else { '?' });
        url.push_str(&query);
    }
    Ok(url)
}

/// A complete request with Amberflo's headers.
pub(crate) fn build(
    key: &ApiKey,
    method: Method,
    url: &str,
    body: Body,
) -> Result<http::Request<Bytes>, Error> {
    let (bytes, gzip) = match body {
        Body::Empty => (Bytes::new(), false),
        Body::Json(b) => (b, false),
        Body::GzipJson(b) => (b, true),
    };
    let mut builder = http::Request::builder()
        .method(method)
        .uri(url)
        .header(
            HeaderName::from_static(API_KEY_HEADER),
            key.header_value().clone(),
        )
        .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
        .header(ACCEPT, HeaderValue::from_static("application/json"))
        .header(USER_AGENT_HEADER, HeaderValue::from_static(USER_AGENT));
    if gzip {
        builder = builder.header(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    builder
        .body(bytes)
        .map_err(|e| Error::encode("HTTP request", e))
}

/// Serializes `body` to JSON.
pub(crate) fn json<B: Serialize + ?Sized>(body: &B) -> Result<Bytes, Error> {
    serde_json::to_vec(body)
        .map(Bytes::from)
        .map_err(|e| Error::encode("JSON body", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(s: &str) -> Url {
        crate::url_policy::check_base_url("api_url", s, false).unwrap()
    }

    #[test]
    fn joins_paths_and_queries() {
        let b = base("https://app.amberflo.io");
        assert_eq!(
            url_for(&b, "/customers/", &()).unwrap(),
            "https://app.amberflo.io/customers/"
        );
        assert_eq!(
            url_for(&b, "customers/", &[("customerId", "a b&c")]).unwrap(),
            "https://app.amberflo.io/customers/?customerId=a+b%26c"
        );
        assert_eq!(
            url_for(&b, "/ingest?schemaDetection=AUTO", &()).unwrap(),
            "https://app.amberflo.io/ingest?schemaDetection=AUTO"
        );
        assert_eq!(
            url_for(&b, "/ingest?schemaDetection=AUTO", &[("x", "1")]).unwrap(),
            "https://app.amberflo.io/ingest?schemaDetection=AUTO&x=1"
        );
        let prefixed = base("http://127.0.0.1:9/prefix/");
        assert_eq!(
            url_for(&prefixed, "/usage/", &()).unwrap(),
            "http://127.0.0.1:9/prefix/usage/"
        );
    }

    #[test]
    fn query_from_a_struct_skips_none() {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Q {
            customer_id: &'static str,
            product_id: Option<&'static str>,
        }
        let b = base("https://app.amberflo.io");
        let q = Q {
            customer_id: "c1",
            product_id: None,
        };
        assert_eq!(
            url_for(&b, "/x", &q).unwrap(),
            "https://app.amberflo.io/x?customerId=c1"
        );
    }

    #[test]
    fn unserializable_query_is_an_encode_error() {
        let b = base("https://app.amberflo.io");
        let nested = serde_json::json!({"a": {"b": 1}});
        assert!(matches!(
            url_for(&b, "/x", &nested),
            Err(Error::Encode { .. })
        ));
    }

    #[test]
    fn sets_the_standard_headers() {
        let key = ApiKey::new("k").unwrap();
        let req = build(
            &key,
            Method::POST,
            "https://ingest.amberflo.io/ingest/",
            Body::GzipJson(Bytes::from_static(b"gz")),
        )
        .unwrap();
        let h = req.headers();
        assert_eq!(h["x-api-key"], "k");
        assert_eq!(h["content-type"], "application/json");
        assert_eq!(h["accept"], "application/json");
        assert_eq!(h["user-agent"], USER_AGENT);
        assert_eq!(h["content-encoding"], "gzip");
        assert!(USER_AGENT.starts_with("amberflo-rs/0."));
        let plain = build(&key, Method::GET, "https://a.io/x", Body::Empty).unwrap();
        assert!(plain.headers().get("content-encoding").is_none());
        assert!(plain.body().is_empty());
    }
}
