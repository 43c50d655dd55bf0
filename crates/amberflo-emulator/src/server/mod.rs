//! The HTTP server: an accept loop on the emulator's runtime, one task per connection
//! (hyper 1, HTTP/1.1 with keep-alive), and a graceful, bounded shutdown.

pub(crate) mod request;
pub(crate) mod respond;
mod service;

use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

pub(crate) use request::ApiRequest;

use crate::clients::ClientBoard;
use crate::config::EmulatorBuilder;
use crate::stats::Counters;
use crate::{Faults, Stats, Store};

/// Pause after a failed `accept` (e.g. out of file descriptors) before trying again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(20);

/// State shared by the handle and every connection.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: EmulatorBuilder,
    pub(crate) store: Store,
    pub(crate) faults: Faults,
    pub(crate) counters: Counters,
    /// What aggregating clients reported (`/_emulator/client-stats`).
    pub(crate) clients: ClientBoard,
    pub(crate) base_url: String,
}

impl Shared {
    pub(crate) fn new(config: EmulatorBuilder, base_url: String) -> Self {
        let faults = Faults::default();
        faults.set_latency(config.latency);
        Shared {
            store: Store::with_max_decoded_bytes(config.max_decoded_bytes),
            faults,
            counters: Counters::default(),
            clients: ClientBoard::default(),
            base_url,
            config,
        }
    }

    pub(crate) fn stats(&self) -> Stats {
        let counters = &self.counters;
        let store = &self.store;
        // `Stats` is non-exhaustive for users, not for this crate.
        Stats {
            records: store.record_count() as u64,
            custom_records: store.custom_record_count() as u64,
            customers: store.customer_count() as u64,
            requests_served: Counters::get(&counters.requests),
            requests_failed_by_faults: Counters::get(&counters.faulted),
            connections_dropped: Counters::get(&counters.dropped),
            unauthorized: Counters::get(&counters.unauthorized),
            duplicates_dropped: store.duplicates_dropped(),
            ingest_batches: store.ingest_batches(),
            ingest_rejected: store.ingest_rejected(),
            handler_panics: Counters::get(&counters.panics),
        }
    }
}

/// Serves connections until `stop` turns true (or its sender is dropped), then lets the
/// open connections finish their in-flight requests for at most the shutdown timeout.
pub(crate) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(shared.config.header_read_timeout)
        .keep_alive(true);
    let mut connections = JoinSet::new();
    loop {
        if *stop.borrow_and_update() {
            break;
        }
        tokio::select! {
            changed = stop.changed() => {
                if changed.is_err() {
                    break;
                }
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    tracing::trace!(%peer, "connection accepted");
                    connections.spawn(connection(
                        stream,
                        builder.clone(),
                        Arc::clone(&shared),
                        stop.clone(),
                    ));
                }
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    let grace = shared.config.shutdown_timeout;
    let drained = tokio::time::timeout(grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            open = connections.len(),
            ?grace,
            "closing connections still busy at shutdown"
        );
    }
    connections.abort_all();
}

/// Serves one connection until the client closes it, a fault drops it, or shutdown.
async fn connection(
    stream: TcpStream,
    builder: http1::Builder,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let service =
        hyper::service::service_fn(move |request| service::handle(Arc::clone(&shared), request));
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = async {
            // An error means the handle is gone: shut down as well.
            let _ = stop.wait_for(|stop| *stop).await;
        } => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = result {
        tracing::debug!(%error, "connection ended with an error");
    }
}
