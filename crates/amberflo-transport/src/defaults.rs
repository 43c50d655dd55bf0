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

/// The most memory an answer may take once decoded, as [`ApiClientBuilder::max_decoded_bytes`]
/// charges it: 128 MiB, twice [`MAX_RESPONSE_BYTES`], so that an API call holds at most about
/// three times the response cap (the answer's bytes and what they decode to). Answers as
/// Amberflo sends them decode to 1 to 9 times their JSON (a customer list about 8 times), so
/// this admits, for example, some 70,000 customers; an answer of tiny list elements or map
/// entries (`[{},{},…]`, tens of times their JSON) is refused before it is built.
///
/// [`ApiClientBuilder::max_decoded_bytes`]: crate::ApiClientBuilder::max_decoded_bytes
pub const MAX_DECODED_BYTES: usize = 2 * MAX_RESPONSE_BYTES;

/// The most of an error response's body kept in [`ApiError::body`](crate::ApiError): 4 KiB
/// (the original length is in [`ApiError::body_len`](crate::ApiError)).
pub const MAX_ERROR_BODY_BYTES: usize = 4 * 1024;
