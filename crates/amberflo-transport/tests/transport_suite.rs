//! One behavioural suite, run against every real transport (reqwest and hyper) so both behave
//! identically: mockito on 127.0.0.1 where it can, raw `TcpListener` servers where it cannot.

#![cfg(any(feature = "reqwest", feature = "hyper"))]
// Helpers outside `#[test]` functions panic on failure too; that is what tests do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use amberflo_transport::{
    ApiClient, ApiKey, Error, TlsBackend, Transport, TransportError, USER_AGENT,
};
use bytes::Bytes;
use mockito::Matcher;
use serde_json::{Value, json};

/// The request timeout every suite transport is built with.
const TIMEOUT: Duration = Duration::from_millis(400);
const KEY: &str = "test-key-0123";
/// `max_response_bytes` of every transport in this suite.
const MAX_BODY: usize = 1024 * 1024;

fn client(transport: Arc<dyn Transport>, base: &str) -> ApiClient {
    ApiClient::builder(ApiKey::new(KEY).unwrap())
        .shared_transport(transport)
        .api_url(base)
        .ingest_url(base)
        .build()
        .unwrap()
}

fn get(url: &str) -> http::Request<Bytes> {
    http::Request::get(url).body(Bytes::new()).unwrap()
}

/// The tests, each generic over the transport.
mod cases {
    use super::*;

