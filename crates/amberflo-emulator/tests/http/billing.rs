//! Product plans, prepaid orders and emulated invoices (`/payments/...`).

use amberflo_types::{
    CustomerProductPlan, CustomerProductPlanPayload, EpochSeconds, Invoice, PaymentStatus,
    PrepaidOrder, PrepaidOrderPayload,
};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::{Harness, error_of, record};

const PRICING: &str = "/payments/pricing/amberflo/customer-pricing";
const PREPAID: &str = "/payments/pricing/amberflo/customer-prepaid";
const INVOICE: &str = "/payments/billing/customer-product-invoice";

/// 2023-10-15T00:00:00Z.
const OCT_15_2023: i64 = 1_697_328_000;

#[tokio::test]
async fn product_plans() {
    let harness = Harness::new();
    let none = harness.get(&format!("{PRICING}?CustomerId=c1")).await;
    assert_eq!(none.status(), StatusCode::NOT_FOUND);
    for plan in ["basic", "pro"] {
        let payload = CustomerProductPlanPayload::builder("c1")
            .product_plan_id(plan)
            .build()
            .expect("valid plan");
        let response = harness.send_json(Method::POST, PRICING, &payload).await;
        assert_eq!(response.status(), StatusCode::OK);
        let created: CustomerProductPlan = response.json().await.expect("plan");
        assert_eq!(created.product_id, "1");
        assert!(
            created.start_time_in_seconds.is_some(),
            "start defaults to now"
        );
    }
    let latest: CustomerProductPlan = harness
        .get(&format!("{PRICING}?CustomerId=c1"))
        .await
        .json()
        .await
        .expect("plan");
    assert_eq!(latest.product_plan_id, "pro");
    let list: Vec<CustomerProductPlan> = harness
        .get(&format!("{PRICING}/list?CustomerId=c1"))
        .await
        .json()
        .await
        .expect("plans");
    assert_eq!(list.len(), 2);

    let (status, message) = error_of(harness.get(&format!("{PRICING}/list")).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(message, "customer_id must not be blank");
    let bad = json!({"customerId": "c1", "productPlanId": "p", "startTimeInSeconds": 1000,
                     "endTimeInSeconds": 2000});
    let (status, message) = error_of(harness.send_json(Method::POST, PRICING, &bad).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        message,
        "end_time_in_seconds must be at least 86400 seconds after start"
    );
}

#[tokio::test]
async fn prepaid_orders() {
    let harness = Harness::new();
    let order = PrepaidOrderPayload::builder("c1")
        .id("o1")
        .start_time(EpochSeconds::new(OCT_15_2023))
        .prepaid_price(50.0)
        .build()
        .expect("valid order");
    let response = harness.send_json(Method::POST, PREPAID, &order).await;
    assert_eq!(response.status(), StatusCode::OK);
    let created: PrepaidOrder = response.json().await.expect("order");
    assert_eq!(
        (created.id.as_str(), created.prepaid_price),
        ("o1", Some(50.0))
    );
    let again = harness.send_json(Method::POST, PREPAID, &order).await;
    assert_eq!(error_of(again).await.0, StatusCode::CONFLICT);
    let other_product = PrepaidOrderPayload::builder("c1")
        .id("o2")
        .start_time(EpochSeconds::new(OCT_15_2023))
        .prepaid_price(5.0)
        .product_id("2")
        .build()
        .expect("valid order");
    harness
        .send_json(Method::POST, PREPAID, &other_product)
        .await;

    let listed: Vec<PrepaidOrder> = harness
        .get(&format!("{PREPAID}/list?CustomerId=c1&ProductId=1"))
        .await
        .json()
        .await
        .expect("orders");
    assert_eq!(listed.len(), 1);
    let listed: Vec<PrepaidOrder> = harness
        .get(&format!("{PREPAID}/list?CustomerId=c1&ProductId=2"))
        .await
        .json()
        .await
        .expect("orders");
    assert_eq!(listed[0].id, "o2");

    let mut bad = serde_json::to_value(&order).expect("json");
    bad["prepaidPrice"] = json!(0);
    let (status, message) = error_of(harness.send_json(Method::POST, PREPAID, &bad).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(message, "prepaid_price must be greater than 0");
}

#[tokio::test]
async fn invoices_from_plan_and_usage() {
    let harness = Harness::new();
    let plan = CustomerProductPlanPayload::builder("c1")
        .product_plan_id("pro")
        .start_time(EpochSeconds::new(OCT_15_2023))
        .build()
        .expect("valid plan");
    harness.send_json(Method::POST, PRICING, &plan).await;
    // 2023-11-03 and 2023-11-04: both in the November invoice.
    let records = [
        record("calls", 2.0, "c1", 1_699_000_000),
        record("calls", 3.0, "c1", 1_699_100_000),
        record("calls", 7.0, "c2", 1_699_100_000),
    ];
    harness.ingest(&records).await;

    let all: Vec<Invoice> = harness
        .get(&format!(
            "{INVOICE}/all?customerId=c1&productId=1&fromCache=false&withPaymentStatus=true"
        ))
        .await
        .json()
        .await
        .expect("invoices");
    assert!(all.len() >= 3, "October, November and every month since");
    assert_eq!(
        all[0].invoice_start_time_in_seconds,
        Some(EpochSeconds::new(OCT_15_2023))
    );
    assert_eq!(all[0].payment_status, Some(PaymentStatus::from("SETTLED")));
    let item = &all[1].extra["productItemInvoices"][0];
    assert_eq!(
        (&item["meterApiName"], &item["totalBill"]["meterUnits"]),
        (&json!("calls"), &json!(5.0))
    );
    assert_eq!(
        all.last()
            .and_then(|i| i.payment_status.as_ref().map(PaymentStatus::as_str)),
        Some("PENDING")
    );

    let latest = harness
        .get(&format!("{INVOICE}?customerId=c1&latest=true"))
        .await;
    let latest: Invoice = latest.json().await.expect("invoice");
    assert_eq!(latest.extra["invoicePriceStatus"], "open");
    assert_eq!(Some(&latest), all.last());

    let november: Invoice = harness
        .get(&format!(
            "{INVOICE}?customerId=c1&productPlanId=pro&year=2023&month=11&day=1&withPaymentStatus=false"
        ))
        .await
        .json()
        .await
        .expect("invoice");
    assert_eq!(
        november.invoice_start_time_in_seconds,
        Some(EpochSeconds::new(1_698_796_800))
    );
    assert_eq!(
        november.payment_status,
        Some(PaymentStatus::from("UNKNOWN"))
    );
    assert_eq!(november.extra["invoiceKey"]["month"], 11);

    let missing = harness
        .get(&format!(
            "{INVOICE}?customerId=c1&productPlanId=pro&year=2023&month=11&day=2"
        ))
        .await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let no_plan: Vec<Invoice> = harness
        .get(&format!("{INVOICE}/all?customerId=c2"))
        .await
        .json()
        .await
        .expect("invoices");
    assert!(no_plan.is_empty());
    let (status, message) = error_of(
        harness
            .get(&format!(
                "{INVOICE}?customerId=c1&productPlanId=pro&year=2023&month=2&day=30"
            ))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(message, "invoice_start_date must be a valid calendar date");
    // Each bad part of the date is named, the year first, as before the `CalendarDate` API.
    for (query, expected) in [
        (
            "year=2023&month=13&day=1",
            "invoice_start_date.month must be between 1 and 12",
        ),
        (
            "year=2023&month=300&day=1",
            "invoice_start_date.month must be between 1 and 12",
        ),
        (
            "year=0&month=13&day=1",
            "invoice_start_date.year must be between 1 and 9999",
        ),
        (
            "year=2023&month=2&day=300",
            "invoice_start_date must be a valid calendar date",
        ),
    ] {
        let url = format!("{INVOICE}?customerId=c1&productPlanId=pro&{query}");
        let (status, message) = error_of(harness.get(&url).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(message, expected, "{query}");
    }
    let blank_plan = format!("{INVOICE}?customerId=c1&productPlanId=%20&year=0&month=1&day=1");
    let (_, message) = error_of(harness.get(&blank_plan).await).await;
    assert_eq!(message, "product_plan_id must not be blank");
    // A blank product is the default product, as the server (and Python) treat it.
    let blank_product: Vec<Invoice> = harness
        .get(&format!("{INVOICE}/all?customerId=c1&productId=%20"))
        .await
        .json()
        .await
        .expect("invoices");
    let default_product: Vec<Invoice> = harness
        .get(&format!("{INVOICE}/all?customerId=c1"))
        .await
        .json()
        .await
        .expect("invoices");
    assert_eq!(blank_product.len(), default_product.len());
    let (status, _) = error_of(harness.get(&format!("{INVOICE}?customerId=c1")).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, message) = error_of(harness.get(&format!("{INVOICE}/all")).await).await;
    assert_eq!(message, "customer_id must not be blank");
}
