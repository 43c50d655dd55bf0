//! The SDK's own I/O runtime: where every HTTP exchange runs, whatever runtime the caller has.
//!
//! reqwest and hyper need a Tokio reactor. Rather than polling their futures on the caller's
//! executor (which panics outside Tokio) or `block_on`-ing inside the caller's runtime (which
//! deadlocks a current-thread runtime), the client owns a small multi-thread Tokio runtime:
//!
//! - batcher workers (plain threads) drive each batch's future with [`Handle::block_on`];
//! - async API calls are spawned onto it and awaited through their join handle, which any
//!   executor can poll;
//! - blocking API calls wait on the same join handle with a runtime-free park.
//!
//! Dropping it never blocks: the runtime is shut down in the background.

use std::future::Future;

use amberflo_batcher::{BoxFuture, Executor};
use tokio::runtime::{Builder, Handle, Runtime};

use crate::error::Error;

/// Worker threads of the I/O runtime: they run connection tasks, not serialisation.
const IO_THREADS: usize = 2;

/// Owns the runtime; see the module docs.
#[derive(Debug)]
pub(crate) struct IoRuntime {
    runtime: Option<Runtime>,
}

impl IoRuntime {
    pub(crate) fn start() -> Result<Self, Error> {
        let runtime = Builder::new_multi_thread()
            .worker_threads(IO_THREADS)
            .thread_name("amberflo-io")
            .enable_all()
            .build()
            .map_err(|error| Error::Runtime(format!("could not start the I/O runtime: {error}")))?;
        Ok(IoRuntime {
            runtime: Some(runtime),
        })
    }

    pub(crate) fn handle(&self) -> Option<&Handle> {
        self.runtime.as_ref().map(Runtime::handle)
    }

    /// Runs `future` on the runtime and resolves, on any executor, to its output.
    pub(crate) fn call<T, F>(&self, future: F) -> impl Future<Output = Result<T, Error>> + use<T, F>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, Error>> + Send + 'static,
    {
        let task = self.handle().map(|handle| handle.spawn(future));
        async move {
            match task {
                Some(task) => task
                    .await
                    .map_err(|error| Error::Runtime(error.to_string()))?,
                None => Err(Error::Runtime("the client has been shut down".to_owned())),
            }
        }
    }

    /// The executor batcher workers use to drive sink futures on this runtime.
    pub(crate) fn executor(&self) -> Option<TokioExecutor> {
        self.handle().cloned().map(TokioExecutor)
    }
}

impl Drop for IoRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            // Never blocks and never panics, even when dropped inside another runtime.
            runtime.shutdown_background();
        }
    }
}

/// Drives a batcher worker's sink future on the I/O runtime ([`Handle::block_on`] on the
/// worker's own thread, which is never inside a runtime).
#[derive(Debug, Clone)]
pub(crate) struct TokioExecutor(Handle);

impl Executor for TokioExecutor {
    fn block_on(&self, future: BoxFuture<'_>) {
        self.0.block_on(future);
    }
}
