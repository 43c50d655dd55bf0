//! The emulator against what the real API answers: the upstream requests in
//! `amberflo-types/tests/fixtures/upstream/` (each built from an upstream source it cites) are
//! sent to a real emulator over loopback HTTP, in an order that builds the state they need, and
//! each answer must have the JSON shape the upstream fixtures of that endpoint record:
//! - every key the emulator sends is a key some upstream source has there;
//! - every key all the sources have there (and none marks optional) is sent;
//! - each value has the sources' JSON type (object, list, text, number, bool; a `null` in a
//!   source allows any), recursively, list vs object included.
//!
//! The same fixtures are decoded with the SDK's types by `amberflo-types/tests/upstream.rs`,
//! so SDK, emulator and upstream can no longer drift apart unseen.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use amberflo_emulator::Emulator;
use reqwest::Method;
use serde_json::Value;

/// One upstream fixture.
#[derive(Debug, Clone)]
struct Fixture {
    name: String,
    method: String,
    path: String,
    query: Vec<(String, String)>,
    body: Value,
    status: u16,
    response: Value,
    optional: BTreeSet<String>,
}

impl Fixture {
    /// Which answer shape it records: the resource several endpoints answer with (a customer
    /// from a lookup, create, update or stage change; a signal from create, update, get or
    /// delete; a product plan from assign or lookup; a usage report, alone or in a list as
    /// `[a usage report]`), or else the endpoint, with what selects another shape on the same
    /// path; a "nothing" answer (`{}`, `[]`) apart.
    fn endpoint(&self) -> String {
        let path = self.path.trim_end_matches('/');
        let method = self.method.as_str();
        let has = |key: &str| self.query.iter().any(|(name, _)| name == key);
        let customer_path = path.starts_with("/customers/") && path != "/customers/stage";
        let shape = match (method, path) {
            ("GET", "/customers") if has("customerId") => "a customer".to_owned(),
            ("POST" | "PUT", "/customers" | "/customers/stage") => "a customer".to_owned(),
            ("GET", _) if customer_path => "a customer".to_owned(),
            (_, _) if customer_path => format!("{method} /customers/{{id}}"),
            ("POST" | "PUT", "/notification") => "a signal".to_owned(),
            (_, _) if path.starts_with("/notification/") => "a signal".to_owned(),
            (_, _) if path.starts_with("/meters/") => format!("{method} /meters/{{id}}"),
            ("GET", "/meters") if has("meterApiName") => "GET /meters?meterApiName".to_owned(),
            ("POST" | "GET", "/payments/pricing/amberflo/customer-pricing") => {
                "a product plan".to_owned()
            }
            ("POST", "/usage") => "a usage report".to_owned(),
            ("POST", "/usage/batch") | ("GET", "/usage/all") => "[a usage report]".to_owned(),
            ("GET", _) if has("latest") => format!("GET {path}?latest"),
            _ => format!("{method} {path}"),
        };
        let empty = match &self.response {
            Value::Object(fields) => fields.is_empty(),
            Value::Array(items) => items.is_empty(),
            _ => false,
        };
        format!("{shape} empty={empty}")
    }
}

fn fixtures() -> BTreeMap<String, Fixture> {
    let dir: PathBuf =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../amberflo-types/tests/fixtures/upstream");
    std::fs::read_dir(&dir)
        .expect("the upstream fixtures")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let json: Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let request = &json["request"];
            let query = request["query"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(key, value)| (key.clone(), value.as_str().unwrap_or_default().to_owned()))
                .collect();
            let optional = json["optional"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|path| path.as_str().map(str::to_owned))
                .collect();
            let fixture = Fixture {
                name: name.clone(),
                method: request["method"].as_str().unwrap().to_owned(),
                path: request["path"].as_str().unwrap().to_owned(),
                query,
                body: request["body"].clone(),
                status: u16::try_from(json["status"].as_u64().unwrap()).unwrap(),
                response: json["response"].clone(),
                optional,
            };
            (name, fixture)
        })
        .collect()
}

