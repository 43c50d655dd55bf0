//! [`Emulator`]: the handle of a running emulator — its URL, its state, its faults, and a
//! clean, bounded shutdown that works with or without the caller's tokio runtime.
//!
//! The server runs on its own thread with its own tokio runtime. Shutting down signals that
//! thread and waits for it on a std channel, for at most the shutdown timeout plus a margin;
//! nothing ever calls `block_on` on the caller's thread, so dropping the handle inside an
//! async test neither panics nor deadlocks.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use amberflo_types::{Customer, MeterRecord};
use tokio::sync::{oneshot, watch};

use crate::config::EmulatorBuilder;
use crate::server::{self, Shared};
use crate::{ClientStats, EmulatorError, Faults, Stats, Store};

/// Extra time, beyond the shutdown timeout, that shutdown waits for the server thread.
const SHUTDOWN_MARGIN: Duration = Duration::from_secs(2);

/// The server thread, while it runs.
#[derive(Debug)]
struct Running {
    stop: watch::Sender<bool>,
    thread: JoinHandle<()>,
    stopped: mpsc::Receiver<()>,
    stopped_async: oneshot::Receiver<()>,
}

/// A running emulator. Dropping it shuts the server down (see [`Emulator::shutdown`]).
///
/// ```
/// use amberflo_emulator::Emulator;
///
/// let emulator = Emulator::builder().api_key("test-key").start()?;
/// // Point the SDK (or any HTTP client) at it.
/// let url = emulator.url();
/// assert!(url.starts_with("http://127.0.0.1:"));
/// assert_eq!(emulator.record_count(), 0);
/// assert_eq!(emulator.stats().requests_served, 0);
/// emulator.shutdown();
/// # Ok::<(), amberflo_emulator::EmulatorError>(())
/// ```
#[derive(Debug)]
#[must_use = "the emulator shuts down when its handle is dropped"]
pub struct Emulator {
    shared: Arc<Shared>,
    addr: SocketAddr,
    running: Option<Running>,
}

