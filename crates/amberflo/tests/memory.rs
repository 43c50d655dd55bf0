//! Memory under big answers: what an API call allocates while it reads an answer of `SIZE`
//! bytes, measured with a counting allocator (dhat): a huge unknown field and a huge known
//! string, read straight into the typed answer (no intermediate `serde_json::Value`), from the
//! mock transport and over real loopback HTTP with each built-in transport.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use amberflo::Client;
use amberflo::mock::{MockReply, MockTransport};

// Counts every allocation (dhat's testing mode): what a call allocates, and the peak.
#[global_allocator]
static ALLOCATOR: dhat::Alloc = dhat::Alloc;

/// The answers' size.
const SIZE: usize = 16 << 20;

/// The most an API call may allocate while it decodes an object answer of `SIZE` bytes
/// (whose bytes it already holds): its decoded value once, plus a constant. Through an
/// intermediate `serde_json::Value` it took twice the size.
const BOUND: usize = SIZE + (4 << 20);

/// The most `call` had allocated at once (blocks allocated before it do not count).
fn peak_growth(call: impl FnOnce()) -> usize {
    let profiler = dhat::Profiler::builder().testing().build();
    call();
    let peak = dhat::HeapStats::get().max_bytes;
    drop(profiler);
    peak
}

fn client_answering(body: String) -> Client {
    let mock = MockTransport::new();
    mock.set_default_reply(MockReply::text(200, body));
    Client::builder()
        .api_key("k")
        .transport(mock)
        .build()
        .unwrap()
}

/// Each lookup: its name, the fields that make its answer whole (JSON, without braces), a
/// known text field it keeps, and the call (which must find the answer).
type Lookup = (
    &'static str,
    &'static str,
    &'static str,
    fn(&Client) -> bool,
);

const LOOKUPS: &[Lookup] = &[
    (
        "customers().get",
        r#""customerId": "c1""#,
        "customerName",
        |client| {
            amberflo_batcher::block_on(client.customers().get("c1"))
                .unwrap()
                .is_some()
        },
    ),
    ("signals().get", r#""id": "s1""#, "name", |client| {
        amberflo_batcher::block_on(client.signals().get("s1"))
            .unwrap()
            .is_some()
    }),
    (
        "promotions().get",
        r#""id": "p1""#,
        "promotionName",
        |client| {
            amberflo_batcher::block_on(client.promotions().get("p1"))
                .unwrap()
                .is_some()
        },
    ),
    (
        "product_plans().get",
        r#""customerId": "c1", "productPlanId": "plan""#,
        "productId",
        |client| {
            amberflo_batcher::block_on(client.product_plans().get("c1"))
                .unwrap()
                .is_some()
        },
    ),
    (
        "meters().get",
        r#""id": "m1", "meterApiName": "ApiCalls""#,
        "label",
        |client| {
            amberflo_batcher::block_on(client.meters().get("ApiCalls"))
                .unwrap()
                .is_some()
        },
    ),
];

#[test]
fn big_objects_cost_a_bounded_multiple_of_their_size() {
    let filler = "x".repeat(SIZE);
    const { assert!(SIZE >= amberflo::types::MAX_EXTRA_BYTES) };
    let dropped_before = amberflo::types::dropped_unknown_fields();
    let mut grown = Vec::new();
    for &(lookup, whole, known, call) in LOOKUPS {
        for (shape, field) in [("unknown field", "blob"), ("known string", known)] {
            let client = client_answering(format!(r#"{{{whole}, "{field}": "{filler}"}}"#));
            let growth = peak_growth(|| assert!(call(&client), "{lookup} found its answer"));
            grown.push((lookup, shape, growth));
        }
    }
    drop(filler);
    // Over `MAX_EXTRA_BYTES`: each huge unknown field dropped and counted, not kept.
    assert_eq!(
        amberflo::types::dropped_unknown_fields() - dropped_before,
        LOOKUPS.len() as u64
    );
    for (lookup, shape, growth) in grown {
        println!(
            "{lookup}, {shape}: {} MiB for a {} MiB answer",
            growth >> 20,
            SIZE >> 20
        );
        assert!(
            growth <= BOUND,
            "{lookup}, {shape}: {growth} bytes, over {BOUND}"
        );
    }
    #[cfg(any(feature = "reqwest", feature = "hyper"))]
    big_objects_over_each_transport_cost_at_most_three_times_their_size();
}

/// A loopback server that answers every request with `body`; its URL.
#[cfg(any(feature = "reqwest", feature = "hyper"))]
fn serve(body: Vec<u8>) -> String {
    use std::io::{Read, Write};
    use std::net::TcpListener;

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let head = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut request = [0_u8; 4096];
            let _ = stream.read(&mut request);
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        }
    });
    url
}

/// Over real loopback HTTP, with each built-in transport of the build: the transport's
/// buffer of the answer now counts too, so the bound is three times its size. (Part of the
/// one test below: dhat profiles one thing at a time.)
#[cfg(any(feature = "reqwest", feature = "hyper"))]
fn big_objects_over_each_transport_cost_at_most_three_times_their_size() {
    let filler = "x".repeat(SIZE);
    let known = format!(r#"{{"customerId": "c1", "customerName": "{filler}"}}"#).into_bytes();
    drop(filler);
    let url = serve(known);
    let mut builders: Vec<(&str, amberflo::ClientBuilder)> = Vec::new();
    #[cfg(feature = "reqwest")]
    builders.push(("reqwest", Client::builder().use_reqwest()));
    #[cfg(feature = "hyper")]
    builders.push(("hyper", Client::builder().use_hyper()));
    for (transport, builder) in builders {
        let client = builder.api_key("k").endpoint(&url).build().unwrap();
        let growth = peak_growth(|| {
            let customer = amberflo_batcher::block_on(client.customers().get("c1")).unwrap();
            assert_eq!(customer.unwrap().customer_name.len(), SIZE);
        });
        assert!(
            growth <= 3 * SIZE + (4 << 20),
            "{transport}: {growth} bytes"
        );
    }
}
