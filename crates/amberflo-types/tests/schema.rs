//! The generated JSON Schemas against the crate: every golden fixture validates against its
//! schema, every invalid payload Rust rejects is rejected by the schema where JSON Schema can
//! express the rule, the non-blank pattern agrees with `is_blank` on every character, and any
//! record the builder accepts is accepted by the schema (and, for records, the converse).
#![cfg(feature = "schemars")]

use amberflo_types::EpochMillis;
use std::path::PathBuf;

use amberflo_types::schema::{self, NON_BLANK_PATTERN};
use amberflo_types::{
    AllInvoicesQuery, AllUsageQuery, CustomerPayload, CustomerPortalSessionRequest,
    CustomerProductPlanPayload, InvoiceQuery, MeterRecord, PrepaidOrderPayload, UsageQuery,
    ValidationError, is_blank,
};
use jsonschema::Validator;
use proptest::prelude::*;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

fn validator(file_name: &str) -> Validator {
    let file = schema::all()
        .into_iter()
        .find(|file| file.file_name == file_name)
        .unwrap_or_else(|| panic!("no schema {file_name}"));
    jsonschema::validator_for(file.schema.as_value())
        .unwrap_or_else(|error| panic!("{file_name} is not a valid schema: {error}"))
}

fn fixtures_dir() -> PathBuf {
    [env!("CARGO_MANIFEST_DIR"), "tests", "fixtures"]
        .iter()
        .collect()
}

/// The schema each fixture is an instance of.
fn schema_of_fixture(name: &str) -> &'static str {
    match name {
        n if n.starts_with("ingest_record_") => "meter_record.json",
        n if n.starts_with("usage_query_") => "usage_query.json",
        n if n.starts_with("all_usage_query_") => "all_usage_query.json",
        n if n.starts_with("customer_payload_") => "customer_payload.json",
        n if n.starts_with("customer_portal_session_request") => {
            "customer_portal_session_request.json"
        }
        "customer_portal_session_response" => "customer_portal_session.json",
        "customer_product_plan_defaults" | "customer_product_plan_full" => {
            "customer_product_plan_payload.json"
        }
        "customer_product_plan_response" => "customer_product_plan.json",
        n if n.starts_with("prepaid_order_defaults") || n.starts_with("prepaid_order_full") => {
            "prepaid_order_payload.json"
        }
        "prepaid_orders_response" => "prepaid_order_list.json",
        "prepaid_order_list_query" => "customer_product_query.json",
        n if n.starts_with("all_invoices_query_") => "all_invoices_query.json",
        "latest_invoice_query" | "invoice_query" => "invoice_query.json",
        "invoice_response" => "invoice.json",
        "customer_query" => "customer_query.json",
        "create_customer_query_stripe" => "create_customer_query.json",
        "billing_customer_query" => "billing_customer_query.json",
        "customer_response" | "customer_response_absent" => "customer.json",
        "usage_report_response" => "usage_report.json",
        "usage_reports_all_response" => "usage_report_list.json",
        other => panic!("fixture {other} has no schema: add it to schema_of_fixture"),
    }
}

/// The query-parameter fixtures hold the Python SDK's params dicts, where a flag is the text
/// `"true"` (what goes on the wire); our schemas describe the JSON of our types, where it is a
/// boolean (see `tests/fixtures/README.md` and the `schema` module docs).
fn as_our_json(name: &str, mut value: Value) -> Value {
    if name.ends_with("_query") || name.contains("_query_") {
        for (_, field) in value.as_object_mut().into_iter().flatten() {
            if let Some(flag) = field.as_str().and_then(|text| text.parse::<bool>().ok()) {
                *field = Value::Bool(flag);
            }
        }
    }
    value
}

