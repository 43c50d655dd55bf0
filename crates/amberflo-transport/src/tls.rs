//! The rustls client configuration both transports use: the `ring` crypto provider and the
//! platform certificate verifier.
//!
//! The provider is passed explicitly (never installed process-wide), so this crate neither
//! depends on nor disturbs a process-default `CryptoProvider`, and it never pulls aws-lc-rs.
//! Certificates are checked by `rustls-platform-verifier`: the operating system's trust store
//! and verifier (on Linux, the system CA bundle), as reqwest does by default.

use std::sync::Arc;

use hyper_rustls::ConfigBuilderExt as _;

use crate::TransportError;

/// A rustls client config with the ring provider, safe default protocol versions (TLS 1.2 and
/// 1.3), the platform verifier, no client certificate and no ALPN (callers set it).
pub(crate) fn client_config() -> Result<rustls::ClientConfig, TransportError> {
    let provider = Arc::new(ring_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(setup)?
        .try_with_platform_verifier()
        .map_err(setup)?
        .with_no_client_auth();
    Ok(config)
}

/// rustls' ring provider. rustls 0.23.48 deprecates it because ring has no post-quantum key
/// exchange; the alternative, aws-lc-rs, needs a C toolchain and CMake to build. We keep ring
/// (classical X25519 and NIST curves, as before) until rustls 0.24 moves the ring provider to
/// its own `rustls-ring` crate, and allow the deprecation in this one place.
#[allow(deprecated)]
fn ring_provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::ring::default_provider()
}

fn setup(error: rustls::Error) -> TransportError {
    TransportError::Setup {
        message: format!("rustls configuration: {error}"),
        source: Some(Arc::new(error)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_with_ring_and_no_alpn() {
        let config = client_config().unwrap();
        assert!(config.alpn_protocols.is_empty());
        let provider = config.crypto_provider();
        let ring = ring_provider();
        assert_eq!(
            provider.cipher_suites.len(),
            ring.cipher_suites.len(),
            "expected the ring provider's suites"
        );
    }
}
