//! The crate's error types: enqueue, sink, delivery, flush, shutdown and build errors.

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

/// A boxed error that can cross threads; the payload of a [`SinkError`].
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// Why [`Batcher::try_send`](crate::Batcher::try_send) or
/// [`Batcher::send_timeout`](crate::Batcher::send_timeout) refused an item.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SendErrorKind {
    /// The queue is at capacity (for `send_timeout`: it stayed full until the timeout).
    ///
    /// Once full, the queue keeps refusing until the workers have taken out a batch's worth of
    /// items (`max_batch_size`, or half the capacity if smaller), so that producers retrying
    /// refused items do not fight the workers for every slot they free.
    Full,
    /// The engine is shut down (or shutting down) and accepts no more items.
    Closed,
    /// With a [spool](crate::BatcherBuilder::spool): the item could not be spooled (its
    /// codec failed, it is over the 16 MiB frame limit, or writing failed); the cause is
    /// logged.
    Spool,
}

/// An item the engine refused, handed back to the caller together with the reason.
///
/// The item is counted in [`Stats::rejected`](crate::Stats::rejected); nothing else happens
/// to it, so the caller can retry, persist or drop it.
///
/// ```
/// use amberflo_batcher::{Batcher, SendErrorKind, SinkFn};
/// use std::time::Duration;
///
/// let batcher = Batcher::builder()
///     .build(SinkFn::new(|_batch: &[u32]| Ok(())))
///     .unwrap();
/// batcher.shutdown(Duration::from_secs(1)).unwrap();
/// let err = batcher.try_send(7).unwrap_err();
/// assert_eq!(err.kind(), SendErrorKind::Closed);
/// assert_eq!(err.into_inner(), 7);
/// ```
pub struct SendError<T> {
    kind: SendErrorKind,
    item: T,
}

impl<T> SendError<T> {
    pub(crate) fn new(kind: SendErrorKind, item: T) -> Self {
        SendError { kind, item }
    }

    /// Why the item was refused.
    pub fn kind(&self) -> SendErrorKind {
        self.kind
    }

    /// `true` when the queue was full.
    pub fn is_full(&self) -> bool {
        self.kind == SendErrorKind::Full
    }

    /// `true` when the engine was shut down.
    pub fn is_closed(&self) -> bool {
        self.kind == SendErrorKind::Closed
    }

    /// A reference to the refused item.
    pub fn item(&self) -> &T {
        &self.item
    }

    /// Gives the refused item back.
    pub fn into_inner(self) -> T {
        self.item
    }
}

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendError")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            SendErrorKind::Full => f.write_str("the batcher queue is full"),
            SendErrorKind::Closed => f.write_str("the batcher is shut down"),
            SendErrorKind::Spool => f.write_str("the item could not be written to the spool"),
        }
    }
}

impl<T> StdError for SendError<T> {}

/// The error a [`Sink`](crate::Sink) returns for a batch it could not deliver.
///
/// It says whether the failure is worth retrying (5xx, 429, network errors), whether the batch
/// was too large to send as one request ([`too_large`](Self::too_large): the engine splits it),
/// or neither (other 4xx), and may carry a server-supplied `Retry-After` wait that overrides
/// the backoff (capped by [`RetryPolicy::max_retry_after`](crate::RetryPolicy::max_retry_after)).
///
/// ```
/// use amberflo_batcher::SinkError;
/// use std::time::Duration;
///
/// let err = SinkError::retryable("503 Service Unavailable")
///     .with_retry_after(Duration::from_secs(3));
/// assert!(err.is_retryable());
/// assert_eq!(err.retry_after(), Some(Duration::from_secs(3)));
/// assert!(!SinkError::fatal("400 Bad Request").is_retryable());
/// let err = SinkError::too_large("413 Payload Too Large");
/// assert!(err.is_too_large() && !err.is_retryable());
/// ```
#[derive(Debug)]
pub struct SinkError {
    kind: SinkErrorKind,
    retry_after: Option<Duration>,
    source: BoxError,
}

/// What kind of failure a [`SinkError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SinkErrorKind {
    Retryable,
    Fatal,
    TooLarge,
    Rejected,
}

impl SinkError {
    fn new(kind: SinkErrorKind, source: BoxError) -> Self {
        SinkError {
            kind,
            retry_after: None,
            source,
        }
    }

    /// A failure worth retrying (server error, throttling, network error).
    pub fn retryable(source: impl Into<BoxError>) -> Self {
        SinkError::new(SinkErrorKind::Retryable, source.into())
    }

