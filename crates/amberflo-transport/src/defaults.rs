//! Default settings, in one place.

use std::time::Duration;

/// Amberflo's API base URL.
pub const API_URL: &str = "https://app.amberflo.io";

/// Amberflo's ingest base URL.
pub const INGEST_URL: &str = "https://ingest.amberflo.io";

/// How long a transport waits for a TCP (and TLS) connection: 10 s.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a transport waits for a whole exchange, from connecting to the last body byte:
/// 30 s.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How long an idle pooled connection is kept for reuse: 90 s.
pub const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// How many idle connections per host the pool keeps: 8.
pub const POOL_MAX_IDLE_PER_HOST: usize = 8;

/// TCP keep-alive probe interval on pooled connections: 60 s.
pub const TCP_KEEPALIVE: Duration = Duration::from_secs(60);

/// The most response body bytes a built-in transport reads: 64 MiB, far above any Amberflo
/// answer; a longer body is a [`TransportError::ResponseTooLarge`](crate::TransportError).
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// The most of an error response's body kept in [`ApiError::body`](crate::ApiError): 4 KiB
/// (the original length is in [`ApiError::body_len`](crate::ApiError)).
pub const MAX_ERROR_BODY_BYTES: usize = 4 * 1024;