/// One upstream answer's value at some path: the value, the answer's optional paths, and the
/// fixture it comes from.
type Upstream<'a> = (&'a Value, &'a BTreeSet<String>, &'a str);

/// Checks `ours` at `at` against every upstream answer's value there (`values`), pushing what
/// does not match.
fn check(ours: &Value, values: &[Upstream<'_>], at: &str, problems: &mut Vec<String>) {
    let typed: Vec<_> = values
        .iter()
        .filter(|(value, _, _)| !value.is_null())
        .collect();
    if typed.is_empty() {
        return;
    }
    if ours.is_null() {
        problems.push(format!("{at}: null, upstream {}", kind(typed[0].0)));
        return;
    }
    if let Some((value, _, source)) = typed.iter().find(|(value, _, _)| kind(value) != kind(ours)) {
        problems.push(format!(
            "{at}: {} ({ours}), but {} in {source}",
            kind(ours),
            kind(value)
        ));
        return;
    }
    match ours {
        Value::Object(fields) if is_map(at) => {
            let upstream: Vec<_> = typed
                .iter()
                .flat_map(|(v, optional, source)| {
                    v.as_object()
                        .into_iter()
                        .flat_map(|o| o.values())
                        .map(move |item| (item, *optional, *source))
                })
                .collect();
            for value in fields.values() {
                check(value, &upstream, &format!("{at}.*"), problems);
            }
        }
        Value::Object(fields) => {
            let child = |key: &str| {
                if at.is_empty() {
                    key.to_owned()
                } else {
                    format!("{at}.{key}")
                }
            };
            let known: BTreeSet<&String> = typed
                .iter()
                .filter_map(|(v, _, _)| v.as_object())
                .flat_map(|o| o.keys())
                .collect();
            for key in fields.keys().filter(|key| !known.contains(key)) {
                problems.push(format!(
                    "{}: sent, but no upstream source has it",
                    child(key)
                ));
            }
            let required: BTreeSet<&String> = known
                .iter()
                .copied()
                .filter(|key| {
                    typed.iter().all(|(value, optional, _)| {
                        value.get(key.as_str()).is_some() && !optional.contains(&child(key))
                    })
                })
                .collect();
            for key in required
                .iter()
                .filter(|key| !fields.contains_key(key.as_str()))
            {
                problems.push(format!(
                    "{}: missing, every upstream source has it",
                    child(key)
                ));
            }
            for (key, value) in fields {
                let upstream: Vec<_> = typed
                    .iter()
                    .filter_map(|(v, optional, source)| v.get(key).map(|v| (v, *optional, *source)))
                    .collect();
                check(value, &upstream, &child(key), problems);
            }
        }
        Value::Array(items) => {
            let upstream: Vec<_> = typed
                .iter()
                .flat_map(|(v, optional, source)| {
                    v.as_array()
                        .into_iter()
                        .flatten()
                        .map(move |item| (item, *optional, *source))
                })
                .collect();
            for item in items {
                check(item, &upstream, &format!("{at}[]"), problems);
            }
        }
        _ => {}
    }
}

/// Objects whose keys are data (traits, dimensions, group values), not field names.
fn is_map(at: &str) -> bool {
    const MAPS: &[&str] = &["traits", "groupInfo", "groupInfos", "filter", "filters"];
    MAPS.iter()
        .any(|name| at == *name || at.ends_with(&format!(".{name}")))
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "text",
        Value::Array(_) => "list",
        Value::Object(_) => "object",
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).expect("in-memory write");
    encoder.finish().expect("in-memory gzip")
}

