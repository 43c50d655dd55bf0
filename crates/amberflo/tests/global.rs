//! The process-wide client: `init`, `meter`, `flush` and the guard that shuts it down.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use amberflo::mock::MockTransport;
use amberflo::{Client, MeterError};

#[test]
fn init_meter_flush_and_the_guard_drop() {
    let refused = amberflo::meter("ApiCalls", 1.0, "customer-1").unwrap_err();
    assert!(matches!(refused, MeterError::NotInitialized(_)));
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
        MeterError::NotInitialized(_)
    ));
}
