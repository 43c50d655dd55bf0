//! The worker thread: gather a batch (linger), drive the sink through the executor, retry with
//! backoff, settle the batch.
//!
//! A batch the sink finds [too large](crate::SinkError::too_large) is split in two halves, each
//! sent with its own retries and split again while still too large; a single record still too
//! large fails alone ([`DeliveryError::TooLarge`]). A batch whose contents the server
//! [refuses](crate::SinkError::rejected) is bisected the same way, within the batch's bisect
//! budget, so only the records refused alone reach the error callback. Each sink call races
//! the shutdown's abort
//! flag: once the shutdown gives up, a pending call's future is dropped (cancelling it) and its
//! records are failed with [`DeliveryError::ShutdownTimedOut`].
//!
//! Idle workers block on a condition variable (no polling) until a producer wakes them;
//! lingering workers block until their linger deadline or until the queue can fill their
//! batch. While a flush is pending or the engine is closing, partial batches go out at once.
//!
//! One file on purpose: splitting, bisecting, retrying and settling are one loop whose
//! invariant (every record settled exactly once) is read as a whole.

use std::any::Any;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::batch::{Batch, FailedPart};
use crate::core::{CLOSED, Core, DRAINING, deadline_after};
use crate::error::{DeliveryError, SinkError};
use crate::executor::Executor;
use crate::ingress::Shared;
use crate::retry::Sleeper;
use crate::sink::Sink;
use crate::sync::{lock, wait_timeout};

/// How often a closing worker with nothing to do re-checks whether it may exit.
const CLOSING_POLL: Duration = Duration::from_millis(1);

/// How often an idle worker retries loading spooled records after a refill loaded nothing.
const STALLED_REFILL_POLL: Duration = Duration::from_millis(100);

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
pub(crate) fn run<T: Sync + 'static>(shared: Arc<Shared<T>>, ctx: Arc<WorkerCtx<T>>, index: usize) {
    let _exit = ExitSignal(Arc::clone(&shared.core));
    // Declared after `_exit`, so dropped before it: the sink and executor are released on this
    // thread before the shutdown sees the worker as gone.
    let shared = shared;
    let ctx = ctx;
    let mut batch = Batch::with_capacity(shared.config.max_batch_size);
    let mut worker = Worker {
        shared: &shared,
        ctx: &ctx,
        index,
        rng: fastrand::Rng::new(),
        counted_cancelling: false,
        bisect_left: 0,
    };
    while gather(&shared, &mut batch) {
        worker.deliver(&mut batch);
    }
}

/// Fills `batch`; `false` when the worker should exit instead.
fn gather<T>(shared: &Shared<T>, batch: &mut Batch<T>) -> bool {
    let core = &*shared.core;
    let max = shared.config.max_batch_size;
    let linger = shared.config.linger;
    let mut deadline = None;
    loop {
        if shared.spool.is_some() && core.abort.load(Ordering::SeqCst) {
            // Past the shutdown deadline, spooled records stay on disk for the next engine.
            return !batch.is_empty();
        }
        let taken = shared.pop_into(batch);
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
            wait_idle(shared, Some(CLOSING_POLL), false);
        } else if taken == 0 && shared.has_backlog() {
            // Records on disk the refill could not load (a read error, logged): retry after a
            // pause rather than in a spin.
            wait_idle(shared, Some(STALLED_REFILL_POLL), false);
        } else {
            wait_idle(shared, None, true);
        }
    }
}

/// Sleeps until a producer brings an item (or `timeout`, or a flush/shutdown notification).
/// Work is an item in the queue or, if `backlog_is_work`, on the spool's disk: a producer that
/// found the queue full leaves its item there, and wakes a worker only if it sees one asleep.
fn wait_idle<T>(shared: &Shared<T>, timeout: Option<Duration>, backlog_is_work: bool) {
    shared.core.parking.0.sleep_idle(
        || !shared.queue.is_empty() || (backlog_is_work && shared.has_backlog()),
        || shared.core.is_closed(),
        timeout,
    );
}