    /// A failure that retrying cannot fix (the batch goes to the error callback at once).
    pub fn fatal(source: impl Into<BoxError>) -> Self {
        SinkError::new(SinkErrorKind::Fatal, source.into())
    }

    /// The batch cannot be sent as one request: its encoded body is over a size cap, or the
    /// server answered `413 Payload Too Large`.
    ///
    /// Not retryable as the same batch: the engine splits the batch in two halves and sends
    /// each on its own (recursively, each with its own retries), so a single record that is
    /// still too large alone fails with [`DeliveryError::TooLarge`] while the rest of its batch
    /// is delivered. A `Retry-After` on this error is ignored.
    ///
    /// ```
    /// use amberflo_batcher::{Batcher, DeliveryError, SinkError, SinkFn};
    /// use std::sync::{Arc, Mutex};
    /// use std::time::Duration;
    ///
    /// let failed = Arc::new(Mutex::new(Vec::new()));
    /// let seen = Arc::clone(&failed);
    /// let batcher = Batcher::builder()
    ///     .linger(Duration::from_secs(60))
    ///     .on_error(move |error, batch: Vec<String>| {
    ///         assert!(matches!(error, DeliveryError::TooLarge { .. }));
    ///         seen.lock().unwrap().extend(batch);
    ///     })
    ///     // At most 2 records, none longer than 10 bytes, fit in one request.
    ///     .build(SinkFn::new(|batch: &[String]| {
    ///         if batch.len() > 2 || batch.iter().any(|record| record.len() > 10) {
    ///             return Err(SinkError::too_large("413 Payload Too Large"));
    ///         }
    ///         Ok(())
    ///     }))?;
    /// for record in ["a", "b", "much too long a record", "c", "d"] {
    ///     batcher.try_send(record.to_owned())?;
    /// }
    /// batcher.flush(Duration::from_secs(5))?;
    /// assert_eq!(*failed.lock().unwrap(), ["much too long a record"]);
    /// let stats = batcher.stats();
    /// assert_eq!((stats.delivered, stats.failed), (4, 1));
    /// assert!(stats.split > 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn too_large(source: impl Into<BoxError>) -> Self {
        SinkError::new(SinkErrorKind::TooLarge, source.into())
    }

    /// The server refused the batch for good because of what is in it (a 400 naming a bad
    /// record, say), so one record may be the cause: poison-record isolation.
    ///
    /// Not retryable as the same batch: the engine bisects it, sending each half on its own,
    /// so good records are delivered and only the records the server still refuses alone
    /// reach the error callback, each as [`DeliveryError::Fatal`] with the server's own error.
    /// Bisecting costs about two requests per level (log2 of the batch size per bad record);
    /// the engine spends at most [`BatcherBuilder::bisect_budget`](crate::BatcherBuilder::bisect_budget)
    /// extra requests per batch, then fails what is left as it is.
    ///
    /// ```
    /// use amberflo_batcher::{Batcher, DeliveryError, SinkError, SinkFn};
    /// use std::sync::{Arc, Mutex};
    /// use std::time::Duration;
    ///
    /// let refused = Arc::new(Mutex::new(Vec::new()));
    /// let seen = Arc::clone(&refused);
    /// let batcher = Batcher::builder()
    ///     .linger(Duration::from_secs(60))
    ///     .on_error(move |error, batch: Vec<u32>| {
    ///         assert!(matches!(error, DeliveryError::Fatal { .. }));
    ///         seen.lock().unwrap().extend(batch);
    ///     })
    ///     // The server refuses any batch holding a 13.
    ///     .build(SinkFn::new(|batch: &[u32]| match batch.contains(&13) {
    ///         true => Err(SinkError::rejected("400: record 13 is invalid")),
    ///         false => Ok(()),
    ///     }))?;
    /// for record in 0..20 {
    ///     batcher.try_send(record)?;
    /// }
    /// batcher.flush(Duration::from_secs(5))?;
    /// assert_eq!(*refused.lock().unwrap(), [13]);
    /// assert_eq!(batcher.stats().delivered, 19);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn rejected(source: impl Into<BoxError>) -> Self {
        SinkError::new(SinkErrorKind::Rejected, source.into())
    }

    /// Whether the server refused the batch's contents (see [`rejected`](Self::rejected)).
    pub fn is_rejected(&self) -> bool {
        self.kind == SinkErrorKind::Rejected
    }

    /// Sets the server-supplied wait before the next attempt (from a `Retry-After` header).
    #[must_use]
    pub fn with_retry_after(mut self, wait: Duration) -> Self {
        self.retry_after = Some(wait);
        self
    }

    /// Whether the engine may retry the batch.
    pub fn is_retryable(&self) -> bool {
        self.kind == SinkErrorKind::Retryable
    }

    /// Whether the batch was too large for one request (see [`too_large`](Self::too_large)).
    pub fn is_too_large(&self) -> bool {
        self.kind == SinkErrorKind::TooLarge
    }

    /// The server-supplied wait, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// The underlying error.
    pub fn into_source(self) -> BoxError {
        self.source
    }
}

