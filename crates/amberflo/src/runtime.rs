//! The SDK's own I/O runtime: where every HTTP exchange runs, whatever runtime the caller has.
//!
//! reqwest and hyper need a Tokio reactor. Rather than polling their futures on the caller's
//! executor (which panics outside Tokio) or `block_on`-ing inside the caller's runtime (which
//! deadlocks a current-thread runtime), the client owns a small multi-thread Tokio runtime:
//!
//! - batcher workers (plain threads) drive each batch's future with [`Handle::block_on`];
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
