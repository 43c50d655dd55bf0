//! Memory under big answers: what an API call allocates while it reads an answer of `SIZE`
//! bytes, measured with a counting allocator (dhat): a huge unknown field and a huge known
//! string, read straight into the typed answer (no intermediate `serde_json::Value`), and a
//! huge list of every list endpoint, from the mock transport and over real loopback HTTP with
//! each built-in transport.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use amberflo::mock::{MockReply, MockTransport};
use amberflo::types::{
    AggregationType, AllInvoicesQuery, AllUsageQuery, CustomerProductQuery, TimeGroupingInterval,
    TimeRange, UsageQuery,
};
use amberflo::{Client, Error};

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

/// A client whose every call is answered with `body`, with its response cap at `SIZE`.
fn client_answering(body: String) -> Client {
    let mock = MockTransport::new();
    mock.set_default_reply(MockReply::text(200, body));
    Client::builder()
        .api_key("k")
        .max_response_bytes(SIZE)
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
        |client| block_on(client.customers().get("c1")).unwrap().is_some(),
    ),
    ("signals().get", r#""id": "s1""#, "name", |client| {
        block_on(client.signals().get("s1")).unwrap().is_some()
    }),
    (
        "promotions().get",
        r#""id": "p1""#,
        "promotionName",
        |client| block_on(client.promotions().get("p1")).unwrap().is_some(),
    ),
    (
        "product_plans().get",
        r#""customerId": "c1", "productPlanId": "plan""#,
        "productId",
        |client| {
            block_on(client.product_plans().get("c1"))
                .unwrap()
                .is_some()
        },
    ),
    (
        "meters().get",
        r#""id": "m1", "meterApiName": "ApiCalls""#,
        "label",
        |client| block_on(client.meters().get("ApiCalls")).unwrap().is_some(),
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
    let mut report = Vec::new();
    big_lists_cost_at_most_twice_the_cap(&mut report);
    #[cfg(any(feature = "reqwest", feature = "hyper"))]
    big_answers_over_each_transport_cost_at_most_three_times_the_cap(&mut report);
    for line in report {
        println!("{line}");
    }
}

/// Each list endpoint: its name, the smallest element it decodes, the upstream fixture of
/// its answer (whose first element is one as the API sends it), and the call (the number of
/// elements it got).
type Listing = (
    &'static str,
    &'static str,
    &'static str,
    fn(&Client) -> Result<usize, Error>,
);

/// An upstream fixture (`amberflo-types/tests/fixtures/upstream`, each citing its source).
macro_rules! upstream {
    ($file:literal) => {
        include_str!(concat!(
            "../../amberflo-types/tests/fixtures/upstream/",
            $file
        ))
    };
}

/// The first element of an upstream fixture's answer, as compact JSON.
fn first_element(fixture: &str) -> String {
    let fixture: serde_json::Value = serde_json::from_str(fixture).unwrap();
    serde_json::to_string(&fixture["response"][0]).unwrap()
}

fn range() -> TimeRange {
    TimeRange::since(std::time::SystemTime::now() - std::time::Duration::from_secs(86_400)).unwrap()
}

const LISTINGS: &[Listing] = &[
    (
        "customers().list",
        r#"{"customerId":""}"#,
        upstream!("customers_list.ts.json"),
        |client| Ok(block_on(client.customers().list())?.len()),
    ),
    (
        "meters().list",
        r#"{"id":""}"#,
        upstream!("meters_list.provider.json"),
        |client| Ok(block_on(client.meters().list())?.len()),
    ),
    (
        "signals().list",
        r#"{"id":""}"#,
        upstream!("signals_list.go.json"),
        |client| Ok(block_on(client.signals().list())?.len()),
    ),
    (
        "promotions().list",
        r#"{"id":""}"#,
        upstream!("promotions_list.go.json"),
        |client| Ok(block_on(client.promotions().list())?.len()),
    ),
    (
        "product_plans().list",
        r#"{"customerId":"","productPlanId":""}"#,
        upstream!("product_plans_list.ts.json"),
        |client| Ok(block_on(client.product_plans().list("c1"))?.len()),
    ),
    (
        "prepaid_orders().list",
        r#"{"id":""}"#,
        upstream!("prepaid_list.go.json"),
        |client| {
            let query = CustomerProductQuery::builder("c1").build().unwrap();
            Ok(block_on(client.prepaid_orders().list(&query))?.len())
        },
    ),
    (
        "invoices().list",
        r#"{}"#,
        upstream!("invoices_all.go.json"),
        |client| {
            let query = AllInvoicesQuery::builder("c1").build().unwrap();
            Ok(block_on(client.invoices().list(&query))?.len())
        },
    ),
    (
        "usage().list",
        r#"{"clientMeters":[]}"#,
        upstream!("usage_all.ts.json"),
        |client| {
            let query = AllUsageQuery::builder(TimeGroupingInterval::Day, range())
                .build()
                .unwrap();
            Ok(block_on(client.usage().list(&query))?.len())
        },
    ),
    (
        "usage().batch",
        r#"{"clientMeters":[]}"#,
        upstream!("usage_batch.ts.json"),
        |client| {
            let query = UsageQuery::builder(
                "ApiCalls",
                AggregationType::Sum,
                TimeGroupingInterval::Day,
                range(),
            )
            .build()
            .unwrap();
            Ok(block_on(client.usage().batch(&[query]))?.len())
        },
    ),
];

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    amberflo_batcher::block_on(future)
}