/// Sleeps until `deadline`, until `need` more items are queued, or until a flush/shutdown.
fn wait_lingering<T>(shared: &Shared<T>, need: usize, deadline: Instant) {
    let core = &*shared.core;
    core.parking.0.sleep_lingering(
        need,
        deadline,
        || {
            core.state.load(Ordering::SeqCst) & (CLOSED | DRAINING) != 0
                || core.abort.load(Ordering::SeqCst)
        },
        || shared.queue.len(),
    );
}

/// What a worker needs to deliver: the engine, the sink, its own index and random source.
struct Worker<'a, T> {
    shared: &'a Shared<T>,
    ctx: &'a WorkerCtx<T>,
    /// This worker's slot for the abort waker of its sink calls.
    index: usize,
    rng: fastrand::Rng,
    /// The shutdown counted a call of the current batch in `Core::cancelling`.
    counted_cancelling: bool,
    /// Extra requests the current batch may still spend bisecting refused parts.
    bisect_left: u32,
}

/// How one part ended: the whole batch, or a slice of it after a split.
enum PartOutcome {
    Delivered,
    Failed(DeliveryError),
    /// The sink said the part is too large for one request.
    TooLarge {
        attempts: u32,
        error: SinkError,
    },
    /// The server refused the part's contents: bisect it to find the records at fault.
    Rejected {
        attempts: u32,
        error: SinkError,
    },
}

impl PartOutcome {
    /// How a part of `len` records that cannot be split further, or may not be, fails.
    fn into_failure(self) -> Option<DeliveryError> {
        match self {
            PartOutcome::Delivered => None,
            PartOutcome::Failed(error) => Some(error),
            PartOutcome::TooLarge { attempts, error } => Some(DeliveryError::TooLarge {
                attempts,
                source: error,
            }),
            PartOutcome::Rejected { attempts, error } => Some(DeliveryError::Fatal {
                attempts,
                source: error,
            }),
        }
    }
}

impl<T: Sync + 'static> Worker<'_, T> {
    /// Delivers `batch` (splitting it if the sink finds it too large) and settles it.
    fn deliver(&mut self, batch: &mut Batch<T>) {
        self.deliver_and_settle(batch);
        if std::mem::take(&mut self.counted_cancelling) {
            // After the callback ran: the shutdown may return now.
            self.shared.core.cancel_settled();
        }
    }

    fn deliver_and_settle(&mut self, batch: &mut Batch<T>) {
        self.bisect_left = self.shared.config.bisect_budget;
        let outcome = self.send_part(&batch.items);
        if matches!(outcome, PartOutcome::Delivered) {
            // The fast path: no allocation for parts.
            self.shared.settle_delivered(batch);
            return;
        }
        if !self.may_split(&outcome, batch.len()) {
            if let Some(error) = outcome.into_failure() {
                self.shared.settle_failed(batch, error);
            }
            return;
        }
        tracing::debug!(
            records = batch.len(),
            too_large = matches!(outcome, PartOutcome::TooLarge { .. }),
            "amberflo-batcher: splitting the batch (too large, or refused contents)"
        );
        let mut failures = Vec::new();
        self.split(&batch.items, 0, &mut failures);
        self.shared.settle_parts(batch, failures);
    }

    /// Whether a part of `len` records that ended with `outcome` is split: always when too
    /// large, and when refused while the bisect budget lasts (each split costs two requests).
    fn may_split(&mut self, outcome: &PartOutcome, len: usize) -> bool {
        if len < 2 {
            return false;
        }
        match outcome {
            PartOutcome::TooLarge { .. } => true,
            PartOutcome::Rejected { .. } if self.bisect_left >= 2 => {
                self.bisect_left -= 2;
                true
            }
            _ => false,
        }
    }

    /// Sends the two halves of `items` (at least two records, at `offset` in the batch) one
    /// after the other, splitting further any half that is still too large or refused (see
    /// [`may_split`](Self::may_split)). Counts delivered halves at once; collects the failed
    /// ones, in batch order, for the final settlement.
    fn split(&mut self, items: &[T], offset: usize, failures: &mut Vec<FailedPart>) {
        self.shared.core.split.fetch_add(1, Ordering::SeqCst);
        let (left, right) = items.split_at(items.len() / 2);
        for (part, start) in [(left, offset), (right, offset + left.len())] {
            let range = start..start + part.len();
            let outcome = self.send_part(part);
            if matches!(outcome, PartOutcome::Delivered) {
                self.shared
                    .core
                    .delivered
                    .fetch_add(part.len() as u64, Ordering::SeqCst);
            } else if self.may_split(&outcome, part.len()) {
                self.split(part, start, failures);
            } else if let Some(error) = outcome.into_failure() {
                failures.push(FailedPart { range, error });
            }
        }
    }

