//! A client's drop warns about a shutdown it had to do itself and that did not finish, and
//! says nothing after an explicit `shutdown` that already returned its outcome.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use amberflo::mock::{MockReply, MockTransport};
use amberflo::{Client, RetryPolicy};
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt as _};

/// Every WARN message logged, anywhere.
#[derive(Clone, Default)]
struct Warnings(Arc<Mutex<Vec<String>>>);

struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }
}

impl<S: tracing::Subscriber> Layer<S> for Warnings {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if *event.metadata().level() == tracing::Level::WARN {
            let mut message = Message(String::new());
            event.record(&mut message);
            self.0.lock().unwrap().push(message.0);
        }
    }
}

/// A client whose every ingest attempt fails (503) and is retried after an hour: its
/// shutdown cannot deliver the record it holds.
fn failing_client() -> Client {
    let mock = MockTransport::new();
    mock.set_default_reply(MockReply::status(503));
    let client = Client::builder()
        .api_key("k")
        .transport(mock)
        .retry_policy(RetryPolicy::new([Duration::from_secs(3600)]))
        .shutdown_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    client.meter("ApiCalls", 1.0, "customer-1").unwrap();
    client.flush(Duration::from_millis(200)).unwrap_err();
    client
}

#[test]
fn drop_is_silent_after_shutdown_and_warns_when_it_shuts_down_itself() {
    let warnings = Warnings::default();
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(warnings.clone()))
        .unwrap();
    let on_drop = |all: &[String]| {
        all.iter()
            .filter(|message| message.contains("shutdown on drop did not finish"))
            .count()
    };

    let client = failing_client();
    let error = client.shutdown(Duration::from_millis(300)).unwrap_err();
    assert!(
        error.to_string().contains("of its 300.0ms deadline"),
        "{error}"
    );
    drop(client);
    assert_eq!(on_drop(&warnings.0.lock().unwrap()), 0);

    // The control: a drop that has to shut down, and fails to, says so once.
    drop(failing_client());
    assert_eq!(on_drop(&warnings.0.lock().unwrap()), 1);
}
