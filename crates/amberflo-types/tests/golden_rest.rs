//! Golden wire tests of the rest of the API's models, compared with the field names of
//! DESIGN.md section 1b (the official Go SDK): request JSON exactly (optional fields omitted,
//! never `null`), query strings exactly, responses parsed leniently (unknown fields kept, the
//! fields a reply cannot do without required), and open enums round-tripping values the
//! server adds later.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use amberflo_types::EpochMillis;
use amberflo_types::{
    Address, ApplyPromotionPayload, CostGroup, CustomerFilterMode, CustomerLifecycleStagePayload,
    CustomerProductQuery, CustomerPromotion, DeletePrepaidOrderQuery, EpochSeconds, LifecycleStage,
    LockingStatus, MeterDefinition, MeterDefinitionPayload, MeterDefinitionQuery, MeterRecord,
    MeterType, NotificationType, PageRequest, PaymentStatus, PrepaidOrder,
    PrepaidPaymentStatusPayload, PrepaidPriority, Promotion, PromotionQuery, RemovePromotionQuery,
    Rule, Signal, SignalPayload, SignalRange, Take, ThresholdCondition, TimeGroupingInterval,
    TimeRange, UsageCostQuery, UsageCostReport,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

const START: i64 = 1_700_000_000;

/// Serialises exactly to `expected`, and `expected` parses back to the same value.
fn golden<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(
    ours: &T,
    expected: Value,
) {
    assert_eq!(serde_json::to_value(ours).unwrap(), expected);
    assert_eq!(&serde_json::from_value::<T>(expected).unwrap(), ours);
}

fn query<T: Serialize>(ours: &T) -> String {
    serde_urlencoded::to_string(ours).unwrap()
}

#[test]
fn usage_cost_query_minimal_and_full() {
    let range =
        TimeRange::between(EpochSeconds::new(START), EpochSeconds::new(START + 3600)).unwrap();
    let minimal = UsageCostQuery::builder(TimeGroupingInterval::Hour, range)
        .build()
        .unwrap();
    golden(
        &minimal,
        json!({"productId": "1", "timeRange": {"startTimeInSeconds": START, "endTimeInSeconds": START + 3600},
            "timeGroupingInterval": "HOUR"}),
    );
    let full = UsageCostQuery::builder(TimeGroupingInterval::Month, range)
        .product_id("2")
        .filter("region", ["eu"])
        .group_by(["customerId"])
        .take(Take::smallest(3).unwrap())
        .page(PageRequest::builder().number(1).size(10).build().unwrap())
        .build()
        .unwrap();
    golden(
        &full,
        json!({"productId": "2", "timeRange": {"startTimeInSeconds": START, "endTimeInSeconds": START + 3600},
            "timeGroupingInterval": "MONTH", "filters": {"region": ["eu"]}, "groupBy": ["customerId"],
            "take": {"limit": 3, "isAscending": true}, "page": {"number": 1, "size": 10}}),
    );
    let error = UsageCostQuery::builder(TimeGroupingInterval::Day, range)
        .page(PageRequest::builder().number(0).build().unwrap_or_default())
        .filter("region", Vec::<String>::new())
        .build()
        .unwrap_err();
    assert_eq!(
        (error.field(), error.rule()),
        ("filters.region", &Rule::EmptyList)
    );
}

#[test]
fn usage_cost_report_parses_every_documented_field_and_keeps_unknown_ones() {
    let report: UsageCostReport = serde_json::from_value(json!({
        "key": {"productId": "1", "timeGroupingInterval": "day",
            "timeRange": {"startTimeInSeconds": START}, "groupBy": ["customerId"]},
        "secondsSinceEpochIntervals": [START],
        "costList": [{"groupInfos": {"customerId": "c1"}, "meteredUnits": 10, "price": 2.5,
            "priceBeforeDiscounts": 3, "prepaidUsed": 0.5, "priceMinusPrepaid": 2,
            "payAsYouGoPromotionUsed": 0.1, "nonPayAsYouGoPromotionUsed": 0.2,
            "priceAfterPayAsYouGoPromotion": 2.4, "priceAfterNonPayAsYouGoPromotion": 2.3,
            "costs": [{"startTimeInSeconds": START, "meteredUnits": 10, "price": 2.5,
                "pricePercentageDiff": 0, "meterUnitsPercentageDiff": 0, "priceBeforeDiscounts": 3,
                "prepaidUsed": 0.5, "payAsYouGoPromotionUsed": 0.1, "currency": "USD"}],
            "newField": 1}],
        "pageInfo": {"pageNumber": 1, "pageSize": 1, "pageToken": "t", "totalPages": 2, "totalResults": 2},
        "other": true
    }))
    .unwrap();
    let group: &CostGroup = &report.cost_list[0];
    assert_eq!(group.price_after_non_pay_as_you_go_promotion, 2.3);
    assert_eq!(group.costs[0].extra["currency"], "USD");
    assert_eq!(group.extra["newField"], 1);
    assert_eq!(report.extra["other"], true);
    assert_eq!(report.page_info.as_ref().unwrap().total_results, Some(2));
    let key = report.key.as_ref().unwrap();
    assert_eq!(key.group_by(), Some(&["customerId".to_owned()][..]));
    // Every field of the Go SDK's `UsageCosts` is `omitempty`: an empty page has no `costList`.
    let empty = serde_json::from_value::<UsageCostReport>(json!({"pageInfo": {}})).unwrap();
    assert!(empty.cost_list.is_empty());
    // A key in a shape this SDK does not read leaves the page readable.
    let odd = serde_json::from_value::<UsageCostReport>(json!({"key": "k", "costList": []}));
    assert_eq!(odd.unwrap().key, None);
    let no_start =
        serde_json::from_value::<UsageCostReport>(json!({"costList": [{"costs": [{}]}]}))
            .unwrap_err();
    assert!(
        no_start.to_string().contains("startTimeInSeconds"),
        "{no_start}"
    );
}

#[test]
fn signal_payload_and_response() {
    let payload = SignalPayload::builder("Low prepaid", NotificationType::Prepaid)
        .range(SignalRange::Month)
        .cron("0 * * * *")
        .frequency("hourly")
        .threshold(ThresholdCondition::LessThanPercent, 10.0)
        .email("a@x.test")
        .email("b@x.test")
        .webhook_url("https://h.test")
        .webhook_header("X", "1")
        .webhook_header("Y", "2")
        .webhook_payload("{}")
        .customer_filter_mode(CustomerFilterMode::AllCustomers)
        .product_plan_id("plan")
        .disabled()
        .build()
        .unwrap();
    golden(
        &payload,
        json!({"name": "Low prepaid", "range": "month", "cron": "0 * * * *", "enabled": false,
            "frequency": "hourly", "notificationType": "prepaid", "thresholdCondition": "less-than-percent",
            "thresholdValue": 10, "email": ["a@x.test", "b@x.test"], "webhookUrl": "https://h.test",
            "webhookHeaders": "{\"X\":\"1\",\"Y\":\"2\"}", "webhookPayload": "{}", "customerFilterMode": "*",
            "productPlanId": "plan"}),
    );
    let error = SignalPayload::builder("s", NotificationType::Usage)
        .email(" ")
        .build()
        .unwrap_err();
    assert_eq!((error.field(), error.rule()), ("email.0", &Rule::Blank));
    let error = SignalPayload::builder("s", NotificationType::Usage)
        .threshold(ThresholdCondition::LessThan, f64::NAN)
        .build()
        .unwrap_err();
    assert_eq!(
        (error.field(), error.rule()),
        ("threshold_value", &Rule::NotFinite)
    );
    let error = SignalPayload::builder("s", NotificationType::Other(" ".into()))
        .build()
        .unwrap_err();
    assert_eq!(
        (error.field(), error.rule()),
        ("notification_type", &Rule::Blank)
    );

    let numeric: Signal = serde_json::from_value(json!({"id": "s1", "range": 30})).unwrap();
    assert_eq!(numeric.range, Some(SignalRange::Other("30".to_owned())));
    let object: Signal =
        serde_json::from_value(json!({"id": "s1", "webhookHeaders": {"X": "1"}})).unwrap();
    assert_eq!(object.webhook_headers.unwrap()["X"], "1");
    let signal: Signal = serde_json::from_value(json!({"id": "s1", "name": "n", "range": "week",
        "webhookHeaders": "{\"Authorization\":\"Bearer x\"}",
        "createTime": 1, "notificationType": "undefined-meter", "thresholdCondition": "percent-change",
        "customerFilterMode": "per-customer", "extraThing": [1]}))
    .unwrap();
    assert_eq!(signal.range, Some(SignalRange::Week));
    assert_eq!(
        signal
            .webhook_headers
            .as_ref()
            .map(|h| h["Authorization"].as_str()),
        Some("Bearer x")
    );
    let unset: Signal = serde_json::from_value(json!({"id": "s1", "webhookHeaders": ""})).unwrap();
    assert_eq!(unset.webhook_headers, None);
    let broken = serde_json::from_value::<Signal>(json!({"id": "s1", "webhookHeaders": "X: 1"}));
    assert!(
        broken
            .unwrap_err()
            .to_string()
            .contains("webhookHeaders must be a JSON object")
    );
    let error = SignalPayload::builder("s", NotificationType::Usage)
        .webhook_header("X", " ")
        .build()
        .unwrap_err();
    assert_eq!(
        (error.field(), error.rule()),
        ("webhook_headers.X", &Rule::Blank)
    );
    assert_eq!(
        signal.notification_type,
        Some(NotificationType::UndefinedMeter)
    );
    assert_eq!(signal.extra["extraThing"], json!([1]));
    assert!(serde_json::from_value::<Signal>(json!({"name": "n"})).is_err());
}

#[test]
fn open_enums_round_trip_values_the_server_adds_later() {
    fn round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(known: &[&str]) {
        for text in known.iter().copied().chain(["added-later"]) {
            let value: T = serde_json::from_value(json!(text)).unwrap();
            assert_eq!(serde_json::to_value(&value).unwrap(), json!(text));
        }
    }
    round_trip::<NotificationType>(NotificationType::KNOWN);
    round_trip::<ThresholdCondition>(ThresholdCondition::KNOWN);
    round_trip::<CustomerFilterMode>(CustomerFilterMode::KNOWN);
    round_trip::<LifecycleStage>(LifecycleStage::KNOWN);
    round_trip::<PaymentStatus>(PaymentStatus::KNOWN);
    round_trip::<MeterType>(MeterType::KNOWN);
    round_trip::<PrepaidPriority>(PrepaidPriority::KNOWN);
    assert_eq!(NotificationType::KNOWN.len(), 8);
    assert_eq!(
        serde_json::from_value::<PaymentStatus>(json!("REFUNDED")).unwrap(),
        PaymentStatus::Other("REFUNDED".into())
    );
    assert!(PaymentStatus::from("REFUNDED").is_other());
    assert!(!PaymentStatus::from("SETTLED").is_other());
}

#[test]
fn promotion_payloads_queries_and_responses() {
    let apply = ApplyPromotionPayload::builder("c1")
        .promotion_id("p1")
        .product_id("2")
        .build()
        .unwrap();
    golden(
        &apply,
        json!({"customerId": "c1", "promotionId": "p1", "productId": "2"}),
    );
    assert_eq!(query(&PromotionQuery::new("p1").unwrap()), "id=p1");
    assert_eq!(
        query(
            &CustomerProductQuery::builder("c1")
                .product_id("2")
                .build()
                .unwrap()
        ),
        "CustomerId=c1&ProductId=2"
    );
    assert_eq!(
        query(&RemovePromotionQuery::new("c1", "p1").unwrap()),
        "CustomerId=c1&PromotionId=p1"
    );
    let applied: CustomerPromotion = serde_json::from_value(json!({"id": "r", "customerId": "c1",
        "promotionId": "p1", "productId": "1", "appliedTimeInSeconds": START,
        "addedTimeInSeconds": START, "removedTimeInSeconds": START + 1, "relationId": "rel",
        "priority": 1, "entityProductInvoices": [{}], "amountLeftInCycle": 5.5, "totalAmountLeft": 9,
        "x": 1}))
    .unwrap();
    assert_eq!(applied.total_amount_left, Some(9.0));
    assert_eq!(
        applied.applied_time_in_seconds,
        Some(EpochSeconds::new(START))
    );
    assert_eq!(applied.id.as_deref(), Some("r"));
    // The Go SDK's `CustomerAppliedPromotion` has no `id`.
    let go: CustomerPromotion =
        serde_json::from_value(json!({"customerId": "c1", "relationId": "rel"})).unwrap();
    assert_eq!((go.id, go.relation_id.as_deref()), (None, Some("rel")));
    let promotion: Promotion =
        serde_json::from_value(json!({"id": "p", "type": "discount"})).unwrap();
    assert_eq!(promotion.extra["type"], "discount");
}

#[test]
fn customer_lifecycle_and_address() {
    golden(
        &CustomerLifecycleStagePayload::new("c1", LifecycleStage::Onboarding).unwrap(),
        json!({"customerId": "c1", "lifecycleStage": "onboarding"}),
    );
    golden(
        &Address::builder()
            .line1("l")
            .city("c")
            .state("s")
            .postal_code("p")
            .country("US")
            .build()
            .unwrap(),
        json!({"line1": "l", "city": "c", "state": "s", "postalCode": "p", "country": "US"}),
    );
}

#[test]
fn prepaid_delete_query_payment_status_and_order_fields() {
    assert_eq!(
        query(&DeletePrepaidOrderQuery::new("c1", "o1").unwrap()),
        "Id=o1&CustomerId=c1"
    );
    let status = PrepaidPaymentStatusPayload::builder("uri")
        .payment_status(PaymentStatus::Failed)
        .payment_time(std::time::UNIX_EPOCH + std::time::Duration::from_secs(START as u64))
        .build()
        .unwrap();
    golden(
        &status,
        json!({"prepaidUri": "uri", "paymentStatus": "FAILED", "paymentTimeInSeconds": START}),
    );
    let order: PrepaidOrder =
        serde_json::from_value(json!({"id": "o", "label": "L", "customPriority": 3,
        "prepaidPriority": "HIGHEST_PRIORITY", "originalCurrency": "USD", "createTimeInSeconds": 1,
        "modifiedTimeInSeconds": 2}))
        .unwrap();
    assert_eq!(order.prepaid_priority, Some(PrepaidPriority::Highest));
    assert_eq!(order.modified_time_in_seconds, Some(EpochSeconds::new(2)));
}

#[test]
fn meter_definitions() {
    let payload = MeterDefinitionPayload::builder("Storage")
        .id("m1")
        .label("Storage")
        .meter_type(MeterType::Other("gauge".into()))
        .locking_status(LockingStatus::from("locked"))
        .build()
        .unwrap();
    golden(
        &payload,
        json!({"id": "m1", "label": "Storage", "meterApiName": "Storage", "meterType": "gauge",
        "lockingStatus": "locked"}),
    );
    assert_eq!(
        query(&MeterDefinitionQuery::new("Storage").unwrap()),
        "meterApiName=Storage"
    );
    let error = MeterDefinitionPayload::builder("m")
        .label("m")
        .meter_type(MeterType::ActiveUsers)
        .dimensions(["ok", ""])
        .build()
        .unwrap_err();
    assert_eq!(
        (error.field(), error.rule()),
        ("dimensions.1", &Rule::Blank)
    );
    let meter: MeterDefinition =
        serde_json::from_value(json!({"id": "m1", "meterApiName": "Storage",
        "meterType": "active_users", "lockingStatus": "deprecated", "createdBy": "x"}))
        .unwrap();
    assert!(meter.is_deprecated());
    assert_eq!(meter.extra["createdBy"], "x");
    assert!(serde_json::from_value::<MeterDefinition>(json!({"meterApiName": "x"})).is_err());
}

#[test]
fn cancelling_a_record_adds_the_go_sdk_dimension() {
    let record = MeterRecord::builder("ApiCalls", 1.0, "c1")
        .unique_id("u1")
        .meter_time(EpochMillis::new(START * 1000))
        .dimension("region", "eu")
        .cancel_previous()
        .build()
        .unwrap();
    assert_eq!(
        serde_json::to_value(&record).unwrap(),
        json!({"uniqueId": "u1", "meterApiName": "ApiCalls", "meterValue": 1, "customerId": "c1",
            "meterTimeInMillis": START * 1000,
            "dimensions": {"aflo.cancel_previous_resource_event": "true", "region": "eu"}})
    );
    assert!(record.cancels_previous());
}

/// A signal's `webhookHeaders` text becomes a map: what that map takes is charged to the
/// decode budget of the call (so an answer cannot hide many headers in text), and text over
/// 1 MiB is refused.
#[test]
fn webhook_headers_in_text_are_charged_to_the_decode_budget() {
    use amberflo_types::{Signal, decode_budget};

    let headers: Vec<String> = (0..1000).map(|i| format!(r#"\"h{i}\":\"\""#)).collect();
    let json = format!(
        r#"{{"id":"s1","webhookHeaders":"{{{}}}"}}"#,
        headers.join(",")
    );
    let signal: Signal = serde_json::from_str(&json).unwrap();
    assert_eq!(signal.webhook_headers.map(|h| h.len()), Some(1000));
    let refused = decode_budget::scoped(json.len() * 4, || serde_json::from_str::<Signal>(&json));
    let error = refused.unwrap_err().to_string();
    assert!(error.contains("decode budget"), "{error}");
    let roomy = decode_budget::scoped(1 << 20, || serde_json::from_str::<Signal>(&json));
    assert!(roomy.is_ok());
    let long = format!(
        r#"{{"id":"s1","webhookHeaders":"{}"}}"#,
        "x".repeat((1 << 20) + 1)
    );
    let error = serde_json::from_str::<Signal>(&long)
        .unwrap_err()
        .to_string();
    assert!(error.contains("longer than 1048576 bytes"), "{error}");
}
