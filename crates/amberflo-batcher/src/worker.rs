//! The worker thread: gather a batch (linger), drive the sink through the executor, retry with
//! backoff, settle the batch.
//!
//! Idle workers block on a condition variable (no polling) until a producer wakes them;
//! lingering workers block until their linger deadline or until the queue can fill their
//! batch. While a flush is pending or the engine is closing, partial batches go out at once.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{Ordering, fence};
use std::time::{Duration, Instant};

use crate::batch::Batch;
use crate::core::{CLOSED, Core, DRAINING, LINGER_SHIFT, deadline_after, lock, wait, wait_timeout};
use crate::error::{DeliveryError, SinkError};
use crate::executor::Executor;
use crate::ingress::Shared;
use crate::retry::Sleeper;
use crate::sink::Sink;

/// How often a closing worker with nothing to do re-checks whether it may exit.
const CLOSING_POLL: Duration = Duration::from_millis(1);

/// What only the workers need: the sink and how to drive it. Dropped on a worker thread.
pub(crate) struct WorkerCtx<T> {
    pub(crate) sink: Box<dyn Sink<T>>,
    pub(crate) executor: Arc<dyn Executor>,
    pub(crate) sleeper: Option<Arc<dyn Sleeper>>,
}

/// Counts the worker as exited when dropped (also on an unexpected panic).
struct ExitSignal(Arc<Core>);

impl Drop for ExitSignal {
    fn drop(&mut self) {
        *lock(&self.0.exited) += 1;
        self.0.exited_cv.notify_all();
    }
}

/// The body of a worker thread.
pub(crate) fn run<T: Sync + 'static>(shared: Arc<Shared<T>>, ctx: Arc<WorkerCtx<T>>) {
    let _exit = ExitSignal(Arc::clone(&shared.core));
    // Declared after `_exit`, so dropped before it: the sink and executor are released on this
    // thread before the shutdown sees the worker as gone.
    let shared = shared;
    let ctx = ctx;
    let mut rng = fastrand::Rng::new();
    let mut batch = Batch::with_capacity(shared.config.max_batch_size);
    while gather(&shared, &mut batch) {
        deliver(&shared, &ctx, &mut batch, &mut rng);
    }
}

/// Fills `batch`; `false` when the worker should exit instead.
fn gather<T>(shared: &Shared<T>, batch: &mut Batch<T>) -> bool {
    let core = &*shared.core;
    let max = shared.config.max_batch_size;
    let linger = shared.config.linger;
    let mut deadline = None;
    loop {
        shared.pop_into(batch);
        if batch.len() >= max {
            return true;
        }
        let state = core.state.load(Ordering::SeqCst);
        let aborting = core.abort.load(Ordering::SeqCst);
        if !batch.is_empty() {
            if aborting || state & (CLOSED | DRAINING) != 0 || linger.is_zero() {
                return true;
            }
            let deadline = *deadline.get_or_insert_with(|| deadline_after(Instant::now(), linger));
            if Instant::now() >= deadline {
                return true;
            }
            wait_lingering(shared, max - batch.len(), deadline);
        } else if state & CLOSED != 0 || aborting {
            if shared.queue.is_empty() && core.all_popped() {
                return false;
            }
            wait_idle(shared, Some(CLOSING_POLL));
        } else {
            wait_idle(shared, None);
        }
    }
}

/// Sleeps until a producer brings an item (or `timeout`, or a flush/shutdown notification).
fn wait_idle<T>(shared: &Shared<T>, timeout: Option<Duration>) {
    let parking = &shared.core.parking.0;
    let guard = lock(&parking.lock);
    parking.sleepers.fetch_add(1, Ordering::SeqCst);
    parking.token.store(false, Ordering::SeqCst);
    fence(Ordering::SeqCst);
    let closed = shared.core.is_closed();
    let guard = if shared.queue.is_empty() {
        match timeout {
            Some(timeout) => wait_timeout(&parking.cv, guard, timeout),
            None if !closed => wait(&parking.cv, guard),
            None => guard,
        }
    } else {
        guard
    };
    parking.sleepers.fetch_sub(1, Ordering::SeqCst);
    parking.token.store(false, Ordering::Relaxed);
    drop(guard);
}

