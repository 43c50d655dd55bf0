//! Connection settings shared by the built-in transports, and the builder setters for them.

use std::time::Duration;

use crate::defaults;

/// Timeouts and pooling of a built-in transport; see [`defaults`] for the values.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConnectionSettings {
    pub(crate) connect_timeout: Duration,
    pub(crate) request_timeout: Duration,
    pub(crate) pool_idle_timeout: Duration,
    pub(crate) pool_max_idle_per_host: usize,
    pub(crate) tcp_keepalive: Duration,
    pub(crate) max_response_bytes: usize,
}

impl Default for ConnectionSettings {
    fn default() -> Self {
        ConnectionSettings {
            connect_timeout: defaults::CONNECT_TIMEOUT,
            request_timeout: defaults::REQUEST_TIMEOUT,
            pool_idle_timeout: defaults::POOL_IDLE_TIMEOUT,
            pool_max_idle_per_host: defaults::POOL_MAX_IDLE_PER_HOST,
            tcp_keepalive: defaults::TCP_KEEPALIVE,
            max_response_bytes: defaults::MAX_RESPONSE_BYTES,
        }
    }
}

/// The setters of [`ConnectionSettings`], for a builder holding them in a `settings` field.
macro_rules! connection_setters {
    () => {
        /// Replaces every connection setting at once (for [`TransportKind::build`](crate::TransportKind::build)).
        pub(crate) fn with_settings(
            mut self,
            settings: crate::connection::ConnectionSettings,
        ) -> Self {
            self.settings = settings;
            self
        }

        /// How long to wait for a connection to be established.
        pub fn connect_timeout(mut self, timeout: std::time::Duration) -> Self {
            self.settings.connect_timeout = timeout;
            self
        }

        /// How long the whole exchange may take, from connecting to the last body byte.
        pub fn request_timeout(mut self, timeout: std::time::Duration) -> Self {
            self.settings.request_timeout = timeout;
            self
        }

        /// How long an idle pooled connection is kept.
        pub fn pool_idle_timeout(mut self, timeout: std::time::Duration) -> Self {
            self.settings.pool_idle_timeout = timeout;
            self
        }

        /// How many idle connections per host the pool keeps (0 disables reuse).
        pub fn pool_max_idle_per_host(mut self, max: usize) -> Self {
            self.settings.pool_max_idle_per_host = max;
            self
        }

        /// The TCP keep-alive interval on open connections.
        pub fn tcp_keepalive(mut self, interval: std::time::Duration) -> Self {
            self.settings.tcp_keepalive = interval;
            self
        }

        /// The most response body bytes read (default 64 MiB); a longer body stops the
        /// exchange with [`TransportError::ResponseTooLarge`](crate::TransportError), so a
        /// broken or hostile server cannot balloon this process's memory.
        pub fn max_response_bytes(mut self, limit: usize) -> Self {
            self.settings.max_response_bytes = limit;
            self
        }
    };
}

pub(crate) use connection_setters;
