//! The [`ClientBuilder`] setters: one per setting, each documented with its default.

use std::sync::Arc;
use std::time::Duration;

use amberflo_batcher::{DeliveryError, RetryPolicy, SpoolConfig};
use amberflo_transport::Transport;
use amberflo_types::RecordLimits;

use crate::error::Error;

use super::{
    ClientBuilder, ENV_API_KEY, ENV_API_URL, ENV_INGEST_URL, FailedBatch, TransportChoice,
};

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
    /// Available with the `reqwest` feature.
    #[cfg(feature = "reqwest")]
    pub fn use_reqwest(mut self) -> Self {
        self.transport = TransportChoice::Builtin(amberflo_transport::TransportKind::Reqwest);
        self
    }

    /// Uses the hyper transport, even when `reqwest` (the default) is compiled in too.
    /// Available with the `hyper` feature.
    ///
    /// ```
    /// let client = amberflo::Client::builder().api_key("my-api-key").use_hyper().build()?;
    /// assert_eq!(client.transport().name(), "hyper");
    /// # Ok::<(), amberflo::Error>(())
    /// ```
    #[cfg(feature = "hyper")]
    pub fn use_hyper(mut self) -> Self {
        self.transport = TransportChoice::Builtin(amberflo_transport::TransportKind::Hyper);
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
    /// hostile server cannot balloon this process's memory. What an answer may take once
    /// decoded is bounded at twice this (whatever the transport; an answer over it is an
    /// [`Error::Decode`]), so an API call holds at most about three times it.
    ///
    /// One cap serves every answer: ingest answers are a line of text, so a smaller cap for
    /// API answers alone would bound nothing more, and a usage answer over many groups and
    /// buckets legitimately runs to tens of MiB.
    pub fn max_response_bytes(mut self, limit: usize) -> Self {
        self.max_response_bytes = Some(limit);
        self
    }

    /// Delivers meter records and custom-schema payloads as objects in an S3 bucket that
    /// Amberflo reads, instead of calling the ingest API (feature `s3`). The queue, retries,
    /// error callback and stats work unchanged; the API key is still used for API calls and
    /// never sent to S3. Objects are laid out as the Python SDK writes them (see
    /// [`S3Destination`](crate::s3::S3Destination)). Available with the `s3` feature.
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

    /// The largest ingest request body, gzipped (default [`DEFAULT_MAX_REQUEST_BYTES`](super::DEFAULT_MAX_REQUEST_BYTES),
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

    /// How many custom-schema payloads ([`Client::send_custom`](crate::Client::send_custom)) their own queue holds
    /// before refusing more (default [`DEFAULT_CUSTOM_QUEUE_CAPACITY`](super::DEFAULT_CUSTOM_QUEUE_CAPACITY); 1 to 16,777,216). It
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

    /// The retry schedule of API calls (default [`default_api_retry_policy`](super::default_api_retry_policy)); the number of
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
    ///   acknowledged segment files are deleted. What the shutdown deadline stops is not handed
    ///   to the error callback: it stays on disk
    ///   ([`Stats::left_on_spool`](crate::Stats::left_on_spool));
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

    /// Aggregates the records of one meter at the source: one record per customer,
    /// dimensions and window reaches Amberflo instead of one per `meter` call (see
    /// [`crate::aggregate`]). Call once per meter; records of other meters flow as before.
    ///
    /// `build` fails with [`Error::Config`] (field `aggregate`, the reason naming the meter)
    /// for a blank or too long name, a window that is not whole seconds from 1 s to 1 h, a
    /// grace over 1 h, a meter given twice, or a declared
    /// [meter type](crate::aggregate::Aggregation::meter_type) the function does not suit.
    /// With a [spool](Self::spool), aggregation is crash-safe (see [`crate::aggregate`]); a
    /// journal that cannot be opened fails `build` with [`Error::Batching`].
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use amberflo::aggregate::Aggregation;
    ///
    /// let client = amberflo::Client::builder()
    ///     .api_key("my-api-key")
    ///     .aggregate(Aggregation::sum("ApiCalls", Duration::from_secs(60)))
    ///     .aggregate(Aggregation::max("LatencyMs", Duration::from_secs(60)))
    ///     .build()?;
    /// # Ok::<(), amberflo::Error>(())
    /// ```
    pub fn aggregate(mut self, aggregation: crate::aggregate::Aggregation) -> Self {
        self.aggregations.push(aggregation);
        self
    }

    /// The most cells (key and window) aggregation keeps open at once, across meters and
    /// windows (default [`DEFAULT_MAX_OPEN_KEYS`](crate::aggregate::DEFAULT_MAX_OPEN_KEYS));
    /// a record that would open one more is sent un-aggregated and counted in
    /// [`AggregationStats::passed_through`](crate::aggregate::AggregationStats::passed_through).
    /// Checked as `meter` is called: records handed off just before the bound was reached
    /// (at most 256 per shard, see [`aggregate`](crate::aggregate)) still open cells.
    /// A cell takes about 150 bytes plus its customer id and dimensions.
    pub fn aggregation_max_open_keys(mut self, max: usize) -> Self {
        self.aggregation_max_open_keys = Some(max);
        self
    }

    /// The namespace of this client's aggregate ids (default: with a spool, the one kept in
    /// its directory, made on first use; without, a random one per client). Two clients
    /// running at once must not share one; a client that replaces another (the same service
    /// restarted) may, so that an aggregate it sends again is the same event.
    pub fn aggregation_instance_id(mut self, instance: amberflo_types::Uuid) -> Self {
        self.aggregation_instance_id = Some(instance);
        self
    }
}
