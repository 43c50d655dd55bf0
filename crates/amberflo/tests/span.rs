//! API calls run on the SDK's own runtime, yet their logs stay inside the caller's
//! `tracing` span.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use amberflo::Client;
use amberflo::mock::{MockReply, MockTransport};
use tracing::Instrument as _;
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt as _};
use tracing_subscriber::registry::LookupSpan;

/// The span names in which each "amberflo call answered" event was logged.
#[derive(Clone, Default)]
struct CallSpans(Arc<Mutex<Vec<Option<String>>>>);

struct Message(Option<String>);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = Some(format!("{value:?}"));
        }
    }
}

impl<S> Layer<S> for CallSpans
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_event(&self, event: &tracing::Event<'_>, ctx: Context<'_, S>) {
        let mut message = Message(None);
        event.record(&mut message);
        if message.0.as_deref() == Some("amberflo call answered") {
            let span = ctx.event_span(event).map(|span| span.name().to_owned());
            self.0.lock().unwrap().push(span);
        }
    }
}

#[test]
fn api_calls_log_inside_the_callers_span() {
    let spans = CallSpans::default();
    // Global: the call runs on the SDK's I/O threads, not on this one.
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(spans.clone()))
        .unwrap();

    let mock = MockTransport::new();
    mock.push_reply(MockReply::json(200, &serde_json::json!([])));
    let client = Client::builder()
        .api_key("k")
        .transport(mock)
        .build()
        .unwrap();
    let call = client
        .customers()
        .list()
        .instrument(tracing::info_span!("checkout"));
    amberflo_batcher::block_on(call).unwrap();

    assert_eq!(*spans.0.lock().unwrap(), [Some("checkout".to_owned())]);
}
