//! The [`BatcherBuilder`]: settings, validation, and starting the worker threads.

use std::fmt;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use crate::batcher::Batcher;
use crate::defaults;
use crate::error::{BuildError, DeliveryError};
use crate::executor::{Executor, ParkExecutor};
use crate::ingress::Shared;
use crate::retry::{RetryPolicy, Sleeper};
use crate::sink::Sink;
use crate::worker::{self, WorkerCtx};

/// The error callback: gets the error and owns the failed batch.
pub(crate) type ErrorCallback<T> = Arc<dyn Fn(DeliveryError, Vec<T>) + Send + Sync>;

/// Validated settings.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) capacity: usize,
    pub(crate) max_batch_size: usize,
    pub(crate) linger: Duration,
    pub(crate) workers: usize,
    pub(crate) retry: RetryPolicy,
    pub(crate) shutdown_timeout: Duration,
    pub(crate) bisect_budget: u32,
}

/// Configures and starts a [`Batcher`]. Defaults are listed in [`defaults`].
///
/// ```
/// use amberflo_batcher::{Batcher, RetryPolicy, SinkError, SinkFn};
/// use std::time::Duration;
///
/// let batcher = Batcher::builder()
///     .capacity(10_000)
///     .max_batch_size(50)
///     .linger(Duration::from_millis(100))
///     .workers(1)
///     .retry_policy(RetryPolicy::new([Duration::from_millis(10), Duration::from_millis(50)]))
///     .shutdown_timeout(Duration::from_secs(2))
///     .on_error(|error, batch: Vec<String>| {
///         // Persist or re-send `batch` here.
///         let _ = (error, batch);
///     })
///     .build(SinkFn::new(|_batch: &[String]| Ok::<(), SinkError>(())))
///     .unwrap();
/// batcher.try_send("hello".to_owned()).unwrap();
/// ```
///
/// Invalid settings are reported by [`build`](Self::build), naming the field:
///
/// ```
/// use amberflo_batcher::{Batcher, BuildError, SinkFn};
///
/// let err = Batcher::builder()
///     .workers(0)
///     .build(SinkFn::new(|_batch: &[u8]| Ok(())))
///     .unwrap_err();
/// assert!(matches!(err, BuildError::InvalidConfig { field: "workers", .. }));
/// assert_eq!(err.to_string(), "workers must be greater than zero");
/// ```
#[must_use = "a builder does nothing until `build` is called"]
pub struct BatcherBuilder<T> {
    capacity: usize,
    max_batch_size: usize,
    linger: Duration,
    workers: usize,
    retry: RetryPolicy,
    shutdown_timeout: Duration,
    bisect_budget: u32,
    thread_name: String,
    on_error: Option<ErrorCallback<T>>,
    executor: Option<Arc<dyn Executor>>,
    sleeper: Option<Arc<dyn Sleeper>>,
}

impl<T> Default for BatcherBuilder<T> {
    fn default() -> Self {
        BatcherBuilder {
            capacity: defaults::CAPACITY,
            max_batch_size: defaults::MAX_BATCH_SIZE,
            linger: defaults::LINGER,
            workers: defaults::WORKERS,
            retry: RetryPolicy::default(),
            shutdown_timeout: defaults::SHUTDOWN_TIMEOUT,
            bisect_budget: defaults::BISECT_BUDGET,
            thread_name: defaults::THREAD_NAME.to_owned(),
            on_error: None,
            executor: None,
            sleeper: None,
        }
    }
}

impl<T> fmt::Debug for BatcherBuilder<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BatcherBuilder")
            .field("capacity", &self.capacity)
            .field("max_batch_size", &self.max_batch_size)
            .field("linger", &self.linger)
            .field("workers", &self.workers)
            .field("retry", &self.retry)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .field("bisect_budget", &self.bisect_budget)
            .field("thread_name", &self.thread_name)
            .field("on_error", &self.on_error.is_some())
            .field("executor", &self.executor.is_some())
            .field("sleeper", &self.sleeper.is_some())
            .finish()
    }
}

