//! The [`BatcherBuilder`]: settings, validation, and starting the worker threads.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread;
use std::time::Duration;

use crate::batcher::Batcher;
use crate::core::slot_of;
use crate::defaults;
use crate::error::{BuildError, DeliveryError};
use crate::executor::{Executor, ParkExecutor};
use crate::ingress::Shared;
use crate::retry::{RetryPolicy, Sleeper};
use crate::sink::Sink;
use crate::spool::{Spool, SpoolCodec, SpoolConfig, SpoolCounters};
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

#[cfg(test)]
impl Config {
    /// A queue of `capacity` and batches of `max_batch_size`, without linger, for one worker.
    pub(crate) fn for_tests(capacity: usize, max_batch_size: usize) -> Self {
        Config {
            capacity,
            max_batch_size,
            linger: Duration::ZERO,
            workers: 1,
            retry: RetryPolicy::default(),
            shutdown_timeout: Duration::ZERO,
            bisect_budget: 0,
        }
    }
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
    spool: Option<(SpoolConfig, Box<dyn SpoolCodec<T>>)>,
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
            spool: None,
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
            .field("spool", &self.spool.as_ref().map(|(config, _)| config))
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

    /// Most records per batch (default [`MAX_BATCH_SIZE`](crate::defaults::MAX_BATCH_SIZE);
    /// must be > 0; clamped to the capacity).
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

    /// Spools items to disk in `config.dir()` before `try_send` returns, encoded with `codec`
    /// (default: no spool, items live in memory only). See the crate docs' *Spool* section.
    ///
    /// With a spool, an accepted item survives a crash of the process (and, depending on the
    /// [`FsyncPolicy`](crate::FsyncPolicy), of the machine); the next engine built on the same
    /// directory delivers what was not acknowledged, oldest first. The memory queue
    /// ([`capacity`](Self::capacity)) becomes a cache of the spool's head: when it is full,
    /// items still go to disk, up to the disk budget, and the workers load them back as they
    /// make room. A second engine on the same directory fails to build
    /// ([`BuildError::SpoolLocked`]).
    ///
    /// ```
    /// use amberflo_batcher::{Batcher, CodecError, SpoolCodec, SpoolConfig, SinkFn};
    /// use std::time::Duration;
    ///
    /// struct Le;
    /// impl SpoolCodec<u64> for Le {
    ///     fn encode(&self, item: &u64, out: &mut Vec<u8>) -> Result<(), CodecError> {
    ///         out.extend_from_slice(&item.to_le_bytes());
    ///         Ok(())
    ///     }
    ///     fn decode(&self, bytes: &[u8]) -> Result<u64, CodecError> {
    ///         Ok(u64::from_le_bytes(bytes.try_into().map_err(CodecError::new)?))
    ///     }
    /// }
    ///
    /// let dir = std::env::temp_dir().join(format!("spool-doc-{}", std::process::id()));
    /// let batcher = Batcher::builder()
    ///     .capacity(10) // in memory; the rest waits on disk
    ///     .spool(SpoolConfig::new(&dir), Le)
    ///     .build(SinkFn::new(|_batch: &[u64]| Ok(())))?;
    /// for i in 0..1_000 {
    ///     batcher.try_send(i)?; // on disk when this returns
    /// }
    /// batcher.shutdown(Duration::from_secs(10))?;
    /// let stats = batcher.stats();
    /// assert_eq!((stats.delivered, stats.spooled), (1_000, 0));
    /// # drop(batcher);
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn spool(mut self, config: SpoolConfig, codec: impl SpoolCodec<T> + 'static) -> Self {
        self.spool = Some((config, Box::new(codec)));
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
        if let Some((field, reason)) = self.spool.as_ref().and_then(|(spool, _)| spool.invalid()) {
            return Err(invalid(field, reason));
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
    /// [`BuildError::Spawn`] if a worker thread cannot be started (any started one is stopped);
    /// with a spool, [`BuildError::SpoolLocked`] if another engine uses its directory and
    /// [`BuildError::Spool`] if the directory cannot be prepared.
    pub fn build(self, sink: impl Sink<T>) -> Result<Batcher<T>, BuildError> {
        let config = self.validate()?;
        let workers = config.workers;
        let on_error = self.on_error.unwrap_or_else(|| Arc::new(log_failure::<T>));
        let counters = Arc::new(SpoolCounters::default());
        // A fresh engine is in its first epoch: replayed records are counted there.
        let replay_slot = slot_of(1);
        let (spool, replayed) = match self.spool {
            Some((spool, codec)) => {
                let (spool, replayed) = Spool::open(&spool, codec, &counters, replay_slot as u8)?;
                (Some(spool), replayed)
            }
            None => (None, 0),
        };
        let shared = Arc::new(Shared::with_spool(config, on_error, spool, counters));
        if replayed > 0 {
            shared.core.shard().added[replay_slot].fetch_add(replayed, Ordering::SeqCst);
        }
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
