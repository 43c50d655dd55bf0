//! The SDK's own I/O runtime: where every HTTP exchange runs, whatever runtime the caller has.
//!
//! reqwest and hyper need a Tokio reactor. Rather than polling their futures on the caller's
//! executor (which panics outside Tokio) or `block_on`-ing inside the caller's runtime (which
//! deadlocks a current-thread runtime), the client owns a small multi-thread Tokio runtime:
//!
//! - batcher workers (plain threads) drive each batch's future on a current-thread runtime of
//!   their own ([`WorkerExecutor`]) when the client built its transports (one per worker, see
//!   `sink::WorkerApi`): the whole exchange, connection task included, then runs on the
//!   thread that encoded the batch, with no hand-off to another thread per request. With a
//!   transport the user gave (shared by every worker, so its connections may live on any
//!   thread), they use [`Handle::block_on`] on this runtime instead ([`TokioExecutor`]);
//! - async API calls are spawned onto it and awaited through their join handle, which any
//!   executor can poll (dropping the future aborts the call);
//! - blocking API calls wait on the same join handle with a runtime-free park.
//!
//! The runtime is shared by the client and its batcher workers and shut down in the
//! background when the last of them lets go, so a worker still sending at the shutdown
//! deadline keeps its runtime, and dropping never blocks or panics, even inside another
//! runtime.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use std::cell::RefCell;

use amberflo_batcher::{BoxFuture, Executor};
use tokio::runtime::{Builder, Handle, Runtime};
use tokio::task::JoinHandle;

use crate::error::{Error, RuntimeError};

/// Worker threads of the I/O runtime: they run connection tasks, not serialisation.
const IO_THREADS: usize = 2;

/// Owns the runtime; see the module docs.
#[derive(Debug, Clone)]
pub(crate) struct IoRuntime {
    /// Held only to keep the runtime alive; the last clone shuts it down.
    _owner: Arc<RuntimeOwner>,
    handle: Handle,
}

/// Shuts the runtime down in the background when dropped, wherever that happens.
#[derive(Debug)]
struct RuntimeOwner(Option<Runtime>);

impl Drop for RuntimeOwner {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

impl IoRuntime {
    pub(crate) fn start() -> Result<Self, Error> {
        let runtime = Builder::new_multi_thread()
            .worker_threads(IO_THREADS)
            .thread_name("amberflo-io")
            .enable_all()
            .build()
            .map_err(|error| RuntimeError::new("could not start", error))?;
        let handle = runtime.handle().clone();
        Ok(IoRuntime {
            _owner: Arc::new(RuntimeOwner(Some(runtime))),
            handle,
        })
    }

    pub(crate) fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Runs `future` on the runtime and resolves, on any executor, to its output. Dropping
    /// the returned future aborts the call.
    pub(crate) fn call<T, F>(&self, future: F) -> impl Future<Output = Result<T, Error>> + use<T, F>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, Error>> + Send + 'static,
    {
        AbortOnDrop(self.handle.spawn(future))
    }

    /// The executor batcher workers use to drive sink futures on this runtime.
    pub(crate) fn executor(&self) -> TokioExecutor {
        TokioExecutor(self.clone())
    }

    /// The executor that drives each worker's sink futures on a runtime of its own.
    pub(crate) fn worker_executor(&self) -> WorkerExecutor {
        WorkerExecutor(self.clone())
    }
}

/// A spawned call that is aborted when its caller stops waiting for it.
struct AbortOnDrop<T>(JoinHandle<Result<T, Error>>);

impl<T> Future for AbortOnDrop<T> {
    type Output = Result<T, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx).map(|joined| {
            joined.map_err(|error| RuntimeError::new("stopped before the call finished", error))?
        })
    }
}

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Drives a batcher worker's sink future on the I/O runtime ([`Handle::block_on`] on the
/// worker's own thread, which is never inside a runtime). It keeps the runtime alive.
#[derive(Debug, Clone)]
pub(crate) struct TokioExecutor(IoRuntime);

