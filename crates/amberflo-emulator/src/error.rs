//! [`EmulatorError`]: why an emulator could not start.

use std::net::SocketAddr;

/// Why [`EmulatorBuilder::start`](crate::EmulatorBuilder::start) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmulatorError {
    /// The listening socket could not be bound (address in use, permission denied, ...).
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The server thread or its tokio runtime could not be created.
    #[error("cannot start the emulator's server thread: {0}")]
    Runtime(#[source] std::io::Error),
    /// The server thread ended before it reported that it was ready.
    #[error("the emulator's server thread exited before it was ready")]
    ThreadExited,
}
