//! Features are additive: whatever combination this test binary was compiled with,
//! `build()` succeeds with the documented default (or, with no transport at all, returns
//! `Error::NoTransport`), and the client it builds delivers over real loopback HTTP.
//!
//! `cargo xtask ci` runs this file once per feature combination of its matrix; the
//! expectations below are written from the features, not from the code under test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use amberflo::transport::TlsBackend;
use amberflo::{Client, Error};
use amberflo_emulator::Emulator;

/// The transport the README promises for this build: reqwest when compiled in, else hyper.
fn expected_transport() -> Option<&'static str> {
    if cfg!(feature = "reqwest") {
        Some("reqwest")
    } else if cfg!(feature = "hyper") {
        Some("hyper")
    } else {
        None
    }
}

/// The TLS library the README promises for `transport`.
fn expected_tls(transport: &str) -> Option<TlsBackend> {
    match transport {
        "reqwest" if cfg!(feature = "native-tls") => Some(TlsBackend::NativeTls),
        _ if cfg!(feature = "rustls") => Some(TlsBackend::Rustls),
        _ => None,
    }
}

/// Meters one record through `client` and checks the emulator stored it.
fn delivers(client: &Client, emulator: &Emulator) {
    client.meter("FeatureCheck", 1.0, "customer-1").unwrap();
    client.flush(Duration::from_secs(10)).unwrap();
    assert_eq!(emulator.record_count(), 1);
    assert_eq!(client.stats().delivered, 1);
}

#[test]
fn build_picks_the_documented_default_and_it_delivers() {
    let emulator = Emulator::start().unwrap();
    let built = Client::builder()
        .api_key("k")
        .endpoint(emulator.url())
        .build();
    let Some(transport) = expected_transport() else {
        assert!(matches!(built, Err(Error::NoTransport)), "{built:?}");
        return;
    };
    let client = built.unwrap();
    assert_eq!(client.transport().name(), transport);
    assert_eq!(client.transport().tls_backend(), expected_tls(transport));
    delivers(&client, &emulator);
}

/// An `https://` target builds only when the transport this build picks speaks TLS; else
/// `build()` refuses it, naming the URL, instead of a client whose every request fails.
#[test]
fn an_https_target_builds_only_with_tls() {
    let built = Client::builder()
        .api_key("k")
        .api_url("https://api.example.test")
        .ingest_url("https://ingest.example.test")
        .build();
    match expected_transport() {
        None => assert!(matches!(built, Err(Error::NoTransport)), "{built:?}"),
        Some(transport) if expected_tls(transport).is_some() => {
            built.unwrap();
        }
        Some(transport) => match built {
            Err(Error::Config { field, reason }) => {
                assert_eq!(field, "api_url");
                assert!(
                    reason.contains("no TLS") && reason.contains(transport),
                    "{reason}"
                );
            }
            other => panic!("{transport} without TLS built for https: {other:?}"),
        },
    }
}

#[cfg(feature = "hyper")]
#[test]
fn use_hyper_wins_over_the_default() {
    let emulator = Emulator::start().unwrap();
    let client = Client::builder()
        .api_key("k")
        .endpoint(emulator.url())
        .use_hyper()
        .build()
        .unwrap();
    assert_eq!(client.transport().name(), "hyper");
    delivers(&client, &emulator);
}

#[cfg(feature = "reqwest")]
#[test]
fn use_reqwest_wins_over_an_earlier_choice() {
    // Plain http: a build without TLS refuses https (`an_https_target_builds_only_with_tls`).
    let builder = Client::builder()
        .api_key("k")
        .endpoint("http://127.0.0.1:1");
    #[cfg(feature = "hyper")]
    let builder = builder.use_hyper();
    let client = builder.use_reqwest().build().unwrap();
    assert_eq!(client.transport().name(), "reqwest");
}

#[cfg(feature = "mock")]
#[test]
fn a_given_transport_builds_in_every_combination() {
    let mock = amberflo::mock::MockTransport::new();
    let client = Client::builder()
        .api_key("k")
        .transport(mock.clone())
        .build()
        .unwrap();
    client.meter("FeatureCheck", 1.0, "customer-1").unwrap();
    client.flush(Duration::from_secs(10)).unwrap();
    assert_eq!(mock.request_count(), 1);
}