/// Replaces every upstream id the emulator answered differently (its own ids, invoice URIs)
/// in `value`.
fn substitute(value: &Value, ids: &BTreeMap<String, String>) -> Value {
    match value {
        Value::String(text) => {
            Value::String(ids.get(text).cloned().unwrap_or_else(|| text.clone()))
        }
        Value::Array(items) => {
            Value::Array(items.iter().map(|item| substitute(item, ids)).collect())
        }
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, v)| (k.clone(), substitute(v, ids)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Learns the emulator's value of each id-like field whose upstream value differs.
fn learn_ids(upstream: &Value, ours: &Value, ids: &mut BTreeMap<String, String>) {
    for key in ["id", "firstInvoiceUri", "relationId"] {
        if let (Some(Value::String(theirs)), Some(Value::String(mine))) =
            (upstream.get(key), ours.get(key))
            && theirs != mine
            && !theirs.is_empty()
        {
            ids.insert(theirs.clone(), mine.clone());
        }
    }
}

/// The upstream answers of the shape `endpoint` (a key of [`Fixture::endpoint`]): its own
/// 2xx fixtures, and those of the same resource alone (`X`) or in a list (`[X]`), wrapped in
/// a list or taken out of one to match.
fn upstream_answers(
    fixtures: &BTreeMap<String, Fixture>,
    endpoint: &str,
) -> Vec<(Value, BTreeSet<String>, String)> {
    let (shape, empty) = endpoint.rsplit_once(' ').unwrap_or((endpoint, ""));
    let listed = format!("[{shape}] {empty}");
    let alone = shape
        .strip_prefix('[')
        .and_then(|inner| inner.strip_suffix(']'))
        .map(|inner| format!("{inner} {empty}"));
    let mut answers = Vec::new();
    for f in fixtures.values().filter(|f| (200..300).contains(&f.status)) {
        let key = f.endpoint();
        if key == endpoint {
            answers.push((f.response.clone(), f.optional.clone(), f.name.clone()));
        } else if key == listed {
            // Elements of a list of this resource: `[].a` is `a` here.
            for item in f.response.as_array().into_iter().flatten() {
                let optional = f
                    .optional
                    .iter()
                    .filter_map(|p| p.strip_prefix("[]."))
                    .map(str::to_owned)
                    .collect();
                answers.push((item.clone(), optional, f.name.clone()));
            }
        } else if alone.as_deref() == Some(key.as_str()) && !f.response.is_null() {
            // One of the resource, as an element of the list this endpoint answers.
            let optional = f.optional.iter().map(|p| format!("[].{p}")).collect();
            answers.push((
                Value::Array(vec![f.response.clone()]),
                optional,
                f.name.clone(),
            ));
        }
    }
    answers
}

/// Where the emulator still answers differently from upstream, one `fixture: problem` line
/// each: the test fails on any other difference, and on a line here that no longer applies.
const KNOWN_DRIFT: &str = "tests/upstream_shapes.known-drift.txt";

fn known_drift() -> BTreeSet<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(KNOWN_DRIFT);
    std::fs::read_to_string(path)
        .expect("the known drift list")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

fn join(lines: &[&String]) -> String {
    lines
        .iter()
        .map(|line| format!("  {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The fixtures sent, in order: each request finds the state the ones before it made.
const SCENARIO: &[&str] = &[
    "customers_create.go.json",
    "customers_get.go.json",
    "customers_get_not_found.go.json",
    "customers_list.ts.json",
    "customers_update.go.json",
    "customers_stage.go.json",
    "portal_session_create.ts.json",
    "ingest.go.json",
    "ingest_cancel.go.json",
    "ingest_custom.py.json",
    "usage.go.json",
    "usage_query.ts.json",
    "usage_query.py.json",
    "usage_batch.ts.json",
    "usage_all.ts.json",
    "usage_all.py.json",
    "usage_cost.go.json",
    "customer_pricing_create.go.json",
    "product_plans_get.ts.json",
    "product_plans_list.ts.json",
    "prepaid_create.go.json",
    "prepaid_list.go.json",
    "prepaid_orders_list.ts.json",
    "prepaid_payment_status.go.json",
    "prepaid_delete.go.json",
    "prepaid_orders_create.ts.json",
    "invoices_all.go.json",
    "invoices_all.ts.json",
    "invoices_latest.go.json",
    "invoices_latest.ts.json",
    "promotions_list.go.json",
    "promotions_get.go.json",
    "promotions_apply.go.json",
    "promotions_list_applied.go.json",
    "promotions_remove.go.json",
    "signals_create.go.json",
    "signals_get.go.json",
    "signals_update.go.json",
    "signals_list.go.json",
    "signals_delete.go.json",
    "meters_create.provider.json",
    "meters_get_by_name.provider.json",
    "meters_get_by_name_not_found.provider.json",
    "meters_list.provider.json",
    "meters_update.provider.json",
    "meters_deprecate.provider.json",
    "meters_delete.provider.json",
    "customers_delete.design.json",
];

#[tokio::test]
async fn the_emulator_answers_upstream_requests_in_upstream_shapes() {
    let fixtures = fixtures();
    let emulator = Emulator::builder()
        .worker_threads(1)
        .start()
        .expect("emulator starts");
    // The account's promotions exist before anyone applies one (set up in the Amberflo app).
    for promotion in fixtures["promotions_list.go.json"]
        .response
        .as_array()
        .unwrap()
    {
        emulator
            .store()
            .add_promotion(serde_json::from_value(promotion.clone()).unwrap());
    }
    let http = reqwest::Client::new();
    let mut ids: BTreeMap<String, String> = BTreeMap::new();
    let mut problems = Vec::new();
    let mut shapes_checked = 0;
    for name in SCENARIO {
        let fixture = &fixtures[*name];
        let path = ids
            .iter()
            .fold(fixture.path.clone(), |path, (theirs, mine)| {
                path.replace(theirs.as_str(), mine)
            });
        let query: Vec<(&str, &str)> = fixture
            .query
            .iter()
            .map(|(key, value)| (key.as_str(), ids.get(value).unwrap_or(value).as_str()))
            .collect();
        let query = serde_urlencoded::to_string(&query).expect("encodable query");
        let url = format!("{}{path}?{query}", emulator.url());
        let method = Method::from_bytes(fixture.method.as_bytes()).expect("a method");
        let mut request = http
            .request(method, url)
            .header("X-API-KEY", "upstream-shapes");
        if !fixture.body.is_null() {
            let body = serde_json::to_vec(&substitute(&fixture.body, &ids)).unwrap();
            request = request.header("Content-Type", "application/json");
            request = if fixture.path.starts_with("/ingest") {
                request.header("Content-Encoding", "gzip").body(gzip(&body))
            } else {
                request.body(body)
            };
        }
        let response = request.send().await.expect("the emulator answers");
        let status = response.status();
        let text = response.text().await.unwrap();
        if status.as_u16() != fixture.status {
            problems.push(format!(
                "{name}: status {status} ({text}), upstream {}",
                fixture.status
            ));
            continue;
        }
        if !status.is_success() {
            continue;
        }
        let ours: Value = serde_json::from_str(&text).unwrap_or(Value::String(text.clone()));
        learn_ids(&fixture.response, &ours, &mut ids);
        let endpoint = fixture.endpoint();
        let owned = upstream_answers(&fixtures, &endpoint);
        let answers: Vec<_> = owned
            .iter()
            .map(|(response, optional, name)| (response, optional, name.as_str()))
            .collect();
        if answers.iter().all(|(response, _, _)| response.is_null()) {
            continue;
        }
        shapes_checked += 1;
        let mut found = Vec::new();
        check(&ours, &answers, "", &mut found);
        problems.extend(
            found
                .into_iter()
                .map(|problem| format!("{name}: {problem}")),
        );
    }
    let problems: BTreeSet<String> = problems.into_iter().collect();
    let known = known_drift();
    let new: Vec<&String> = problems.difference(&known).collect();
    let gone: Vec<&String> = known.difference(&problems).collect();
    assert!(
        new.is_empty() && gone.is_empty(),
        "the emulator drifted from upstream:\n{}\nfixed, so remove from {KNOWN_DRIFT}:\n{}",
        join(&new),
        join(&gone)
    );
    assert!(
        shapes_checked >= 35,
        "only {shapes_checked} answers compared"
    );
}
