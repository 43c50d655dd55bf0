//! [`EmulatorBuilder`]: every setting of an emulator, with its default, in one place.
//!
//! | setting | default |
//! |---|---|
//! | [`addr`](EmulatorBuilder::addr) ([`bind`](EmulatorBuilder::bind), [`port`](EmulatorBuilder::port)) | `127.0.0.1:0` (a free port) |
//! | [`api_key`](EmulatorBuilder::api_key) | none: no authentication |
//! | [`max_body_bytes`](EmulatorBuilder::max_body_bytes) | [`DEFAULT_MAX_BODY_BYTES`] (10 MiB) |
//! | [`max_decoded_bytes`](EmulatorBuilder::max_decoded_bytes) | [`DEFAULT_MAX_DECODED_BYTES`] (100 MiB) |
//! | [`latency`](EmulatorBuilder::latency) | none |
//! | [`header_read_timeout`](EmulatorBuilder::header_read_timeout) | [`DEFAULT_HEADER_READ_TIMEOUT`] (30 s) |
//! | [`shutdown_timeout`](EmulatorBuilder::shutdown_timeout) | [`DEFAULT_SHUTDOWN_TIMEOUT`] (5 s) |
//! | [`worker_threads`](EmulatorBuilder::worker_threads) | [`DEFAULT_WORKER_THREADS`] (2) |

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

pub use crate::store::DEFAULT_MAX_DECODED_BYTES;
use crate::{Emulator, EmulatorError};

/// Default limit on a request body as received: 10 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 10 * 1024 * 1024;
/// Default time a client has to send a request's headers: 30 s.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Default time shutdown waits for in-flight requests: 5 s.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);
/// Default number of tokio worker threads serving requests: 2.
pub const DEFAULT_WORKER_THREADS: usize = 2;

/// Configures and starts an [`Emulator`]; see the [module docs](self) for the defaults.
///
/// ```
/// use std::time::Duration;
/// use amberflo_emulator::Emulator;
///
/// let emulator = Emulator::builder()
///     .api_key("test-key")
///     .max_body_bytes(1024 * 1024)
///     .shutdown_timeout(Duration::from_secs(1))
///     .start()?;
/// assert!(emulator.url().starts_with("http://127.0.0.1:"));
/// emulator.shutdown();
/// # Ok::<(), amberflo_emulator::EmulatorError>(())
/// ```
#[derive(Clone)]
#[must_use = "a builder does nothing until `start` is called"]
pub struct EmulatorBuilder {
    pub(crate) addr: SocketAddr,
    pub(crate) api_key: Option<String>,
    pub(crate) max_body_bytes: usize,
    pub(crate) max_decoded_bytes: usize,
    pub(crate) latency: Duration,
    pub(crate) header_read_timeout: Duration,
    pub(crate) shutdown_timeout: Duration,
    pub(crate) worker_threads: usize,
}

impl Default for EmulatorBuilder {
    fn default() -> Self {
        EmulatorBuilder {
            addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            api_key: None,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_decoded_bytes: DEFAULT_MAX_DECODED_BYTES,
            latency: Duration::ZERO,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
            worker_threads: DEFAULT_WORKER_THREADS,
        }
    }
}

impl fmt::Debug for EmulatorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmulatorBuilder")
            .field("addr", &self.addr)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("max_body_bytes", &self.max_body_bytes)
            .field("max_decoded_bytes", &self.max_decoded_bytes)
            .field("latency", &self.latency)
            .field("header_read_timeout", &self.header_read_timeout)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .field("worker_threads", &self.worker_threads)
            .finish()
    }
}

impl EmulatorBuilder {
    /// Requires this `X-API-KEY` on every API request (a missing or wrong key gets 401).
    /// The emulator's own routes (`/`, `/portal/...`, `/_emulator/...`) stay open.
    pub fn api_key(mut self, api_key: impl Into<String>) -> Self {
        self.api_key = Some(api_key.into());
        self
    }

    /// Listens on this IP address (default `127.0.0.1`). Anything but loopback exposes the
    /// emulator, which has no TLS, to the network.
    pub fn bind(mut self, ip: IpAddr) -> Self {
        self.addr.set_ip(ip);
        self
    }

    /// Listens on this port (default `0`: a free port chosen by the system; see
    /// [`Emulator::url`]).
    pub fn port(mut self, port: u16) -> Self {
        self.addr.set_port(port);
        self
    }

    /// Listens on this address (IP and port at once).
    pub fn addr(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// Refuses request bodies larger than this, as received (413), checked while reading.
    pub fn max_body_bytes(mut self, limit: usize) -> Self {
        self.max_body_bytes = limit;
        self
    }

    /// Refuses gzip bodies that decompress to more than this (413).
    pub fn max_decoded_bytes(mut self, limit: usize) -> Self {
        self.max_decoded_bytes = limit;
        self
    }

    /// Delays every API request by this much from the start (the latency fault; change it
    /// later with [`Faults::set_latency`](crate::Faults::set_latency)).
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// Closes connections whose client takes longer than this to send request headers.
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// How long [`Emulator::shutdown`] (and drop) waits for in-flight requests before
    /// closing their connections.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// Tokio worker threads serving requests (at least 1).
    pub fn worker_threads(mut self, threads: usize) -> Self {
        self.worker_threads = threads.max(1);
        self
    }

    /// Binds the listener and starts serving on a dedicated thread with its own tokio
    /// runtime. Returns once the emulator accepts connections. Needs no runtime from the
    /// caller, and may be called from inside one.
    pub fn start(self) -> Result<Emulator, EmulatorError> {
        Emulator::start_with(self)
    }
}