impl fmt::Display for SinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            SinkErrorKind::Retryable => "retryable",
            SinkErrorKind::Fatal => "fatal",
            SinkErrorKind::TooLarge => "too-large",
            SinkErrorKind::Rejected => "rejected",
        };
        write!(f, "{kind} sink error: {}", self.source)
    }
}

impl StdError for SinkError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&*self.source)
    }
}

/// Why a batch ended in the error callback instead of being delivered.
///
/// The callback receives this error together with the batch it owns. A batch the sink found
/// [too large](SinkError::too_large) is split, and its parts may end differently: each failed
/// part reaches the callback on its own, with its own error and exactly its own records.
///
/// ```
/// use amberflo_batcher::{DeliveryError, SinkError};
///
/// fn describe(error: &DeliveryError) -> String {
///     match error {
///         DeliveryError::TooLarge { .. } => "drop or shrink this record".to_owned(),
///         error if error.is_shutdown() => "persist and re-send at the next start".to_owned(),
///         error => format!("failed after {} attempt(s): {error}", error.attempts()),
///     }
/// }
///
/// let error = DeliveryError::TooLarge { attempts: 1, source: SinkError::too_large("413") };
/// assert_eq!(describe(&error), "drop or shrink this record");
/// assert!(error.sink_error().is_some_and(SinkError::is_too_large));
/// ```
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// The sink returned a non-retryable error (or panicked).
    #[error("the sink rejected the batch with a non-retryable error (attempt {attempts})")]
    Fatal {
        /// Sink calls made for this batch.
        attempts: u32,
        /// The sink's error.
        #[source]
        source: SinkError,
    },
    /// Every retry allowed by the [`RetryPolicy`](crate::RetryPolicy) failed.
    #[error("the sink still failed after {attempts} attempts; retries exhausted")]
    RetriesExhausted {
        /// Sink calls made for this batch.
        attempts: u32,
        /// The last error.
        #[source]
        source: SinkError,
    },
    /// A single record was too large for one request even alone: the sink returned
    /// [`SinkError::too_large`] for it. The other records of its batch were sent without it
    /// (the engine split the batch), so the callback gets exactly this one record.
    #[error("the record is too large to send even alone (attempt {attempts})")]
    TooLarge {
        /// Sink calls made for this record alone (earlier calls for the larger batches it was
        /// part of are not counted).
        attempts: u32,
        /// The sink's too-large error.
        #[source]
        source: SinkError,
    },
    /// The engine was shutting down and the batch could not be delivered before the shutdown
    /// deadline (it was still queued, waiting for a retry that would end past the deadline, or
    /// inside a sink call that was cancelled at the deadline).
    #[error("shutdown timed out before the batch was delivered ({attempts} attempt(s) made)")]
    ShutdownTimedOut {
        /// Sink calls made for this batch (0 if it never left the queue).
        attempts: u32,
        /// The last sink error, if any attempt was made.
        #[source]
        last: Option<SinkError>,
    },
}

impl DeliveryError {
    /// Sink calls made for the batch.
    pub fn attempts(&self) -> u32 {
        match self {
            DeliveryError::Fatal { attempts, .. }
            | DeliveryError::RetriesExhausted { attempts, .. }
            | DeliveryError::TooLarge { attempts, .. }
            | DeliveryError::ShutdownTimedOut { attempts, .. } => *attempts,
        }
    }

    /// The last sink error, if the sink was called.
    pub fn sink_error(&self) -> Option<&SinkError> {
        match self {
            DeliveryError::Fatal { source, .. }
            | DeliveryError::RetriesExhausted { source, .. }
            | DeliveryError::TooLarge { source, .. } => Some(source),
            DeliveryError::ShutdownTimedOut { last, .. } => last.as_ref(),
        }
    }

    /// `true` for [`DeliveryError::ShutdownTimedOut`].
    pub fn is_shutdown(&self) -> bool {
        matches!(self, DeliveryError::ShutdownTimedOut { .. })
    }
}

