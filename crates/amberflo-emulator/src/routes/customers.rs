//! Customers (`/customers`, `/customers/<id>`) and portal sessions (`POST /session`).
//!
//! `GET /customers?customerId=X` returns the customer or `{}`; `POST` creates (409 if the id
//! exists; `?autoCreateCustomerInStripe=true` adds a `stripeId` trait); `PUT` replaces (404 if
//! missing); `DELETE /customers/<id>` deletes and returns the customer (404 if missing);
//! `PUT /customers/stage` sets a customer's lifecycle stage (404 if missing). A portal session
//! is granted for any customer id, known or not.

use amberflo_types::{
    CustomerLifecycleStagePayload, CustomerPayload, CustomerPortalSession,
    CustomerPortalSessionRequest,
};
use http::StatusCode;

use super::{Handled, store_error};
use crate::server::respond::{self, Failure};
use crate::server::{ApiRequest, Shared};

pub(super) fn list_or_get(shared: &Shared, request: &ApiRequest) -> Handled {
    match request.param("customerId") {
        Some(customer_id) => Ok(match shared.store.customer(&customer_id) {
            Some(customer) => respond::json(StatusCode::OK, &customer),
            None => respond::json(StatusCode::OK, &serde_json::json!({})),
        }),
        None => Ok(respond::json(StatusCode::OK, &shared.store.customers())),
    }
}

pub(super) fn get(shared: &Shared, customer_id: &str) -> Handled {
    shared
        .store
        .customer(customer_id)
        .map(|customer| respond::json(StatusCode::OK, &customer))
        .ok_or_else(|| {
            Failure::new(
                StatusCode::NOT_FOUND,
                format!("customer {customer_id} not found"),
            )
        })
}

pub(super) fn create(shared: &Shared, request: &ApiRequest) -> Handled {
    let in_stripe = request.flag("autoCreateCustomerInStripe", false)?;
    let payload: CustomerPayload = request.json("customer", shared.config.max_decoded_bytes)?;
    let customer = shared
        .store
        .create_customer(payload, in_stripe)
        .map_err(|error| store_error(&error))?;
    Ok(respond::json(StatusCode::OK, &customer))
}

pub(super) fn replace(shared: &Shared, request: &ApiRequest) -> Handled {
    let payload: CustomerPayload = request.json("customer", shared.config.max_decoded_bytes)?;
    let customer = shared
        .store
        .replace_customer(payload)
        .map_err(|error| store_error(&error))?;
    Ok(respond::json(StatusCode::OK, &customer))
}

/// `DELETE /customers/{id}` answers `{"customerId": id}`, the id echoed (DESIGN.md 1b).
pub(super) fn delete(shared: &Shared, customer_id: &str) -> Handled {
    let customer = shared
        .store
        .delete_customer(customer_id)
        .map_err(|error| store_error(&error))?;
    let echo = serde_json::json!({ "customerId": customer.customer_id });
    Ok(respond::json(StatusCode::OK, &echo))
}

pub(super) fn session(shared: &Shared, request: &ApiRequest) -> Handled {
    let session: CustomerPortalSessionRequest =
        request.json("portal session request", shared.config.max_decoded_bytes)?;
    let token = uuid::Uuid::new_v4().simple().to_string();
    shared
        .store
        .create_session(&session, token.clone())
        .map_err(|error| store_error(&error))?;
    let mut reply = CustomerPortalSession::default();
    reply.url = format!("{}/portal/{token}", shared.base_url);
    reply.session_token = token;
    Ok(respond::json(StatusCode::OK, &reply))
}

pub(super) fn stage(shared: &Shared, request: &ApiRequest) -> Handled {
    let payload: CustomerLifecycleStagePayload =
        request.json("lifecycle stage", shared.config.max_decoded_bytes)?;
    let customer = shared
        .store
        .set_lifecycle_stage(&payload)
        .map_err(|error| store_error(&error))?;
    Ok(respond::json(StatusCode::OK, &customer))
}