    /// Sends `items` until the sink accepts them, fails them for good, or finds them too large,
    /// following the retry policy.
    fn send_part(&mut self, items: &[T]) -> PartOutcome {
        let core = &*self.shared.core;
        let mut attempts = 0u32;
        let mut last = None;
        loop {
            if core.abort.load(Ordering::SeqCst) {
                return PartOutcome::Failed(DeliveryError::ShutdownTimedOut { attempts, last });
            }
            attempts = attempts.saturating_add(1);
            let (call, counted) = call_sink(core, self.ctx, self.index, items);
            self.counted_cancelling |= counted;
            let error = match call {
                Call::Done(Ok(())) => return PartOutcome::Delivered,
                Call::Done(Err(error)) => error,
                Call::Cancelled => {
                    tracing::debug!(
                        records = items.len(),
                        "amberflo-batcher: shutdown deadline passed; sink call cancelled"
                    );
                    return PartOutcome::Failed(DeliveryError::ShutdownTimedOut { attempts, last });
                }
            };
            if error.is_too_large() {
                return PartOutcome::TooLarge { attempts, error };
            }
            if error.is_rejected() {
                return PartOutcome::Rejected { attempts, error };
            }
            if !error.is_retryable() {
                return PartOutcome::Failed(DeliveryError::Fatal {
                    attempts,
                    source: error,
                });
            }
            let retry = attempts - 1;
            let Some(wait) =
                self.shared
                    .config
                    .retry
                    .delay(retry, error.retry_after(), self.rng.f64())
            else {
                return PartOutcome::Failed(DeliveryError::RetriesExhausted {
                    attempts,
                    source: error,
                });
            };
            tracing::debug!(
                attempt = attempts,
                wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                records = items.len(),
                error = %error,
                "amberflo-batcher: sink failed; retrying the batch"
            );
            if !wait_before_retry(core, self.ctx, wait) {
                return PartOutcome::Failed(DeliveryError::ShutdownTimedOut {
                    attempts,
                    last: Some(error),
                });
            }
            core.retried.fetch_add(1, Ordering::SeqCst);
            last = Some(error);
        }
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

/// How one sink call ended.
enum Call {
    /// The sink's future completed.
    Done(Result<(), SinkError>),
    /// The shutdown aborted the engine while the call was pending: its future was dropped.
    Cancelled,
}

/// The sink's future as `async_trait` boxes it.
type SinkFuture<'a> = Pin<Box<dyn Future<Output = Result<(), SinkError>> + Send + 'a>>;

/// Races a sink call against the engine's abort flag.
///
/// Each poll first reads the flag (one atomic load: the whole cost on the normal path), then
/// polls the sink. Only when the sink is pending does it register its waker in the worker's
/// slot of the core and read the flag again, so an abort set at any moment is either seen by
/// that read or wakes the call ([`Core::set_abort`]). An aborted call drops the sink's future
/// at once, which is what cancels it (an HTTP request in flight is abandoned).
struct AbortableCall<'a> {
    /// `None` once the call ended (completed or cancelled).
    sink: Option<SinkFuture<'a>>,
    core: &'a Core,
    worker: usize,
    /// Whether a waker was registered (so it must be cleared afterwards).
    registered: &'a mut bool,
    outcome: &'a mut Option<Call>,
}

impl Future for AbortableCall<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let Some(sink) = this.sink.as_mut() else {
            return Poll::Ready(());
        };
        if *this.registered {
            this.core.unpark_abort_slot(this.worker);
        }
        if !this.core.abort.load(Ordering::SeqCst) {
            if let Poll::Ready(result) = sink.as_mut().poll(cx) {
                this.sink = None;
                *this.outcome = Some(Call::Done(result));
                return Poll::Ready(());
            }
            *this.registered = true;
            if !this.core.register_abort_waker(this.worker, cx.waker()) {
                return Poll::Pending;
            }
        }
        // Dropping the future cancels the call, before the executor even returns.
        this.sink = None;
        *this.outcome = Some(Call::Cancelled);
        Poll::Ready(())
    }
}

