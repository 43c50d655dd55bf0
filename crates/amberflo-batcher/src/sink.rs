//! The [`Sink`] trait the engine hands batches to, and [`SinkFn`] for synchronous closures.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use crate::error::SinkError;

/// Where batches go: the engine calls [`send`](Sink::send) with each batch, on a worker thread,
/// through the configured [`Executor`](crate::Executor).
///
/// The trait is object-safe (`Arc<dyn Sink<T>>` and `Box<dyn Sink<T>>` are sinks too). The
/// future is driven by the engine's executor on a plain worker thread, never on the caller's
/// runtime: a sink whose future needs a tokio reactor (reqwest, hyper) must be paired with an
/// executor that provides one (see [`Executor`](crate::Executor)); the default
/// [`ParkExecutor`](crate::ParkExecutor) only suits sinks that need no reactor.
///
/// On `Err`, the engine retries the same batch (same slice, same order) if the error
/// [is retryable](SinkError::is_retryable) and the [`RetryPolicy`](crate::RetryPolicy) allows,
/// so a sink should be idempotent per batch (Amberflo dedups records by `uniqueId`).
///
/// ```
/// use amberflo_batcher::{Sink, SinkError};
///
/// struct Stdout;
///
/// #[async_trait::async_trait]
/// impl Sink<String> for Stdout {
///     async fn send(&self, batch: &[String]) -> Result<(), SinkError> {
///         if batch.iter().any(|line| line.is_empty()) {
///             return Err(SinkError::fatal("empty line"));
///         }
///         Ok(())
///     }
/// }
///
/// let sink: std::sync::Arc<dyn Sink<String>> = std::sync::Arc::new(Stdout);
/// let result = amberflo_batcher::block_on(sink.send(&["hello".to_owned()]));
/// assert!(result.is_ok());
/// ```
#[async_trait]
pub trait Sink<T>: Send + Sync + 'static {
    /// Delivers one batch (never empty, at most `max_batch_size` items).
    async fn send(&self, batch: &[T]) -> Result<(), SinkError>;
}

#[async_trait]
impl<T, S> Sink<T> for Arc<S>
where
    T: Sync + 'static,
    S: Sink<T> + ?Sized,
{
    async fn send(&self, batch: &[T]) -> Result<(), SinkError> {
        (**self).send(batch).await
    }
}

#[async_trait]
impl<T, S> Sink<T> for Box<S>
where
    T: Sync + 'static,
    S: Sink<T> + ?Sized,
{
    async fn send(&self, batch: &[T]) -> Result<(), SinkError> {
        (**self).send(batch).await
    }
}

/// A [`Sink`] made from a synchronous closure; handy for tests, logging and in-process sinks.
///
/// ```
/// use amberflo_batcher::{Sink, SinkFn};
///
/// let sink = SinkFn::new(|batch: &[u64]| {
///     assert!(!batch.is_empty());
///     Ok(())
/// });
/// assert!(amberflo_batcher::block_on(sink.send(&[1, 2, 3])).is_ok());
/// ```
pub struct SinkFn<F>(F);

impl<F> SinkFn<F> {
    /// Wraps `f`, which is called once per batch (and once per retry).
    pub fn new(f: F) -> Self {
        SinkFn(f)
    }
}

impl<F> fmt::Debug for SinkFn<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SinkFn(..)")
    }
}

#[async_trait]
impl<T, F> Sink<T> for SinkFn<F>
where
    T: Sync + 'static,
    F: Fn(&[T]) -> Result<(), SinkError> + Send + Sync + 'static,
{
    async fn send(&self, batch: &[T]) -> Result<(), SinkError> {
        (self.0)(batch)
    }
}
