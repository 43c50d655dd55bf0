//! The SDK's types against what the real API sends: every fixture in `fixtures/upstream/`
//! (built from an upstream source it cites: the Go, Python and TypeScript SDKs, the public
//! Terraform-style provider, docs.amberflo.io) is decoded with the type the SDK decodes that
//! endpoint's answer with, and must come back with every field it carried: the decoded value,
//! encoded again, holds each of the fixture's fields with the same value (known fields in
//! their typed form, the rest in `extra`). Requests the SDK builds from a query type are
//! compared with the upstream requests too.
//!
//! The emulator's answers are held to the same fixtures by the shape test in
//! `amberflo-emulator/tests/upstream_shapes.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use amberflo_types::{
    BillingCustomerQuery, Customer, CustomerPortalSession, CustomerProductPlan,
    CustomerProductQuery, CustomerPromotion, CustomerQuery, DeletePrepaidOrderQuery, Invoice,
    MeterDefinition, MeterDefinitionQuery, PrepaidOrder, PrepaidPaymentStatus, Promotion,
    PromotionQuery, RemovePromotionQuery, Signal, UsageCostReport, UsageReport,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// One upstream fixture: where it comes from, the request, and the answer.
#[derive(Debug)]
struct Fixture {
    name: String,
    method: String,
    path: String,
    query: Map<String, Value>,
    status: u64,
    response: Value,
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/upstream")
}

fn fixtures() -> Vec<Fixture> {
    let mut list: Vec<Fixture> = std::fs::read_dir(fixtures_dir())
        .expect("fixtures/upstream exists")
        .map(|entry| entry.expect("readable entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&path).expect("readable fixture");
            let json: Value = serde_json::from_str(&text)
                .unwrap_or_else(|error| panic!("{name} is not JSON: {error}"));
            let sources = json["source"].as_array().map_or(0, Vec::len);
            assert!(sources > 0, "{name} cites no source");
            let request = &json["request"];
            Fixture {
                method: request["method"].as_str().expect("method").to_owned(),
                path: request["path"].as_str().expect("path").to_owned(),
                query: request["query"].as_object().cloned().unwrap_or_default(),
                status: json["status"].as_u64().expect("status"),
                response: json["response"].clone(),
                name,
            }
        })
        .collect();
    list.sort_by(|a, b| a.name.cmp(&b.name));
    list
}

/// How the SDK reads an endpoint's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// Ingest: the reply text.
    Text,
    /// A delete: any body, not read.
    Ignored,
    /// An endpoint of the API the SDK does not call (the provider's product plan catalog).
    NotCalled,
    Usage,
    UsageList,
    UsageCost,
    Customer,
    CustomerLookup,
    Customers,
    PortalSession,
    ProductPlan,
    ProductPlanLookup,
    ProductPlans,
    PrepaidOrder,
    PrepaidOrders,
    PaymentStatus,
    Invoice,
    Invoices,
    PromotionLookup,
    Promotions,
    AppliedPromotion,
    AppliedPromotions,
    Signal,
    Signals,
    Meter,
    Meters,
}

fn answer_of(fixture: &Fixture) -> Answer {
    let path = fixture.path.trim_end_matches('/');
    let method = fixture.method.as_str();
    let has = |key: &str| fixture.query.contains_key(key);
    match (method, path) {
        (_, "/ingest") => Answer::Text,
        ("DELETE", _) => Answer::Ignored,
        ("POST", "/usage") => Answer::Usage,
        ("POST", "/usage/batch") | ("GET", "/usage/all") => Answer::UsageList,
        ("POST", "/payments/cost/usage-cost") => Answer::UsageCost,
        ("GET", "/customers") if has("customerId") => Answer::CustomerLookup,
        ("GET", "/customers") => Answer::Customers,
        ("POST" | "PUT", "/customers" | "/customers/stage") => Answer::Customer,
        // The provider reads one customer at `/customers/{id}`; the SDK asks `?customerId=`,
        // which answers the same object.
        ("GET", customer) if customer.starts_with("/customers/") => Answer::CustomerLookup,
        ("POST", "/session") => Answer::PortalSession,
        ("POST", "/payments/pricing/amberflo/customer-pricing") => Answer::ProductPlan,
        ("GET", "/payments/pricing/amberflo/customer-pricing") => Answer::ProductPlanLookup,
        ("GET", "/payments/pricing/amberflo/customer-pricing/list") => Answer::ProductPlans,
        (_, catalog)
            if catalog.starts_with("/payments/pricing/amberflo/account-pricing/product-plans") =>
        {
            Answer::NotCalled
        }
        ("POST", "/payments/pricing/amberflo/customer-prepaid") => Answer::PrepaidOrder,
        ("GET", "/payments/pricing/amberflo/customer-prepaid/list") => Answer::PrepaidOrders,
        ("POST", "/payments/external/prepaid-payment-status") => Answer::PaymentStatus,
        // The provider asks `/all?latest=true` and reads one invoice.
        ("GET", "/payments/billing/customer-product-invoice/all") if has("latest") => {
            Answer::Invoice
        }
        ("GET", "/payments/billing/customer-product-invoice/all") => Answer::Invoices,
        ("GET", "/payments/billing/customer-product-invoice") => Answer::Invoice,
        ("GET", "/payments/pricing/amberflo/account-pricing/promotions/list") => Answer::Promotions,
        ("GET", "/payments/pricing/amberflo/account-pricing/promotions") => Answer::PromotionLookup,
        ("POST", "/payments/pricing/amberflo/customer-promotions") => Answer::AppliedPromotion,
        ("GET", "/payments/pricing/amberflo/customer-promotions/list") => Answer::AppliedPromotions,
        ("GET", "/notification") => Answer::Signals,
        ("POST" | "PUT", "/notification") => Answer::Signal,
        ("GET", signal) if signal.starts_with("/notification/") => Answer::Signal,
        ("GET", "/meters") => Answer::Meters,
        ("POST" | "PUT", "/meters") => Answer::Meter,
        _ => panic!("{}: no SDK type for {method} {path}", fixture.name),
    }
}

