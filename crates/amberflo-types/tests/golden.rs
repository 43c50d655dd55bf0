//! Golden wire-format tests: every payload built with our builders must serialise exactly like
//! the official Python SDK (amberflo-metering-python 3.3.1) builds it, per the fixtures in
//! `tests/fixtures/` (see its README), and the fixtures must deserialise back to our values.
//!
//! JSON bodies are compared as `serde_json::Value`s (exact equality). GET query-parameter types
//! are compared as sorted `(name, value)` pairs of the URL query string, with booleans spelled
//! `true`/`false` (the Python SDK hands Python bools to `requests`, which sends `True`; we
//! deliberately differ, see `DESIGN.md`). Hand-written response fixtures check lenient parsing.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use amberflo_types::{
    AggregationType, AllInvoicesQuery, AllUsageGroupBy, AllUsageQuery, BillingCustomerQuery,
    BillingPeriod, BillingPeriodUnit, CalendarDate, CreateCustomerQuery, Customer, CustomerPayload,
    CustomerPortalSession, CustomerPortalSessionRequest, CustomerProductPlan,
    CustomerProductPlanPayload, CustomerProductQuery, CustomerQuery, DEFAULT_PREPAID_OFFER_VERSION,
    DEFAULT_PRODUCT_ID, EpochMillis, EpochSeconds, Invoice, InvoiceQuery, MeterRecord, Month,
    PaymentStatus, PrepaidOrder, PrepaidOrderPayload, Rule, Take, TimeGroupingInterval, TimeRange,
    UniqueId, UsagePayloadFactory, UsageQuery, UsageReport,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

const START: i64 = 1_700_000_000;
const END: i64 = 1_700_604_800;

type Pairs = Vec<(String, String)>;

fn fixture(name: &str) -> Value {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "fixtures", name]
        .iter()
        .collect::<PathBuf>()
        .with_extension("json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|error| panic!("{} is not JSON: {error}", path.display()))
}

/// A JSON body: serialises exactly to the fixture, and the fixture parses back to `ours`.
fn assert_json_golden<T>(name: &str, ours: &T)
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let expected = fixture(name);
    let actual = serde_json::to_value(ours).expect("serialises");
    assert_eq!(actual, expected, "{name}: our JSON differs from Python's");
    let parsed: T = serde_json::from_value(expected).expect("fixture deserialises");
    assert_eq!(
        &parsed, ours,
        "{name}: fixture does not parse back to our value"
    );
}

/// The pairs `requests` would send for the fixture's params dict, except that booleans are
/// lower-cased (our deliberate difference) and numbers are written in decimal.
fn fixture_pairs(name: &str) -> Pairs {
    let Value::Object(params) = fixture(name) else {
        panic!("{name}: a params fixture must be a JSON object");
    };
    let mut pairs: Pairs = params
        .into_iter()
        .map(|(key, value)| {
            let value = match value {
                Value::String(text) => text,
                Value::Bool(flag) => flag.to_string(),
                Value::Number(number) => number.to_string(),
                other => panic!("{name}.{key}: unexpected query value {other}"),
            };
            (key, value)
        })
        .collect();
    pairs.sort();
    pairs
}

fn encode(pairs: &Pairs) -> String {
    serde_urlencoded::to_string(pairs).expect("pairs encode")
}

/// The sorted pairs of our query string.
fn our_pairs<T: Serialize>(ours: &T) -> Pairs {
    let query = serde_urlencoded::to_string(ours).expect("query serialises");
    let mut pairs: Pairs = serde_urlencoded::from_str(&query).expect("query string parses");
    pairs.sort();
    pairs
}

/// A GET query type: same parameters as Python's dict, and a server parsing the fixture's
/// query string (as the emulator does) gets our value back.
fn assert_query_golden<T>(name: &str, ours: &T)
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let expected = fixture_pairs(name);
    assert_eq!(our_pairs(ours), expected, "{name}: our query differs");
    let parsed: T = serde_urlencoded::from_str(&encode(&expected))
        .unwrap_or_else(|error| panic!("{name}: fixture query string does not parse: {error}"));
    assert_eq!(&parsed, ours, "{name}: fixture query does not parse back");
}

// ---------------------------------------------------------------------------------------------
// Ingest.

fn record_minimal() -> MeterRecord {
    MeterRecord::builder("ApiCalls", 3.0, "customer-1")
        .meter_time(EpochMillis::new(1_700_000_000_123))
        .unique_id("3f2b8c1e-7a4d-4e5f-9b6a-0c1d2e3f4a5b")
        .build()
        .expect("valid record")
}

#[test]
fn ingest_record_minimal() {
    assert_json_golden("ingest_record_minimal", &record_minimal());
}

#[test]
fn ingest_record_with_dimensions_and_custom_id() {
    let record = MeterRecord::builder("StorageGb", 2.5, "customer-2")
        .meter_time(EpochMillis::new(1_700_000_000_456))
        .unique_id("order-42-line-1")
        .dimension("tier", "premium")
        .dimensions([("region", "us-east-1")])
        .build()
        .expect("valid record");
    assert_json_golden("ingest_record_dimensions", &record);
}

#[test]
fn ingest_batch_is_an_array_of_the_golden_records() {
    let batch = vec![record_minimal()];
    assert_eq!(
        serde_json::to_value(&batch).expect("serialises"),
        Value::Array(vec![fixture("ingest_record_minimal")])
    );
}