    pub async fn sends_exact_headers_and_decodes_json(t: Arc<dyn Transport>) {
        let mut server = mockito::Server::new_async().await;
        let mock = server
            .mock("GET", "/customers/")
            .match_query(Matcher::UrlEncoded("customerId".into(), "c 1&2".into()))
            .match_header("x-api-key", KEY)
            .match_header("content-type", "application/json")
            .match_header("accept", "application/json")
            .match_header("user-agent", USER_AGENT)
            .match_header("content-encoding", Matcher::Missing)
            .with_header("content-type", "application/json")
            .with_body(r#"{"customerId":"c 1&2","customerName":"Ada"}"#)
            .expect(1)
            .create_async()
            .await;
        let client = client(t, &server.url());
        let customer: Value = client
            .get_json("/customers/", &[("customerId", "c 1&2")])
            .await
            .unwrap();
        assert_eq!(customer["customerName"], "Ada");
        mock.assert_async().await;
    }

    pub async fn posts_and_puts_json_bodies(t: Arc<dyn Transport>) {
        let mut server = mockito::Server::new_async().await;
        let body = json!({"customerId": "c1", "customerName": "Ada"});
        let post = server
            .mock("POST", "/customers/")
            .match_query(Matcher::UrlEncoded(
                "autoCreateCustomerInStripe".into(),
                "true".into(),
            ))
            .match_header("content-type", "application/json")
            .match_body(Matcher::Json(body.clone()))
            .with_status(201)
            .with_body(r#"{"id":"1"}"#)
            .create_async()
            .await;
        let put = server
            .mock("PUT", "/customers/")
            .match_body(Matcher::Json(body.clone()))
            .with_body("")
            .create_async()
            .await;
        let client = client(t, &server.url());
        let created: Value = client
            .post_json(
                "/customers/",
                &[("autoCreateCustomerInStripe", "true")],
                &body,
            )
            .await
            .unwrap();
        assert_eq!(created["id"], "1");
        let () = client.put_json("/customers/", &(), &body).await.unwrap();
        post.assert_async().await;
        put.assert_async().await;
    }

    pub async fn ingest_body_is_gzipped_json(t: Arc<dyn Transport>) {
        let mut server = mockito::Server::new_async().await;
        let records = json!([
            {"uniqueId": "u1", "meterApiName": "calls", "customerId": "c1", "meterValue": 1, "meterTimeInMillis": 1},
            {"uniqueId": "u2", "meterApiName": "calls", "customerId": "c2", "meterValue": 2.5, "meterTimeInMillis": 2}
        ]);
        let expected = records.clone();
        let ingest = server
            .mock("POST", "/ingest/")
            .match_header("content-encoding", "gzip")
            .match_header("content-type", "application/json")
            .match_header("x-api-key", KEY)
            .match_request(move |req| {
                let body = req.body().unwrap();
                serde_json::from_slice::<Value>(&common::gunzip(body)).unwrap() == expected
            })
            .with_body("2 records were ingested")
            .create_async()
            .await;
        let custom = server
            .mock("POST", "/ingest")
            .match_query(Matcher::UrlEncoded("schemaDetection".into(), "AUTO".into()))
            .match_header("content-encoding", "gzip")
            .match_request(|req| {
                let body = req.body().unwrap();
                serde_json::from_slice::<Value>(&common::gunzip(body)).unwrap()
                    == json!([{"event": "signup", "plan": "pro"}])
            })
            .with_body("1 records were ingested")
            .create_async()
            .await;
        let client = client(t, &server.url());
        let records = records.as_array().unwrap();
        assert_eq!(
            client.ingest(records).await.unwrap(),
            "2 records were ingested"
        );
        let reply = client
            .ingest_custom(&json!([{"event": "signup", "plan": "pro"}]))
            .await
            .unwrap();
        assert_eq!(reply, "1 records were ingested");
        ingest.assert_async().await;
        custom.assert_async().await;
    }

    pub async fn server_error_is_a_retryable_api_error(t: Arc<dyn Transport>) {
        let mut server = mockito::Server::new_async().await;
        server
            .mock("POST", "/ingest/")
            .with_status(500)
            .with_body("internal error")
            .create_async()
            .await;
        let err = client(t, &server.url())
            .ingest(&[json!({"a": 1})])
            .await
            .unwrap_err();
        let Error::Api(api) = &err else {
            panic!("expected Api, got {err:?}")
        };
        assert_eq!(api.status, 500);
        assert_eq!(api.body, "internal error");
        assert_eq!(api.retry_after, None);
        assert!(err.is_retryable());
    }

    pub async fn client_error_is_not_retryable(t: Arc<dyn Transport>) {
        let mut server = mockito::Server::new_async().await;
        server
            .mock("POST", "/usage/")
            .with_status(400)
            .with_body(r#"{"message":"bad meter"}"#)
            .create_async()
            .await;
        let err = client(t, &server.url())
            .post_json::<_, _, Value>("/usage/", &(), &json!({}))
            .await
            .unwrap_err();
        assert_eq!(err.status(), Some(http::StatusCode::BAD_REQUEST));
        assert!(!err.is_retryable());
    }

    pub async fn retry_after_in_seconds(t: Arc<dyn Transport>) {
        let mut server = mockito::Server::new_async().await;
        server
            .mock("POST", "/ingest/")
            .with_status(429)
            .with_header("retry-after", "7")
            .with_body("slow down")
            .create_async()
            .await;
        let err = client(t, &server.url())
            .ingest(&[json!({"a": 1})])
            .await
            .unwrap_err();
        assert!(err.is_retryable());
        assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
        assert_eq!(err.status(), Some(http::StatusCode::TOO_MANY_REQUESTS));
    }

    pub async fn retry_after_as_http_date(t: Arc<dyn Transport>) {
        let mut server = mockito::Server::new_async().await;
        let date = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(60));
        server
            .mock("POST", "/ingest/")
            .with_status(429)
            .with_header("retry-after", &date)
            .create_async()
            .await;
        let err = client(t, &server.url())
            .ingest(&[json!({"a": 1})])
            .await
            .unwrap_err();
        let wait = err.retry_after().unwrap();
        // HTTP dates have whole-second precision; allow for the time the test takes.
        assert!(
            wait > Duration::from_secs(50) && wait <= Duration::from_secs(60),
            "{wait:?}"
        );
    }

    pub async fn non_2xx_is_a_response_with_headers(t: Arc<dyn Transport>) {
        let mut server = mockito::Server::new_async().await;
        server
            .mock("GET", "/busy")
            .with_status(503)
            .with_header("retry-after", "3")
            .with_body("busy")
            .create_async()
            .await;
        let response = t
            .send(get(&format!("{}/busy", server.url())))
            .await
            .unwrap();
        assert_eq!(response.status(), 503);
        assert_eq!(response.headers()["retry-after"], "3");
        assert_eq!(response.body(), "busy");
    }

    pub async fn connection_refused_is_a_retryable_connect_error(t: Arc<dyn Transport>) {
        let addr = common::refused_addr();
        let err = t
            .send(get(&format!("http://{addr}/customers/")))
            .await
            .unwrap_err();
        assert!(err.is_connect(), "{err:?}");
        assert!(err.is_retryable());
        let err = client(t, &format!("http://{addr}"))
            .ingest(&[json!({"a": 1})])
            .await
            .unwrap_err();
        assert!(matches!(
            err,
            Error::Transport(TransportError::Connect { .. })
        ));
        assert!(err.is_retryable());
    }

    pub async fn silent_server_times_out(t: Arc<dyn Transport>) {
        let addr = common::silent_server();
        let outcome =
            tokio::time::timeout(TIMEOUT * 10, t.send(get(&format!("http://{addr}/usage/"))))
                .await
                .expect("the transport ignored its request timeout");
        let err = outcome.unwrap_err();
        assert!(err.is_timeout(), "{err:?}");
        assert!(err.is_retryable());
    }

    pub async fn truncated_body_is_an_io_error(t: Arc<dyn Transport>) {
        let addr = common::truncating_server();
        let err = t
            .send(get(&format!("http://{addr}/customers/")))
            .await
            .unwrap_err();
        assert!(err.is_io(), "{err:?}");
        assert!(err.is_retryable());
    }

    pub async fn reuses_pooled_connections(t: Arc<dyn Transport>) {
        let server = common::counting_server();
        for _ in 0..5 {
            let response = t
                .send(get(&format!("http://{}/x", server.addr)))
                .await
                .unwrap();
            assert_eq!(response.body(), "ok");
            // The pool gets the connection back from its connection task asynchronously;
            // give it a moment so the next request can find it idle.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(server.requests.load(std::sync::atomic::Ordering::SeqCst), 5);
        // Five requests over one kept-alive connection; tolerate one extra should a busy
        // machine delay the connection's return to the pool.
        let connections = server.connections.load(std::sync::atomic::Ordering::SeqCst);
        assert!(connections <= 2, "{connections} connections for 5 requests");
        let seen = server.seen.lock().unwrap();
        let head = String::from_utf8_lossy(&seen[0]).to_ascii_lowercase();
        assert!(head.starts_with("get /x http/1.1\r\n"), "{head}");
    }

    pub async fn plain_http_to_a_remote_host_is_refused(t: Arc<dyn Transport>) {
        let err = ApiClient::builder(ApiKey::new(KEY).unwrap())
            .shared_transport(t)
            .api_url("http://app.amberflo.io")
            .build()
            .unwrap_err();
        let Error::InvalidConfig { field, reason } = &err else {
            panic!("expected InvalidConfig, got {err:?}")
        };
        assert_eq!(*field, "api_url");
        assert!(reason.contains("http://app.amberflo.io"), "{reason}");
    }

    pub async fn relative_uri_is_an_invalid_request(t: Arc<dyn Transport>) {
        let err = t.send(get("/customers/")).await.unwrap_err();
        assert!(
            matches!(err, TransportError::InvalidRequest { .. }),
            "{err:?}"
        );
        assert!(!err.is_retryable());
    }

    pub async fn failed_tls_handshake_is_a_connect_error(t: Arc<dyn Transport>) {
        let addr = common::not_tls_server();
        let err = t
            .send(get(&format!("https://{addr}/customers/")))
            .await
            .unwrap_err();
        // The handshake error comes from the TLS library the transport says it uses.
        let text = format!("{err:?}");
        match t.tls_backend() {
            Some(TlsBackend::Rustls) => {
                assert!(err.is_connect(), "{err:?}");
                assert!(text.contains("InvalidContentType"), "not rustls: {text}");
            }
            Some(TlsBackend::NativeTls) => {
                assert!(err.is_connect(), "{err:?}");
                // native-tls is OpenSSL on Linux.
                if cfg!(target_os = "linux") {
                    assert!(text.contains("SSL routines"), "not OpenSSL: {text}");
                }
            }
            _ => {
                assert!(
                    err.is_connect() || matches!(err, TransportError::InvalidRequest { .. }),
                    "{err:?}"
                );
            }
        }
    }

    /// A body over `max_response_bytes` (1 MiB in this suite) stops the exchange, whether its
    /// length is announced or not.
    pub async fn huge_bodies_stop_at_the_limit(t: Arc<dyn Transport>) {
        for with_length in [true, false] {
            let addr = common::huge_body_server(8 * MAX_BODY, with_length);
            let err = t
                .send(get(&format!("http://{addr}/usage/")))
                .await
                .unwrap_err();
            assert!(
                matches!(err, TransportError::ResponseTooLarge { limit: MAX_BODY }),
                "with_length {with_length}: {err:?}"
            );
            assert!(!err.is_retryable());
        }
    }

    /// A 301 is a response like any other: never followed, so the key never reaches the
    /// redirect's host, and an ingest answered with it is not delivered.
    pub async fn redirects_are_never_followed(t: Arc<dyn Transport>) {
        let elsewhere = common::counting_server();
        let addr = common::redirect_server(elsewhere.addr);
        let client = client(t, &format!("http://{addr}"));
        let body = amberflo_transport::gzip_ingest_body(b"[]").unwrap();
        let err = client.ingest_body(body).await.unwrap_err();
        assert_eq!(
            err.status(),
            Some(http::StatusCode::MOVED_PERMANENTLY),
            "{err:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        let reached = elsewhere.requests.load(std::sync::atomic::Ordering::SeqCst);
        assert_eq!(reached, 0, "the redirect was followed");
    }

    /// An error body is kept to 4 KiB, with its real length noted.
    pub async fn error_bodies_are_truncated(t: Arc<dyn Transport>) {
        let addr = common::status_body_server(502, MAX_BODY / 2);
        let client = client(t, &format!("http://{addr}"));
        let err = client
            .get_json::<_, serde_json::Value>("/usage/", &())
            .await
            .unwrap_err();
        let Error::Api(api) = err else {
            panic!("expected an API error, got {err:?}");
        };
        assert_eq!(api.body.len(), 4096);
        assert_eq!(api.body_len, MAX_BODY / 2);
    }

    /// Outside a Tokio runtime the transport errors instead of panicking.
    pub fn outside_a_runtime_is_an_error_not_a_panic(t: &dyn Transport) {
        let err = common::block_on(t.send(get("http://127.0.0.1:9/x"))).unwrap_err();
        assert!(matches!(err, TransportError::Other { .. }), "{err:?}");
        assert!(err.to_string().contains("Tokio runtime"), "{err}");
    }
}

/// Instantiates every case of [`cases`] for one transport factory.
macro_rules! transport_suite {
    ($name:ident, $make:expr) => {
        mod $name {
            use super::*;

            fn transport() -> Arc<dyn Transport> {
                let make: fn(Duration) -> Arc<dyn Transport> = $make;
                make(TIMEOUT)
            }

            transport_suite!(@async
                sends_exact_headers_and_decodes_json,
                posts_and_puts_json_bodies,
                ingest_body_is_gzipped_json,
                server_error_is_a_retryable_api_error,
                client_error_is_not_retryable,
                retry_after_in_seconds,
                retry_after_as_http_date,
                non_2xx_is_a_response_with_headers,
                connection_refused_is_a_retryable_connect_error,
                silent_server_times_out,
                truncated_body_is_an_io_error,
                reuses_pooled_connections,
                plain_http_to_a_remote_host_is_refused,
                relative_uri_is_an_invalid_request,
                failed_tls_handshake_is_a_connect_error,
                huge_bodies_stop_at_the_limit,
                redirects_are_never_followed,
                error_bodies_are_truncated
            );

            #[test]
            fn outside_a_runtime_is_an_error_not_a_panic() {
                cases::outside_a_runtime_is_an_error_not_a_panic(&*transport());
            }
        }
    };
    (@async $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                cases::$case(transport()).await;
            }
        )+
    };
}

#[cfg(feature = "reqwest")]
transport_suite!(reqwest, |timeout| {
    let builder = amberflo_transport::ReqwestTransport::builder();
    #[cfg(feature = "rustls")]
    let builder = builder.tls_backend(amberflo_transport::TlsBackend::Rustls);
    Arc::new(
        builder
            .connect_timeout(timeout)
            .request_timeout(timeout)
            .max_response_bytes(MAX_BODY)
            .build()
            .unwrap(),
    )
});

#[cfg(all(feature = "reqwest", feature = "native-tls"))]
transport_suite!(reqwest_native_tls, |timeout| {
    Arc::new(
        amberflo_transport::ReqwestTransport::builder()
            .connect_timeout(timeout)
            .request_timeout(timeout)
            .max_response_bytes(MAX_BODY)
            .tls_backend(amberflo_transport::TlsBackend::NativeTls)
            .build()
            .unwrap(),
    )
});

#[cfg(feature = "hyper")]
transport_suite!(hyper, |timeout| {
    Arc::new(
        amberflo_transport::HyperTransport::builder()
            .connect_timeout(timeout)
            .request_timeout(timeout)
            .max_response_bytes(MAX_BODY)
            .build()
            .unwrap(),
    )
});

/// `customize` cannot turn redirects back on: the key still never reaches another host.
#[cfg(feature = "reqwest")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customize_cannot_turn_redirects_on() {
    let transport = amberflo_transport::ReqwestTransport::builder()
        .customize(|client| client.redirect(::reqwest::redirect::Policy::limited(5)))
        .request_timeout(TIMEOUT)
        .build()
        .unwrap();
    cases::redirects_are_never_followed(Arc::new(transport)).await;
}
