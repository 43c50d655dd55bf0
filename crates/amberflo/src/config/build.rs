//! [`ClientBuilder::build`]: checks the settings, picks the transport, starts the I/O
//! runtime and the batchers.

use std::sync::Arc;

use amberflo_batcher::defaults::MAX_CAPACITY;
use amberflo_batcher::{Batcher, BatcherBuilder, SpoolConfig};
use amberflo_transport::{ApiClient, ApiKey, BuiltinOptions, Transport, TransportKind};
use amberflo_types::MeterRecord;

use crate::aggregate::{Aggregator, Outlet};
use crate::client::{Client, Settings};
use crate::error::Error;
use crate::runtime::IoRuntime;
use crate::sink::{IngestKind, IngestSink, JsonCodec, RecordCodec, WorkerApi};

use super::{
    ClientBuilder, DEFAULT_CUSTOM_QUEUE_CAPACITY, DEFAULT_MAX_REQUEST_BYTES, Delivery, ENV_API_KEY,
    FailedBatch, TransportChoice, default_api_retry_policy,
};

impl ClientBuilder {
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
        self.check_aggregations()?;
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
        if let Some(limit) = self.max_response_bytes {
            api = api.max_decoded_bytes(limit.saturating_mul(2));
        }
        let api = api.build()?;
        if builtin.is_some() {
            self.refuse_https_without_tls(&api)?;
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
        let records = Arc::new(records);
        let aggregator = self.aggregator(&records)?;
        let settings = Settings {
            shutdown_timeout,
            limits: self.record_limits,
            api_retry: self
                .api_retry_policy
                .clone()
                .unwrap_or_else(default_api_retry_policy),
            max_request_bytes: self.request_bytes_cap(),
        };
        Ok(Client::from_parts(
            api, records, aggregator, custom, runtime, settings,
        ))
    }

    /// Refuses aggregations that are invalid or name a meter twice.
    fn check_aggregations(&self) -> Result<(), Error> {
        let refuse = |reason: String| Error::Config {
            field: "aggregate",
            reason,
        };
        let mut seen = std::collections::HashSet::new();
        for aggregation in &self.aggregations {
            aggregation
                .check(self.record_limits.max_name_bytes)
                .map_err(refuse)?;
            if !seen.insert(aggregation.meter()) {
                return Err(refuse(format!(
                    "meter {:?} is aggregated twice",
                    aggregation.meter()
                )));
            }
        }
        if self.aggregation_max_open_keys == Some(0) {
            return Err(Error::Config {
                field: "aggregation_max_open_keys",
                reason: "must be greater than zero".to_owned(),
            });
        }
        Ok(())
    }

    /// The aggregation stage, when meters are aggregated: it sends aggregates to `records`,
    /// and what that cannot take at shutdown to the error callback.
    fn aggregator(
        &self,
        records: &Arc<Batcher<MeterRecord>>,
    ) -> Result<Option<Arc<Aggregator>>, Error> {
        // A journal an earlier client left is delivered even when no meter is aggregated now.
        let journal_dir = self
            .spool
            .as_ref()
            .map(|spool| spool.dir().join("aggregate"));
        if self.aggregations.is_empty() && !journal_dir.as_ref().is_some_and(|dir| dir.exists()) {
            return Ok(None);
        }
        let outlet = Outlet {
            records: Arc::clone(records),
            on_error: self.on_error.clone(),
        };
        // With a spool, records of aggregated meters are journaled beside the spooled ones.
        let journal = journal_dir.zip(self.spool.as_ref().map(SpoolConfig::fsync_policy));
        let aggregator = Aggregator::start(
            self.aggregations.clone(),
            self.aggregation_instance_id,
            self.aggregation_max_open_keys
                .unwrap_or(crate::aggregate::DEFAULT_MAX_OPEN_KEYS),
            outlet,
            journal,
        )?;
        Ok(Some(Arc::new(aggregator)))
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

    /// Refuses a client whose built-in transport has no TLS (a build without the `rustls`
    /// and `native-tls` features, or `hyper` with only `native-tls`) for an `https://` API,
    /// ingest or S3 target: every request would fail, and every batch go to `on_error`.
    fn refuse_https_without_tls(&self, api: &ApiClient) -> Result<(), Error> {
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
        #[cfg(feature = "s3")]
        if self.s3.as_ref().is_some_and(|s3| s3.is_https()) {
            return Err(Error::Config {
                field: "ingest_to_s3",
                reason: "puts objects over https, but this build's transport has no TLS: \
                         enable the `rustls` feature, or use an http:// endpoint"
                    .to_owned(),
            });
        }
        Ok(())
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