/// One attempt: drives the sink future through the executor, racing it against the shutdown's
/// abort, and turns panics into fatal errors.
///
/// Also says whether the shutdown counted this call as cancelling (`Core::cancelling`).
fn call_sink<T: Sync + 'static>(
    core: &Core,
    ctx: &WorkerCtx<T>,
    worker: usize,
    items: &[T],
) -> (Call, bool) {
    let mut outcome = None;
    let mut registered = false;
    let ran = catch_unwind(AssertUnwindSafe(|| {
        ctx.executor.block_on(Box::pin(AbortableCall {
            sink: Some(ctx.sink.send(items)),
            core,
            worker,
            registered: &mut registered,
            outcome: &mut outcome,
        }));
    }));
    let counted = registered && core.clear_abort_slot(worker);
    let call = match ran {
        Ok(()) => outcome.unwrap_or_else(|| {
            Call::Done(Err(SinkError::fatal(
                "the executor returned before the sink future completed",
            )))
        }),
        Err(panic) => {
            let message = panic_message(panic.as_ref());
            tracing::error!(panic = %message, "amberflo-batcher: the sink or executor panicked");
            Call::Done(Err(SinkError::fatal(format!(
                "the sink panicked: {message}"
            ))))
        }
    };
    (call, counted)
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, AtomicUsize};
    use std::task::{Wake, Waker};

    /// Counts its wake-ups.
    #[derive(Default)]
    struct CountingWaker(AtomicUsize);

    impl Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Flips its flag when dropped (with the sink future that owns it).
    struct DropFlag(Arc<AtomicBool>);

    impl Drop for DropFlag {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    /// A sink future that is pending forever; `polled` counts its polls, `dropped` flips
    /// when it is dropped.
    fn never_ready(polled: &Arc<AtomicUsize>, dropped: &Arc<AtomicBool>) -> SinkFuture<'static> {
        let (polled, guard) = (Arc::clone(polled), DropFlag(Arc::clone(dropped)));
        Box::pin(std::future::poll_fn(move |_cx| {
            let _owned = &guard;
            polled.fetch_add(1, Ordering::SeqCst);
            Poll::Pending
        }))
    }

    fn poll_once(call: &mut AbortableCall<'_>, waker: &Arc<CountingWaker>) -> Poll<()> {
        let waker = Waker::from(Arc::clone(waker));
        Pin::new(call).poll(&mut Context::from_waker(&waker))
    }

    #[test]
    fn an_abort_wakes_a_parked_call_which_drops_the_sink_future_at_its_next_poll() {
        let core = Core::new(1, Arc::default());
        let (polled, dropped) = (Arc::default(), Arc::default());
        let waker = Arc::new(CountingWaker::default());
        let (mut registered, mut outcome) = (false, None);
        {
            let mut call = AbortableCall {
                sink: Some(never_ready(&polled, &dropped)),
                core: &core,
                worker: 0,
                registered: &mut registered,
                outcome: &mut outcome,
            };
            assert!(poll_once(&mut call, &waker).is_pending());
            core.set_abort();
            assert_eq!(waker.0.load(Ordering::SeqCst), 1, "the abort woke the call");
            assert_eq!(core.cancelling.load(Ordering::SeqCst), 1);
            assert!(!dropped.load(Ordering::SeqCst));
            assert!(poll_once(&mut call, &waker).is_ready());
            // Dropped inside the poll, without polling the sink again.
            assert!(dropped.load(Ordering::SeqCst));
            assert_eq!(polled.load(Ordering::SeqCst), 1);
        }
        assert!(registered);
        assert!(matches!(outcome, Some(Call::Cancelled)));
        assert!(core.clear_abort_slot(0), "counted as cancelling");
        assert!(!core.clear_abort_slot(0), "counted once");
    }

    #[test]
    fn a_call_being_polled_at_the_abort_is_woken_but_not_counted() {
        let core = Core::new(1, Arc::default());
        let (polled, dropped) = (Arc::default(), Arc::default());
        let waker = Arc::new(CountingWaker::default());
        let (mut registered, mut outcome) = (false, None);
        let mut call = AbortableCall {
            sink: Some(never_ready(&polled, &dropped)),
            core: &core,
            worker: 0,
            registered: &mut registered,
            outcome: &mut outcome,
        };
        assert!(poll_once(&mut call, &waker).is_pending());
        // What the next poll does first; the abort comes while the sink is being polled
        // (where a sink that blocks its thread could stay forever).
        core.unpark_abort_slot(0);
        core.set_abort();
        assert_eq!(waker.0.load(Ordering::SeqCst), 1);
        assert_eq!(core.cancelling.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn a_call_registering_after_the_abort_sees_it() {
        let core = Core::new(1, Arc::default());
        core.set_abort();
        let waker = Waker::from(Arc::new(CountingWaker::default()));
        assert!(core.register_abort_waker(0, &waker));
    }

    #[test]
    fn an_abort_before_the_first_poll_never_calls_the_sink() {
        let core = Core::new(1, Arc::default());
        core.set_abort();
        let (polled, dropped) = (Arc::default(), Arc::default());
        let (mut registered, mut outcome) = (false, None);
        let mut call = AbortableCall {
            sink: Some(never_ready(&polled, &dropped)),
            core: &core,
            worker: 0,
            registered: &mut registered,
            outcome: &mut outcome,
        };
        assert!(poll_once(&mut call, &Arc::default()).is_ready());
        assert_eq!(polled.load(Ordering::SeqCst), 0);
        assert!(dropped.load(Ordering::SeqCst));
        drop(call);
        assert!(matches!(outcome, Some(Call::Cancelled)));
        assert!(!registered);
    }

    #[test]
    fn a_ready_sink_completes_without_touching_the_abort_slot() {
        let core = Core::new(1, Arc::default());
        let (mut registered, mut outcome) = (false, None);
        let mut call = AbortableCall {
            sink: Some(Box::pin(async { Err(SinkError::fatal("400")) })),
            core: &core,
            worker: 0,
            registered: &mut registered,
            outcome: &mut outcome,
        };
        assert!(poll_once(&mut call, &Arc::default()).is_ready());
        drop(call);
        assert!(!registered);
        assert!(matches!(outcome, Some(Call::Done(Err(_)))));
        core.set_abort();
        assert_eq!(core.cancelling.load(Ordering::SeqCst), 0);
    }
}

#[cfg(test)]
#[cfg(amberflo_loom)]
mod models {
    //! Loom model of a worker's loop ([`gather`], sleeping on the real condition variable)
    //! beside two producers, each appending to its own spool lane, whose records overflow the
    //! queue onto disk: no record may be stranded on disk while the worker sleeps (loom
    //! reports that as a deadlock).
    //!
    //! Checked failing (2026-12-06): with the worker's last look before sleeping
    //! (`wait_idle`) at the queue alone, not at the spool's backlog, loom finds the
    //! interleaving: a producer reads the queue full and its record goes to disk; the worker
    //! empties the queue, reads no backlog yet, and goes to sleep as the producer, having set
    //! the backlog flag, reads no sleeper yet. The record waited on disk until the next
    //! `meter` call or flush. Looking at the backlog after the fence, as the producer looks at
    //! the sleepers after its own, closes it (the parking protocol's two fences).

    use loom::sync::Arc;
    use loom::thread;

    use super::gather;
    use crate::batch::Batch;
    use crate::spool::models::spooled;

    #[test]
    fn no_record_is_stranded_on_the_spool_while_the_worker_sleeps() {
        loom::model(|| {
            let dir = tempfile::tempdir().unwrap();
            let shared = Arc::new(spooled(dir.path(), 1, 2));
            let producers: Vec<_> = (0..2)
                .map(|item| {
                    let shared = Arc::clone(&shared);
                    thread::spawn(move || assert!(shared.enqueue(item).is_ok()))
                })
                .collect();
            let mut delivered = Vec::new();
            let mut batch = Batch::with_capacity(1);
            while delivered.len() < 2 {
                assert!(gather(&shared, &mut batch));
                delivered.extend_from_slice(&batch.items);
                shared.settle_delivered(&mut batch);
            }
            for producer in producers {
                producer.join().unwrap();
            }
            delivered.sort_unstable();
            assert_eq!(delivered, [0, 1]);
        });
    }
}
