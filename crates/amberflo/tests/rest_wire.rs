//! Golden wire tests of the rest of the API over `MockTransport`: each call's method, path,
//! query and body exactly, ids in paths percent-encoded (no path injection), and the API
//! retry rules (idempotent calls retried on 408/429/5xx and network errors, creating POSTs
//! never).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use amberflo::types::EpochSeconds;
use std::time::Duration;

use amberflo::mock::{MockReply, MockTransport, RecordedRequest};
use amberflo::types::{
    Address, ApplyPromotionPayload, CustomerFilterMode, CustomerLifecycleStagePayload,
    CustomerPayload, CustomerProductQuery, LifecycleStage, MeterDefinitionPayload, MeterType,
    NotificationType, PageRequest, PaymentStatus, PrepaidOrderPayload, PrepaidPaymentStatusPayload,
    PrepaidPriority, SignalPayload, Take, ThresholdCondition, TimeGroupingInterval, TimeRange,
    UsageCostQuery,
};
use amberflo::{Client, RetryPolicy, StatusCode, TransportError};
use amberflo_batcher::block_on as run;
use serde_json::{Value, json};

fn client(mock: &MockTransport) -> Client {
    Client::builder()
        .api_key("secret-test-key")
        .transport(mock.clone())
        .api_retry_policy(RetryPolicy::new([Duration::from_millis(1); 2]))
        .build()
        .unwrap()
}

/// Runs one call against a mock answering `reply`, and returns the one request it sent.
fn exchange<T: std::fmt::Debug>(
    reply: &Value,
    call: impl FnOnce(&Client) -> Result<T, amberflo::Error>,
) -> RecordedRequest {
    let mock = MockTransport::new();
    mock.push_reply(MockReply::json(200, reply));
    let client = client(&mock);
    call(&client).unwrap();
    let mut requests = mock.take_requests();
    assert_eq!(requests.len(), 1, "one request per call");
    requests.remove(0)
}

fn assert_wire(
    request: &RecordedRequest,
    method: &str,
    path: &str,
    query: Option<&str>,
    body: Option<Value>,
) {
    assert_eq!(request.method, method, "method of {path}");
    assert_eq!(request.uri.host(), Some("app.amberflo.io"));
    assert_eq!(request.path(), path);
    assert_eq!(request.query(), query, "query of {path}");
    match body {
        Some(body) => assert_eq!(
            request.body_json::<Value>().unwrap(),
            body,
            "body of {path}"
        ),
        None => assert!(request.body_text().is_empty(), "{path} has no body"),
    }
    assert_eq!(request.header("x-api-key"), Some("secret-test-key"));
}

const START: i64 = 1_700_000_000;

