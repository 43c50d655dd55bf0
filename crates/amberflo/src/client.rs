//! [`Client`]: metering (`meter`, `flush`, `shutdown`) and the entry points of the API clients.
//!
//! One file on purpose: the client's state, its metering calls and the one exchange loop every
//! API call goes through belong to the same type.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use amberflo_batcher::{Batcher, Durability, RetryPolicy, SendError, ShutdownError, Stats};
use amberflo_transport::{ApiClient, ApiRequest, Transport, gzip_ingest_body};
use amberflo_types::{MeterRecord, RecordLimits, Rule, ValidationError, write_records_json};
use http::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::Instrument as _;

use crate::aggregate::{AggregationStats, Aggregator};
use crate::api::{
    CustomersApi, IngestApi, InvoicesApi, MetersApi, PortalSessionsApi, PrepaidOrdersApi,
    ProductPlansApi, PromotionsApi, SignalsApi, UsageApi, UsageCostApi,
};
use crate::config::ClientBuilder;
use crate::deadline::Deadline;
use crate::error::{CustomPayloadError, Error, MeterError};
use crate::llm;
use crate::runtime::IoRuntime;

/// The Amberflo client: cheap to clone, safe to share across threads.
///
/// `meter` validates a record and enqueues it without blocking and without an async runtime;
/// background workers send batches to the ingest API. The API clients ([`usage`](Self::usage),
/// [`customers`](Self::customers), ...) are async and work under any executor; with the
/// `blocking` feature, `blocking()` has synchronous twins.
///
/// Dropping the last clone flushes and stops the workers, waiting at most the shutdown
/// timeout. A process that ends with `std::process::exit` skips drops: call
/// [`shutdown`](Self::shutdown) first.
///
/// ```no_run
/// use std::time::Duration;
///
/// let client = amberflo::Client::builder().api_key("my-api-key").build()?;
/// client.meter("ApiCalls", 1.0, "customer-1")?;
/// client.shutdown(Duration::from_secs(10))?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    api: ApiClient,
    records: Arc<Batcher<MeterRecord>>,
    /// Folds the records of aggregated meters before they join `records`.
    aggregator: Option<Arc<Aggregator>>,
    custom: Batcher<serde_json::Value>,
    settings: Settings,
    // Declared last: dropped after the batchers have stopped using it.
    runtime: IoRuntime,
}

/// A built client's settings beside its parts.
pub(crate) struct Settings {
    pub(crate) shutdown_timeout: Duration,
    pub(crate) limits: RecordLimits,
    pub(crate) api_retry: RetryPolicy,
    /// The largest gzipped ingest body sent in one request.
    pub(crate) max_request_bytes: usize,
}

impl Inner {
    /// Shuts both batchers down at once, each within `timeout`, so neither starves the other;
    /// aggregation first hands its open cells to the records batcher.
    fn shutdown(&self, timeout: Duration) -> Result<(), ShutdownError> {
        let deadline = Deadline::after(timeout);
        std::thread::scope(|scope| {
            let custom = scope.spawn(|| self.custom.shutdown(timeout));
            let left = match &self.aggregator {
                Some(aggregator) => {
                    aggregator.shutdown(timeout);
                    deadline.left()
                }
                None => timeout,
            };
            let records = self.records.shutdown(left);
            // The custom shutdown is bounded by `timeout` and never panics.
            records.and(custom.join().unwrap_or(Ok(())))
        })
    }

    /// Folds `record` into its aggregate when its meter is aggregated (`None`); hands it back
    /// for the records queue otherwise.
    #[inline]
    fn aggregate(&self, record: MeterRecord) -> Option<MeterRecord> {
        match &self.aggregator {
            Some(aggregator) => aggregator.offer(record),
            None => Some(record),
        }
    }

