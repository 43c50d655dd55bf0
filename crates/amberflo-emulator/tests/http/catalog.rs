//! The rest of the API at the HTTP level: strict validation (400 with a message naming the
//! field) of usage cost, signals, promotions, meters, lifecycle stage and prepaid calls, the
//! control routes for prices and promotions, and usage cost computed from ingested records.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{Harness, JAN_1_2024, error_of, record};

async fn bad_request(harness: &Harness, method: Method, path: &str, body: &Value) -> String {
    let (status, message) = error_of(harness.send_json(method, path, body).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {message}");
    message
}

#[tokio::test]
async fn bad_payloads_get_400_naming_the_field() {
    let harness = Harness::new();
    let range = json!({"startTimeInSeconds": JAN_1_2024, "endTimeInSeconds": JAN_1_2024 + 86_400});
    let cases = [
        (
            Method::POST,
            "/payments/cost/usage-cost",
            json!({"timeRange": range, "timeGroupingInterval": "DAY", "groupBy": []}),
            "group_by",
        ),
        (
            Method::POST,
            "/payments/cost/usage-cost",
            json!({"timeRange": range, "timeGroupingInterval": "DAY", "page": {"size": 0}}),
            "page.size",
        ),
        (
            Method::POST,
            "/payments/cost/usage-cost",
            json!({"timeRange": range}),
            "timeGroupingInterval",
        ),
        (
            Method::POST,
            "/notification",
            json!({"name": " ", "notificationType": "usage", "email": []}),
            "name",
        ),
        (
            Method::POST,
            "/notification",
            json!({"name": "s", "notificationType": "usage", "email": [""]}),
            "email.0",
        ),
        (
            Method::POST,
            "/notification",
            json!({"id": "x", "name": "s", "notificationType": "usage", "email": []}),
            "id",
        ),
        (
            Method::PUT,
            "/notification",
            json!({"name": "s", "notificationType": "usage", "email": []}),
            "id",
        ),
        (
            Method::POST,
            "/meters",
            json!({"label": "", "meterApiName": "m", "meterType": "sum_of_all_usage"}),
            "label",
        ),
        (
            Method::POST,
            "/meters",
            json!({"label": "l", "meterApiName": "m"}),
            "meterType",
        ),
        (
            Method::PUT,
            "/customers/stage",
            json!({"customerId": "c", "lifecycleStage": " "}),
            "lifecycle_stage",
        ),
        (
            Method::POST,
            "/payments/pricing/amberflo/customer-promotions",
            json!({"customerId": "c", "promotionId": " ", "productId": "1"}),
            "promotion_id",
        ),
        (
            Method::POST,
            "/payments/external/prepaid-payment-status",
            json!({"prepaidUri": "o", "paymentStatus": "SETTLED", "paymentTimeInSeconds": 0}),
            "payment_time_in_seconds",
        ),
    ];
    for (method, path, body, field) in cases {
        let message = bad_request(&harness, method, path, &body).await;
        assert!(
            message.contains(field),
            "{path}: {message:?} should name {field}"
        );
    }
    let (status, message) = error_of(
        harness
            .request(
                Method::DELETE,
                "/payments/pricing/amberflo/customer-prepaid?CustomerId=c",
            )
            .send()
            .await
            .expect("sent"),
    )
    .await;
    assert_eq!(
        (status, message.as_str()),
        (StatusCode::BAD_REQUEST, "Id must be set")
    );
    let (status, message) = error_of(
        harness
            .request(
                Method::DELETE,
                "/payments/pricing/amberflo/customer-promotions?Id=p",
            )
            .send()
            .await
            .expect("sent"),
    )
    .await;
    assert_eq!(
        (status, message.as_str()),
        (StatusCode::BAD_REQUEST, "customer_id must not be blank")
    );
    let (status, _) = error_of(
        harness
            .request(Method::GET, "/meters/m1")
            .send()
            .await
            .expect("sent"),
    )
    .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn control_routes_set_prices_and_promotions_and_cost_follows_the_records() {
    let harness = Harness::new();
    let prices = harness
        .send_json(
            Method::POST,
            "/_emulator/prices",
            &json!({"ApiCalls": 0.5, "Storage": 2}),
        )
        .await;
    assert_eq!(prices.status(), StatusCode::OK);
    let body: Value = prices.json().await.expect("json");
    assert_eq!(body, json!({"ApiCalls": 0.5, "Storage": 2.0}));
    let (status, message) = error_of(
        harness
            .send_json(Method::POST, "/_emulator/prices", &json!({"ApiCalls": -1}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message.contains("prices.ApiCalls"), "{message}");

    let promotion = harness
        .send_json(
            Method::POST,
            "/_emulator/promotions",
            &json!({"id": "launch", "promotionName": "Launch"}),
        )
        .await;
    assert_eq!(promotion.status(), StatusCode::OK);
    let listed: Value = harness
        .get("/payments/pricing/amberflo/account-pricing/promotions/list")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(listed[0]["promotionName"], "Launch");

    let records = [
        record("ApiCalls", 4.0, "c1", JAN_1_2024 + 10),
        record("ApiCalls", 2.0, "c1", JAN_1_2024 + 3600),
        record("Storage", 3.0, "c2", JAN_1_2024 + 20),
        record("Unpriced", 100.0, "c2", JAN_1_2024 + 30),
    ];
    assert_eq!(harness.ingest(&records).await.status(), StatusCode::OK);
    let query = json!({"productId": "1",
        "timeRange": {"startTimeInSeconds": JAN_1_2024, "endTimeInSeconds": JAN_1_2024 + 7200},
        "timeGroupingInterval": "HOUR", "groupBy": ["meterApiName"],
        "filters": {"customerId": ["c1", "c2"]}});
    let report: Value = harness
        .send_json(Method::POST, "/payments/cost/usage-cost", &query)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        report["secondsSinceEpochIntervals"],
        json!([JAN_1_2024, JAN_1_2024 + 3600])
    );
    let groups = report["costList"].as_array().expect("list");
    let summary: Vec<(String, f64, f64)> = groups
        .iter()
        .map(|group| {
            (
                group["groupInfos"]["meterApiName"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                group["meteredUnits"].as_f64().unwrap_or_default(),
                group["price"].as_f64().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("ApiCalls".to_owned(), 6.0, 3.0),
            ("Storage".to_owned(), 3.0, 6.0),
            ("Unpriced".to_owned(), 100.0, 0.0),
        ]
    );
    let api_calls = &groups[0]["costs"];
    assert_eq!(api_calls[0]["price"], 2.0);
    assert_eq!(api_calls[1]["price"], 1.0);
    assert_eq!(api_calls[1]["pricePercentageDiff"], -50.0);
    assert_eq!(
        report["pageInfo"],
        json!({"pageNumber": 1, "pageSize": 3, "pageToken": "", "totalPages": 1, "totalResults": 3})
    );
}