/// Decodes `response` as `T` and encodes it again.
fn round_trip<T: DeserializeOwned + Serialize>(response: &Value) -> Result<Value, String> {
    let decoded: T = serde_json::from_value(response.clone()).map_err(|e| e.to_string())?;
    serde_json::to_value(&decoded).map_err(|e| e.to_string())
}

/// `None` for `null` and `{}` (what a lookup answers for an unknown id), else a `T`.
fn lookup<T: DeserializeOwned + Serialize>(response: &Value) -> Result<Value, String> {
    let nothing = response.is_null() || response.as_object().is_some_and(Map::is_empty);
    if nothing {
        // `None`: nothing to compare.
        Ok(response.clone())
    } else {
        round_trip::<T>(response)
    }
}

/// What the SDK makes of the fixture's answer, encoded again; `None` when it reads nothing.
fn decode(fixture: &Fixture) -> Result<Option<Value>, String> {
    let response = &fixture.response;
    let decoded = match answer_of(fixture) {
        Answer::Text => {
            let text = response.as_str().ok_or("an ingest reply is text")?;
            assert!(text.contains("ingested"), "{}: {text}", fixture.name);
            return Ok(None);
        }
        Answer::Ignored | Answer::NotCalled => return Ok(None),
        Answer::Usage => round_trip::<UsageReport>(response),
        Answer::UsageList => round_trip::<Vec<UsageReport>>(response),
        Answer::UsageCost => round_trip::<UsageCostReport>(response),
        Answer::Customer => round_trip::<Customer>(response),
        Answer::CustomerLookup => lookup::<Customer>(response),
        Answer::Customers => round_trip::<Vec<Customer>>(response),
        Answer::PortalSession => round_trip::<CustomerPortalSession>(response),
        Answer::ProductPlan => round_trip::<CustomerProductPlan>(response),
        Answer::ProductPlanLookup => lookup::<CustomerProductPlan>(response),
        Answer::ProductPlans => round_trip::<Vec<CustomerProductPlan>>(response),
        Answer::PrepaidOrder => round_trip::<PrepaidOrder>(response),
        Answer::PrepaidOrders => round_trip::<Vec<PrepaidOrder>>(response),
        Answer::PaymentStatus => round_trip::<PrepaidPaymentStatus>(response),
        Answer::Invoice => round_trip::<Invoice>(response),
        Answer::Invoices => round_trip::<Vec<Invoice>>(response),
        Answer::PromotionLookup => lookup::<Promotion>(response),
        Answer::Promotions => round_trip::<Vec<Promotion>>(response),
        Answer::AppliedPromotion => round_trip::<CustomerPromotion>(response),
        Answer::AppliedPromotions => round_trip::<Vec<CustomerPromotion>>(response),
        Answer::Signal => round_trip::<Signal>(response),
        Answer::Signals => round_trip::<Vec<Signal>>(response),
        Answer::Meter => round_trip::<MeterDefinition>(response),
        Answer::Meters => round_trip::<Vec<MeterDefinition>>(response),
    }?;
    Ok(Some(decoded))
}

/// Whether `ours` holds every field of `upstream` with the same value, else where it does
/// not. A `null` upstream may be absent or defaulted; the enum fields the SDK reads in any
/// case and writes upper case ([`ANY_CASE`]) compare without case; numbers compare as numbers.
fn covers(upstream: &Value, ours: &Value, at: &str) -> Result<(), String> {
    match (upstream, ours) {
        (Value::Null, _) => Ok(()),
        (Value::Object(fields), Value::Object(kept)) => {
            for (key, value) in fields {
                let here = format!("{at}.{key}");
                match kept.get(key) {
                    Some(ours) => covers(value, ours, &here)?,
                    None if is_empty(value) => {}
                    None => return Err(format!("{here} was dropped")),
                }
            }
            Ok(())
        }
        (Value::Array(items), Value::Array(kept)) if items.len() == kept.len() => items
            .iter()
            .zip(kept)
            .enumerate()
            .try_for_each(|(index, (item, ours))| covers(item, ours, &format!("{at}[{index}]"))),
        (Value::Number(a), Value::Number(b)) if a.as_f64() == b.as_f64() => Ok(()),
        // A number sent as text (the Go SDK's signal `thresholdValue`) is read as a number.
        (Value::String(a), Value::Number(b)) if a.parse::<f64>().ok() == b.as_f64() => Ok(()),
        (Value::String(a), Value::String(b))
            if a == b
                || (ANY_CASE.iter().any(|key| at.ends_with(key)) && a.eq_ignore_ascii_case(b)) =>
        {
            Ok(())
        }
        (Value::Bool(a), Value::Bool(b)) if a == b => Ok(()),
        _ => Err(format!("{at}: upstream {upstream}, ours {ours}")),
    }
}

