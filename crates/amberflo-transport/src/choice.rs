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
//! | `hyper` only | hyper | (hyper always uses rustls) |
//! | neither | none: a transport must be given | — |
//!
//! `native-tls` wins over `rustls` because `rustls` is on by default: a build that turns
//! `native-tls` on asked for the platform library.

/// A built-in [`Transport`](crate::Transport) implementation.
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

    /// Whether this build compiled the transport in.
    #[must_use]
    pub const fn is_compiled_in(self) -> bool {
        match self {
            TransportKind::Reqwest => cfg!(feature = "reqwest"),
            TransportKind::Hyper => cfg!(feature = "hyper"),
        }
    }

    /// The name its transport reports from [`Transport::name`](crate::Transport::name).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            TransportKind::Reqwest => "reqwest",
            TransportKind::Hyper => "hyper",
        }
    }
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
        assert!(expected.is_none_or(TransportKind::is_compiled_in));

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