    /// Enqueues `record`, or folds it when its meter is aggregated.
    #[inline]
    fn try_send(&self, record: MeterRecord) -> Result<(), SendError<MeterRecord>> {
        match self.aggregate(record) {
            Some(record) => self.records.try_send(record),
            None => Ok(()),
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // After an explicit `shutdown` (which returned its own outcome), dropping is silent.
        if self.records.is_closed() && self.custom.is_closed() {
            return;
        }
        if let Err(error) = self.shutdown(self.settings.shutdown_timeout) {
            tracing::warn!(%error, "amberflo: shutdown on drop did not finish");
        }
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("api", &self.inner.api)
            .field("stats", &self.inner.records.stats())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A builder; see [`ClientBuilder`].
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// A client configured from `AMBERFLO_API_KEY`, `AMBERFLO_API_URL`, `AMBERFLO_INGEST_URL`.
    ///
    /// # Errors
    /// As [`ClientBuilder::from_env`] and [`ClientBuilder::build`].
    pub fn from_env() -> Result<Client, Error> {
        ClientBuilder::from_env()?.build()
    }

    pub(crate) fn from_parts(
        api: ApiClient,
        records: Arc<Batcher<MeterRecord>>,
        aggregator: Option<Arc<Aggregator>>,
        custom: Batcher<serde_json::Value>,
        runtime: IoRuntime,
        settings: Settings,
    ) -> Self {
        Client {
            inner: Arc::new(Inner {
                api,
                records,
                aggregator,
                custom,
                settings,
                runtime,
            }),
        }
    }

    /// Whether both handles are clones of one client.
    pub(crate) fn same_as(&self, other: &Client) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// Meters `meter_value` of `meter_api_name` for `customer_id`, now, with a fresh unique id.
    ///
    /// Never blocks and needs no runtime, except for the disk sync a spool under
    /// [`FsyncPolicy::Always`](crate::FsyncPolicy::Always) waits for (on an async runtime's
    /// thread, use [`meter_record_async`](Self::meter_record_async) then).
    ///
    /// # Errors
    /// [`MeterError::Invalid`] naming the bad field; [`MeterError::Rejected`] with the record
    /// when the queue is full (once full, it refuses until the workers have taken a batch
    /// out) or the client is shut down.
    pub fn meter(
        &self,
        meter_api_name: impl AsRef<str>,
        meter_value: f64,
        customer_id: impl AsRef<str>,
    ) -> Result<(), MeterError> {
        let record = MeterRecord::builder(meter_api_name, meter_value, customer_id)
            .build_with(&self.inner.settings.limits)?;
        self.inner.try_send(record)?;
        Ok(())
    }

    /// Meters a full record (dimensions, time, unique id), built with [`MeterRecord::builder`].
    ///
    /// # Errors
    /// As [`meter`](Self::meter): the record is checked against the client's
    /// [`record_limits`](crate::ClientBuilder::record_limits) and the ingest rules (records
    /// from elsewhere, e.g. deserialised, included).
    pub fn meter_record(&self, record: MeterRecord) -> Result<(), MeterError> {
        record.validate_with(&self.inner.settings.limits)?;
        self.inner.try_send(record)?;
        Ok(())
    }

    /// Like [`meter_record`](Self::meter_record), but never waits for a disk: for callers on
    /// an async runtime's thread (an HTTP handler, a tower layer). With a spool under
    /// [`FsyncPolicy::Always`](crate::FsyncPolicy::Always) it returns once the record is
    /// written (it survives `kill -9`), and the client's spool thread syncs it, with every
    /// record that came meanwhile. Await the returned [`Durability`] where the record must be
    /// on stable storage before going on; drop it otherwise (the sync happens anyway).
    /// Without a spool, or under another policy, it is `meter_record` and the `Durability`
    /// resolves at once.
    ///
    /// ```no_run
    /// # async fn handler(client: amberflo::Client) -> Result<(), amberflo::MeterError> {
    /// let record = amberflo::MeterRecord::builder("ApiCalls", 1.0, "customer-1").build()?;
    /// client.meter_record_async(record)?.await; // on disk as the fsync policy promises
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// As [`meter_record`](Self::meter_record).
    pub fn meter_record_async(&self, record: MeterRecord) -> Result<Durability, MeterError> {
        record.validate_with(&self.inner.settings.limits)?;
        match self.inner.aggregate(record) {
            Some(record) => Ok(self.inner.records.try_send_async(record)?),
            None => Ok(Durability::ready()),
        }
    }

    /// Like [`meter_record`](Self::meter_record), but when the queue is full it waits up to
    /// `timeout` for room instead of refusing at once: back-pressure for producers that would
    /// rather slow down than handle refusals. It parks the calling thread (no runtime needed)
    /// until the workers have taken a batch out; waiting callers are woken one after another
    /// while there is room.
    ///
    /// # Errors
    /// As [`meter_record`](Self::meter_record); `Rejected` once `timeout` passes with the
    /// queue still full.
    pub fn meter_record_timeout(
        &self,
        record: MeterRecord,
        timeout: Duration,
    ) -> Result<(), MeterError> {
        record.validate_with(&self.inner.settings.limits)?;
        if let Some(record) = self.inner.aggregate(record) {
            self.inner.records.send_timeout(record, timeout)?;
        }
        Ok(())
    }

    /// The limits every record is checked against: the builder's
    /// [`record_limits`](crate::ClientBuilder::record_limits), by default
    /// [`RecordLimits::default`](crate::types::RecordLimits).
    ///
    /// ```no_run
    /// let client = amberflo::Client::builder().api_key("my-api-key").build()?;
    /// assert_eq!(client.record_limits().max_name_bytes, 256);
    /// # Ok::<(), amberflo::Error>(())
    /// ```
    pub fn record_limits(&self) -> &amberflo_types::RecordLimits {
        &self.inner.settings.limits
    }

    /// Meters the token usage of an LLM provider response (OpenAI, Anthropic, Cohere, Vertex
    /// AI) as `input_tokens` / `output_tokens` records; see [`crate::llm`]. Returns how many
    /// records were enqueued (0 for an unrecognised response).
    ///
    /// # Errors
    /// As [`meter`](Self::meter), and [`MeterError::Invalid`] naming a token count that is
    /// not a whole number at least 0 (see [`llm::token_usage`]). Records are built first (a
    /// validation error enqueues nothing), then enqueued in order, `input_tokens` first: when the queue refuses one,
    /// the records before it were enqueued and the error holds the refused one.
    pub fn meter_llm(
        &self,
        response: &serde_json::Value,
        customer_id: &str,
        dimensions: &BTreeMap<String, String>,
    ) -> Result<usize, MeterError> {
        let records = llm::token_records(response, customer_id, dimensions)?;
        for record in &records {
            record.validate_with(&self.inner.settings.limits)?;
        }
        let count = records.len();
        for record in records {
            self.inner.try_send(record)?;
        }
        Ok(count)
    }

    /// Enqueues a custom-schema payload (a JSON object, parsed by the account's custom
    /// schemas) for `POST /ingest?schemaDetection=AUTO`.
    ///
    /// # Errors
    /// The payload is handed back when it is not an object, when the queue is full, or when
    /// the client is shut down.
    pub fn send_custom(&self, payload: serde_json::Value) -> Result<(), CustomPayloadError> {
        if !payload.is_object() {
            return Err(CustomPayloadError::NotAnObject(payload));
        }
        Ok(self.inner.custom.try_send(payload)?)
    }

    /// Waits until everything enqueued before this call is delivered or handed to the error
    /// callback. With [aggregation](ClientBuilder::aggregate), the open aggregates are sent
    /// first, early (later records of their windows go into new ones). Safe to call from any thread, including inside an async runtime (it blocks
    /// the thread; prefer [`flush_async`](Self::flush_async) there).
    ///
    /// # Errors
    /// [`Error::Flush`] when `timeout` passes first.
    pub fn flush(&self, timeout: Duration) -> Result<(), Error> {
        amberflo_batcher::block_on(self.flush_async(timeout))
    }

    /// Like [`flush`](Self::flush), without blocking the executor; works under any runtime.
    /// What it waits for is fixed when it is called, not when it is first polled, and the
    /// timeout starts then too.
    ///
    /// # Errors
    /// [`Error::Flush`] when `timeout` passes first.
    pub fn flush_async(
        &self,
        timeout: Duration,
    ) -> impl Future<Output = Result<(), Error>> + Send + 'static {
        let deadline = Deadline::after(timeout);
        // With aggregation, the stage's flush ends with a flush of the records queue begun
        // after its hand-over, which covers everything this one would.
        let records = match &self.inner.aggregator {
            None => Some(self.inner.records.flush_async(timeout)),
            Some(_) => None,
        };
        let custom = self.inner.custom.flush_async(timeout);
        let aggregator = self.inner.aggregator.clone();
        async move {
            if let Some(aggregator) = aggregator {
                aggregator.flush(deadline.left()).await?;
            }
            if let Some(records) = records {
                records.await?;
            }
            custom.await?;
            Ok(())
        }
    }

    /// Flushes, then stops the workers, waiting at most `timeout`. Idempotent; `meter`
    /// afterwards hands records back. API calls keep working.
    ///
    /// # Errors
    /// [`Error::Shutdown`] when `timeout` passes first; what was still queued went to the error
    /// callback.
    pub fn shutdown(&self, timeout: Duration) -> Result<(), Error> {
        Ok(self.inner.shutdown(timeout)?)
    }

    /// The transport this client sends through: its [`name`](Transport::name) and
    /// [`tls_backend`](Transport::tls_backend) say which built-in one and which TLS library
    /// the build chose.
    ///
    /// ```
    /// let client = amberflo::Client::builder().api_key("my-api-key").build()?;
    /// # #[cfg(feature = "reqwest")]
    /// assert_eq!(client.transport().name(), "reqwest"); // the default when compiled in
    /// # Ok::<(), amberflo::Error>(())
    /// ```
    pub fn transport(&self) -> &Arc<dyn Transport> {
        self.inner.api.transport()
    }

    /// The shutdown timeout this client was built with (used on drop).
    pub fn shutdown_timeout(&self) -> Duration {
        self.inner.settings.shutdown_timeout
    }

    /// Delivery counters of meter records.
    pub fn stats(&self) -> Stats {
        self.inner.records.stats()
    }

    /// What source-side aggregation did so far (all zeros without
    /// [`ClientBuilder::aggregate`]).
    ///
    /// ```no_run
    /// let client = amberflo::Client::builder().api_key("my-api-key").build()?;
    /// let stats = client.aggregation_stats();
    /// println!("{} records sent as {} aggregates", stats.records_in, stats.aggregates_out);
    /// # Ok::<(), amberflo::Error>(())
    /// ```
    pub fn aggregation_stats(&self) -> AggregationStats {
        self.inner
            .aggregator
            .as_ref()
            .map(|aggregator| aggregator.stats())
            .unwrap_or_default()
    }

    /// Checks each [aggregated](ClientBuilder::aggregate) meter against its definition in
    /// Amberflo ([`meters().get`](crate::MetersApi::get)): it must exist, and the
    /// aggregation's function must [suit](crate::aggregate::AggregateFunction::suits) its type
    /// (when the definition states one).
    ///
    /// ```no_run
    /// # async fn start(client: amberflo::Client) -> Result<(), amberflo::Error> {
    /// client.check_aggregations().await?; // before serving traffic
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`Error::Config`] (field `aggregate`) naming the first meter that is missing or whose
    /// type the function does not suit; the API call's error when a lookup fails.
    pub async fn check_aggregations(&self) -> Result<(), Error> {
        let Some(aggregator) = &self.inner.aggregator else {
            return Ok(());
        };
        for aggregation in aggregator.aggregations() {
            let meter = aggregation.meter();
            let reason = match self.meters().get(meter).await? {
                None => format!("meter {meter:?} is not defined in Amberflo"),
                // A definition without a type cannot be checked further.
                Some(definition) => match definition
                    .meter_type
                    .and_then(|meter_type| aggregation.unsuited(&meter_type, " in Amberflo"))
                {
                    Some(reason) => reason,
                    None => continue,
                },
            };
            return Err(Error::Config {
                field: "aggregate",
                reason,
            });
        }
        Ok(())
    }