/// Sleeps until `deadline`, until `need` more items are queued, or until a flush/shutdown.
fn wait_lingering<T>(shared: &Shared<T>, need: usize, deadline: Instant) {
    let core = &*shared.core;
    let parking = &core.parking.0;
    let guard = lock(&parking.lock);
    parking
        .sleepers
        .fetch_add(1 << LINGER_SHIFT, Ordering::SeqCst);
    parking.linger_need.store(need, Ordering::SeqCst);
    parking.token.store(false, Ordering::SeqCst);
    fence(Ordering::SeqCst);
    let urgent = core.state.load(Ordering::SeqCst) & (CLOSED | DRAINING) != 0
        || core.abort.load(Ordering::SeqCst);
    let now = Instant::now();
    let guard = if !urgent && shared.queue.len() < need && now < deadline {
        wait_timeout(&parking.cv, guard, deadline - now)
    } else {
        guard
    };
    parking
        .sleepers
        .fetch_sub(1 << LINGER_SHIFT, Ordering::SeqCst);
    parking.token.store(false, Ordering::Relaxed);
    drop(guard);
}

/// Sends `batch` until it is delivered or failed, following the retry policy.
fn deliver<T: Sync + 'static>(
    shared: &Shared<T>,
    ctx: &WorkerCtx<T>,
    batch: &mut Batch<T>,
    rng: &mut fastrand::Rng,
) {
    let core = &*shared.core;
    let mut attempts = 0u32;
    let mut last = None;
    loop {
        if core.abort.load(Ordering::SeqCst) {
            shared.settle_failed(batch, DeliveryError::ShutdownTimedOut { attempts, last });
            return;
        }
        attempts = attempts.saturating_add(1);
        let error = match call_sink(ctx, &batch.items) {
            Ok(()) => {
                shared.settle_delivered(batch);
                return;
            }
            Err(error) => error,
        };
        if !error.is_retryable() {
            shared.settle_failed(
                batch,
                DeliveryError::Fatal {
                    attempts,
                    source: error,
                },
            );
            return;
        }
        let retry = attempts - 1;
        let Some(wait) = shared
            .config
            .retry
            .delay(retry, error.retry_after(), rng.f64())
        else {
            shared.settle_failed(
                batch,
                DeliveryError::RetriesExhausted {
                    attempts,
                    source: error,
                },
            );
            return;
        };
        tracing::debug!(
            attempt = attempts,
            wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
            records = batch.len(),
            error = %error,
            "amberflo-batcher: sink failed; retrying the batch"
        );
        if !wait_before_retry(core, ctx, wait) {
            shared.settle_failed(
                batch,
                DeliveryError::ShutdownTimedOut {
                    attempts,
                    last: Some(error),
                },
            );
            return;
        }
        core.retried.fetch_add(1, Ordering::SeqCst);
        last = Some(error);
    }
}

/// Waits `wait` before a retry; `false` if the retry must be abandoned because of shutdown
/// (already aborting, or the wait would end after the shutdown's flush deadline).
fn wait_before_retry<T>(core: &Core, ctx: &WorkerCtx<T>, wait: Duration) -> bool {
    let until = deadline_after(Instant::now(), wait);
    let mut gate = lock(&core.retry_gate);
    loop {
        if core.abort.load(Ordering::SeqCst) {
            return false;
        }
        if gate.abort_at.is_some_and(|abort_at| until > abort_at) {
            return false;
        }
        if let Some(sleeper) = &ctx.sleeper {
            drop(gate);
            sleeper.sleep(wait);
            return true;
        }
        let now = Instant::now();
        if now >= until {
            return true;
        }
        gate = wait_timeout(&core.retry_cv, gate, until - now);
    }
}

/// One attempt: drives the sink future through the executor, turning panics into fatal errors.
fn call_sink<T: Sync + 'static>(ctx: &WorkerCtx<T>, items: &[T]) -> Result<(), SinkError> {
    let mut outcome = None;
    let ran = catch_unwind(AssertUnwindSafe(|| {
        ctx.executor.block_on(Box::pin(async {
            outcome = Some(ctx.sink.send(items).await);
        }));
    }));
    match ran {
        Ok(()) => outcome.unwrap_or_else(|| {
            Err(SinkError::fatal(
                "the executor returned before the sink future completed",
            ))
        }),
        Err(panic) => {
            let message = panic_message(panic.as_ref());
            tracing::error!(panic = %message, "amberflo-batcher: the sink or executor panicked");
            Err(SinkError::fatal(format!("the sink panicked: {message}")))
        }
    }
}

fn panic_message(panic: &(dyn Any + Send)) -> String {
    if let Some(text) = panic.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = panic.downcast_ref::<String>() {
        text.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}