impl Emulator {
    /// Starts configuring an emulator.
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::default()
    }

    /// Starts an emulator with the default settings (127.0.0.1, a free port, no API key).
    pub fn start() -> Result<Emulator, EmulatorError> {
        EmulatorBuilder::default().start()
    }

    pub(crate) fn start_with(config: EmulatorBuilder) -> Result<Emulator, EmulatorError> {
        let requested = config.addr;
        let bind_error = |source| EmulatorError::Bind {
            addr: requested,
            source,
        };
        let listener = std::net::TcpListener::bind(requested).map_err(bind_error)?;
        listener.set_nonblocking(true).map_err(bind_error)?;
        let addr = listener.local_addr().map_err(bind_error)?;
        if !addr.ip().is_loopback() {
            tracing::warn!(%addr, "the emulator listens beyond loopback; it has no TLS");
        }
        // A wildcard address is not one to connect to: advertise loopback instead.
        let host = if addr.ip().is_unspecified() {
            match addr {
                SocketAddr::V4(_) => SocketAddr::from(([127, 0, 0, 1], addr.port())),
                SocketAddr::V6(_) => SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, addr.port())),
            }
        } else {
            addr
        };
        let url = format!("http://{host}");
        let workers = config.worker_threads;
        let shared = Arc::new(Shared::new(config, url));

        let (ready_tx, ready_rx) = mpsc::channel::<std::io::Result<()>>();
        let (stop, stop_rx) = watch::channel(false);
        let (stopped_tx, stopped) = mpsc::channel::<()>();
        let (stopped_async_tx, stopped_async) = oneshot::channel::<()>();
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name(format!("amberflo-emulator-{}", addr.port()))
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(workers)
                    .thread_name("amberflo-emulator-worker")
                    .enable_all()
                    .build();
                let runtime = match runtime {
                    Ok(runtime) => runtime,
                    Err(error) => {
                        let _ = ready_tx.send(Err(error));
                        return;
                    }
                };
                let listener = {
                    let _context = runtime.enter();
                    tokio::net::TcpListener::from_std(listener)
                };
                match listener {
                    Ok(listener) => {
                        let _ = ready_tx.send(Ok(()));
                        runtime.block_on(server::serve(listener, thread_shared, stop_rx));
                    }
                    Err(error) => {
                        let _ = ready_tx.send(Err(error));
                    }
                }
                // Connections were drained (or timed out) in `serve`; this is quick.
                runtime.shutdown_timeout(Duration::from_millis(100));
                let _ = stopped_tx.send(());
                let _ = stopped_async_tx.send(());
            })
            .map_err(EmulatorError::Runtime)?;

        match ready_rx.recv() {
            Ok(Ok(())) => {
                tracing::info!(url = %shared.base_url, "amberflo emulator listening");
                Ok(Emulator {
                    shared,
                    addr,
                    running: Some(Running {
                        stop,
                        thread,
                        stopped,
                        stopped_async,
                    }),
                })
            }
            Ok(Err(error)) => {
                let _ = thread.join();
                Err(EmulatorError::Runtime(error))
            }
            Err(_) => {
                let _ = thread.join();
                Err(EmulatorError::ThreadExited)
            }
        }
    }

    /// The base URL, e.g. `http://127.0.0.1:38117`: use it as both the API and the ingest URL.
    pub fn url(&self) -> &str {
        &self.shared.base_url
    }

    /// The address the emulator listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The API key it requires, if any.
    pub fn api_key(&self) -> Option<&str> {
        self.shared.config.api_key.as_deref()
    }

    /// Everything the emulator holds, with direct read (and write) access.
    pub fn store(&self) -> &Store {
        &self.shared.store
    }

    /// The fault controls (the same ones `POST /_emulator/faults` sets).
    pub fn faults(&self) -> &Faults {
        &self.shared.faults
    }

    /// What it holds and has done so far (what `GET /_emulator/stats` returns).
    pub fn stats(&self) -> Stats {
        self.shared.stats()
    }

    /// The latest aggregation figures of each client that reported them
    /// (`POST /_emulator/client-stats`), ordered by client name; at most
    /// [`MAX_CLIENTS`](crate::MAX_CLIENTS). What `GET /_emulator/client-stats` returns.
    pub fn client_stats(&self) -> Vec<ClientStats> {
        self.shared.clients.list()
    }

    /// A copy of every stored meter record, in arrival order.
    pub fn records(&self) -> Vec<MeterRecord> {
        self.shared.store.records()
    }

    /// How many meter records are stored.
    pub fn record_count(&self) -> usize {
        self.shared.store.record_count()
    }

    /// Every customer, ordered by id.
    pub fn customers(&self) -> Vec<Customer> {
        self.shared.store.customers()
    }

    /// Drops every stored record (what `DELETE /_emulator/records` does).
    pub fn clear_records(&self) {
        self.shared.store.clear_records();
    }

    /// Stops accepting connections, lets in-flight requests finish (for at most the
    /// shutdown timeout), and stops the server thread. Blocks the calling thread for at most
    /// the shutdown timeout plus 2 s; safe inside a tokio runtime (no `block_on`), though
    /// async code may prefer [`shutdown_async`](Self::shutdown_async). Dropping the handle
    /// does the same.
    pub fn shutdown(mut self) {
        self.stop_blocking();
    }

    /// Like [`shutdown`](Self::shutdown), but waits without blocking the caller's thread.
    /// Works on any async runtime.
    pub async fn shutdown_async(mut self) {
        let Some(running) = self.running.take() else {
            return;
        };
        let _ = running.stop.send(true);
        // The server thread bounds its own shutdown, so this wait is bounded too; an error
        // means the thread is gone already.
        let _ = running.stopped_async.await;
        join(running.thread);
    }

    fn stop_blocking(&mut self) {
        let Some(running) = self.running.take() else {
            return;
        };
        let _ = running.stop.send(true);
        let wait = self.shared.config.shutdown_timeout + SHUTDOWN_MARGIN;
        match running.stopped.recv_timeout(wait) {
            Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => join(running.thread),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                tracing::warn!(
                    ?wait,
                    "the emulator's server thread did not stop in time; leaving it behind"
                );
            }
        }
    }
}

/// Joins a server thread that has finished (or is about to), logging a panic.
fn join(thread: JoinHandle<()>) {
    if thread.join().is_err() {
        tracing::error!("the emulator's server thread panicked");
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.stop_blocking();
    }
}