    /// Delivery counters of custom-schema payloads.
    pub fn custom_stats(&self) -> Stats {
        self.inner.custom.stats()
    }

    /// The usage API: query aggregated meter values.
    pub fn usage(&self) -> UsageApi<'_> {
        UsageApi::new(self)
    }

    /// Ingest now, around the queue: the server's answer for exactly the records given.
    pub fn ingest(&self) -> IngestApi<'_> {
        IngestApi::new(self)
    }

    /// The customers API.
    pub fn customers(&self) -> CustomersApi<'_> {
        CustomersApi::new(self)
    }

    /// The customer portal sessions API.
    pub fn portal_sessions(&self) -> PortalSessionsApi<'_> {
        PortalSessionsApi::new(self)
    }

    /// The customer product plans API.
    pub fn product_plans(&self) -> ProductPlansApi<'_> {
        ProductPlansApi::new(self)
    }

    /// The prepaid orders API.
    pub fn prepaid_orders(&self) -> PrepaidOrdersApi<'_> {
        PrepaidOrdersApi::new(self)
    }

    /// The invoices API.
    pub fn invoices(&self) -> InvoicesApi<'_> {
        InvoicesApi::new(self)
    }

    /// The usage cost API: what usage costs, paged.
    pub fn usage_cost(&self) -> UsageCostApi<'_> {
        UsageCostApi::new(self)
    }

    /// The signals (notifications) API.
    pub fn signals(&self) -> SignalsApi<'_> {
        SignalsApi::new(self)
    }

    /// The promotions API: account promotions, and promotions applied to customers.
    pub fn promotions(&self) -> PromotionsApi<'_> {
        PromotionsApi::new(self)
    }

    /// The meter definitions API.
    pub fn meters(&self) -> MetersApi<'_> {
        MetersApi::new(self)
    }

    /// Synchronous twins of the API clients. Available with the `blocking` feature.
    #[cfg(feature = "blocking")]
    pub fn blocking(&self) -> crate::blocking::BlockingClient<'_> {
        crate::blocking::BlockingClient::new(self)
    }

    /// Sends an encoded request on the SDK's I/O runtime and decodes the reply, retried as
    /// [`exchange`](Self::exchange) says.
    async fn send<R>(&self, request: ApiRequest, retry: Retry) -> Result<R, Error>
    where
        R: DeserializeOwned + Send + 'static,
    {
        let what = format!("{} {}", request.method(), request.uri());
        self.exchange(retry, what, move |api| {
            let request = request.clone();
            async move { api.send_json(request).await }
        })
        .await
    }

    /// Runs `attempt` on the SDK's I/O runtime, in the caller's `tracing` span. With `retry`,
    /// a retryable failure (408, 429, 5xx, network) is attempted again per the API retry
    /// policy, waiting the backoff or `Retry-After` on the runtime; `what` names the call in
    /// the retry log.
    async fn exchange<T, F, Fut>(&self, retry: Retry, what: String, attempt: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: Fn(ApiClient) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, amberflo_transport::Error>> + Send,
    {
        let api = self.inner.api.clone();
        let policy = match retry {
            Retry::Idempotent => self.inner.settings.api_retry.clone(),
            Retry::Never => RetryPolicy::none(),
        };
        let exchange = async move {
            let mut attempts: u32 = 0;
            loop {
                let error: Error = match attempt(api.clone()).await {
                    Ok(reply) => return Ok(reply),
                    Err(error) => error.into(),
                };
                if !error.is_retryable() {
                    return Err(error);
                }
                let Some(wait) = policy.delay(attempts, error.retry_after(), fastrand::f64())
                else {
                    return Err(error);
                };
                tracing::debug!(
                    call = %what,
                    %error,
                    retry = attempts + 1,
                    wait_ms = wait.as_millis(),
                    "amberflo call failed; retrying"
                );
                tokio::time::sleep(wait).await;
                attempts += 1;
            }
        };
        self.inner
            .runtime
            .call(exchange.instrument(tracing::Span::current()))
            .await
    }

    /// Ingests `records` in one request now, around the queue: validated against the record
    /// limits, encoded and gzipped as the workers do, refused over `max_request_bytes`, and
    /// retried like an idempotent call (a resent record keeps its `uniqueId`, which the
    /// server deduplicates on).
    pub(crate) async fn ingest_now(&self, records: &[MeterRecord]) -> Result<String, Error> {
        if records.is_empty() {
            return Err(ValidationError::new("records", Rule::EmptyList).into());
        }
        for (index, record) in records.iter().enumerate() {
            record
                .validate_with(&self.inner.settings.limits)
                .map_err(|error| {
                    let field = format!("records[{index}].{}", error.field());
                    ValidationError::new(field, error.rule().clone())
                })?;
        }
        let mut json = Vec::with_capacity(records.len().saturating_mul(256));
        write_records_json(records, &mut json).map_err(|error| Error::Encode {
            message: format!("the records as JSON: {error}"),
            source: None,
        })?;
        let body = gzip_ingest_body(&json)?;
        let max_bytes = self.inner.settings.max_request_bytes;
        if body.len() > max_bytes {
            return Err(ValidationError::new("records", Rule::TooLong { max_bytes }).into());
        }
        let what = format!("POST ingest ({} records)", records.len());
        self.exchange(Retry::Idempotent, what, move |api| {
            let body = body.clone();
            async move { api.ingest_body(body).await }
        })
        .await
    }

    /// `{method} {api}{path}?{query}`, decoded as `R`. The query is encoded here, on the
    /// caller's thread; only the encoded request moves to the I/O runtime.
    pub(crate) async fn call<Q, R>(&self, method: Method, path: &str, query: &Q) -> Result<R, Error>
    where
        Q: Serialize + ?Sized,
        R: DeserializeOwned + Send + 'static,
    {
        let retry = Retry::for_method(&method);
        let request = self.inner.api.request(method, path, query)?;
        self.send(request, retry).await
    }

    /// `{method} {api}{path}?{query}` whose answer has no body worth reading (a delete): any
    /// 2xx is success, whatever it carries (`{}`, the deleted object, text, nothing at all).
    pub(crate) async fn call_ignoring_body<Q>(
        &self,
        method: Method,
        path: &str,
        query: &Q,
    ) -> Result<(), Error>
    where
        Q: Serialize + ?Sized,
    {
        let retry = Retry::for_method(&method);
        let request = self.inner.api.request(method, path, query)?;
        let what = format!("{} {}", request.method(), request.uri());
        self.exchange(retry, what, move |api| {
            let request = request.clone();
            async move { api.send_discarding_body(request).await }
        })
        .await
    }

    /// `{method} {api}{path}?{query}` with a JSON body, decoded as `R`; encoded like
    /// [`call`](Self::call).
    pub(crate) async fn call_json<Q, B, R>(
        &self,
        method: Method,
        path: &str,
        query: &Q,
        body: &B,
    ) -> Result<R, Error>
    where
        Q: Serialize + ?Sized,
        B: Serialize + ?Sized,
        R: DeserializeOwned + Send + 'static,
    {
        let retry = Retry::for_method(&method);
        let request = self.inner.api.request_json(method, path, query, body)?;
        self.send(request, retry).await
    }

    /// `POST {api}{path}` with a JSON body that only reads (a query sent as a body, such as
    /// usage): retried like GET.
    pub(crate) async fn query_json<B, R>(&self, path: &str, body: &B) -> Result<R, Error>
    where
        B: Serialize + ?Sized,
        R: DeserializeOwned + Send + 'static,
    {
        let request = self.inner.api.request_json(Method::POST, path, &(), body)?;
        self.send(request, Retry::Idempotent).await
    }
}

/// Whether a failed API call may be sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Retry {
    /// Sending it twice does what sending it once does: GET, PUT, DELETE, read-only POSTs.
    Idempotent,
    /// A POST that creates: never retried blindly.
    Never,
}

impl Retry {
    fn for_method(method: &Method) -> Retry {
        if *method == Method::GET
            || *method == Method::PUT
            || *method == Method::DELETE
            || *method == Method::HEAD
        {
            Retry::Idempotent
        } else {
            Retry::Never
        }
    }
}