#[test]
fn every_golden_fixture_validates_against_its_schema() {
    let mut checked = 0;
    for entry in std::fs::read_dir(fixtures_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|ext| ext != "json") {
            continue;
        }
        let name = path.file_stem().unwrap().to_str().unwrap().to_owned();
        let value: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let value = as_our_json(&name, value);
        let schema = schema_of_fixture(&name);
        if name == "customer_response_absent" {
            // `{}`, what a lookup answers for an unknown id: "none", not a customer.
            assert!(
                !validator(schema).is_valid(&value),
                "{{}} is not a customer"
            );
            checked += 1;
            continue;
        }
        let errors: Vec<String> = validator(schema)
            .iter_errors(&value)
            .map(|error| format!("{} at {}", error, error.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{name} fails {schema}: {errors:#?}");
        checked += 1;
    }
    assert_eq!(checked, 32, "every fixture is checked");
}

#[test]
fn every_schema_is_valid_and_records_batch_is_an_array_of_records() {
    for file in schema::all() {
        jsonschema::meta::validate(file.schema.as_value())
            .unwrap_or_else(|error| panic!("{}: {error}", file.file_name));
    }
    let batch = validator("record_batch.json");
    let record = json!({"uniqueId": "u", "meterApiName": "m", "meterValue": 1,
        "customerId": "c", "meterTimeInMillis": 1_700_000_000_000_i64});
    assert!(batch.is_valid(&json!([record.clone(), record])));
    assert!(batch.is_valid(&json!([])));
    assert!(!batch.is_valid(&json!([{"uniqueId": "u"}])));
    assert!(!batch.is_valid(&record));
}

/// Rust's verdict on a payload: deserialise, then `validate()`.
fn rust_rejects<T: DeserializeOwned>(
    value: &Value,
    validate: fn(&T) -> Result<(), ValidationError>,
) -> bool {
    match serde_json::from_value::<T>(value.clone()) {
        Ok(parsed) => validate(&parsed).is_err(),
        Err(_) => true,
    }
}

/// `base` with `path` (dotted) set to `new`, or removed when `new` is `None`.
fn with(base: &Value, path: &str, new: Option<Value>) -> Value {
    let mut value = base.clone();
    let mut parts: Vec<&str> = path.split('.').collect();
    let last = parts.pop().expect("a non-empty path");
    let mut target = &mut value;
    for part in parts {
        target = &mut target[part];
    }
    let object = target.as_object_mut().expect("the path leads to an object");
    match new {
        Some(new) => {
            object.insert(last.to_owned(), new);
        }
        None => {
            object.remove(last);
        }
    }
    value
}

fn assert_both_reject<T: DeserializeOwned>(
    schema: &str,
    base: &Value,
    validate: fn(&T) -> Result<(), ValidationError>,
    cases: &[(&str, Option<Value>)],
) {
    let validator = validator(schema);
    assert!(
        validator.is_valid(base),
        "{schema}: the base payload must pass"
    );
    assert!(
        !rust_rejects(base, validate),
        "{schema}: Rust must accept the base payload"
    );
    for (path, new) in cases {
        let value = with(base, path, new.clone());
        assert!(
            rust_rejects(&value, validate),
            "{schema}: Rust accepts {path} = {new:?}"
        );
        assert!(
            !validator.is_valid(&value),
            "{schema}: the schema accepts {path} = {new:?}"
        );
    }
}

const BLANKS: [&str; 6] = [
    "",
    " ",
    "\t\n",
    "\u{200B}",
    "\u{FEFF}\u{2060}",
    "\u{00AD} \u{0}",
];

fn blank_cases(path: &'static str) -> Vec<(&'static str, Option<Value>)> {
    BLANKS
        .iter()
        .map(|blank| (path, Some(json!(blank))))
        .collect()
}

#[test]
fn invalid_meter_records_are_rejected_by_both() {
    let base = json!({"uniqueId": "u-1", "meterApiName": "ApiCalls", "meterValue": 2.5,
        "customerId": "c-1", "meterTimeInMillis": 1_700_000_000_000_i64,
        "dimensions": {"region": "eu"}});
    let mut cases = vec![
        ("meterTimeInMillis", Some(json!(0))),
        ("meterTimeInMillis", Some(json!(-5))),
        ("meterTimeInMillis", Some(json!(1.5))),
        ("meterValue", Some(json!("1"))),
        ("customerId", None),
        ("meterApiName", None),
        ("uniqueId", None),
        ("meterTimeInMillis", None),
        ("dimensions", Some(json!({" ": "x"}))),
        ("dimensions", Some(json!({"region": "\u{200B}"}))),
        ("dimensions", Some(json!({"region": 1}))),
        ("dimensions", Some(json!(["region"]))),
        // Wrong units and the default record limits.
        ("meterTimeInMillis", Some(json!(1_700_000_000))),
        ("meterTimeInMillis", Some(json!(i64::MAX))),
        ("customerId", Some(json!("c".repeat(257)))),
        ("meterApiName", Some(json!("m".repeat(257)))),
        ("uniqueId", Some(json!("u".repeat(257)))),
        ("dimensions", Some(json!({"k".repeat(257): "v"}))),
        ("dimensions", Some(json!({"region": "v".repeat(1025)}))),
        (
            "dimensions",
            Some(Value::Object(
                (0..65).map(|i| (format!("k{i}"), json!("v"))).collect(),
            )),
        ),
    ];
    for field in ["customerId", "meterApiName", "uniqueId"] {
        cases.extend(blank_cases(field));
    }
    assert_both_reject::<MeterRecord>("meter_record.json", &base, MeterRecord::validate, &cases);
}

#[test]
fn invalid_usage_queries_are_rejected_by_both() {
    let base = json!({"aggregation": "SUM", "meterApiName": "ApiCalls",
        "timeGroupingInterval": "DAY", "timeRange": {"startTimeInSeconds": 1_700_000_000},
        "groupBy": ["customerId"], "filter": {"region": ["eu"]},
        "take": {"limit": 3, "isAscending": false}});
    let mut cases = vec![
        ("aggregation", Some(json!(" "))),
        ("timeGroupingInterval", Some(json!(""))),
        ("timeRange.startTimeInSeconds", Some(json!(0))),
        ("groupBy", Some(json!([]))),
        ("groupBy", Some(json!(["\u{3000}"]))),
        ("filter", Some(json!({"region": []}))),
        ("filter", Some(json!({"region": [" "]}))),
        ("filter", Some(json!({"": ["eu"]}))),
        ("take.limit", Some(json!(0))),
        ("meterApiName", None),
    ];
    cases.extend(blank_cases("meterApiName"));
    assert_both_reject::<UsageQuery>("usage_query.json", &base, UsageQuery::validate, &cases);

    let all = json!({"startTimeInSeconds": 1_700_000_000, "timeGroupingInterval": "DAY",
        "groupBy": "customerId", "customerId": "c-1"});
    let mut cases = vec![
        ("startTimeInSeconds", Some(json!(0))),
        ("groupBy", Some(json!("region"))),
    ];
    cases.extend(blank_cases("customerId"));
    assert_both_reject::<AllUsageQuery>(
        "all_usage_query.json",
        &all,
        AllUsageQuery::validate,
        &cases,
    );
}

#[test]
fn invalid_customer_and_portal_payloads_are_rejected_by_both() {
    let base = json!({"customerId": "c-1", "customerName": "Acme", "customerEmail": "a@b.test",
        "enabled": true, "traits": {"region": "eu"}});
    let mut cases = vec![
        ("customerName", None),
        ("traits", Some(json!({"region": " "}))),
        ("traits", Some(json!({"\u{200D}": "eu"}))),
    ];
    for field in ["customerId", "customerName", "customerEmail"] {
        cases.extend(blank_cases(field));
    }
    assert_both_reject::<CustomerPayload>(
        "customer_payload.json",
        &base,
        CustomerPayload::validate,
        &cases,
    );

    let portal = json!({"customerId": "c-1", "expirationEpochMilliSeconds": 1_700_000_000_000_i64,
        "returnUrl": "https://x.test"});
    let mut cases = vec![("expirationEpochMilliSeconds", Some(json!(0)))];
    cases.extend(blank_cases("returnUrl"));
    cases.extend(blank_cases("customerId"));
    assert_both_reject::<CustomerPortalSessionRequest>(
        "customer_portal_session_request.json",
        &portal,
        CustomerPortalSessionRequest::validate,
        &cases,
    );
}

#[test]
fn invalid_billing_payloads_are_rejected_by_both() {
    let plan = json!({"customerId": "c-1", "productPlanId": "gold", "productId": "1",
        "startTimeInSeconds": 1_700_000_000, "endTimeInSeconds": 1_800_000_000});
    let mut cases = vec![
        ("startTimeInSeconds", Some(json!(0))),
        ("endTimeInSeconds", Some(json!(-1))),
        ("productPlanId", None),
    ];
    cases.extend(blank_cases("productPlanId"));
    assert_both_reject::<CustomerProductPlanPayload>(
        "customer_product_plan_payload.json",
        &plan,
        CustomerProductPlanPayload::validate,
        &cases,
    );

    let order = json!({"id": "o-1", "customerId": "c-1", "productId": "1",
        "startTimeInSeconds": 1_700_000_000, "prepaidOfferVersion": -1, "prepaidPrice": 10,
        "externalPayment": false, "recurrenceFrequency": {"interval": "MONTH", "intervalsCount": 1},
        "originalWorth": 12.5});
    let mut cases = vec![
        ("prepaidPrice", Some(json!(0))),
        ("prepaidPrice", Some(json!(-3.5))),
        ("originalWorth", Some(json!(-1))),
        ("prepaidOfferVersion", Some(json!(0))),
        ("prepaidOfferVersion", Some(json!(-2))),
        ("startTimeInSeconds", Some(json!(0))),
        ("startTimeInSeconds", None),
        ("prepaidPrice", None),
        ("recurrenceFrequency.intervalsCount", Some(json!(0))),
        ("recurrenceFrequency.interval", Some(json!(" "))),
    ];
    cases.extend(blank_cases("id"));
    assert_both_reject::<PrepaidOrderPayload>(
        "prepaid_order_payload.json",
        &order,
        PrepaidOrderPayload::validate,
        &cases,
    );
    // The Go SDK sends `"originalWorth": 0` for "no worth": both accept it, as unset.
    let go = with(&order, "originalWorth", Some(json!(0)));
    assert!(validator("prepaid_order_payload.json").is_valid(&go));
    let payload: PrepaidOrderPayload = serde_json::from_value(go).unwrap();
    assert_eq!(payload.validate(), Ok(()));
    assert_eq!(payload.original_worth(), None);
}

#[test]
fn invalid_invoice_queries_are_rejected_by_both() {
    let all = json!({"customerId": "c-1", "productId": "1", "fromCache": true,
        "withPaymentStatus": true});
    let mut cases = vec![("fromCache", None)];
    cases.extend(blank_cases("productId"));
    assert_both_reject::<AllInvoicesQuery>(
        "all_invoices_query.json",
        &all,
        AllInvoicesQuery::validate,
        &cases,
    );

    let one = json!({"customerId": "c-1", "productId": "1", "fromCache": true,
        "withPaymentStatus": true, "productPlanId": "gold", "year": 2024, "month": 2, "day": 29});
    let mut cases = vec![
        ("month", Some(json!(13))),
        ("month", Some(json!(0))),
        ("day", Some(json!(32))),
        ("day", Some(json!(0))),
        ("year", Some(json!(0))),
        ("year", Some(json!(10_000))),
        ("productPlanId", None),
        ("day", None),
    ];
    cases.extend(blank_cases("productPlanId"));
    assert_both_reject::<InvoiceQuery>("invoice_query.json", &one, InvoiceQuery::validate, &cases);
    let latest = json!({"customerId": "c-1", "productId": "1", "fromCache": true,
        "withPaymentStatus": true, "latest": true});
    assert_both_reject::<InvoiceQuery>(
        "invoice_query.json",
        &latest,
        InvoiceQuery::validate,
        &[("latest", Some(json!(false))), ("latest", None)],
    );
}

#[test]
fn fields_we_omit_are_never_null_in_requests() {
    let record = validator("meter_record.json");
    let base = json!({"uniqueId": "u", "meterApiName": "m", "meterValue": 1,
        "customerId": "c", "meterTimeInMillis": 1_700_000_000_000_i64});
    assert!(record.is_valid(&base));
    assert!(!record.is_valid(&with(&base, "dimensions", Some(Value::Null))));
    let query = validator("usage_query.json");
    let base = json!({"aggregation": "SUM", "meterApiName": "m", "timeGroupingInterval": "DAY",
        "timeRange": {"startTimeInSeconds": 1}});
    assert!(query.is_valid(&base));
    for field in ["groupBy", "filter", "take"] {
        assert!(
            !query.is_valid(&with(&base, field, Some(Value::Null))),
            "{field}"
        );
    }
    assert!(!query.is_valid(&with(
        &base,
        "timeRange.endTimeInSeconds",
        Some(Value::Null)
    )));
}

/// The rules the module docs list as beyond JSON Schema: Rust rejects, the schema cannot.
#[test]
fn cross_field_rules_are_checked_in_rust_only() {
    let query = json!({"aggregation": "SUM", "meterApiName": "m", "timeGroupingInterval": "DAY",
        "timeRange": {"startTimeInSeconds": 100, "endTimeInSeconds": 50}});
    assert!(rust_rejects::<UsageQuery>(&query, UsageQuery::validate));
    assert!(validator("usage_query.json").is_valid(&query));
    let plan = json!({"customerId": "c", "productPlanId": "p", "productId": "1",
        "startTimeInSeconds": 100, "endTimeInSeconds": 200});
    assert!(rust_rejects::<CustomerProductPlanPayload>(
        &plan,
        CustomerProductPlanPayload::validate
    ));
    assert!(validator("customer_product_plan_payload.json").is_valid(&plan));
    let invoice = json!({"customerId": "c", "productId": "1", "fromCache": true,
        "withPaymentStatus": true, "productPlanId": "p", "year": 2023, "month": 2, "day": 29});
    assert!(rust_rejects::<InvoiceQuery>(
        &invoice,
        InvoiceQuery::validate
    ));
    assert!(validator("invoice_query.json").is_valid(&invoice));
}

/// A validator for the generated non-blank string schema.
fn non_blank_validator() -> Validator {
    let record = schema::request_schema::<MeterRecord>();
    let non_blank = &record.as_value()["$defs"]["NonBlankString"];
    assert_eq!(non_blank["pattern"], NON_BLANK_PATTERN);
    assert_eq!(non_blank["minLength"], 1);
    jsonschema::validator_for(non_blank).expect("a valid schema")
}

#[test]
fn the_pattern_agrees_with_is_blank_on_every_character() {
    let validator = non_blank_validator();
    let mut checked = 0;
    // Every character of the Basic Multilingual Plane (where all the blank ones are), and
    // every 61st one beyond it (each made of two UTF-16 units in ECMA-262 regexes).
    let astral = (0x1_0000..=0x10_FFFF)
        .step_by(61)
        .chain([0xE_0001, 0x1_D173, 0x10_FFFF]);
    for code in (0..=0xFFFF).chain(astral) {
        let Some(c) = char::from_u32(code) else {
            continue;
        };
        let text = c.to_string();
        assert_eq!(
            validator.is_valid(&json!(text)),
            !is_blank(&text),
            "U+{code:04X}: the schema and is_blank disagree"
        );
        checked += 1;
    }
    assert!(checked > 80_000);
    for (text, blank) in [
        (" \u{200B}\t\u{FEFF}", true),
        ("\u{2066}\u{2069}\u{00A0}", true),
        (" \u{200B}x", false),
        ("\u{FEFF}é", false),
        ("\u{1F600}", false),
    ] {
        assert_eq!(validator.is_valid(&json!(text)), !blank, "{text:?}");
        assert_eq!(is_blank(text), blank, "{text:?}");
    }
}

/// Strings mostly of blank characters, with a visible one now and then.
fn tricky_string() -> impl Strategy<Value = String> {
    let chars = prop_oneof![
        Just(' '),
        Just('\t'),
        Just('\n'),
        Just('\u{0}'),
        Just('\u{85}'),
        Just('\u{A0}'),
        Just('\u{AD}'),
        Just('\u{200B}'),
        Just('\u{200D}'),
        Just('\u{2028}'),
        Just('\u{2060}'),
        Just('\u{FEFF}'),
        Just('\u{3000}'),
        Just('a'),
        Just('é'),
        Just('\u{1F600}'),
        any::<char>(),
    ];
    proptest::collection::vec(chars, 0..6).prop_map(|chars| chars.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn the_pattern_agrees_with_is_blank_on_strings(text in tricky_string()) {
        let validator = non_blank_validator();
        prop_assert_eq!(validator.is_valid(&json!(text)), !is_blank(&text));
    }

    /// Any record the builder accepts serialises to JSON the schema accepts, and (every rule
    /// of a record being expressible, finiteness aside) any it refuses the schema refuses.
    #[test]
    fn the_builder_and_the_schema_agree_on_records(
        name in tricky_string(),
        customer in tricky_string(),
        id in proptest::option::of(tricky_string()),
        value in -1e12_f64..1e12,
        millis in -5_i64..i64::MAX,
        dimensions in proptest::option::of(proptest::collection::vec((tricky_string(), tricky_string()), 0..3)),
    ) {
        let validator = validator("meter_record.json");
        let mut builder =
            MeterRecord::builder(&name, value, &customer).meter_time(EpochMillis::new(millis));
        if let Some(id) = &id {
            builder = builder.unique_id(id.as_str());
        }
        if let Some(dimensions) = &dimensions {
            builder = builder.dimensions(dimensions.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        }
        match builder.build() {
            Ok(record) => {
                let json = serde_json::to_value(&record).unwrap();
                prop_assert!(validator.is_valid(&json), "schema rejects {}", json);
            }
            Err(error) => {
                // The same fields as JSON, as another producer would write them.
                let mut json = json!({"uniqueId": id.unwrap_or_else(|| "u".into()),
                    "meterApiName": name, "meterValue": value, "customerId": customer,
                    "meterTimeInMillis": millis});
                if let Some(dimensions) = &dimensions {
                    let map: serde_json::Map<String, Value> = dimensions
                        .iter()
                        .map(|(k, v)| (k.clone(), json!(v)))
                        .collect();
                    json["dimensions"] = Value::Object(map);
                }
                prop_assert!(!validator.is_valid(&json), "schema accepts {} (Rust: {})", json, error);
            }
        }
    }
}
