//! [`ClientBuilder`]: API key, base URLs, transport, batching and the error callback. This
//! module holds what a builder is (its fields and defaults); `setters` how it is configured,
//! `build` how a [`Client`] is made of it.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use amberflo_batcher::{DeliveryError, RetryPolicy, SpoolConfig};
use amberflo_transport::{Transport, TransportKind, redacted_url};
use amberflo_types::{MeterRecord, RecordLimits};

/// Environment variable holding the API key.
pub const ENV_API_KEY: &str = "AMBERFLO_API_KEY";
/// Environment variable overriding the API base URL.
pub const ENV_API_URL: &str = "AMBERFLO_API_URL";
/// Environment variable overriding the ingest base URL.
pub const ENV_INGEST_URL: &str = "AMBERFLO_INGEST_URL";

/// A batch that could not be delivered, handed to the error callback, which owns it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum FailedBatch {
    /// Meter records (from `meter`, `meter_record`, `meter_llm`).
    Records(Vec<MeterRecord>),
    /// Custom-schema payloads (from `send_custom`).
    Custom(Vec<serde_json::Value>),
}

impl FailedBatch {
    /// How many items failed.
    pub fn len(&self) -> usize {
        match self {
            FailedBatch::Records(records) => records.len(),
            FailedBatch::Custom(payloads) => payloads.len(),
        }
    }

    /// Whether the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

pub(crate) type ErrorCallback = Arc<dyn Fn(DeliveryError, FailedBatch) + Send + Sync>;

/// Where the client delivers batches.
enum Delivery {
    /// `POST` to the ingest API, in bodies of at most `max_request_bytes`.
    Api { max_request_bytes: usize },
    /// Objects in the customer's bucket.
    #[cfg(feature = "s3")]
    S3(Box<amberflo_transport::S3Client>),
}

/// How the client reaches Amberflo.
#[derive(Clone)]
enum TransportChoice {
    /// [`TransportKind::default_for_build`]: reqwest, else hyper, else [`Error::NoTransport`].
    Default,
    /// A transport the caller passed in.
    Given(Arc<dyn Transport>),
    /// A built-in transport the caller chose (only `use_reqwest` / `use_hyper` make one).
    #[cfg_attr(not(any(feature = "reqwest", feature = "hyper")), allow(dead_code))]
    Builtin(TransportKind),
}

/// Default cap on an ingest request's (gzipped) body: 4 MiB. A batch whose body is larger is
/// split in halves before sending (see [`ClientBuilder::max_request_bytes`]).
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 4 * 1024 * 1024;

/// Default capacity of the custom-schema payload queue (see
/// [`ClientBuilder::custom_queue_capacity`]).
pub const DEFAULT_CUSTOM_QUEUE_CAPACITY: usize = 10_000;

/// The retry schedule of API calls (not ingest) unless
/// [`ClientBuilder::api_retry_policy`] sets another: 3 retries, waiting up to 0.2, 0.5 and 1 s
/// (full jitter), a `Retry-After` honoured up to 5 s (interactive calls should not stall for
/// a minute; ingest's policy honours up to 60 s). The cap is the policy's
/// ([`RetryPolicy::with_max_retry_after`]): the transport reports the server's wait as sent.
///
/// ```
/// let policy = amberflo::default_api_retry_policy();
/// assert_eq!(policy.max_retries(), 3);
/// ```
pub fn default_api_retry_policy() -> RetryPolicy {
    RetryPolicy::new([
        Duration::from_millis(200),
        Duration::from_millis(500),
        Duration::from_secs(1),
    ])
    .with_max_retry_after(Duration::from_secs(5))
}

/// Configures and builds a [`Client`](crate::Client).
///
/// Defaults, in one place:
///
/// | setting | default |
/// |---|---|
/// | API URL | `https://app.amberflo.io` (env `AMBERFLO_API_URL`) |
/// | ingest URL | `https://ingest.amberflo.io` (env `AMBERFLO_INGEST_URL`) |
/// | transport | reqwest when the `reqwest` feature is on, else hyper (any feature combination builds; `use_reqwest()` / `use_hyper()` override) |
/// | TLS | reqwest: native-tls when the `native-tls` feature is on, else rustls; hyper: rustls |
/// | connect / request timeout | 10 s / 30 s |
/// | max response bytes | 64 MiB; an answer may take twice that decoded |
/// | max request bytes (gzipped) | 4 MiB; larger batches are split |
/// | queue capacity | 100,000 records; 10,000 custom-schema payloads |
/// | batch size / linger | 500 records / 0.5 s |
/// | workers | 3 |
/// | retries | 6, waiting up to 2, 6, 12, 20, 40, 80 s (full jitter); `Retry-After` wins |
/// | API call retries | [`default_api_retry_policy`]: 3, waiting up to 0.2, 0.5, 1 s; only GET, PUT, DELETE and read-only POSTs (usage, usage cost), on 408, 429, 5xx and network errors |
/// | shutdown timeout (also on drop) | 10 s |
/// | record limits | [`RecordLimits::DEFAULT`] (256 B names, 1 KiB values, 64 dimensions, 16 KiB a record, times in 2000..2099) |
/// | error callback | logs with `tracing::error!` |
///
/// ```no_run
/// use std::time::Duration;
///
/// let client = amberflo::Client::builder()
///     .api_key("my-api-key")
///     .max_batch_size(500)
///     .linger(Duration::from_millis(200))
///     .on_error(|error, batch| eprintln!("{} items failed: {error}", batch.len()))
///     .build()?;
/// # Ok::<(), amberflo::Error>(())
/// ```
#[derive(Clone)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct ClientBuilder {
    api_key: Option<String>,
    api_url: Option<String>,
    ingest_url: Option<String>,
    allow_insecure_http: bool,
    transport: TransportChoice,
    connect_timeout: Option<Duration>,
    request_timeout: Option<Duration>,
    max_response_bytes: Option<usize>,
    max_request_bytes: Option<usize>,
    capacity: Option<usize>,
    custom_capacity: Option<usize>,
    max_batch_size: Option<usize>,
    linger: Option<Duration>,
    workers: Option<usize>,
    retry_policy: Option<RetryPolicy>,
    api_retry_policy: Option<RetryPolicy>,
    shutdown_timeout: Option<Duration>,
    on_error: Option<ErrorCallback>,
    record_limits: RecordLimits,
    spool: Option<SpoolConfig>,
    aggregations: Vec<crate::aggregate::Aggregation>,
    aggregation_max_open_keys: Option<usize>,
    aggregation_instance_id: Option<amberflo_types::Uuid>,
    #[cfg(feature = "s3")]
    s3: Option<amberflo_transport::S3Destination>,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            api_key: None,
            api_url: None,
            ingest_url: None,
            allow_insecure_http: false,
            transport: TransportChoice::Default,
            connect_timeout: None,
            request_timeout: None,
            max_response_bytes: None,
            max_request_bytes: None,
            capacity: None,
            custom_capacity: None,
            max_batch_size: None,
            linger: None,
            workers: None,
            retry_policy: None,
            api_retry_policy: None,
            shutdown_timeout: None,
            on_error: None,
            record_limits: RecordLimits::DEFAULT,
            spool: None,
            aggregations: Vec::new(),
            aggregation_max_open_keys: None,
            aggregation_instance_id: None,
            #[cfg(feature = "s3")]
            s3: None,
        }
    }
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("api_key", &self.api_key.as_ref().map(|_| "***"))
            .field("api_url", &self.api_url.as_deref().map(redacted_url))
            .field("ingest_url", &self.ingest_url.as_deref().map(redacted_url))
            .field("capacity", &self.capacity)
            .field("custom_capacity", &self.custom_capacity)
            .field("max_batch_size", &self.max_batch_size)
            .field("linger", &self.linger)
            .field("workers", &self.workers)
            .field("spool", &self.spool)
            .field("aggregations", &self.aggregations)
            .finish_non_exhaustive()
    }
}