/// Why a flush did not complete.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum FlushError {
    /// Records enqueued before the flush were still queued, in flight or waiting for a retry
    /// when the timeout elapsed. They are not lost: the engine keeps working on them.
    #[error("flush timed out after {timeout:?}")]
    TimedOut {
        /// The timeout that elapsed.
        timeout: Duration,
    },
    /// [`Batcher::flush_async`](crate::Batcher::flush_async) could not start the thread that
    /// enforces its timeout.
    #[error("could not start the flush timer thread")]
    Timer {
        /// The spawn error.
        #[source]
        source: std::io::Error,
    },
}

/// Why a shutdown did not deliver everything.
///
/// Whatever the outcome, every record is accounted for in [`Stats`](crate::Stats): records
/// listed as `abandoned` went to the error callback with
/// [`DeliveryError::ShutdownTimedOut`] (including those of sink calls cancelled at the
/// deadline); with a spool, records listed as `left_on_spool` stay on disk, unacknowledged,
/// for the next engine on the directory (they never reach the error callback); records listed
/// as `in_flight` are inside a sink call that could not be cancelled (a sink that blocks its
/// thread instead of yielding) and had not returned, and are accounted (delivered or failed) if
/// it ever returns; records listed as `in_queue` were accepted but not yet taken by a worker
/// (a producer was still pushing as the deadline came, or a concurrent shutdown was still
/// running).
///
/// Its message states the time the shutdown took, its deadline, and each non-empty bucket:
/// "shutdown returned after 14.8s of its 30.0s deadline without delivering everything: 3
/// record(s) handed to the error callback".
///
/// ```
/// use amberflo_batcher::ShutdownError;
///
/// fn undelivered(error: &ShutdownError) -> u64 {
///     match error {
///         ShutdownError::Incomplete { abandoned, left_on_spool, .. } => abandoned + left_on_spool,
///         _ => 0,
///     }
/// }
/// # let _ = undelivered;
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ShutdownError {
    /// Not everything was delivered: the deadline came, or retries that could not finish
    /// before it gave up early (so `elapsed` may be well under `timeout`).
    #[error(
        "shutdown returned after {elapsed:.1?} of its {timeout:.1?} deadline without delivering \
         everything: {}",
        undelivered(*.abandoned, *.left_on_spool, *.in_queue, *.in_flight)
    )]
    #[non_exhaustive]
    Incomplete {
        /// How long the shutdown took.
        elapsed: Duration,
        /// The shutdown timeout.
        timeout: Duration,
        /// Records still inside a sink call that had not returned and could not be cancelled
        /// (not yet accounted).
        in_flight: u64,
        /// Records accepted and not yet taken by a worker (not yet accounted).
        in_queue: u64,
        /// Records handed to the error callback because of the shutdown deadline.
        abandoned: u64,
        /// With a spool: records left on disk for the next engine, not handed to the error
        /// callback ([`Stats::left_on_spool`](crate::Stats::left_on_spool)).
        left_on_spool: u64,
    },
}

/// The non-empty buckets of an incomplete shutdown, in words.
fn undelivered(abandoned: u64, left_on_spool: u64, in_queue: u64, in_flight: u64) -> String {
    let buckets = [
        (abandoned, "handed to the error callback"),
        (left_on_spool, "left on the spool for the next engine"),
        (in_queue, "still queued"),
        (in_flight, "still inside an unfinished sink call"),
    ];
    let said: Vec<String> = buckets
        .iter()
        .filter(|(count, _)| *count > 0)
        .map(|(count, bucket)| format!("{count} record(s) {bucket}"))
        .collect();
    if said.is_empty() {
        "another shutdown call had not finished".to_owned()
    } else {
        said.join(", ")
    }
}

/// Why [`BatcherBuilder::build`](crate::BatcherBuilder::build) failed.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// A setting is out of range; `field` names the builder method.
    #[error("{field} {reason}")]
    InvalidConfig {
        /// The offending setting (`capacity`, `workers`, `max_batch_size`, …).
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The spool directory could not be created, locked, scanned, or given a new segment.
    #[error("could not open the spool directory {}", dir.display())]
    Spool {
        /// The spool directory.
        dir: std::path::PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Another engine (in this or another process) uses the spool directory: its `LOCK` file
    /// (or the directory itself) is locked. Give each engine its own directory.
    #[error("the spool directory {} is in use by another engine", dir.display())]
    SpoolLocked {
        /// The spool directory.
        dir: std::path::PathBuf,
    },
    /// A worker thread could not be started.
    #[error("could not spawn worker thread `{name}`")]
    Spawn {
        /// The thread's name.
        name: String,
        /// The spawn error.
        #[source]
        source: std::io::Error,
    },
}
