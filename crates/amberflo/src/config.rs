//! [`ClientBuilder`]: API key, base URLs, transport, batching and the error callback.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use amberflo_batcher::defaults::MAX_CAPACITY;
use amberflo_batcher::{BatcherBuilder, DeliveryError, RetryPolicy, SpoolConfig};
use amberflo_transport::{
    ApiClient, ApiKey, BuiltinOptions, Transport, TransportKind, redacted_url,
};
use amberflo_types::{MeterRecord, RecordLimits};

use crate::client::{Client, Settings};
use crate::error::Error;
use crate::runtime::IoRuntime;
use crate::sink::{IngestKind, IngestSink, JsonCodec, RecordCodec, WorkerApi};

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

type ErrorCallback = Arc<dyn Fn(DeliveryError, FailedBatch) + Send + Sync>;

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
/// (full jitter), a `Retry-After` capped at 5 s.
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

/// Configures and builds a [`Client`].
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
/// | max response bytes | 64 MiB |
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
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// A builder with every default and no API key.
    pub fn new() -> Self {
        ClientBuilder::default()
    }

    /// A builder configured from `AMBERFLO_API_KEY` (required), `AMBERFLO_API_URL` and
    /// `AMBERFLO_INGEST_URL`; further settings can be chained.
    ///
    /// # Errors
    /// [`Error::Config`] naming `AMBERFLO_API_KEY` when it is unset or blank.
    pub fn from_env() -> Result<Self, Error> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`from_env`](Self::from_env), reading variables through `lookup`.
    pub(crate) fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let mut builder = ClientBuilder::new();
        let key = lookup(ENV_API_KEY).filter(|key| !key.trim().is_empty());
        let Some(key) = key else {
            return Err(Error::Config {
                field: ENV_API_KEY,
                reason: "is not set".to_owned(),
            });
        };
        builder.api_key = Some(key);
        builder.api_url = lookup(ENV_API_URL).filter(|url| !url.trim().is_empty());
        builder.ingest_url = lookup(ENV_INGEST_URL).filter(|url| !url.trim().is_empty());
        Ok(builder)
    }

    /// The API key (required). It is never logged: `Debug` prints `***`.
    pub fn api_key(mut self, api_key: impl Into<String>) -> Self {
        self.api_key = Some(api_key.into());
        self
    }

    /// The API base URL (usage, customers, billing).
    pub fn api_url(mut self, url: impl Into<String>) -> Self {
        self.api_url = Some(url.into());
        self
    }

    /// The ingest base URL.
    pub fn ingest_url(mut self, url: impl Into<String>) -> Self {
        self.ingest_url = Some(url.into());
        self
    }

    /// Sends both APIs to one base URL, such as a local emulator's.
    pub fn endpoint(self, url: impl Into<String>) -> Self {
        let url = url.into();
        self.api_url(url.clone()).ingest_url(url)
    }

    /// Allows plain `http://` to hosts other than loopback (off by default).
    pub fn allow_insecure_http(mut self) -> Self {
        self.allow_insecure_http = true;
        self
    }

    /// Sends through `transport`, such as a `MockTransport` in tests:
    ///
    /// ```
    /// # #[cfg(feature = "mock")] {
    /// use amberflo::mock::MockTransport;
    ///
    /// let mock = MockTransport::new();
    /// let client = amberflo::Client::builder()
    ///     .api_key("test-key")
    ///     .transport(mock.clone())
    ///     .build()?;
    /// client.meter("ApiCalls", 1.0, "customer-1")?;
    /// client.flush(std::time::Duration::from_secs(5))?;
    /// let sent = mock.requests();
    /// assert_eq!(sent[0].path(), "/ingest/");
    /// assert_eq!(sent[0].body_json::<serde_json::Value>()?[0]["meterApiName"], "ApiCalls");
    /// # }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn transport<T: Transport + 'static>(mut self, transport: T) -> Self {
        self.transport = TransportChoice::Given(Arc::new(transport));
        self
    }

    /// Sends through a shared transport.
    pub fn shared_transport(mut self, transport: Arc<dyn Transport>) -> Self {
        self.transport = TransportChoice::Given(transport);
        self
    }

    /// Uses the reqwest transport (already the default when the `reqwest` feature is on).
    #[cfg(feature = "reqwest")]
    pub fn use_reqwest(mut self) -> Self {
        self.transport = TransportChoice::Builtin(TransportKind::Reqwest);
        self
    }

    /// Uses the hyper transport, even when `reqwest` (the default) is compiled in too.
    ///
    /// ```
    /// let client = amberflo::Client::builder().api_key("my-api-key").use_hyper().build()?;
    /// assert_eq!(client.transport().name(), "hyper");
    /// # Ok::<(), amberflo::Error>(())
    /// ```
    #[cfg(feature = "hyper")]
    pub fn use_hyper(mut self) -> Self {
        self.transport = TransportChoice::Builtin(TransportKind::Hyper);
        self
    }

    /// Connect timeout of the built-in transports.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// Whole-request timeout of the built-in transports.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = Some(timeout);
        self
    }

    /// The most response body bytes the built-in transports read (default 64 MiB, far above
    /// any Amberflo answer): a longer answer is an [`Error::Transport`], so a broken or
    /// hostile server cannot balloon this process's memory.
    pub fn max_response_bytes(mut self, limit: usize) -> Self {
        self.max_response_bytes = Some(limit);
        self
    }

    /// Delivers meter records and custom-schema payloads as objects in an S3 bucket that
    /// Amberflo reads, instead of calling the ingest API (feature `s3`). The queue, retries,
    /// error callback and stats work unchanged; the API key is still used for API calls and
    /// never sent to S3. Objects are laid out as the Python SDK writes them (see
    /// [`S3Destination`](crate::s3::S3Destination)).
    ///
    /// ```no_run
    /// use amberflo::s3::{S3BodyFormat, S3Credentials, S3Destination};
    ///
    /// let destination = S3Destination::builder("my-amberflo-bucket")
    ///     .region("us-west-2")
    ///     .credentials(S3Credentials::from_env()?) // AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
    ///     .body_format(S3BodyFormat::GzipJson)
    ///     .build()?;
    /// let client = amberflo::Client::builder()
    ///     .api_key("my-api-key")
    ///     .ingest_to_s3(destination)
    ///     .build()?;
    /// client.meter("ApiCalls", 1.0, "customer-1")?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "s3")]
    pub fn ingest_to_s3(mut self, destination: amberflo_transport::S3Destination) -> Self {
        self.s3 = Some(destination);
        self
    }

    /// The largest ingest request body, gzipped (default [`DEFAULT_MAX_REQUEST_BYTES`],
    /// 4 MiB). A batch whose body would be larger is split in halves until each part fits;
    /// a server's `413 Payload Too Large` splits it the same way instead of resending the same
    /// body. A single record that cannot fit goes to the error callback alone
    /// ([`DeliveryError::TooLarge`](crate::DeliveryError)); the rest of its batch is
    /// delivered. `Stats::split` counts the splits.
    pub fn max_request_bytes(mut self, limit: usize) -> Self {
        self.max_request_bytes = Some(limit);
        self
    }

    /// How many records the queue holds before `meter` refuses more (default 100,000; 1 to
    /// 16,777,216). Custom-schema payloads have their own queue
    /// ([`custom_queue_capacity`](Self::custom_queue_capacity)).
    ///
    /// ```
    /// let builder = amberflo::Client::builder().queue_capacity(500_000);
    /// # drop(builder);
    /// ```
    pub fn queue_capacity(mut self, capacity: usize) -> Self {
        self.capacity = Some(capacity);
        self
    }

    /// How many custom-schema payloads ([`Client::send_custom`]) their own queue holds
    /// before refusing more (default [`DEFAULT_CUSTOM_QUEUE_CAPACITY`]; 1 to 16,777,216). It
    /// is separate from the records' queue, and smaller because custom payloads are rare: a
    /// queue's slots are allocated up front, so each one costs memory whether it is used or
    /// not.
    ///
    /// ```
    /// let error = amberflo::Client::builder()
    ///     .api_key("key")
    ///     .custom_queue_capacity(0)
    ///     .build()
    ///     .unwrap_err();
    /// assert!(matches!(error, amberflo::Error::Config { field: "custom_queue_capacity", .. }));
    /// ```
    pub fn custom_queue_capacity(mut self, capacity: usize) -> Self {
        self.custom_capacity = Some(capacity);
        self
    }

    /// The most records sent in one request.
    pub fn max_batch_size(mut self, size: usize) -> Self {
        self.max_batch_size = Some(size);
        self
    }

    /// How long a partial batch waits for more records before it is sent.
    pub fn linger(mut self, linger: Duration) -> Self {
        self.linger = Some(linger);
        self
    }

    /// How many worker threads send batches concurrently.
    pub fn workers(mut self, workers: usize) -> Self {
        self.workers = Some(workers);
        self
    }

    /// The retry schedule for failed batches.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry_policy = Some(policy);
        self
    }

    /// The retry schedule of API calls (default [`default_api_retry_policy`]); the number of
    /// retries is the budget of one call. Only idempotent calls are retried (GET, PUT, DELETE,
    /// and the POSTs that only read: usage and usage cost), on 408, 429, 5xx and network
    /// errors, waiting the backoff or the server's `Retry-After` (capped). A POST that creates
    /// is never retried: a lost answer could otherwise create twice.
    /// [`RetryPolicy::none`] turns API retries off.
    ///
    /// ```
    /// use std::time::Duration;
    /// use amberflo::RetryPolicy;
    ///
    /// let client = amberflo::Client::builder()
    ///     .api_key("my-api-key")
    ///     .api_retry_policy(RetryPolicy::new([Duration::from_millis(100); 5]))
    ///     .build()?;
    /// # Ok::<(), amberflo::Error>(())
    /// ```
    pub fn api_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.api_retry_policy = Some(policy);
        self
    }

    /// How long dropping the client waits for queued records.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = Some(timeout);
        self
    }

    /// The size limits and time window `meter` checks records against (default
    /// [`RecordLimits::DEFAULT`]: names and ids up to 256 bytes, dimension values up to
    /// 1 KiB, 64 dimensions, 16 KiB a record, times between 2000 and 2099). A record over a
    /// limit is refused with a [`ValidationError`](crate::ValidationError) naming the field.
    ///
    /// ```
    /// use amberflo::types::RecordLimits;
    ///
    /// let mut limits = RecordLimits::default();
    /// limits.max_dimensions = 8;
    /// let client = amberflo::Client::builder()
    ///     .api_key("my-api-key")
    ///     .record_limits(limits)
    ///     .build()?;
    /// let many = (0..9).map(|i| (format!("k{i}"), "v"));
    /// let record = amberflo::MeterRecord::builder("ApiCalls", 1.0, "customer-1")
    ///     .dimensions(many)
    ///     .build()?; // within the defaults
    /// let refused = client.meter_record(record).unwrap_err();
    /// assert_eq!(refused.to_string(), "dimensions must have at most 8 entries");
    /// # Ok::<(), amberflo::Error>(())
    /// ```
    pub fn record_limits(mut self, limits: RecordLimits) -> Self {
        self.record_limits = limits;
        self
    }

    /// Called with every batch that could not be delivered (after retries, on a fatal error,
    /// or at the shutdown deadline). It owns the batch: persist it, or re-send it later.
    pub fn on_error<F>(mut self, callback: F) -> Self
    where
        F: Fn(DeliveryError, FailedBatch) + Send + Sync + 'static,
    {
        self.on_error = Some(Arc::new(callback));
        self
    }

    /// Spools every metered record (and custom payload) to disk under `dir` before `meter`
    /// returns `Ok`, so that a crash, `kill -9` or outage loses nothing that was accepted
    /// (default: no spool, records are held in memory only). Records go to `dir/records`,
    /// custom payloads to `dir/custom`, each an append-only log with its own lock, fsync
    /// policy and disk budget (defaults: fsync every second,
    /// [`FsyncPolicy::Every`](crate::FsyncPolicy::Every); 1 GiB each); use
    /// [`spool_config`](Self::spool_config) to change them.
    ///
    /// What the spool does (see `amberflo_batcher::BatcherBuilder::spool` for details):
    /// * the in-memory queue ([`queue_capacity`](Self::queue_capacity)) becomes a cache of the
    ///   spool's head: while Amberflo is unreachable, records keep being accepted onto disk up
    ///   to the disk budget, then refused like a full queue ([`MeterError::Rejected`](crate::MeterError));
    /// * a batch is acknowledged once delivered or handed to the error callback; fully
    ///   acknowledged segment files are deleted;
    /// * each thread appends to one of a few parallel logs (lanes, one per CPU and at least 4, see
    ///   [`SpoolConfig::lanes`]), so threads rarely wait for each other's disk write and one
    ///   thread's records keep their order;
    /// * the next client built on the same directory delivers, oldest first in each lane, what
    ///   was not acknowledged ([`Stats::replayed`](crate::Stats::replayed)). A crash between a send and
    ///   its acknowledgement sends that batch again: Amberflo deduplicates on `uniqueId`.
    /// * Damaged frames (torn writes, flipped bits) are skipped and counted
    ///   ([`Stats::spool_corrupt`](crate::Stats::spool_corrupt)).
    ///
    /// `build` fails with [`Error::Batching`] holding
    /// [`BuildError::SpoolLocked`](crate::BuildError::SpoolLocked) when another
    /// client uses the directory, or [`BuildError::Spool`](amberflo_batcher::BuildError::Spool)
    /// with the I/O error when it cannot be created or read.
    ///
    /// ```no_run
    /// let client = amberflo::Client::builder()
    ///     .api_key("my-api-key")
    ///     .spool("/var/lib/my-app/amberflo")
    ///     .build()?;
    /// client.meter("ApiCalls", 1.0, "customer-1")?; // on disk when this returns
    /// # Ok::<(), amberflo::Error>(())
    /// ```
    pub fn spool(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.spool = Some(SpoolConfig::new(dir));
        self
    }

    /// Like [`spool`](Self::spool), with every setting: the fsync policy, the disk budget, the
    /// segment size and the lanes (each of the two subdirectories gets them).
    ///
    /// ```no_run
    /// use amberflo::{FsyncPolicy, SpoolConfig};
    ///
    /// let client = amberflo::Client::builder()
    ///     .api_key("my-api-key")
    ///     .spool_config(
    ///         SpoolConfig::new("/var/lib/my-app/amberflo")
    ///             .fsync(FsyncPolicy::Always)
    ///             .max_disk_bytes(4 << 30),
    ///     )
    ///     .build()?;
    /// # Ok::<(), amberflo::Error>(())
    /// ```
    pub fn spool_config(mut self, config: SpoolConfig) -> Self {
        self.spool = Some(config);
        self
    }

    /// Builds the client: starts its I/O runtime and batching workers.
    ///
    /// # Errors
    /// [`Error::Config`] for a missing or invalid key or URL, an ambiguous transport, or an
    /// `https://` URL the built-in transport of this build cannot speak (no TLS feature);
    /// [`Error::NoTransport`] when none is compiled in or given.
    pub fn build(self) -> Result<Client, Error> {
        let api_key = self.api_key.as_deref().ok_or_else(|| Error::Config {
            field: "api_key",
            reason: format!("is not set (pass it to the builder or set {ENV_API_KEY})"),
        })?;
        let api_key = ApiKey::new(api_key)?;
        check_capacity("queue_capacity", self.capacity)?;
        check_capacity("custom_queue_capacity", self.custom_capacity)?;
        let runtime = IoRuntime::start()?;
        let (transport, builtin) = self.resolve_transport(&runtime)?;
        let mut api = ApiClient::builder(api_key).shared_transport(transport);
        if self.allow_insecure_http {
            api = api.allow_insecure_http();
        }
        if let Some(url) = &self.api_url {
            api = api.api_url(url.clone());
        }
        if let Some(url) = &self.ingest_url {
            api = api.ingest_url(url.clone());
        }
        let api = api.build()?;
        if builtin.is_some() {
            refuse_https_without_tls(&api)?;
            #[cfg(feature = "s3")]
            if self.s3.as_ref().is_some_and(|s3| s3.is_https())
                && api.transport().tls_backend().is_none()
            {
                return Err(Error::Config {
                    field: "ingest_to_s3",
                    reason: "puts objects over https, but this build's transport has no TLS: \
                             enable the `rustls` feature, or use an http:// endpoint"
                        .to_owned(),
                });
            }
        }

        let delivery = self.delivery(&api);
        // Workers posting to the API own their transports and runtimes when the client makes
        // its transports; S3 uploads and a transport the user gave stay on the shared runtime.
        let per_worker = builtin.filter(|_| matches!(delivery, Delivery::Api { .. }));
        let worker_local = per_worker.is_some();
        let mut records = self.batcher(
            "amberflo-meter",
            &runtime,
            worker_local,
            FailedBatch::Records,
        );
        let mut custom = self
            .batcher(
                "amberflo-custom",
                &runtime,
                worker_local,
                FailedBatch::Custom,
            )
            .capacity(
                self.custom_capacity
                    .unwrap_or(DEFAULT_CUSTOM_QUEUE_CAPACITY),
            )
            .workers(1);
        if let Some(spool) = &self.spool {
            let records_dir = spool.dir().join("records");
            let custom_dir = spool.dir().join("custom");
            records = records.spool(spool.clone().with_dir(records_dir), RecordCodec);
            custom = custom.spool(spool.clone().with_dir(custom_dir), JsonCodec);
        }
        let (records, custom) = match delivery {
            #[cfg(feature = "s3")]
            Delivery::S3(client) => (
                records.build(crate::s3_sink::S3Sink::new(
                    (*client).clone(),
                    IngestKind::Records,
                ))?,
                custom.build(crate::s3_sink::S3Sink::new(*client, IngestKind::Custom))?,
            ),
            Delivery::Api { max_request_bytes } => {
                let worker_api = Arc::new(match per_worker {
                    Some(kind) => {
                        let options = self.builtin_options();
                        WorkerApi::per_worker(api.clone(), move || kind.build(&options))
                    }
                    None => WorkerApi::shared(api.clone()),
                });
                (
                    records.build(IngestSink::new(
                        Arc::clone(&worker_api),
                        IngestKind::Records,
                        max_request_bytes,
                    ))?,
                    custom.build(IngestSink::new(
                        worker_api,
                        IngestKind::Custom,
                        max_request_bytes,
                    ))?,
                )
            }
        };
        let shutdown_timeout = self
            .shutdown_timeout
            .unwrap_or(amberflo_batcher::defaults::SHUTDOWN_TIMEOUT);
        let settings = Settings {
            shutdown_timeout,
            limits: self.record_limits,
            api_retry: self
                .api_retry_policy
                .clone()
                .unwrap_or_else(default_api_retry_policy),
            max_request_bytes: self.request_bytes_cap(),
        };
        Ok(Client::from_parts(api, records, custom, runtime, settings))
    }

    /// Where batches go: the ingest API, or objects in S3.
    fn delivery(&self, api: &ApiClient) -> Delivery {
        #[cfg(feature = "s3")]
        if let Some(destination) = &self.s3 {
            let client =
                amberflo_transport::S3Client::new(Arc::clone(api.transport()), destination.clone());
            return Delivery::S3(Box::new(client));
        }
        let _ = api;
        Delivery::Api {
            max_request_bytes: self.request_bytes_cap(),
        }
    }

    /// The largest gzipped ingest body sent in one request.
    fn request_bytes_cap(&self) -> usize {
        self.max_request_bytes.unwrap_or(DEFAULT_MAX_REQUEST_BYTES)
    }

    /// A batcher builder with this configuration, delivering failures as `wrap(batch)`; its
    /// workers drive their sink on runtimes of their own when `worker_local` (their transports
    /// are their own too), else on the shared one.
    fn batcher<T: Send + Sync + 'static>(
        &self,
        thread_name: &str,
        runtime: &IoRuntime,
        worker_local: bool,
        wrap: fn(Vec<T>) -> FailedBatch,
    ) -> BatcherBuilder<T> {
        let builder = BatcherBuilder::new().thread_name(thread_name);
        let mut builder = if worker_local {
            builder.executor(runtime.worker_executor())
        } else {
            builder.executor(runtime.executor())
        };
        if let Some(capacity) = self.capacity {
            builder = builder.capacity(capacity);
        }
        if let Some(size) = self.max_batch_size {
            builder = builder.max_batch_size(size);
        }
        if let Some(linger) = self.linger {
            builder = builder.linger(linger);
        }
        if let Some(workers) = self.workers {
            builder = builder.workers(workers);
        }
        if let Some(policy) = &self.retry_policy {
            builder = builder.retry_policy(policy.clone());
        }
        if let Some(timeout) = self.shutdown_timeout {
            builder = builder.shutdown_timeout(timeout);
        }
        if let Some(callback) = self.on_error.clone() {
            builder = builder.on_error(move |error, batch| callback(error, wrap(batch)));
        }
        builder
    }

    /// The transport API calls use, and which built-in one it is (`None`: the user's).
    fn resolve_transport(
        &self,
        runtime: &IoRuntime,
    ) -> Result<(Arc<dyn Transport>, Option<TransportKind>), Error> {
        let kind = match &self.transport {
            TransportChoice::Given(transport) => return Ok((Arc::clone(transport), None)),
            TransportChoice::Builtin(kind) => *kind,
            TransportChoice::Default => {
                TransportKind::default_for_build().ok_or(Error::NoTransport)?
            }
        };
        // Built-in transports are created inside the I/O runtime they will run on.
        let _entered = runtime.handle().enter();
        let transport = kind
            .build(&self.builtin_options())
            .map_err(Error::Transport)?;
        Ok((transport, Some(kind)))
    }

    /// This builder's timeouts and limits, for a built-in transport.
    fn builtin_options(&self) -> BuiltinOptions {
        let mut options = BuiltinOptions::default();
        options.connect_timeout = self.connect_timeout;
        options.request_timeout = self.request_timeout;
        options.max_response_bytes = self.max_response_bytes;
        options
    }
}

