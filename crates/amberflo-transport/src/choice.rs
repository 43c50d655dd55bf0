//! Which built-in transport and TLS library a build uses by default: one rule, written once,
//! that the facade follows too.
//!
//! Cargo features are additive: any crate in the dependency graph may turn on `hyper` beside
//! the default `reqwest`, or `native-tls` beside the default `rustls`. Neither makes building
//! a client fail. The default is picked by precedence and an explicit choice always wins:
//!
//! | compiled in | default transport | default TLS of the reqwest transport |
//! |---|---|---|
//! | `reqwest` (with or without `hyper`) | reqwest | native-tls if `native-tls` is on, else rustls |
//! | `hyper` only | hyper | (hyper uses rustls when `rustls` is on) |
//! | neither | none: a transport must be given | — |
//!
//! (Without `rustls`, the hyper transport speaks plain `http://` only.) `native-tls` wins over
//! `rustls` because `rustls` is on by default: a build that turns
//! `native-tls` on asked for the platform library.

use std::sync::Arc;
use std::time::Duration;

use crate::{Transport, TransportError};

/// A built-in [`Transport`] implementation.
///
/// ```
/// use amberflo_transport::TransportKind;
///
/// // With the default features, reqwest is the default.
/// # #[cfg(feature = "reqwest")]
/// assert_eq!(TransportKind::default_for_build(), Some(TransportKind::Reqwest));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportKind {
    /// `ReqwestTransport` (feature `reqwest`).
    Reqwest,
    /// `HyperTransport` (feature `hyper`).
    Hyper,
}

impl TransportKind {
    /// The transport a client uses when none is chosen: reqwest when the `reqwest` feature is
    /// on, else hyper when `hyper` is on, else `None`.
    #[must_use]
    pub const fn default_for_build() -> Option<TransportKind> {
        if cfg!(feature = "reqwest") {
            Some(TransportKind::Reqwest)
        } else if cfg!(feature = "hyper") {
            Some(TransportKind::Hyper)
        } else {
            None
        }
    }

    /// Builds this transport with `options` (its defaults for what they leave unset).
    ///
    /// ```
    /// use std::time::Duration;
    /// use amberflo_transport::{BuiltinOptions, TransportKind};
    ///
    /// # #[cfg(feature = "reqwest")] {
    /// let mut options = BuiltinOptions::default();
    /// options.request_timeout = Some(Duration::from_secs(5));
    /// let transport = TransportKind::Reqwest.build(&options)?;
    /// assert_eq!(transport.name(), "reqwest");
    /// # }
    /// # Ok::<(), amberflo_transport::TransportError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`TransportError::Setup`] when the transport is not compiled in or its TLS stack
    /// cannot be initialized.
    pub fn build(self, options: &BuiltinOptions) -> Result<Arc<dyn Transport>, TransportError> {
        #[cfg(not(any(feature = "reqwest", feature = "hyper")))]
        let _ = options;
        // Arms for transports this build lacks are cut out; the last arm then refuses them.
        #[allow(unreachable_patterns, clippy::match_single_binding)]
        match self {
            #[cfg(feature = "reqwest")]
            TransportKind::Reqwest => Ok(Arc::new(
                crate::ReqwestTransport::builder()
                    .with_settings(options.settings())
                    .build()?,
            )),
            #[cfg(feature = "hyper")]
            TransportKind::Hyper => Ok(Arc::new(
                crate::HyperTransport::builder()
                    .with_settings(options.settings())
                    .build()?,
            )),
            other => Err(TransportError::Setup {
                message: format!("the {other:?} transport is not compiled in (enable its feature)"),
                source: None,
            }),
        }
    }
}

/// Settings for [`TransportKind::build`]; `None` keeps the transport's default
/// ([`defaults`](crate::defaults)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BuiltinOptions {
    /// How long to wait for a connection (default 10 s).
    pub connect_timeout: Option<Duration>,
    /// How long a whole exchange may take (default 30 s).
    pub request_timeout: Option<Duration>,
    /// The most response body bytes read (default 64 MiB).
    pub max_response_bytes: Option<usize>,
}

/// The TLS library a transport uses for `https://`.
///
/// ```
/// use amberflo_transport::TlsBackend;
///
/// # #[cfg(all(feature = "rustls", not(feature = "native-tls")))]
/// assert_eq!(TlsBackend::default_for_build(), Some(TlsBackend::Rustls));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TlsBackend {
    /// rustls with the `ring` provider and the platform verifier (feature `rustls`).
    Rustls,
    /// The platform library, OpenSSL on Linux (feature `native-tls`; reqwest transport only).
    NativeTls,
}

impl TlsBackend {
    /// The reqwest transport's TLS when none is chosen: native-tls when the `native-tls`
    /// feature is on, else rustls when `rustls` is on, else `None` (plain `http://` only).
    #[must_use]
    pub const fn default_for_build() -> Option<TlsBackend> {
        if cfg!(feature = "native-tls") {
            Some(TlsBackend::NativeTls)
        } else if cfg!(feature = "rustls") {
            Some(TlsBackend::Rustls)
        } else {
            None
        }
    }

    /// Whether this build compiled the library in.
    #[must_use]
    pub const fn is_compiled_in(self) -> bool {
        match self {
            TlsBackend::Rustls => cfg!(feature = "rustls"),
            TlsBackend::NativeTls => cfg!(feature = "native-tls"),
        }
    }
}

#[cfg(any(feature = "reqwest", feature = "hyper"))]
impl BuiltinOptions {
    /// The connection settings these options give, the defaults elsewhere.
    fn settings(&self) -> crate::connection::ConnectionSettings {
        let mut settings = crate::connection::ConnectionSettings::default();
        if let Some(timeout) = self.connect_timeout {
            settings.connect_timeout = timeout;
        }
        if let Some(timeout) = self.request_timeout {
            settings.request_timeout = timeout;
        }
        if let Some(limit) = self.max_response_bytes {
            settings.max_response_bytes = limit;
        }
        settings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_compiled_in_and_follows_precedence() {
        let features = (cfg!(feature = "reqwest"), cfg!(feature = "hyper"));
        let expected = match features {
            (true, _) => Some(TransportKind::Reqwest),
            (false, true) => Some(TransportKind::Hyper),
            (false, false) => None,
        };
        assert_eq!(TransportKind::default_for_build(), expected);
        if let Some(kind) = expected {
            assert!(kind.build(&BuiltinOptions::default()).is_ok());
        }

        let features = (cfg!(feature = "native-tls"), cfg!(feature = "rustls"));
        let expected = match features {
            (true, _) => Some(TlsBackend::NativeTls),
            (false, true) => Some(TlsBackend::Rustls),
            (false, false) => None,
        };
        assert_eq!(TlsBackend::default_for_build(), expected);
        assert!(expected.is_none_or(TlsBackend::is_compiled_in));
    }
}