/// Fields holding `AggregationType`, `TimeGroupingInterval` or `BillingPeriodUnit`.
const ANY_CASE: &[&str] = &[
    ".aggregation",
    ".timeGroupingInterval",
    ".interval",
    ".paymentStatus",
];

/// Values a type may leave out when it encodes its defaults.
fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(items) => items.is_empty(),
        Value::Object(fields) => fields.is_empty(),
        _ => false,
    }
}

#[test]
fn every_upstream_answer_decodes_with_every_field_kept() {
    let fixtures = fixtures();
    assert!(fixtures.len() >= 90, "{} fixtures", fixtures.len());
    let mut failures = Vec::new();
    let mut checked = 0;
    for fixture in fixtures.iter().filter(|f| (200..300).contains(&f.status)) {
        if fixture.response.is_null() {
            continue;
        }
        match decode(fixture) {
            Ok(Some(ours)) => {
                checked += 1;
                if let Err(error) = covers(&fixture.response, &ours, "") {
                    failures.push(format!("{}: {error}", fixture.name));
                }
            }
            Ok(None) => {}
            Err(error) => failures.push(format!("{}: decode error: {error}", fixture.name)),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked >= 50, "only {checked} answers decoded");
}

/// The SDK reads every endpoint it calls against at least one upstream answer.
#[test]
fn every_endpoint_the_sdk_reads_has_an_upstream_answer() {
    let fixtures = fixtures();
    let answered = |answer: Answer| {
        fixtures.iter().any(|f| {
            answer_of(f) == answer && (f.response.is_null() == (answer == Answer::Ignored))
        })
    };
    let missing: Vec<Answer> = [
        Answer::Text,
        Answer::Ignored,
        Answer::Usage,
        Answer::UsageList,
        Answer::UsageCost,
        Answer::Customer,
        Answer::CustomerLookup,
        Answer::Customers,
        Answer::PortalSession,
        Answer::ProductPlan,
        Answer::ProductPlanLookup,
        Answer::ProductPlans,
        Answer::PrepaidOrder,
        Answer::PrepaidOrders,
        Answer::PaymentStatus,
        Answer::Invoice,
        Answer::Invoices,
        Answer::PromotionLookup,
        Answer::Promotions,
        Answer::AppliedPromotion,
        Answer::AppliedPromotions,
        Answer::Signal,
        Answer::Signals,
        Answer::Meter,
        Answer::Meters,
    ]
    .into_iter()
    .filter(|answer| !answered(*answer))
    .collect();
    assert!(missing.is_empty(), "no upstream answer for {missing:?}");
}

fn fixture(name: &str) -> Fixture {
    fixtures()
        .into_iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("no fixture {name}"))
}

/// The query string the SDK sends, as a map like the fixtures'.
fn query_of(query: &impl Serialize) -> Map<String, Value> {
    let text = serde_urlencoded::to_string(query).expect("encodable query");
    serde_urlencoded::from_str::<Vec<(String, String)>>(&text)
        .expect("decodable query")
        .into_iter()
        .map(|(key, value)| (key, Value::String(value)))
        .collect()
}

/// The SDK's query types send what the upstream clients send (names and values).
#[test]
fn query_parameters_match_the_upstream_requests() {
    let remove = RemovePromotionQuery::new("customer-1", "promotion-1").unwrap();
    let delete_order = DeletePrepaidOrderQuery::new("customer-1", "order-1").unwrap();
    let cases: Vec<(&str, Map<String, Value>)> = vec![
        ("promotions_remove.go.json", query_of(&remove)),
        ("prepaid_delete.go.json", query_of(&delete_order)),
        (
            "meters_get_by_name.provider.json",
            query_of(&MeterDefinitionQuery::new("ApiCalls").unwrap()),
        ),
        (
            "customers_get.go.json",
            query_of(&CustomerQuery::new("customer-1").unwrap()),
        ),
        (
            "product_plans_get.ts.json",
            query_of(&BillingCustomerQuery::new("customer-1").unwrap()),
        ),
        (
            "prepaid_orders_list.ts.json",
            query_of(&CustomerProductQuery::builder("customer-1").build().unwrap()),
        ),
        (
            "promotions_list_applied.go.json",
            query_of(&CustomerProductQuery::builder("customer-1").build().unwrap()),
        ),
        (
            "promotions_get.go.json",
            query_of(&PromotionQuery::new("promotion-1").unwrap()),
        ),
    ];
    for (name, ours) in cases {
        assert_eq!(ours, fixture(name).query, "{name}");
    }
}