#[test]
fn usage_cost_posts_the_query_with_page_and_plural_filters() {
    let range =
        TimeRange::between(EpochSeconds::new(START), EpochSeconds::new(START + 86_400)).unwrap();
    let query = UsageCostQuery::builder(TimeGroupingInterval::Day, range)
        .filter("customerId", ["c1", "c2"])
        .group_by(["customerId", "meterApiName"])
        .take(Take::largest(10).unwrap())
        .page(
            PageRequest::builder()
                .number(2)
                .size(50)
                .token("t2")
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let reply = json!({"costList": [], "pageInfo": {"pageNumber": 2, "totalPages": 2}});
    let request = exchange(&reply, |client| run(client.usage_cost().get(&query)));
    assert_wire(
        &request,
        "POST",
        "/payments/cost/usage-cost",
        None,
        Some(json!({
            "productId": "1",
            "timeRange": {"startTimeInSeconds": START, "endTimeInSeconds": START + 86_400},
            "timeGroupingInterval": "DAY",
            "filters": {"customerId": ["c1", "c2"]},
            "groupBy": ["customerId", "meterApiName"],
            "take": {"limit": 10, "isAscending": false},
            "page": {"number": 2, "size": 50, "token": "t2"}
        })),
    );
}

#[test]
fn the_pager_asks_for_each_next_page_and_stops_after_the_last() {
    let mock = MockTransport::new();
    let page = |number: i64, token: Option<&str>| {
        let mut info =
            json!({"pageNumber": number, "pageSize": 1, "totalPages": 3, "totalResults": 3});
        if let Some(token) = token {
            info["pageToken"] = json!(token);
        }
        MockReply::json(
            200,
            &json!({"costList": [{"groupInfos": {"customerId": format!("c{number}")}}], "pageInfo": info}),
        )
    };
    mock.push_replies([page(1, Some("t2")), page(2, Some("t3")), page(3, None)]);
    let client = client(&mock);
    let range = TimeRange::since(EpochSeconds::new(START)).unwrap();
    let query = UsageCostQuery::builder(TimeGroupingInterval::Month, range)
        .page(PageRequest::builder().size(1).build().unwrap())
        .build()
        .unwrap();
    let pages = run(client.usage_cost().pages(&query).collect_all()).unwrap();
    assert_eq!(pages.len(), 3);
    let sent: Vec<Value> = mock
        .requests()
        .iter()
        .map(|request| request.body_json::<Value>().unwrap()["page"].clone())
        .collect();
    assert_eq!(
        sent,
        [
            json!({"size": 1}),
            json!({"number": 2, "size": 1, "token": "t2"}),
            json!({"number": 3, "size": 1, "token": "t3"}),
        ]
    );
}

#[test]
fn a_server_that_repeats_its_page_cannot_loop_the_pager() {
    let mock = MockTransport::new();
    let same =
        json!({"costList": [], "pageInfo": {"pageNumber": 1, "pageSize": 5, "pageToken": "again"}});
    mock.set_default_reply(MockReply::json(200, &same));
    let client = client(&mock);
    let range = TimeRange::since(EpochSeconds::new(START)).unwrap();
    let query = UsageCostQuery::builder(TimeGroupingInterval::Day, range)
        .page(
            PageRequest::builder()
                .token("again")
                .size(5)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let pages = run(client.usage_cost().pages(&query).collect_all()).unwrap();
    assert_eq!(pages.len(), 1);
}

#[test]
fn signal_calls_use_notification_with_the_id_in_the_path() {
    let payload = SignalPayload::builder("High usage", NotificationType::Usage)
        .description("too much")
        .meter_id("m1")
        .threshold(ThresholdCondition::GreaterThan, 1000.5)
        .customer_filter_mode(CustomerFilterMode::SpecificCustomer)
        .customer_id("c1")
        .webhook_url("https://hooks.test/x")
        .enabled()
        .build()
        .unwrap();
    let body = json!({"name": "High usage", "description": "too much", "meterId": "m1",
        "enabled": true, "notificationType": "usage", "thresholdCondition": "greater-than",
        "thresholdValue": 1000.5, "email": [], "webhookUrl": "https://hooks.test/x",
        "customerFilterMode": "specific-customer", "customerId": "c1"});
    let signal = json!({"id": "s/1"});
    let request = exchange(&signal, |client| run(client.signals().create(&payload)));
    assert_wire(&request, "POST", "/notification", None, Some(body.clone()));

    let update = payload.to_builder().id("s/1").build().unwrap();
    let request = exchange(&signal, |client| run(client.signals().update(&update)));
    let mut with_id = body;
    with_id["id"] = json!("s/1");
    assert_wire(&request, "PUT", "/notification", None, Some(with_id));

    let request = exchange(&signal, |client| run(client.signals().get("s/1")));
    assert_wire(&request, "GET", "/notification/s%2F1", None, None);
    let request = exchange(&signal, |client| run(client.signals().delete("../x")));
    assert_wire(&request, "DELETE", "/notification/..%2Fx", None, None);
    let request = exchange(&json!([]), |client| run(client.signals().list()));
    assert_wire(&request, "GET", "/notification", None, None);
}

#[test]
fn promotion_calls() {
    let promotion = json!({"id": "p1"});
    let request = exchange(&json!([promotion]), |client| {
        run(client.promotions().list())
    });
    assert_wire(
        &request,
        "GET",
        "/payments/pricing/amberflo/account-pricing/promotions/list",
        None,
        None,
    );
    let request = exchange(&promotion, |client| run(client.promotions().get("p 1")));
    assert_wire(
        &request,
        "GET",
        "/payments/pricing/amberflo/account-pricing/promotions",
        Some("id=p+1"),
        None,
    );

    let apply = ApplyPromotionPayload::builder("c1")
        .promotion_id("p1")
        .applied_time_range(
            TimeRange::between(EpochSeconds::new(START), EpochSeconds::new(START + 10)).unwrap(),
        )
        .build()
        .unwrap();
    let relation = json!({"id": "r1", "customerId": "c1", "promotionId": "p1"});
    let request = exchange(&relation, |client| run(client.promotions().apply(&apply)));
    assert_wire(
        &request,
        "POST",
        "/payments/pricing/amberflo/customer-promotions",
        None,
        Some(
            json!({"customerId": "c1", "promotionId": "p1", "productId": "1",
            "appliedTimeRange": {"startTimeInSeconds": START, "endTimeInSeconds": START + 10}}),
        ),
    );
    let list = CustomerProductQuery::builder("c1").build().unwrap();
    let request = exchange(&json!([relation]), |client| {
        run(client.promotions().list_applied(&list))
    });
    assert_wire(
        &request,
        "GET",
        "/payments/pricing/amberflo/customer-promotions/list",
        Some("CustomerId=c1&ProductId=1"),
        None,
    );
    let request = exchange(&relation, |client| {
        run(client.promotions().remove("c1", "p1"))
    });
    assert_wire(
        &request,
        "DELETE",
        "/payments/pricing/amberflo/customer-promotions",
        Some("CustomerId=c1&PromotionId=p1"),
        None,
    );
}

#[test]
fn meter_definition_calls() {
    let payload = MeterDefinitionPayload::builder("ApiCalls")
        .label("API calls")
        .meter_type(MeterType::EventDuration)
        .aggregation_dimensions(["region"])
        .dimensions(["region", "tier"])
        .unit("ms")
        .not_used_in_billing()
        .build()
        .unwrap();
    let body = json!({"label": "API calls", "meterApiName": "ApiCalls", "meterType": "event_duration",
        "aggregationDimensions": ["region"], "unit": "ms", "dimensions": ["region", "tier"],
        "useInBilling": false});
    let meter = json!({"id": "m1", "meterApiName": "ApiCalls"});
    let request = exchange(&meter, |client| run(client.meters().create(&payload)));
    assert_wire(&request, "POST", "/meters", None, Some(body.clone()));
    let update = payload.to_builder().id("m1").deprecated().build().unwrap();
    let request = exchange(&meter, |client| run(client.meters().update(&update)));
    let mut updated = body;
    updated["id"] = json!("m1");
    updated["lockingStatus"] = json!("deprecated");
    assert_wire(&request, "PUT", "/meters", None, Some(updated));
    let request = exchange(&meter, |client| run(client.meters().get("ApiCalls")));
    assert_wire(
        &request,
        "GET",
        "/meters",
        Some("meterApiName=ApiCalls"),
        None,
    );
    let request = exchange(&json!([meter]), |client| run(client.meters().list()));
    assert_wire(&request, "GET", "/meters", None, None);
    let request = exchange(&meter, |client| run(client.meters().delete("m1")));
    assert_wire(&request, "DELETE", "/meters/m1", None, None);
}

#[test]
fn customer_delete_and_stage_and_typed_address() {
    let request = exchange(&json!({"customerId": "a/../b"}), |client| {
        run(client.customers().delete("a/../b"))
    });
    assert_wire(&request, "DELETE", "/customers/a%2F..%2Fb", None, None);
    let request = exchange(&json!({"customerId": "x?y"}), |client| {
        run(client.customers().delete("x?y#%"))
    });
    assert_wire(&request, "DELETE", "/customers/x%3Fy%23%25", None, None);
    let stage = CustomerLifecycleStagePayload::new("c1", LifecycleStage::Offboarded).unwrap();
    let request = exchange(&json!({"customerId": "c1"}), |client| {
        run(client.customers().set_lifecycle_stage(&stage))
    });
    assert_wire(
        &request,
        "PUT",
        "/customers/stage",
        None,
        Some(json!({"customerId": "c1", "lifecycleStage": "offboarded"})),
    );

    let payload = CustomerPayload::builder("c1")
        .customer_name("Acme")
        .address(
            Address::builder()
                .line1("1 Main")
                .city("Town")
                .state("CA")
                .postal_code("90000")
                .country("US")
                .build()
                .unwrap(),
        )
        .lifecycle_stage(LifecycleStage::Trial)
        .build()
        .unwrap();
    let request = exchange(&json!({"customerId": "c1"}), |client| {
        run(client.customers().create(&payload))
    });
    assert_wire(
        &request,
        "POST",
        "/customers/",
        None,
        Some(json!({"customerId": "c1", "customerName": "Acme",
        "address": {"line1": "1 Main", "city": "Town", "state": "CA", "postalCode": "90000", "country": "US"},
        "lifecycleStage": "trial"})),
    );
}

#[test]
fn dot_ids_are_refused_before_anything_is_sent() {
    let mock = MockTransport::new();
    let client = client(&mock);
    for id in [".", ".."] {
        assert!(
            run(client.customers().delete(id))
                .unwrap_err()
                .validation()
                .is_some()
        );
        assert!(
            run(client.signals().get(id))
                .unwrap_err()
                .validation()
                .is_some()
        );
        assert!(
            run(client.meters().delete(id))
                .unwrap_err()
                .validation()
                .is_some()
        );
    }
    assert_eq!(mock.request_count(), 0);
}

#[test]
fn prepaid_delete_and_external_payment_status() {
    let request = exchange(&json!({"id": "o1"}), |client| {
        run(client.prepaid_orders().delete("c1", "o1"))
    });
    assert_wire(
        &request,
        "DELETE",
        "/payments/pricing/amberflo/customer-prepaid",
        Some("Id=o1&CustomerId=c1"),
        None,
    );
    let status = PrepaidPaymentStatusPayload::builder("o1")
        .payment_status(PaymentStatus::Pending)
        .system_name("stripe")
        .build()
        .unwrap();
    let request = exchange(&json!({}), |client| {
        run(client.prepaid_orders().report_external_payment(&status))
    });
    assert_wire(
        &request,
        "POST",
        "/payments/external/prepaid-payment-status",
        None,
        Some(json!({"prepaidUri": "o1", "paymentStatus": "PENDING", "systemName": "stripe"})),
    );

    let order = PrepaidOrderPayload::builder("c1")
        .id("o1")
        .start_time(EpochSeconds::new(START))
        .prepaid_price(10.0)
        .label("L")
        .custom_priority(2.5)
        .prepaid_priority(PrepaidPriority::Lowest)
        .original_currency("EUR")
        .build()
        .unwrap();
    let request = exchange(&json!({"id": "o1"}), |client| {
        run(client.prepaid_orders().create(&order))
    });
    let body: Value = request.body_json().unwrap();
    assert_eq!(
        (
            &body["label"],
            &body["customPriority"],
            &body["prepaidPriority"],
            &body["originalCurrency"]
        ),
        (
            &json!("L"),
            &json!(2.5),
            &json!("LOWEST_PRIORITY"),
            &json!("EUR")
        )
    );
}

#[test]
fn idempotent_calls_retry_on_retryable_failures_within_the_budget() {
    let mock = MockTransport::new();
    let client = client(&mock);
    mock.push_replies([
        MockReply::status(503),
        MockReply::status(429).with_header("retry-after", "0"),
        MockReply::json(200, &json!([])),
    ]);
    assert!(run(client.signals().list()).unwrap().is_empty());
    assert_eq!(mock.take_requests().len(), 3);

    mock.push_replies([
        MockReply::error(TransportError::connect(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "refused",
        ))),
        MockReply::json(200, &json!({"customerId": "c"})),
    ]);
    run(client.customers().delete("c")).unwrap();
    assert_eq!(mock.take_requests().len(), 2, "a network error is retried");

    mock.set_default_reply(MockReply::status(500));
    let error = run(client.meters().list()).unwrap_err();
    assert_eq!(error.status(), Some(StatusCode::INTERNAL_SERVER_ERROR));
    assert_eq!(mock.take_requests().len(), 3, "one try and two retries");

    mock.reset();
    mock.push_reply(MockReply::status(400).with_body("bad"));
    assert!(run(client.meters().list()).is_err());
    assert_eq!(mock.take_requests().len(), 1, "a 400 is not retried");
}

#[test]
fn puts_are_retried_on_retryable_failures() {
    let mock = MockTransport::new();
    let client = client(&mock);
    mock.push_replies([
        MockReply::status(503),
        MockReply::json(200, &json!({"id": "m1", "meterApiName": "m"})),
    ]);
    let meter = MeterDefinitionPayload::builder("m")
        .id("m1")
        .label("m")
        .meter_type(MeterType::ActiveUsers)
        .build()
        .unwrap();
    let updated = run(client.meters().update(&meter)).unwrap();
    assert_eq!(updated.id, "m1");
    let requests = mock.take_requests();
    assert_eq!(requests.len(), 2, "the 503 is retried");
    assert!(requests.iter().all(|request| request.method == "PUT"));
    assert_eq!(
        requests[0].body_text(),
        requests[1].body_text(),
        "the same body"
    );

    mock.push_replies([
        MockReply::status(503),
        MockReply::json(
            200,
            &json!({"customerId": "c1", "lifecycleStage": "active"}),
        ),
    ]);
    let stage = CustomerLifecycleStagePayload::new("c1", LifecycleStage::Active).unwrap();
    let customer = run(client.customers().set_lifecycle_stage(&stage)).unwrap();
    assert_eq!(customer.lifecycle_stage, Some(LifecycleStage::Active));
    assert_eq!(mock.take_requests().len(), 2, "the 503 is retried");
}

#[test]
fn creating_posts_are_never_retried() {
    let mock = MockTransport::new();
    let client = client(&mock);
    mock.set_default_reply(MockReply::status(503));
    let signal = SignalPayload::builder("s", NotificationType::Invoice)
        .build()
        .unwrap();
    assert!(run(client.signals().create(&signal)).is_err());
    let meter = MeterDefinitionPayload::builder("m")
        .label("m")
        .meter_type(MeterType::ActiveUsers)
        .build()
        .unwrap();
    assert!(run(client.meters().create(&meter)).is_err());
    let apply = ApplyPromotionPayload::builder("c")
        .promotion_id("p")
        .build()
        .unwrap();
    assert!(run(client.promotions().apply(&apply)).is_err());
    assert_eq!(mock.take_requests().len(), 3, "one attempt each");

    let no_retries = Client::builder()
        .api_key("k")
        .transport(mock.clone())
        .api_retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    assert!(run(no_retries.meters().list()).is_err());
    assert_eq!(
        mock.take_requests().len(),
        1,
        "RetryPolicy::none turns API retries off"
    );
}
