//! One HTTP exchange with Amberflo, behind a pluggable [`Transport`] trait.
//!
//! This crate owns how a request reaches Amberflo's API and nothing about batching:
//!
//! - [`Transport`]: an object-safe async trait, `http::Request<Bytes>` in,
//!   `http::Response<Bytes>` out (a non-2xx status is a response, not an error), with
//!   `ReqwestTransport` (feature `reqwest`, default), `HyperTransport` (feature `hyper`) and
//!   `MockTransport` (feature `mock`) implementations;
//! - [`ApiClient`]: the Amberflo exchange above it, generic over payloads: base URLs and their
//!   `https` policy, the `X-API-KEY` / `Content-Type` / `Accept` / `User-Agent` headers, gzip for
//!   ingest, response classification into [`ApiError`] with `Retry-After`, JSON decoding;
//! - one error type, [`Error`], with [`is_retryable`](Error::is_retryable) and
//!   [`retry_after`](Error::retry_after).
//!
//! # Happy path
//!
//! ```no_run
//! # #[cfg(feature = "reqwest")]
//! # async fn demo() -> Result<(), amberflo_transport::Error> {
//! use amberflo_transport::{ApiClient, ApiKey};
//!
//! let client = ApiClient::builder(ApiKey::new(std::env::var("AMBERFLO_API_KEY").unwrap_or_default())?)
//!     .build()?; // ReqwestTransport over rustls, https://app.amberflo.io, https://ingest.amberflo.io
//!
//! let records = [serde_json::json!({
//!     "uniqueId": "7d5c...", "meterApiName": "api-calls", "customerId": "c1",
//!     "meterValue": 1, "meterTimeInMillis": 1_700_000_000_000_i64,
//! })];
//! let reply = client.ingest(&records[..]).await?; // "1 records were ingested"
//! let customer: serde_json::Value = client.get_json("/customers/", &[("customerId", "c1")]).await?;
//! # Ok(()) }
//! ```
//!
//! # Features
//!
//! | feature | default | what it adds |
//! | --- | --- | --- |
//! | `reqwest` | yes | `ReqwestTransport`, the default transport (see [`TransportKind`]) |
//! | `rustls` | yes | TLS via rustls with the `ring` provider and the platform verifier, for both transports |
//! | `hyper` | no | `HyperTransport` (hyper 1 + hyper-util's pooled client); the default only without `reqwest` |
//! | `native-tls` | no | TLS via the platform library (OpenSSL on Linux), for `ReqwestTransport` only; its default TLS when on (see [`TlsBackend`]) |
//! | `mock` | no | `MockTransport` for tests; needs no async runtime |
//! | `s3` | no | `S3Client`: PUT objects into S3, signed with Signature V4 (`aws-sigv4`) |
//!
//! Features are additive: any combination builds, and the defaults follow one documented
//! precedence ([`TransportKind::default_for_build`], [`TlsBackend::default_for_build`]) that
//! an explicit choice overrides.
//!
//! With no transport feature the crate still builds: the trait, the errors, [`ApiClient`]
//! (given a transport of your own) and, if enabled, the mock. [`ApiClientBuilder::build`]
//! without a transport then fails with [`Error::InvalidConfig`] naming `transport`; nothing
//! panics at run time.
//!
//! # Runtimes
//!
//! `ReqwestTransport` and `HyperTransport` must be driven by a Tokio runtime; outside one
//! they return [`TransportError::Other`] instead of panicking. `MockTransport` works under
//! any executor.

mod api_key;
mod choice;
mod client;
mod client_builder;
mod decode_budget;
pub mod defaults;
mod error;
mod gzip;
mod request;
mod response;
mod retry_after;
mod transport;
mod transport_error;
mod url_policy;

#[cfg(any(feature = "reqwest", feature = "hyper"))]
mod connection;
#[cfg(any(feature = "reqwest", feature = "hyper"))]
mod runtime;
#[cfg(all(feature = "rustls", any(feature = "reqwest", feature = "hyper")))]
mod tls;

#[cfg(feature = "hyper")]
mod hyper_transport;
#[cfg(feature = "mock")]
mod mock;
#[cfg(feature = "reqwest")]
mod reqwest_transport;
#[cfg(feature = "s3")]
mod s3;

pub use api_key::ApiKey;
pub use async_trait::async_trait;
pub use choice::{BuiltinOptions, TlsBackend, TransportKind};
pub use client::ApiClient;
pub use client::ApiRequest;
pub use client_builder::ApiClientBuilder;
pub use error::{ApiError, Error};
pub use gzip::gzip_ingest_body;
pub use request::{API_KEY_HEADER, USER_AGENT};
pub use transport::Transport;
pub use transport_error::{SharedError, TransportError};
pub use url_policy::redacted_url;

#[cfg(feature = "hyper")]
pub use hyper_transport::{HyperTransport, HyperTransportBuilder};
#[cfg(feature = "mock")]
pub use mock::{MockReply, MockTransport, RecordedRequest};
#[cfg(feature = "reqwest")]
pub use reqwest_transport::{ReqwestTransport, ReqwestTransportBuilder};
#[cfg(feature = "s3")]
pub use s3::{
    S3BodyFormat, S3Client, S3Credentials, S3CredentialsBuilder, S3Destination,
    S3DestinationBuilder, S3Error,
};