/// A JSON list of `element`s, `size` bytes or just under; and how many it holds.
fn list_of(element: &str, size: usize) -> (String, usize) {
    let count = (size - 2) / (element.len() + 1);
    let mut json = String::with_capacity(size);
    json.push('[');
    for i in 0..count {
        if i > 0 {
            json.push(',');
        }
        json.push_str(element);
    }
    json.push(']');
    (json, count)
}

/// A list at the cap of each endpoint's smallest element (which decodes to tens of times its
/// JSON) and of an element as the API sends it (a few times): the decode budget (twice the
/// cap) refuses them before they are built, so the call takes at most twice the cap. A list
/// of typical elements a sixteenth of the cap decodes whole.
fn big_lists_cost_at_most_twice_the_cap(report: &mut Vec<String>) {
    for &(listing, smallest, fixture, call) in LISTINGS {
        let typical = &first_element(fixture);
        for (shape, element, size) in [
            ("smallest elements", smallest, SIZE),
            ("typical elements", typical, SIZE),
            (
                "typical elements, a sixteenth of the cap",
                typical,
                SIZE / 16,
            ),
        ] {
            let (json, count) = list_of(element, size);
            let client = client_answering(json);
            let mut answer = None;
            let growth = peak_growth(|| answer = Some(call(&client)));
            let answer = answer.unwrap();
            report.push(format!(
                "{listing}, {count} {shape}: {} MiB for a {} MiB answer, {}",
                growth >> 20,
                SIZE >> 20,
                if answer.is_ok() { "decoded" } else { "refused" }
            ));
            match answer {
                Ok(n) => assert_eq!(n, count, "{listing}, {shape}"),
                Err(Error::Decode { message, .. }) => {
                    assert!(message.contains("decode budget"), "{message}");
                    assert_eq!(size, SIZE, "{listing}, {shape}: {message}");
                }
                Err(e) => panic!("{listing}, {shape}: {e}"),
            }
            assert!(
                growth <= 2 * SIZE + (4 << 20),
                "{listing}, {shape}: {growth} bytes"
            );
        }
    }
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
/// buffer of the answer now counts too, so the bound is three times the cap. (Part of the
/// one test above: dhat profiles one thing at a time.)
#[cfg(any(feature = "reqwest", feature = "hyper"))]
fn big_answers_over_each_transport_cost_at_most_three_times_the_cap(report: &mut Vec<String>) {
    let filler = "x".repeat(SIZE - 64);
    let known = format!(r#"{{"customerId": "c1", "customerName": "{filler}"}}"#);
    drop(filler);
    let (tiny, _) = list_of(LISTINGS[0].1, SIZE);
    let (typical, count) = list_of(&first_element(LISTINGS[0].2), SIZE / 16);
    type Builder = fn() -> amberflo::ClientBuilder;
    let mut builders: Vec<(&str, Builder)> = Vec::new();
    #[cfg(feature = "reqwest")]
    builders.push(("reqwest", || Client::builder().use_reqwest()));
    #[cfg(feature = "hyper")]
    builders.push(("hyper", || Client::builder().use_hyper()));
    for (transport, builder) in builders {
        for (shape, body) in [
            ("known string", &known),
            ("list of smallest customers", &tiny),
            (
                "list of typical customers, a sixteenth of the cap",
                &typical,
            ),
        ] {
            let url = serve(body.clone().into_bytes());
            let client = builder()
                .api_key("k")
                .max_response_bytes(SIZE)
                .endpoint(&url)
                .build()
                .unwrap();
            let growth = peak_growth(|| match shape {
                "known string" => {
                    let customer = block_on(client.customers().get("c1")).unwrap();
                    assert_eq!(customer.unwrap().customer_name.len(), SIZE - 64);
                }
                "list of smallest customers" => {
                    let err = block_on(client.customers().list()).unwrap_err();
                    assert!(matches!(err, Error::Decode { .. }), "{err}");
                }
                _ => assert_eq!(block_on(client.customers().list()).unwrap().len(), count),
            });
            report.push(format!("{transport}, {shape}: {} MiB", growth >> 20));
            assert!(
                growth <= 3 * SIZE + (4 << 20),
                "{transport}, {shape}: {growth} bytes"
            );
        }
    }
}
