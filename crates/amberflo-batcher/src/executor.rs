//! How worker threads drive a sink's future: the [`Executor`] trait and the runtime-free
//! [`ParkExecutor`].
//!
//! # The runtime story
//!
//! The engine never polls a sink future on the caller's thread or inside the caller's runtime.
//! Each worker is a plain named std thread (`amberflo-batcher-0`, …); for every attempt it boxes
//! the sink's future and hands it to [`Executor::block_on`], which must drive it to completion
//! on that worker thread and return.
//!
//! * [`ParkExecutor`] (the default) polls the future on the worker thread and parks it between
//!   wake-ups. It needs no runtime and suffices for sinks that need no reactor: in-process
//!   channels, synchronous clients, futures woken by other threads. A future that needs a tokio
//!   reactor or timer (reqwest, hyper, `tokio::time::sleep`) panics under it ("there is no
//!   reactor running"); the engine catches that panic and fails the batch as fatal, so nothing
//!   is lost, but nothing is delivered either.
//! * A sink that needs tokio gets it from an executor that owns a runtime, for example one
//!   holding a `tokio::runtime::Runtime` (built once with `enable_all()`) whose `block_on` calls
//!   `self.runtime.block_on(future)`. Worker threads are not runtime threads, so that call
//!   neither panics ("cannot start a runtime from within a runtime") nor deadlocks whatever
//!   runtime the user has, or none, exactly like sentry's transport thread. Such an executor
//!   belongs in the facade crate; this crate has no tokio dependency.
//!
//! Cancellation needs nothing from an executor beyond honouring wake-ups: the future the engine
//! hands over races the sink's future against the shutdown's abort flag, and when a shutdown
//! gives up it wakes that future, which drops the sink's future (cancelling the call) and
//! completes, so `block_on` returns as for any completed future.
//!
//! The engine hands the executor to the worker threads only, so it is dropped on a worker
//! thread when the last worker exits (never on the caller's async task): an executor owning a
//! tokio runtime is therefore never dropped inside an async context.

use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

/// A boxed, `Send` future with no output: what the engine hands to an [`Executor`].
pub type BoxFuture<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// Drives a sink's future to completion on the calling worker thread.
///
/// Object-safe; `Arc<E>` and `Box<E>` are executors when `E` is. Implementations must not return
/// before the future completes (if one does, the engine fails the batch as fatal), and should
/// not panic (a panic is caught and fails the batch as fatal).
///
/// ```
/// use amberflo_batcher::{BoxFuture, Executor};
/// use std::sync::atomic::{AtomicUsize, Ordering};
///
/// /// Counts the futures it drives, delegating to the park-based `block_on`.
/// #[derive(Default)]
/// struct Counting(AtomicUsize);
///
/// impl Executor for Counting {
///     fn block_on(&self, future: BoxFuture<'_>) {
///         self.0.fetch_add(1, Ordering::Relaxed);
///         amberflo_batcher::block_on(future);
///     }
/// }
///
/// let executor = Counting::default();
/// executor.block_on(Box::pin(async {}));
/// assert_eq!(executor.0.load(Ordering::Relaxed), 1);
/// ```
pub trait Executor: Send + Sync + 'static {
    /// Runs `future` to completion on the current (worker) thread.
    fn block_on(&self, future: BoxFuture<'_>);
}

impl<E: Executor + ?Sized> Executor for Arc<E> {
    fn block_on(&self, future: BoxFuture<'_>) {
        (**self).block_on(future);
    }
}

impl<E: Executor + ?Sized> Executor for Box<E> {
    fn block_on(&self, future: BoxFuture<'_>) {
        (**self).block_on(future);
    }
}

/// The default, runtime-free [`Executor`]: polls on the worker thread, parks between wake-ups.
///
/// ```
/// use amberflo_batcher::{Executor, ParkExecutor};
///
/// let mut ran = false;
/// ParkExecutor.block_on(Box::pin(async { ran = true }));
/// assert!(ran);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ParkExecutor;

impl Executor for ParkExecutor {
    fn block_on(&self, future: BoxFuture<'_>) {
        block_on(future);
    }
}

/// Wakes a parked thread.
struct ThreadWaker(Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs `future` to completion on the current thread, parking it while the future is pending.
///
/// Needs no runtime; a future that needs a reactor (tokio IO or timers) will panic under it.
/// Calling it inside an async runtime blocks that runtime's thread, as any `block_on` does.
///
/// ```
/// let answer = amberflo_batcher::block_on(async { 6 * 7 });
/// assert_eq!(answer, 42);
/// ```
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let waker = Waker::from(Arc::new(ThreadWaker(thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(output) => return output,
            // A spurious unpark only costs one extra poll.
            Poll::Pending => thread::park(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn block_on_waits_for_a_wake_from_another_thread() {
        let (tx, rx) = futures_channel::oneshot::channel::<u32>();
        let sender = thread::spawn(move || {
            thread::sleep(Duration::from_millis(5));
            tx.send(9).ok();
        });
        assert_eq!(block_on(rx).ok(), Some(9));
        sender.join().ok();
    }

    #[test]
    fn arc_and_box_executors_delegate() {
        let arc: Arc<dyn Executor> = Arc::new(ParkExecutor);
        let boxed: Box<dyn Executor> = Box::new(ParkExecutor);
        let mut count = 0;
        arc.block_on(Box::pin(async { count += 1 }));
        boxed.block_on(Box::pin(async { count += 1 }));
        assert_eq!(count, 2);
    }
}