/// Refuses a client whose built-in transport has no TLS (a build without the `rustls` and
/// `native-tls` features, or `hyper` with only `native-tls`) for an `https://` URL: every
/// request would fail, and every batch go to `on_error`.
fn refuse_https_without_tls(api: &ApiClient) -> Result<(), Error> {
    let transport = api.transport();
    if transport.tls_backend().is_some() {
        return Ok(());
    }
    let features = match transport.name() {
        "reqwest" => "`rustls` or `native-tls`",
        _ => "`rustls`",
    };
    for (field, url) in [("api_url", api.api_url()), ("ingest_url", api.ingest_url())] {
        if url.scheme() == "https" {
            return Err(Error::Config {
                field,
                reason: format!(
                    "is {url}, but the {} transport of this build has no TLS: enable the \
                     {features} feature, or use an http:// URL",
                    transport.name()
                ),
            });
        }
    }
    Ok(())
}

/// Checks a queue capacity setting, naming it (the batcher would say `capacity`).
fn check_capacity(setting: &'static str, capacity: Option<usize>) -> Result<(), Error> {
    match capacity {
        Some(0) => Err(Error::Config {
            field: setting,
            reason: "must be greater than zero".to_owned(),
        }),
        Some(capacity) if capacity > MAX_CAPACITY => Err(Error::Config {
            field: setting,
            reason: format!("must be at most {MAX_CAPACITY}"),
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