/// Intentional difference: Python sends `3` for the int 3 but `3.0` for the float 3.0; our
/// value is always an `f64`, and integral values go out as JSON integers so that the
/// common case (counting) matches Python's int payload byte for byte.
#[test]
fn integral_meter_values_serialise_as_json_integers() {
    let body = |value: f64| {
        let record = MeterRecord::builder("m", value, "c")
            .meter_time(EpochMillis::new(1_700_000_000_000))
            .unique_id("id")
            .build()
            .expect("valid record");
        serde_json::to_string(&record).expect("serialises")
    };
    assert!(body(3.0).contains(r#""meterValue":3,"#), "{}", body(3.0));
    assert!(body(-7.0).contains(r#""meterValue":-7,"#), "{}", body(-7.0));
    assert!(body(0.0).contains(r#""meterValue":0,"#), "{}", body(0.0));
    assert!(body(2.5).contains(r#""meterValue":2.5,"#), "{}", body(2.5));
    // 2^53 and beyond are not all exact integers: they stay floats.
    let huge = body(1e20);
    let parsed: Value = serde_json::from_str(&huge).expect("JSON");
    assert!(parsed["meterValue"].is_f64(), "{huge}");
    assert_eq!(parsed["meterValue"].as_f64(), Some(1e20));
    let limit = body(9_007_199_254_740_991.0);
    assert!(
        limit.contains(r#""meterValue":9007199254740991,"#),
        "{limit}"
    );
}

#[test]
fn canonical_uuid_ids_round_trip_exactly_and_generated_ids_are_uuid_v4() {
    let record = MeterRecord::builder("m", 1.0, "c").build().expect("valid");
    let id = record.unique_id().to_string();
    let bytes = id.as_bytes();
    assert_eq!(id.len(), 36, "{id}");
    assert_eq!(bytes[14], b'4', "version nibble of {id}");
    assert!(
        matches!(bytes[19], b'8' | b'9' | b'a' | b'b'),
        "variant of {id}"
    );
    assert!(
        id.chars()
            .all(|c| c == '-' || c.is_ascii_digit() || ('a'..='f').contains(&c)),
        "{id}"
    );
    // Python writes `str(uuid)`: lower-case hyphenated, which we parse back unchanged.
    let from_fixture: MeterRecord =
        serde_json::from_value(fixture("ingest_record_minimal")).expect("parses");
    assert_eq!(
        from_fixture.unique_id(),
        &UniqueId::from("3f2b8c1e-7a4d-4e5f-9b6a-0c1d2e3f4a5b")
    );
    // A non-canonical spelling is kept verbatim, not normalised.
    let upper = UniqueId::from("3F2B8C1E-7A4D-4E5F-9B6A-0C1D2E3F4A5B");
    assert_eq!(
        serde_json::to_value(&upper).expect("serialises"),
        json!("3F2B8C1E-7A4D-4E5F-9B6A-0C1D2E3F4A5B")
    );
}

#[test]
fn meter_time_defaults_to_now() {
    let before = amberflo_types::now_millis();
    let record = MeterRecord::builder("m", 1.0, "c").build().expect("valid");
    let after = amberflo_types::now_millis();
    assert!((before..=after).contains(&record.meter_time_in_millis()));
}

// ---------------------------------------------------------------------------------------------
// Usage.

#[test]
fn usage_query_minimal() {
    let range = TimeRange::since(EpochSeconds::new(START)).expect("valid range");
    let built = UsageQuery::builder(
        "ApiCalls",
        AggregationType::Sum,
        TimeGroupingInterval::Day,
        range,
    )
    .build()
    .expect("valid");
    assert_json_golden("usage_query_minimal", &built);
    let made = UsagePayloadFactory::create(
        "ApiCalls",
        AggregationType::Sum,
        TimeGroupingInterval::Day,
        range,
    )
    .build()
    .expect("valid");
    assert_json_golden("usage_query_minimal", &made);
}

#[test]
fn usage_query_with_group_by_filter_take_and_end() {
    let range =
        TimeRange::between(EpochSeconds::new(START), EpochSeconds::new(END)).expect("valid range");
    let take = Take::smallest(10).expect("valid take");
    let built = UsageQuery::builder(
        "ApiCalls",
        AggregationType::Max,
        TimeGroupingInterval::Hour,
        range,
    )
    .group_by(["customerId", "region"])
    .filter("region", ["us-east-1"])
    .filter("region", ["eu-west-1"])
    .filter("customerId", ["customer-1"])
    .take(take)
    .build()
    .expect("valid");
    assert_json_golden("usage_query_full", &built);

    let filter = BTreeMap::from([
        (
            "region".to_owned(),
            vec!["us-east-1".to_owned(), "eu-west-1".to_owned()],
        ),
        ("customerId".to_owned(), vec!["customer-1".to_owned()]),
    ]);
    let mut made = UsagePayloadFactory::create(
        "ApiCalls",
        AggregationType::Max,
        TimeGroupingInterval::Hour,
        range,
    )
    .group_by(["customerId", "region"])
    .take(take);
    for (key, values) in filter {
        made = made.filter(key, values);
    }
    let made = made.build().expect("valid");
    assert_json_golden("usage_query_full", &made);
}

#[test]
fn usage_query_take_defaults_to_descending() {
    let range =
        TimeRange::between(EpochSeconds::new(START), EpochSeconds::new(END)).expect("valid range");
    let query = UsageQuery::builder(
        "ApiCalls",
        AggregationType::Count,
        TimeGroupingInterval::Month,
        range,
    )
    .take(Take::largest(5).expect("valid take"))
    .build()
    .expect("valid");
    assert_json_golden("usage_query_take_descending", &query);
    // Python always writes isAscending; a server omitting it means descending.
    let take: Take = serde_json::from_value(json!({"limit": 5})).expect("parses");
    assert!(!take.is_ascending());
}

/// Python drops a falsy (empty) filter dict; a ported loop over an empty map sets no filter,
/// and the query must not send `"filter": {}`.
#[test]
fn usage_query_empty_filter_is_omitted() {
    let mut query = UsagePayloadFactory::create(
        "ApiCalls",
        AggregationType::Min,
        TimeGroupingInterval::Week,
        TimeRange::since(EpochSeconds::new(START)).expect("valid range"),
    );
    for (key, values) in BTreeMap::<String, Vec<String>>::new() {
        query = query.filter(key, values);
    }
    let query = query.build().expect("an empty filter filters nothing");
    assert_eq!(query.filter(), None);
    assert_json_golden("usage_query_empty_filter", &query);
}

#[test]
fn usage_batch_is_an_array_of_queries() {
    let range = TimeRange::since(EpochSeconds::new(START)).expect("valid range");
    let query = UsageQuery::builder(
        "ApiCalls",
        AggregationType::Sum,
        TimeGroupingInterval::Day,
        range,
    )
    .build()
    .expect("valid");
    assert_eq!(
        serde_json::to_value([&query, &query]).expect("serialises"),
        json!([
            fixture("usage_query_minimal"),
            fixture("usage_query_minimal")
        ])
    );
}

#[test]
fn all_usage_query_minimal() {
    let query = AllUsageQuery::builder(
        TimeGroupingInterval::Week,
        TimeRange::since(EpochSeconds::new(START)).expect("valid range"),
    )
    .build()
    .expect("valid");
    // Not grouping: no groupBy parameter at all.
    assert_eq!(query.group_by(), None);
    assert_query_golden("all_usage_query_minimal", &query);
}

#[test]
fn all_usage_query_grouped_and_filtered() {
    let query = AllUsageQuery::builder(
        TimeGroupingInterval::Day,
        TimeRange::between(EpochSeconds::new(START), EpochSeconds::new(END)).expect("valid range"),
    )
    .group_by(AllUsageGroupBy::CustomerId)
    .customer_id("customer-1")
    .build()
    .expect("valid");
    assert!(query.validate().is_ok());
    assert_eq!(query.group_by(), Some(AllUsageGroupBy::CustomerId));
    assert_eq!(query.customer_id(), Some("customer-1"));
    assert_query_golden("all_usage_query_grouped_filtered", &query);
    assert_eq!(
        serde_urlencoded::to_string(&query).expect("serialises"),
        "startTimeInSeconds=1700000000&endTimeInSeconds=1700604800\
         &timeGroupingInterval=DAY&groupBy=customerId&customerId=customer-1"
    );
}

#[test]
fn usage_report_response_parses_leniently() {
    let report: UsageReport =
        serde_json::from_value(fixture("usage_report_response")).expect("parses");
    assert_eq!(report.metadata["meterApiName"], "ApiCalls");
    assert_eq!(report.metadata["groupBy"], json!(["customerId"]));
    assert_eq!(
        report.seconds_since_epoch_intervals,
        [1_700_006_400, 1_700_092_800, 1_700_179_200].map(EpochSeconds::new)
    );
    assert_eq!(report.client_meters.len(), 2);

    let grouped = &report.client_meters[0];
    let group = grouped.group.as_ref().expect("grouped meter has a group");
    assert_eq!(
        group.group_info,
        BTreeMap::from([("customerId".to_owned(), "customer-1".to_owned())])
    );
    assert_eq!(grouped.group_value, 42.5);
    let values: Vec<(f64, i64, f64)> = grouped
        .values
        .iter()
        .map(|v| {
            (
                v.value,
                v.seconds_since_epoch_utc.get(),
                v.percentage_from_previous,
            )
        })
        .collect();
    assert_eq!(
        values,
        [
            (10.0, 1_700_006_400, 0.0),
            (20.5, 1_700_092_800, 105.0),
            (12.0, 1_700_179_200, -41.46),
        ]
    );

    let ungrouped = &report.client_meters[1];
    assert!(ungrouped.group.is_none());
    assert_eq!(ungrouped.group_value, 7.0);
    assert_eq!(ungrouped.values.len(), 1);
    // A missing percentageFromPrevious defaults to 0.
    assert_eq!(ungrouped.values[0].percentage_from_previous, 0.0);

    // Re-serialising keeps what we model and drops the unknown fields.
    let again = serde_json::to_value(&report).expect("serialises");
    assert!(again.get("pageToken").is_none());
    assert!(again["clientMeters"][0].get("meterApiName").is_none());
    assert!(again["clientMeters"][1].get("group").is_none());
    let reparsed: UsageReport = serde_json::from_value(again).expect("parses");
    assert_eq!(reparsed, report);
}

#[test]
fn all_usage_response_parses_including_empty_reports() {
    let reports: Vec<UsageReport> =
        serde_json::from_value(fixture("usage_reports_all_response")).expect("parses");
    assert_eq!(reports.len(), 3);
    assert_eq!(reports[0].client_meters[0].values[0].value, 3.0);
    assert_eq!(reports[1].metadata["aggregationType"], "MAX");
    assert!(reports[1].client_meters.is_empty());
    assert_eq!(reports[2], UsageReport::default());
}

#[test]
fn a_report_of_the_wrong_shape_is_an_error_naming_the_field() {
    for (body, field) in [
        (json!({}), "clientMeters"),
        (json!({"clientMeters": [{"values": []}]}), "groupValue"),
        (
            json!({"clientMeters": [{"groupValue": 1, "values": [{"value": 1}]}]}),
            "secondsSinceEpochUtc",
        ),
    ] {
        let error = serde_json::from_value::<UsageReport>(body).expect_err("wrong shape");
        assert!(
            error
                .to_string()
                .contains(&format!("missing field `{field}`")),
            "{error}"
        );
    }
    // Unknown fields stay welcome.
    let report: UsageReport =
        serde_json::from_value(json!({"clientMeters": [], "somethingNew": true})).expect("parses");
    assert!(report.client_meters.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Customers.

#[test]
fn customer_payload_minimal() {
    let payload = CustomerPayload::builder("customer-1")
        .customer_name("Acme Inc.")
        .build()
        .expect("valid");
    assert_json_golden("customer_payload_minimal", &payload);
}

#[test]
fn customer_payload_full() {
    let payload = CustomerPayload::builder("customer-1")
        .customer_name("Acme Inc.")
        .customer_email("billing@acme.test")
        .disabled()
        .traits([("stripeId", "cus_123")])
        .traits([("region", "us-east-1")])
        .build()
        .expect("valid");
    assert_json_golden("customer_payload_full", &payload);
}

#[test]
fn customer_query() {
    let query = CustomerQuery::new("customer-1").expect("valid");
    assert_query_golden("customer_query", &query);
}

#[test]
fn create_customer_query_in_stripe() {
    let builder = CustomerPayload::builder("customer-1").customer_name("Acme Inc.");
    let in_stripe = builder.clone().create_in_stripe().build().expect("valid");
    assert!(in_stripe.create_in_stripe());
    assert_query_golden(
        "create_customer_query_stripe",
        &CreateCustomerQuery::for_payload(&in_stripe),
    );
    // A request option only: the body is the same as without it.
    let plain = builder.build().expect("valid");
    assert_json_golden("customer_payload_minimal", &plain);
    assert_eq!(
        serde_json::to_value(&in_stripe).expect("serialises"),
        fixture("customer_payload_minimal")
    );
    // Python passes `params=None` when not creating in Stripe: no query string at all.
    assert_eq!(
        serde_urlencoded::to_string(CreateCustomerQuery::from(&plain)).expect("serialises"),
        ""
    );
    assert_eq!(
        serde_urlencoded::to_string(CreateCustomerQuery::default()).expect("serialises"),
        ""
    );
    let parsed: CreateCustomerQuery = serde_urlencoded::from_str("").expect("parses");
    assert!(!parsed.create_in_stripe());
}

#[test]
fn customer_response_parses_leniently_and_keeps_unknown_fields() {
    let source = fixture("customer_response");
    let customer: Customer = serde_json::from_value(source.clone()).expect("parses");
    assert_eq!(customer.customer_id, "customer-1");
    assert_eq!(customer.customer_name, "Acme Inc.");
    assert_eq!(
        customer.customer_email.as_deref(),
        Some("billing@acme.test")
    );
    assert_eq!(customer.enabled, Some(true));
    assert_eq!(customer.traits["stripeId"], "cus_123");
    assert_eq!(
        customer.create_time,
        Some(EpochMillis::new(1_718_153_645_993))
    );
    assert_eq!(
        customer.update_time,
        Some(EpochMillis::new(1_718_153_700_000))
    );
    let extra_keys: Vec<&str> = customer.extra.keys().map(String::as_str).collect();
    assert_eq!(extra_keys, ["description", "id", "test"]);
    // `address` and `lifecycleStage` are typed; a stage spelled differently from the known
    // ones is kept as it came.
    let address = customer.address.as_ref().expect("typed address");
    assert_eq!(address.city.as_deref(), Some("Springfield"));
    assert_eq!(address.state, None);
    assert_eq!(
        customer.lifecycle_stage,
        Some(amberflo_types::LifecycleStage::Other("ACTIVE".to_owned()))
    );
    // Nothing is lost: serialising gives the server's object back.
    assert_eq!(serde_json::to_value(&customer).expect("serialises"), source);
}

#[test]
fn absent_customer_is_not_a_customer() {
    // `{}` is what the API answers for an unknown id: the client reads it as "none"; as a
    // `Customer` it lacks the required id.
    let error = serde_json::from_value::<Customer>(fixture("customer_response_absent"))
        .expect_err("no customerId");
    assert!(
        error.to_string().contains("missing field `customerId`"),
        "{error}"
    );
}

#[test]
fn customer_from_payload_matches_the_payload_fields() {
    let payload: CustomerPayload =
        serde_json::from_value(fixture("customer_payload_full")).expect("parses");
    let customer = Customer::from(payload);
    let json = serde_json::to_value(&customer).expect("serialises");
    assert_eq!(json, fixture("customer_payload_full"));
}

// ---------------------------------------------------------------------------------------------
// Portal sessions.

#[test]
fn customer_portal_session_request() {
    let request = CustomerPortalSessionRequest::builder("customer-1")
        .expiration_epoch_milliseconds(1_700_086_400_000)
        .return_url("https://app.example.test/billing")
        .build()
        .expect("valid");
    assert_json_golden("customer_portal_session_request", &request);
}

#[test]
fn customer_portal_session_request_minimal() {
    let request = CustomerPortalSessionRequest::builder("customer-1")
        .build()
        .expect("valid");
    assert_json_golden("customer_portal_session_request_minimal", &request);
}

#[test]
fn customer_portal_session_response_parses() {
    let session: CustomerPortalSession =
        serde_json::from_value(fixture("customer_portal_session_response")).expect("parses");
    assert_eq!(session.url, "https://portal.amberflo.io/session/abc123");
    assert_eq!(session.session_token, "eyJhbGciOiJIUzI1NiJ9.c2Vzc2lvbg.sig");
}

// ---------------------------------------------------------------------------------------------
// Product plans.

#[test]
fn customer_product_plan_defaults() {
    let payload = CustomerProductPlanPayload::builder("customer-1")
        .product_plan_id("plan-gold")
        .build()
        .expect("valid");
    assert_json_golden("customer_product_plan_defaults", &payload);
    // Intentional: product id defaults to "1", as in Python, also when parsing.
    assert_eq!(payload.product_id(), DEFAULT_PRODUCT_ID);
    let parsed: CustomerProductPlanPayload =
        serde_json::from_value(json!({"customerId": "customer-1", "productPlanId": "plan-gold"}))
            .expect("parses");
    assert_eq!(parsed, payload);
}

#[test]
fn customer_product_plan_with_times_and_product() {
    let payload = CustomerProductPlanPayload::builder("customer-1")
        .product_plan_id("plan-gold")
        .product_id("product-7")
        .start_time(EpochSeconds::new(START))
        .end_time(EpochSeconds::new(START + 86_400))
        .build()
        .expect("exactly one day is long enough");
    assert_json_golden("customer_product_plan_full", &payload);
    let one_second_short = CustomerProductPlanPayload::builder("customer-1")
        .product_plan_id("plan-gold")
        .start_time(EpochSeconds::new(START))
        .end_time(EpochSeconds::new(START + 86_399))
        .build()
        .expect_err("less than a day");
    assert_eq!(one_second_short.field(), "end_time_in_seconds");
}

#[test]
fn billing_customer_query() {
    let query = BillingCustomerQuery::new("customer-1").expect("valid");
    assert_query_golden("billing_customer_query", &query);
}

#[test]
fn customer_product_plan_response_parses_leniently() {
    let source = fixture("customer_product_plan_response");
    let plan: CustomerProductPlan = serde_json::from_value(source.clone()).expect("parses");
    assert_eq!(plan.customer_id, "customer-1");
    assert_eq!(plan.product_plan_id, "plan-gold");
    assert_eq!(plan.product_id, "1");
    assert_eq!(
        plan.start_time_in_seconds,
        Some(EpochSeconds::new(1_700_000_000))
    );
    assert_eq!(
        plan.end_time_in_seconds,
        Some(EpochSeconds::new(1_702_592_000))
    );
    assert_eq!(plan.extra["id"], "cpp-1");
    assert_eq!(serde_json::to_value(&plan).expect("serialises"), source);

    let payload: CustomerProductPlanPayload =
        serde_json::from_value(fixture("customer_product_plan_full")).expect("parses");
    assert_eq!(
        serde_json::to_value(CustomerProductPlan::from(payload)).expect("serialises"),
        fixture("customer_product_plan_full")
    );
}

// ---------------------------------------------------------------------------------------------
// Prepaid orders.

#[test]
fn prepaid_order_defaults() {
    let order = PrepaidOrderPayload::builder("customer-1")
        .id("order-1")
        .start_time(EpochSeconds::new(START))
        .prepaid_price(100.0)
        .build()
        .expect("valid");
    assert_json_golden("prepaid_order_defaults", &order);
    // Intentional: offer version -1 ("latest"), product "1", not external, as in Python.
    assert_eq!(order.prepaid_offer_version(), DEFAULT_PREPAID_OFFER_VERSION);
    assert_eq!(order.product_id(), DEFAULT_PRODUCT_ID);
    assert!(!order.external_payment());
    let parsed: PrepaidOrderPayload = serde_json::from_value(json!({
        "id": "order-1",
        "customerId": "customer-1",
        "startTimeInSeconds": START,
        "prepaidPrice": 100,
    }))
    .expect("parses");
    assert_eq!(parsed, order);
}

#[test]
fn prepaid_order_full() {
    let order = PrepaidOrderPayload::builder("customer-1")
        .id("order-2")
        .start_time(EpochSeconds::new(START))
        .prepaid_price(99.5)
        .prepaid_offer_version(3)
        .original_worth(120.0)
        .recurrence_frequency(BillingPeriod::new(3, BillingPeriodUnit::Month).expect("valid"))
        .external_payment()
        .product_id("product-7")
        .build()
        .expect("valid");
    assert_json_golden("prepaid_order_full", &order);
    assert_json_golden(
        "prepaid_order_full",
        &serde_json::from_value::<PrepaidOrderPayload>(fixture("prepaid_order_full"))
            .expect("parses"),
    );
}

#[test]
fn prepaid_order_list_query() {
    let query = CustomerProductQuery::builder("customer-1")
        .product_id("product-7")
        .build()
        .expect("valid");
    assert_query_golden("prepaid_order_list_query", &query);
    // The Python SDK's `list_active(customer_id)` defaults the product to "1".
    assert_eq!(
        our_pairs(
            &CustomerProductQuery::builder("customer-1")
                .build()
                .expect("valid")
        ),
        [
            ("CustomerId".to_owned(), "customer-1".to_owned()),
            ("ProductId".to_owned(), "1".to_owned()),
        ]
    );
}

#[test]
fn prepaid_orders_response_parses_leniently() {
    let orders: Vec<PrepaidOrder> =
        serde_json::from_value(fixture("prepaid_orders_response")).expect("parses");
    assert_eq!(orders.len(), 2);
    assert_eq!(orders[0].id, "order-1");
    assert_eq!(orders[0].prepaid_price, Some(100.0));
    assert_eq!(
        orders[0].start_time_in_seconds,
        Some(EpochSeconds::new(1_700_000_000))
    );
    assert_eq!(orders[0].extra["prepaidOfferVersion"], -1);
    assert_eq!(
        orders[0].extra["recurrenceFrequency"],
        json!({"interval": "MONTH", "intervalsCount": 3})
    );
    assert_eq!(orders[1].prepaid_price, None);
    assert_eq!(orders[1].start_time_in_seconds, None);
}

// ---------------------------------------------------------------------------------------------
// Invoices.

#[test]
fn all_invoices_query_defaults() {
    let query = AllInvoicesQuery::builder("customer-1")
        .build()
        .expect("valid");
    assert!(!query.skip_cache() && !query.skip_payment_status());
    assert_query_golden("all_invoices_query_defaults", &query);
    // Intentional difference from Python + requests (`fromCache=True`).
    let text = serde_urlencoded::to_string(&query).expect("serialises");
    assert!(text.contains("fromCache=true"), "{text}");
    assert!(text.contains("withPaymentStatus=true"), "{text}");
    // Also the JSON form of Python's dict (with real booleans) parses to our value.
    assert_json_golden("all_invoices_query_defaults", &query);
}

#[test]
fn all_invoices_query_custom() {
    let query = AllInvoicesQuery::builder("customer-1")
        .product_id("product-7")
        .skip_cache()
        .skip_payment_status()
        .build()
        .expect("valid");
    assert_eq!(query.product_id(), "product-7");
    assert!(query.skip_cache() && query.skip_payment_status());
    assert_query_golden("all_invoices_query_custom", &query);
    assert_json_golden("all_invoices_query_custom", &query);
    // Unlike Python's `product_id or "1"`, a blank product is an error, never ignored.
    for blank in ["", "  "] {
        let error = AllInvoicesQuery::builder("customer-1")
            .product_id(blank)
            .build()
            .expect_err("blank product");
        assert_eq!((error.field(), error.rule()), ("product_id", &Rule::Blank));
        let error = InvoiceQuery::builder("customer-1")
            .product_id(blank)
            .build()
            .expect_err("blank product");
        assert_eq!((error.field(), error.rule()), ("product_id", &Rule::Blank));
    }
    assert_eq!(
        AllInvoicesQuery::builder("customer-1")
            .build()
            .expect("valid")
            .product_id(),
        DEFAULT_PRODUCT_ID
    );
}

#[test]
fn latest_invoice_query() {
    let query = InvoiceQuery::builder("customer-1").build().expect("valid");
    assert!(query.is_latest());
    assert_eq!((query.product_plan_id(), query.start_date()), (None, None));
    assert_query_golden("latest_invoice_query", &query);
}

#[test]
fn invoice_query_for_start_date() {
    let leap_day = CalendarDate::new(2024, Month::February, 29).expect("a leap day");
    let query = InvoiceQuery::builder("customer-1")
        .product_plan_id("plan-gold")
        .start_date(leap_day)
        .product_id("product-7")
        .skip_cache()
        .build()
        .expect("valid");
    assert!(!query.is_latest());
    assert_eq!(query.product_plan_id(), Some("plan-gold"));
    assert_eq!(query.start_date(), Some(leap_day));
    assert!(query.skip_cache() && !query.skip_payment_status());
    assert_query_golden("invoice_query", &query);
    assert_json_golden("invoice_query", &query);
}

#[test]
fn invoice_response_parses_leniently() {
    let source = fixture("invoice_response");
    let invoice: Invoice = serde_json::from_value(source.clone()).expect("parses");
    assert_eq!(
        invoice.invoice_start_time_in_seconds,
        Some(EpochSeconds::new(1_709_164_800))
    );
    assert_eq!(
        invoice.invoice_end_time_in_seconds,
        Some(EpochSeconds::new(1_711_843_200))
    );
    assert_eq!(invoice.payment_status, Some(PaymentStatus::Settled));
    assert_eq!(invoice.extra["totalBill"]["totalPrice"], 123.45);
    assert_eq!(invoice.extra["invoiceKey"]["day"], 29);
    // Read in any case, written upper case as the Go SDK spells it.
    let mut written = source;
    written["paymentStatus"] = json!("SETTLED");
    assert_eq!(serde_json::to_value(&invoice).expect("serialises"), written);
    assert_eq!(
        serde_json::from_value::<Invoice>(json!({})).expect("parses"),
        Invoice::default()
    );
}

/// Regression: `InvoiceQuery` flattens `AllInvoicesQuery`, and serde hands flattened query
/// values over as strings, so its booleans once failed to parse from its own query string.
#[test]
fn invoice_queries_parse_back_from_their_own_query_string() {
    for (from_cache, with_payment_status) in
        [(true, true), (true, false), (false, true), (false, false)]
    {
        let options = |mut builder: amberflo_types::InvoiceQueryBuilder| {
            if !from_cache {
                builder = builder.skip_cache();
            }
            if !with_payment_status {
                builder = builder.skip_payment_status();
            }
            builder.build().expect("valid")
        };
        let latest = options(InvoiceQuery::builder("customer-1"));
        let dated = options(
            InvoiceQuery::builder("customer-1")
                .product_plan_id("plan-gold")
                .start_date(CalendarDate::new(2023, Month::December, 31).expect("valid")),
        );
        for query in [latest, dated] {
            let text = serde_urlencoded::to_string(&query).expect("serialises");
            let parsed: InvoiceQuery = serde_urlencoded::from_str(&text).expect("parses");
            assert_eq!(parsed, query, "{text}");
        }
    }
    let bad = "customerId=c&productId=1&fromCache=maybe&withPaymentStatus=true&latest=true";
    assert!(serde_urlencoded::from_str::<InvoiceQuery>(bad).is_err());
    let bad = "customerId=c&productId=1&fromCache=True&withPaymentStatus=true";
    assert!(serde_urlencoded::from_str::<AllInvoicesQuery>(bad).is_err());
}

// ---------------------------------------------------------------------------------------------
// A `SystemTime` (or `Duration`) sends exactly what the same `EpochSeconds`/`EpochMillis` sends.

fn at_seconds(seconds: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(seconds)
}

#[test]
fn meter_time_from_system_time_equals_epoch_millis() {
    let by_time = MeterRecord::builder("ApiCalls", 3.0, "customer-1")
        .meter_time(UNIX_EPOCH + Duration::from_millis(1_700_000_000_123))
        .unique_id("3f2b8c1e-7a4d-4e5f-9b6a-0c1d2e3f4a5b")
        .build()
        .expect("valid record");
    assert_eq!(by_time, record_minimal());
    assert_json_golden("ingest_record_minimal", &by_time);
    assert_eq!(
        by_time.meter_time(),
        UNIX_EPOCH + Duration::from_millis(1_700_000_000_123)
    );
    // Sub-millisecond precision is dropped, not rounded.
    let nanos = MeterRecord::builder("m", 1.0, "c")
        .meter_time(UNIX_EPOCH + Duration::from_nanos(1_700_000_000_123_999_999))
        .build()
        .expect("valid record");
    assert_eq!(nanos.meter_time_in_millis(), 1_700_000_000_123);
    // Before 1970 (or 2000): the field's own rule, named.
    let window = Rule::OutOfRange {
        min: amberflo_types::MIN_EPOCH_MILLIS,
        max: amberflo_types::MAX_EPOCH_MILLIS,
    };
    let error = MeterRecord::builder("m", 1.0, "c")
        .meter_time(UNIX_EPOCH - Duration::from_secs(1))
        .build()
        .expect_err("before 1970");
    assert_eq!(
        (error.field(), error.rule()),
        ("meter_time_in_millis", &Rule::NotPositive)
    );
    // Seconds given as milliseconds, and a sentinel: refused by the same rule.
    for wrong_unit in [1_700_000_000, i64::MAX] {
        let error = MeterRecord::builder("m", 1.0, "c")
            .meter_time(EpochMillis::new(wrong_unit))
            .build()
            .expect_err("outside 2000..2100");
        assert_eq!(
            (error.field(), error.rule()),
            ("meter_time_in_millis", &window)
        );
    }
}

#[test]
fn time_range_system_time_constructors_equal_epoch_ones() {
    let since = TimeRange::since(at_seconds(1_700_000_000)).expect("valid");
    assert_eq!(
        since,
        TimeRange::since(EpochSeconds::new(START)).expect("valid")
    );
    let between =
        TimeRange::between(at_seconds(1_700_000_000), at_seconds(1_700_604_800)).expect("valid");
    assert_eq!(
        between,
        TimeRange::between(EpochSeconds::new(START), EpochSeconds::new(END)).expect("valid")
    );
    assert_eq!(between.start_time(), at_seconds(1_700_000_000));
    assert_eq!(between.end_time(), Some(at_seconds(1_700_604_800)));
    assert_eq!(since.end_time(), None);
    let query = |range| {
        UsageQuery::builder(
            "ApiCalls",
            AggregationType::Sum,
            TimeGroupingInterval::Day,
            range,
        )
        .build()
        .expect("valid")
    };
    assert_json_golden("usage_query_minimal", &query(since));

    // `last(d)` starts `d` before now and is open-ended.
    let before = amberflo_types::now_seconds();
    let last_day = TimeRange::last(Duration::from_secs(86_400)).expect("valid");
    let after = amberflo_types::now_seconds();
    assert!((before - 86_400..=after - 86_400).contains(&last_day.start_time_in_seconds()));
    assert_eq!(last_day.end_time_in_seconds(), None);

    // The rules, with the fields named, as for the epoch constructors.
    let window = Rule::OutOfRange {
        min: 1,
        max: amberflo_types::MAX_EPOCH_SECONDS,
    };
    let error = TimeRange::since(UNIX_EPOCH).expect_err("the epoch is 0");
    assert_eq!(
        (error.field(), error.rule()),
        ("start_time_in_seconds", &Rule::NotPositive)
    );
    // Milliseconds given as seconds.
    let error = TimeRange::since(EpochSeconds::new(1_700_000_000_000)).expect_err("year 55,000");
    assert_eq!(
        (error.field(), error.rule()),
        ("start_time_in_seconds", &window)
    );
    let error = TimeRange::last(Duration::from_secs(u64::MAX)).expect_err("before 1970");
    assert_eq!(error.field(), "start_time_in_seconds");
    let error = TimeRange::between(at_seconds(10), at_seconds(10)).expect_err("empty range");
    assert_eq!(
        (error.field(), error.rule()),
        ("end_time_in_seconds", &Rule::EndNotAfterStart)
    );
}

#[test]
fn portal_expiration_time_equals_epoch_milliseconds() {
    let request = CustomerPortalSessionRequest::builder("customer-1")
        .expiration_time(UNIX_EPOCH + Duration::from_millis(1_700_086_400_000))
        .return_url("https://app.example.test/billing")
        .build()
        .expect("valid");
    assert_json_golden("customer_portal_session_request", &request);
    assert_eq!(
        request.expiration_time(),
        Some(UNIX_EPOCH + Duration::from_millis(1_700_086_400_000))
    );
    assert_eq!(
        request.expiration_epoch_milliseconds(),
        Some(1_700_086_400_000)
    );
}

#[test]
fn product_plan_times_equal_epoch_seconds() {
    let payload = CustomerProductPlanPayload::builder("customer-1")
        .product_plan_id("plan-gold")
        .product_id("product-7")
        .start_time(at_seconds(1_700_000_000))
        .end_time(at_seconds(1_700_000_000 + 86_400))
        .build()
        .expect("valid");
    assert_json_golden("customer_product_plan_full", &payload);
    assert_eq!(payload.start_time(), Some(at_seconds(1_700_000_000)));
    assert_eq!(payload.end_time(), Some(at_seconds(1_700_086_400)));
}

#[test]
fn prepaid_order_start_time_equals_epoch_seconds() {
    let order = PrepaidOrderPayload::builder("customer-1")
        .id("order-1")
        .start_time(at_seconds(1_700_000_000))
        .prepaid_price(100.0)
        .build()
        .expect("valid");
    assert_json_golden("prepaid_order_defaults", &order);
    assert_eq!(order.start_time(), at_seconds(1_700_000_000));
}

#[test]
fn prepaid_order_id_defaults_to_a_fresh_uuid_v4() {
    let builder = PrepaidOrderPayload::builder("customer-1")
        .start_time(EpochSeconds::new(START))
        .prepaid_price(1.0);
    let first = builder.clone().build().expect("valid");
    let again = builder.build().expect("valid");
    // Made by `build`: a builder used as a template gives each order its own id.
    assert_ne!(first.id(), again.id());
    let id = first.id();
    assert_eq!(id.len(), 36, "{id}");
    assert_eq!(id.as_bytes()[14], b'4', "version nibble of {id}");
    let other = PrepaidOrderPayload::builder("customer-1")
        .start_time(EpochSeconds::new(START))
        .prepaid_price(1.0)
        .build()
        .expect("valid");
    assert_ne!(other.id(), id);
    assert!(
        !PrepaidOrderPayload::builder("customer-1")
            .start_time(EpochSeconds::new(START))
            .prepaid_price(1.0)
            .external_payment()
            .build()
            .expect("valid")
            .id()
            .is_empty()
    );
}

// ---------------------------------------------------------------------------------------------
// Required builder fields, `Take`, `InvoiceQuery`'s three cases and `CalendarDate`.

fn assert_missing<T: Debug>(result: Result<T, amberflo_types::ValidationError>, field: &str) {
    let error = result.expect_err("a required field is missing");
    assert_eq!((error.field(), error.rule()), (field, &Rule::Missing));
    assert_eq!(error.to_string(), format!("{field} must be set"));
}

#[test]
fn every_required_builder_field_is_missing_until_set() {
    assert_missing(
        CustomerPayload::builder("customer-1").build(),
        "customer_name",
    );
    assert_missing(
        CustomerProductPlanPayload::builder("customer-1").build(),
        "product_plan_id",
    );
    assert_missing(
        PrepaidOrderPayload::builder("customer-1")
            .prepaid_price(1.0)
            .build(),
        "start_time_in_seconds",
    );
    assert_missing(
        PrepaidOrderPayload::builder("customer-1")
            .start_time(at_seconds(1_700_000_000))
            .build(),
        "prepaid_price",
    );
    assert_missing(
        InvoiceQuery::builder("customer-1")
            .product_plan_id("plan-gold")
            .build(),
        "start_date",
    );
    assert_missing(
        InvoiceQuery::builder("customer-1")
            .start_date(CalendarDate::new(2024, Month::March, 1).expect("valid"))
            .build(),
        "product_plan_id",
    );
    // Set but blank is `Blank`, not `Missing`.
    let error = CustomerPayload::builder("customer-1")
        .customer_name(" ")
        .build()
        .expect_err("blank name");
    assert_eq!(
        (error.field(), error.rule()),
        ("customer_name", &Rule::Blank)
    );
    let error = CustomerProductPlanPayload::builder("customer-1")
        .product_plan_id("")
        .build()
        .expect_err("blank plan");
    assert_eq!(
        (error.field(), error.rule()),
        ("product_plan_id", &Rule::Blank)
    );
    let error = PrepaidOrderPayload::builder("customer-1")
        .id("\t")
        .start_time(EpochSeconds::new(START))
        .prepaid_price(1.0)
        .build()
        .expect_err("blank id");
    assert_eq!((error.field(), error.rule()), ("id", &Rule::Blank));
}

#[test]
fn customer_enabled_and_disabled() {
    let name = |builder: amberflo_types::CustomerPayloadBuilder| {
        builder.customer_name("Acme").build().expect("valid")
    };
    assert_eq!(name(CustomerPayload::builder("c")).enabled(), None);
    assert_eq!(
        name(CustomerPayload::builder("c").enabled()).enabled(),
        Some(true)
    );
    assert_eq!(
        name(CustomerPayload::builder("c").disabled()).enabled(),
        Some(false)
    );
    let json =
        serde_json::to_value(name(CustomerPayload::builder("c").enabled())).expect("serialises");
    assert_eq!(json["enabled"], true);
}

#[test]
fn take_largest_and_smallest() {
    let largest = Take::largest(5).expect("valid");
    assert_eq!(
        serde_json::to_value(largest).expect("serialises"),
        json!({"limit": 5, "isAscending": false})
    );
    let smallest = Take::smallest(10).expect("valid");
    assert_eq!(
        serde_json::to_value(smallest).expect("serialises"),
        json!({"limit": 10, "isAscending": true})
    );
    assert_eq!((smallest.limit(), smallest.is_ascending()), (10, true));
    for limit in [0] {
        for result in [Take::largest(limit), Take::smallest(limit)] {
            let error = result.expect_err("not positive");
            assert_eq!((error.field(), error.rule()), ("limit", &Rule::NotPositive));
        }
    }
}

#[test]
fn invoice_query_builder_three_cases() {
    // Neither: the latest invoice.
    let latest = InvoiceQuery::builder("customer-1").build().expect("valid");
    assert!(latest.is_latest());
    assert_query_golden("latest_invoice_query", &latest);
    // Both: that invoice.
    let date = CalendarDate::new(2024, Month::February, 29).expect("valid");
    let dated = InvoiceQuery::builder("customer-1")
        .start_date(date)
        .product_plan_id("plan-gold")
        .build()
        .expect("valid");
    assert!(!dated.is_latest());
    assert_eq!(dated.start_date(), Some(date));
    let text = serde_urlencoded::to_string(&dated).expect("serialises");
    assert!(
        text.contains("productPlanId=plan-gold&year=2024&month=2&day=29"),
        "{text}"
    );
    assert!(!text.contains("latest"), "{text}");
    // One without the other: `Missing`, naming the other (checked above too).
    assert_missing(
        InvoiceQuery::builder("customer-1").start_date(date).build(),
        "product_plan_id",
    );
    // Deserialised queries are validated with the date named after its field.
    let parsed: InvoiceQuery = serde_urlencoded::from_str(
        "customerId=c&productId=1&fromCache=true&withPaymentStatus=true\
         &productPlanId=p&year=2023&month=2&day=29",
    )
    .expect("parses");
    let error = parsed.validate().expect_err("not a date");
    assert_eq!(
        (error.field(), error.rule()),
        ("start_date", &Rule::NotADate)
    );
    assert_eq!(parsed.start_date(), None);
    let parsed: InvoiceQuery = serde_urlencoded::from_str(
        "customerId=c&productId=1&fromCache=true&withPaymentStatus=true\
         &productPlanId=p&year=2023&month=13&day=1",
    )
    .expect("parses");
    assert_eq!(
        parsed.validate().expect_err("bad month").field(),
        "start_date.month"
    );
}

#[test]
fn calendar_dates() {
    let date = |year, month, day| CalendarDate::new(year, month, day).map(|d| d.to_string());
    assert_eq!(date(2024, Month::February, 29), Ok("2024-02-29".to_owned()));
    assert_eq!(date(2000, Month::February, 29), Ok("2000-02-29".to_owned()));
    for year in [1900, 2023, 2100] {
        let error = CalendarDate::new(year, Month::February, 29).expect_err("not a leap year");
        assert_eq!((error.field(), error.rule()), ("date", &Rule::NotADate));
    }
    let error = CalendarDate::new(0, Month::January, 1).expect_err("year 0");
    assert_eq!(
        (error.field(), error.rule()),
        ("date.year", &Rule::OutOfRange { min: 1, max: 9999 })
    );
    let error = Month::try_from(0).expect_err("month 0");
    assert_eq!(
        (error.field(), error.rule()),
        ("month", &Rule::OutOfRange { min: 1, max: 12 })
    );
    let from = |seconds| CalendarDate::from_system_time(at_seconds(seconds)).to_string();
    assert_eq!(from(0), "1970-01-01");
    assert_eq!(from(951_782_400), "2000-02-29");
    assert_eq!(from(1_700_000_000), "2023-11-14");
    assert_eq!(
        CalendarDate::from_system_time(UNIX_EPOCH - Duration::from_secs(86_400 * 365)),
        CalendarDate::new(1970, Month::January, 1).expect("valid")
    );
    let today = CalendarDate::from_system_time(SystemTime::now());
    assert!(today.year() >= 2024);
}

#[test]
fn aggregation_interval_and_period_unit_read_any_case_and_keep_unknown_values() {
    let query: UsageQuery = serde_json::from_value(json!({
        "meterApiName": "ApiCalls", "aggregation": "sum", "timeGroupingInterval": "Fortnight",
        "timeRange": {"startTimeInSeconds": 1_700_000_000}
    }))
    .expect("parses");
    assert_eq!(query.aggregation(), &AggregationType::Sum);
    assert_eq!(
        query.time_grouping_interval(),
        &TimeGroupingInterval::Other("Fortnight".to_owned())
    );
    assert!(query.validate().is_ok());
    let sent = serde_json::to_value(&query).expect("encodes");
    assert_eq!(
        (&sent["aggregation"], &sent["timeGroupingInterval"]),
        (&json!("SUM"), &json!("Fortnight"))
    );
    let period: BillingPeriod =
        serde_json::from_value(json!({"interval": "month", "intervalsCount": 2})).expect("parses");
    assert_eq!(period.unit(), &BillingPeriodUnit::Month);
    let blank = BillingPeriod::new(1, BillingPeriodUnit::from(" ")).expect_err("blank unit");
    assert_eq!((blank.field(), blank.rule()), ("unit", &Rule::Blank));
}