impl<T: Send + Sync + 'static> BatcherBuilder<T> {
    /// A builder with every setting at its [default](crate::defaults).
    pub fn new() -> Self {
        Self::default()
    }

    /// Queue capacity in records (default 100,000; must be > 0 and at most
    /// [`MAX_CAPACITY`](crate::defaults::MAX_CAPACITY)). When full, `try_send` refuses, until
    /// the workers have taken a batch out. Producers racing for the last slots may overshoot
    /// it by a few items (at most 64), never more.
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }

    /// Most records per batch (default 100; must be > 0; clamped to the capacity).
    pub fn max_batch_size(mut self, max_batch_size: usize) -> Self {
        self.max_batch_size = max_batch_size;
        self
    }

    /// How long a worker waits for a partial batch to fill before sending it (default 0.5 s;
    /// zero sends whatever is queued at once). Measured from the first record of the batch.
    pub fn linger(mut self, linger: Duration) -> Self {
        self.linger = linger;
        self
    }

    /// Worker threads, i.e. concurrent sink calls (default 2; 1 to 1024).
    pub fn workers(mut self, workers: usize) -> Self {
        self.workers = workers;
        self
    }

    /// Retry schedule for retryable sink errors (default: 6 retries, 2–80 s, full jitter).
    pub fn retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Bound on the shutdown run when the last handle is dropped (default 10 s).
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// The most extra requests spent per batch isolating the records a server
    /// [refuses](crate::SinkError::rejected) (default
    /// [`BISECT_BUDGET`](crate::defaults::BISECT_BUDGET) = 64; `0` turns isolation off: a
    /// refused batch fails whole). When it runs out, each part still refused fails as it is.
    pub fn bisect_budget(mut self, requests: u32) -> Self {
        self.bisect_budget = requests;
        self
    }

    /// Prefix of the worker thread names (default `amberflo-batcher`, giving
    /// `amberflo-batcher-0`, …).
    pub fn thread_name(mut self, prefix: impl Into<String>) -> Self {
        self.thread_name = prefix.into();
        self
    }

    /// Called on a worker thread (or the shutting-down thread, for records abandoned at the
    /// shutdown deadline) with the error and the failed batch, which it owns and may persist or
    /// re-send. Default: log with `tracing::error!` and drop. A panic in it is caught and logged.
    ///
    /// Do not call [`Batcher::flush`] or [`Batcher::shutdown`] from it: they would wait for the
    /// callback itself, until their timeout.
    pub fn on_error<F>(mut self, callback: F) -> Self
    where
        F: Fn(DeliveryError, Vec<T>) + Send + Sync + 'static,
    {
        self.on_error = Some(Arc::new(callback));
        self
    }

    /// How worker threads drive the sink's future (default [`ParkExecutor`], which suits sinks
    /// that need no reactor). See [`Executor`] for plugging in a tokio runtime.
    pub fn executor(mut self, executor: impl Executor) -> Self {
        self.executor = Some(Arc::new(executor));
        self
    }

    /// Replaces the engine's interruptible retry wait, e.g. with a virtual clock in tests.
    pub fn sleeper(mut self, sleeper: impl Sleeper) -> Self {
        self.sleeper = Some(Arc::new(sleeper));
        self
    }

    fn validate(&self) -> Result<Config, BuildError> {
        fn invalid(field: &'static str, reason: &'static str) -> BuildError {
            BuildError::InvalidConfig { field, reason }
        }
        if self.capacity == 0 {
            return Err(invalid("capacity", "must be greater than zero"));
        }
        if self.capacity > defaults::MAX_CAPACITY {
            return Err(invalid("capacity", "must be at most 16777216"));
        }
        if self.max_batch_size == 0 {
            return Err(invalid("max_batch_size", "must be greater than zero"));
        }
        if self.workers == 0 {
            return Err(invalid("workers", "must be greater than zero"));
        }
        if self.workers > defaults::MAX_WORKERS {
            return Err(invalid("workers", "must be at most 1024"));
        }
        if self.thread_name.contains('\0') {
            return Err(invalid("thread_name", "must not contain NUL bytes"));
        }
        Ok(Config {
            capacity: self.capacity,
            max_batch_size: self.max_batch_size.min(self.capacity),
            linger: self.linger,
            workers: self.workers,
            retry: self.retry.clone(),
            shutdown_timeout: self.shutdown_timeout,
            bisect_budget: self.bisect_budget,
        })
    }

    /// Validates the settings and starts the worker threads, which call `sink`.
    ///
    /// # Errors
    ///
    /// [`BuildError::InvalidConfig`] naming the field for an out-of-range setting;
    /// [`BuildError::Spawn`] if a worker thread cannot be started (any started one is stopped).
    pub fn build(self, sink: impl Sink<T>) -> Result<Batcher<T>, BuildError> {
        let config = self.validate()?;
        let workers = config.workers;
        let on_error = self.on_error.unwrap_or_else(|| Arc::new(log_failure::<T>));
        let shared = Arc::new(Shared::new(config, on_error));
        let ctx = Arc::new(WorkerCtx {
            sink: Box::new(sink),
            executor: self
                .executor
                .unwrap_or_else(|| Arc::new(ParkExecutor) as Arc<dyn Executor>),
            sleeper: self.sleeper,
        });
        let mut handles = Vec::with_capacity(workers);
        for index in 0..workers {
            let name = format!("{}-{index}", self.thread_name);
            let (worker_shared, worker_ctx) = (Arc::clone(&shared), Arc::clone(&ctx));
            let spawned = thread::Builder::new()
                .name(name.clone())
                .spawn(move || worker::run(worker_shared, worker_ctx, index));
            match spawned {
                Ok(handle) => handles.push(handle),
                Err(source) => {
                    // Stop the workers already started; the queue is empty, so they exit at once.
                    let core = &shared.core;
                    core.close();
                    core.set_abort();
                    return Err(BuildError::Spawn { name, source });
                }
            }
        }
        Ok(Batcher::from_parts(shared, handles))
    }
}

/// The default error callback.
#[allow(clippy::needless_pass_by_value)] // The callback signature hands over ownership.
fn log_failure<T>(error: DeliveryError, batch: Vec<T>) {
    let cause = error
        .sink_error()
        .map_or_else(String::new, ToString::to_string);
    tracing::error!(
        records = batch.len(),
        error = %error,
        cause = %cause,
        "amberflo-batcher: batch failed and no error callback is set; dropping it"
    );
}
