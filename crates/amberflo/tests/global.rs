//! The process-wide client: `init`, `meter`, `flush` and the guard that shuts it down.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use amberflo::mock::MockTransport;
use amberflo::{Client, Error};

/// The tests share the one process-wide client, so they take turns.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn init_meter_flush_and_the_guard_drop() {
    let _turn = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let refused = amberflo::meter("ApiCalls", 1.0, "customer-1").unwrap_err();
    assert!(matches!(refused, Error::NotInitialized(_)));
    assert_eq!(refused.into_record().unwrap().meter_api_name(), "ApiCalls");

    let mock = MockTransport::new();
    let guard = amberflo::init(Client::builder().api_key("k").transport(mock.clone())).unwrap();
    amberflo::meter("ApiCalls", 1.0, "customer-1").unwrap();
    amberflo::flush(Duration::from_secs(10)).unwrap();
    assert_eq!(mock.request_count(), 1);

    amberflo::meter("ApiCalls", 2.0, "customer-1").unwrap();
    drop(guard); // delivers what is queued
    assert_eq!(mock.request_count(), 2);
    assert!(amberflo::client().is_none());
    assert!(matches!(
        amberflo::meter("ApiCalls", 3.0, "c").unwrap_err(),
        Error::NotInitialized(_)
    ));
}

#[test]
fn a_second_init_replaces_the_first_and_the_old_guard_leaves_it_installed() {
    let _turn = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let first = MockTransport::new();
    let second = MockTransport::new();
    let old_guard =
        amberflo::init(Client::builder().api_key("k").transport(first.clone())).unwrap();
    let new_guard =
        amberflo::init(Client::builder().api_key("k").transport(second.clone())).unwrap();
    drop(old_guard);
    assert!(
        amberflo::client()
            .is_some_and(|client| format!("{client:?}") == format!("{:?}", new_guard.client()))
    );
    amberflo::meter("ApiCalls", 1.0, "customer-1").unwrap();
    amberflo::shutdown(Duration::from_secs(10)).unwrap();
    assert_eq!((first.request_count(), second.request_count()), (0, 1));
    drop(new_guard);
    assert!(amberflo::client().is_none());
}
