//! Customers (`/customers`, `/customers/<id>`) and portal sessions (`/session`, `/portal/`).

use amberflo_types::{
    Customer, CustomerPayload, CustomerPortalSession, CustomerPortalSessionRequest,
};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::{Harness, error_of};

fn payload(id: &str, name: &str) -> CustomerPayload {
    CustomerPayload::builder(id)
        .customer_name(name)
        .customer_email(format!("{id}@example.com"))
        .traits([("tier", "gold")])
        .build()
        .expect("valid customer")
}

#[tokio::test]
async fn create_get_list_replace_delete() {
    let harness = Harness::new();
    let created = harness
        .send_json(Method::POST, "/customers/", &payload("c1", "One"))
        .await;
    assert_eq!(created.status(), StatusCode::OK);
    let created: Customer = created.json().await.expect("customer");
    assert_eq!(created.customer_name, "One");
    assert_eq!(created.traits["tier"], "gold");
    assert!(created.create_time.is_some());

    let conflict = harness
        .send_json(Method::POST, "/customers/", &payload("c1", "Again"))
        .await;
    assert_eq!(error_of(conflict).await.0, StatusCode::CONFLICT);

    let stripe = harness
        .send_json(
            Method::POST,
            "/customers/?autoCreateCustomerInStripe=true",
            &payload("c2", "Two"),
        )
        .await;
    let stripe: Customer = stripe.json().await.expect("customer");
    assert_eq!(stripe.traits["stripeId"], "cus_emulated_c2");

    let one: Customer = harness
        .get("/customers/?customerId=c1")
        .await
        .json()
        .await
        .expect("customer");
    assert_eq!(one.customer_email.as_deref(), Some("c1@example.com"));
    let absent: serde_json::Value = harness
        .get("/customers/?customerId=nobody")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(absent, json!({}));
    let all: Vec<Customer> = harness.get("/customers").await.json().await.expect("list");
    let ids: Vec<&str> = all.iter().map(|c| c.customer_id.as_str()).collect();
    assert_eq!(ids, ["c1", "c2"]);

    let replaced = harness
        .send_json(Method::PUT, "/customers/", &payload("c1", "Renamed"))
        .await;
    let replaced: Customer = replaced.json().await.expect("customer");
    assert_eq!(replaced.customer_name, "Renamed");
    assert_eq!(replaced.create_time, created.create_time);
    let missing = harness
        .send_json(Method::PUT, "/customers/", &payload("ghost", "Ghost"))
        .await;
    assert_eq!(error_of(missing).await.0, StatusCode::NOT_FOUND);

    let deleted = harness
        .request(Method::DELETE, "/customers/c1")
        .send()
        .await
        .expect("sent");
    assert_eq!(deleted.status(), StatusCode::OK);
    let again = harness
        .request(Method::DELETE, "/customers/c1")
        .send()
        .await
        .expect("sent");
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
    let ids: Vec<String> = harness
        .emulator
        .customers()
        .into_iter()
        .map(|c| c.customer_id)
        .collect();
    assert_eq!(ids, ["c2"]);
}

#[tokio::test]
async fn invalid_customer_payloads_are_400() {
    let harness = Harness::new();
    let (status, message) = error_of(
        harness
            .send_json(
                Method::POST,
                "/customers/",
                &json!({"customerId": "c1", "customerName": " "}),
            )
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(message, "customer_name must not be blank");
    let (status, message) = error_of(
        harness
            .send_json(Method::POST, "/customers/", &json!({"customerId": "c1"}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message.contains("customerName"), "{message}");
    let (status, _) = error_of(
        harness
            .send_json(
                Method::POST,
                "/customers/?autoCreateCustomerInStripe=maybe",
                &payload("c1", "One"),
            )
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(harness.emulator.customers().is_empty());
}

#[tokio::test]
async fn portal_session_links_to_a_page() {
    let harness = Harness::new();
    let request = CustomerPortalSessionRequest::builder("c<1>")
        .return_url("https://example.com/back")
        .build()
        .expect("valid request");
    let response = harness.send_json(Method::POST, "/session", &request).await;
    assert_eq!(response.status(), StatusCode::OK);
    let session: CustomerPortalSession = response.json().await.expect("session");
    assert_eq!(
        session.url,
        format!(
            "{}/portal/{}",
            harness.emulator.url(),
            session.session_token
        )
    );
    let page = harness.http.get(&session.url).send().await.expect("sent");
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.expect("html");
    assert!(html.contains("c&lt;1&gt;"), "escaped customer id: {html}");
    assert!(html.contains("https://example.com/back"));
    let unknown = harness.get("/portal/nope").await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);

    let (status, message) = error_of(
        harness
            .send_json(Method::POST, "/session", &json!({"customerId": ""}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(message, "customer_id must not be blank");
}