impl Executor for TokioExecutor {
    fn block_on(&self, future: BoxFuture<'_>) {
        self.0.handle.block_on(future);
    }
}

/// Drives a batcher worker's sink future on a current-thread runtime owned by the worker's
/// thread (built on first use, dropped when the thread exits), so that connection tasks
/// spawned by its transport run on that thread too. Only for sinks whose transports are not
/// shared between workers: a connection living on one worker's runtime makes progress only
/// while that worker drives a future. Falls back to the shared runtime if a runtime cannot be
/// built.
#[derive(Debug, Clone)]
pub(crate) struct WorkerExecutor(IoRuntime);

impl Executor for WorkerExecutor {
    fn block_on(&self, future: BoxFuture<'_>) {
        thread_local! {
            static LOCAL: RefCell<Option<Runtime>> = const { RefCell::new(None) };
        }
        let mut future = Some(future);
        let _ = LOCAL.try_with(|slot| {
            let Ok(mut slot) = slot.try_borrow_mut() else {
                return;
            };
            if slot.is_none() {
                match Builder::new_current_thread().enable_all().build() {
                    Ok(runtime) => *slot = Some(runtime),
                    Err(error) => {
                        tracing::warn!(%error, "amberflo: no worker runtime; using the shared one");
                        return;
                    }
                }
            }
            if let (Some(runtime), Some(future)) = (slot.as_ref(), future.take()) {
                runtime.block_on(future);
            }
        });
        if let Some(future) = future {
            self.0.handle.block_on(future);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::thread;

    use tokio::sync::{mpsc, oneshot};

    use super::*;

    /// Runs `body` through `executor` on a thread named `worker-under-test`.
    fn on_worker<E: Executor + 'static>(executor: E, body: impl FnOnce(&E) + Send + 'static) {
        thread::Builder::new()
            .name("worker-under-test".to_owned())
            .spawn(move || body(&executor))
            .expect("spawn")
            .join()
            .expect("the worker thread panicked");
    }

    /// The name of the thread a task spawned inside `executor.block_on` runs on.
    fn spawned_task_thread(executor: &impl Executor) -> Option<String> {
        let name = Arc::new(Mutex::new(None));
        let slot = Arc::clone(&name);
        executor.block_on(Box::pin(async move {
            let spawned = tokio::spawn(async { thread::current().name().map(str::to_owned) });
            *slot.lock().expect("lock") = spawned.await.ok().flatten();
        }));
        name.lock().expect("lock").take()
    }

    #[test]
    fn a_worker_executor_runs_spawned_tasks_on_the_worker_thread() {
        let runtime = IoRuntime::start().expect("runtime");
        on_worker(runtime.worker_executor(), |executor| {
            assert_eq!(
                spawned_task_thread(executor).as_deref(),
                Some("worker-under-test")
            );
        });
        // The shared executor hands them to the I/O runtime's threads: one hand-off per task.
        on_worker(runtime.executor(), |executor| {
            assert_eq!(
                spawned_task_thread(executor).as_deref(),
                Some("amberflo-io")
            );
        });
    }

    #[test]
    fn a_task_spawned_during_one_batch_serves_the_next() {
        // Like a pooled connection: its task outlives the batch that opened it.
        let runtime = IoRuntime::start().expect("runtime");
        on_worker(runtime.worker_executor(), |executor| {
            let (requests, mut incoming) = mpsc::unbounded_channel::<oneshot::Sender<u32>>();
            executor.block_on(Box::pin(async move {
                tokio::spawn(async move {
                    while let Some(reply) = incoming.recv().await {
                        let _ = reply.send(7);
                    }
                });
            }));
            let answer = Arc::new(Mutex::new(None));
            let slot = Arc::clone(&answer);
            executor.block_on(Box::pin(async move {
                let (reply, answered) = oneshot::channel();
                let _ = requests.send(reply);
                *slot.lock().expect("lock") = answered.await.ok();
            }));
            assert_eq!(*answer.lock().expect("lock"), Some(7));
        });
    }
}