mod build;
mod setters;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    #[test]
    fn env_requires_the_api_key_and_reads_the_urls() {
        let missing = ClientBuilder::from_lookup(lookup(&[])).unwrap_err();
        assert!(matches!(
            missing,
            Error::Config {
                field: ENV_API_KEY,
                ..
            }
        ));
        let blank = ClientBuilder::from_lookup(lookup(&[(ENV_API_KEY, "  ")])).unwrap_err();
        assert!(matches!(
            blank,
            Error::Config {
                field: ENV_API_KEY,
                ..
            }
        ));

        let builder = ClientBuilder::from_lookup(lookup(&[
            (ENV_API_KEY, "k"),
            (ENV_API_URL, "http://127.0.0.1:1"),
            (ENV_INGEST_URL, "http://127.0.0.1:2"),
        ]))
        .unwrap();
        assert_eq!(builder.api_key.as_deref(), Some("k"));
        assert_eq!(builder.api_url.as_deref(), Some("http://127.0.0.1:1"));
        assert_eq!(builder.ingest_url.as_deref(), Some("http://127.0.0.1:2"));
    }

    #[test]
    fn debug_never_shows_the_api_key() {
        let builder = ClientBuilder::new().api_key("super-secret-key");
        let debug = format!("{builder:?}");
        assert!(!debug.contains("super-secret-key"), "{debug}");
        assert!(debug.contains("***"));
    }

    #[test]
    fn a_missing_api_key_is_a_config_error() {
        let error = ClientBuilder::new().build().unwrap_err();
        assert!(
            matches!(
                error,
                Error::Config {
                    field: "api_key",
                    ..
                }
            ),
            "{error}"
        );
    }

    #[cfg(all(feature = "hyper", feature = "reqwest"))]
    #[test]
    fn both_transports_compiled_in_default_to_reqwest_and_an_explicit_choice_wins() {
        let default = ClientBuilder::new().api_key("k").build().unwrap();
        assert_eq!(default.transport().name(), "reqwest");
        let hyper = ClientBuilder::new()
            .api_key("k")
            .use_hyper()
            .build()
            .unwrap();
        assert_eq!(hyper.transport().name(), "hyper");
        let reqwest = ClientBuilder::new()
            .api_key("k")
            .use_hyper()
            .use_reqwest()
            .build()
            .unwrap();
        assert_eq!(reqwest.transport().name(), "reqwest");
    }

    #[cfg(not(any(feature = "hyper", feature = "reqwest")))]
    #[test]
    fn no_transport_compiled_in_is_a_typed_error() {
        let error = ClientBuilder::new().api_key("k").build().unwrap_err();
        assert!(matches!(error, Error::NoTransport), "{error}");
    }
}
