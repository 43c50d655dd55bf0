//! Usage cost (`POST /payments/cost/usage-cost`), signals (`/notification`), promotions
//! (`.../account-pricing/promotions`, `.../customer-promotions`) and meter definitions
//! (`/meters`), answered from the store (see [`crate::cost`] for how cost is computed).
//!
//! Signals and meters get server ids (UUIDs); a create carrying an id is a 400, an update
//! without one too (for meters the message is the API's "Meter already exists"). A meter is
//! deleted by id once its `lockingStatus` is `deprecated` (400 before). Unknown ids are 404.

use amberflo_types::{
    ApplyPromotionPayload, MeterDefinitionPayload, PromotionQuery, RemovePromotionQuery, Signal,
    SignalPayload, UsageCostQuery,
};
use http::StatusCode;

use super::{Handled, store_error};
use crate::server::respond::{self, Failure};
use crate::server::{ApiRequest, Shared};

fn not_found(what: String) -> Failure {
    Failure::new(StatusCode::NOT_FOUND, what)
}

pub(super) fn usage_cost(shared: &Shared, request: &ApiRequest) -> Handled {
    let query: UsageCostQuery =
        request.json("usage cost query", shared.config.max_decoded_bytes)?;
    let report = shared
        .store
        .usage_cost(&query)
        .map_err(|error| Failure::bad_request(error.to_string()))?;
    Ok(respond::json(StatusCode::OK, &report))
}

// ----- Signals -----

/// A signal as the API answers it: `thresholdValue` as text (`"200"`), which is how the Go
/// SDK's `Notification` reads it.
fn wire_signal(signal: &Signal) -> serde_json::Value {
    let mut json = serde_json::to_value(signal).unwrap_or_default();
    if let Some(value) = signal.threshold_value {
        json["thresholdValue"] = serde_json::Value::String(value.to_string());
    }
    json
}

pub(super) fn signals(shared: &Shared) -> Handled {
    let signals: Vec<serde_json::Value> = shared.store.signals().iter().map(wire_signal).collect();
    Ok(respond::json(StatusCode::OK, &signals))
}

pub(super) fn signal(shared: &Shared, id: &str) -> Handled {
    shared
        .store
        .signal(id)
        .map(|signal| respond::json(StatusCode::OK, &wire_signal(&signal)))
        .ok_or_else(|| not_found(format!("signal {id} not found")))
}

pub(super) fn create_signal(shared: &Shared, request: &ApiRequest) -> Handled {
    let payload: SignalPayload = request.json("signal", shared.config.max_decoded_bytes)?;
    let signal = shared
        .store
        .create_signal(&payload)
        .map_err(|error| store_error(&error))?;
    Ok(respond::json(StatusCode::OK, &wire_signal(&signal)))
}

pub(super) fn update_signal(shared: &Shared, request: &ApiRequest) -> Handled {
    let payload: SignalPayload = request.json("signal", shared.config.max_decoded_bytes)?;
    let signal = shared
        .store
        .update_signal(&payload)
        .map_err(|error| store_error(&error))?;
    Ok(respond::json(StatusCode::OK, &wire_signal(&signal)))
}

pub(super) fn delete_signal(shared: &Shared, id: &str) -> Handled {
    let signal = shared
        .store
        .delete_signal(id)
        .map_err(|error| store_error(&error))?;
    Ok(respond::json(StatusCode::OK, &wire_signal(&signal)))
}

// ----- Promotions -----

pub(super) fn promotions(shared: &Shared) -> Handled {
    Ok(respond::json(StatusCode::OK, &shared.store.promotions()))
}

pub(super) fn promotion(shared: &Shared, request: &ApiRequest) -> Handled {
    let query = PromotionQuery::new(request.param("id").unwrap_or_default())
        .map_err(|error| Failure::bad_request(error.to_string()))?;
    shared
        .store
        .promotion(query.id())
        .map(|promotion| respond::json(StatusCode::OK, &promotion))
        .ok_or_else(|| not_found(format!("promotion {} not found", query.id())))
}

pub(super) fn apply_promotion(shared: &Shared, request: &ApiRequest) -> Handled {
    let payload: ApplyPromotionPayload =
        request.json("customer promotion", shared.config.max_decoded_bytes)?;
    let applied = shared
        .store
        .apply_promotion(&payload)
        .map_err(|error| store_error(&error))?;
    Ok(respond::json(StatusCode::OK, &applied))
}

pub(super) fn applied_promotions(shared: &Shared, request: &ApiRequest) -> Handled {
    let query = super::customer_product_query(request)?;
    let applied = shared
        .store
        .applied_promotions(query.customer_id(), query.product_id());
    Ok(respond::json(StatusCode::OK, &applied))
}

pub(super) fn remove_promotion(shared: &Shared, request: &ApiRequest) -> Handled {
    // `PromotionId` as the Go SDK sends it; `Id` and `RelationId` as older clients did.
    let query = RemovePromotionQuery::new(
        request.param("CustomerId").unwrap_or_default(),
        request.required_param(&["PromotionId", "Id", "RelationId"])?,
    )
    .map_err(|error| {
        Failure::bad_request(error.to_string().replace("promotion_id", "PromotionId"))
    })?;
    let removed = shared
        .store
        .remove_promotion(query.customer_id(), query.promotion_id())
        .map_err(|error| store_error(&error))?;
    Ok(respond::json(StatusCode::OK, &removed))
}

// ----- Meter definitions -----

/// `GET /meters`, or `GET /meters?meterApiName=` which answers the list of matches (`[]`
/// when there is none), as the live API does.
pub(super) fn meters(shared: &Shared, request: &ApiRequest) -> Handled {
    let meters = match request.param("meterApiName") {
        Some(name) => shared.store.meter_definition(&name).into_iter().collect(),
        None => shared.store.meter_definitions(),
    };
    Ok(respond::json(StatusCode::OK, &meters))
}

pub(super) fn create_meter(shared: &Shared, request: &ApiRequest) -> Handled {
    let payload: MeterDefinitionPayload =
        request.json("meter definition", shared.config.max_decoded_bytes)?;
    let meter = shared
        .store
        .create_meter_definition(&payload)
        .map_err(|error| store_error(&error))?;
    Ok(respond::json(StatusCode::OK, &meter))
}

pub(super) fn update_meter(shared: &Shared, request: &ApiRequest) -> Handled {
    let payload: MeterDefinitionPayload =
        request.json("meter definition", shared.config.max_decoded_bytes)?;
    let meter = shared
        .store
        .update_meter_definition(&payload)
        .map_err(|error| store_error(&error))?;
    Ok(respond::json(StatusCode::OK, &meter))
}

pub(super) fn delete_meter(shared: &Shared, id: &str) -> Handled {
    let meter = shared
        .store
        .delete_meter_definition(id)
        .map_err(|error| store_error(&error))?;
    Ok(respond::json(StatusCode::OK, &meter))
}
