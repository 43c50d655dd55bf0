//! The emulator's own routes under `/_emulator/`: faults, stored records, stats, the
//! per-customer summary, what aggregating clients report, and the console data the page at
//! `/` polls. They need no API key and ignore faults.

use http::StatusCode;

use super::Handled;
use crate::FaultSettings;
use crate::clients::ClientReport;
use crate::console::ConsoleQuery;
use crate::server::respond::{self, Failure};
use crate::server::{ApiRequest, Shared};

/// How many of the latest records the summary carries.
const SUMMARY_LATEST: usize = 25;

/// `GET` the current faults, `POST` a [`FaultSettings`] to apply, `DELETE` to clear them.
pub(super) fn faults(shared: &Shared, request: &ApiRequest) -> Handled {
    match request.method.as_str() {
        "POST" => {
            let settings: FaultSettings =
                request.json("fault settings", shared.config.max_decoded_bytes)?;
            shared
                .faults
                .apply(settings)
                .map_err(|error| Failure::bad_request(error.to_string()))?;
        }
        "DELETE" => shared.faults.clear(),
        _ => {}
    }
    Ok(respond::json(StatusCode::OK, &shared.faults.settings()))
}

/// `GET` the per-meter prices usage cost uses; `POST` `{"<meterApiName>": price, ...}` to set
/// some (finite, 0 or more).
pub(super) fn prices(shared: &Shared, request: &ApiRequest) -> Handled {
    if request.method == http::Method::POST {
        let prices: std::collections::BTreeMap<String, f64> =
            request.json("prices", shared.config.max_decoded_bytes)?;
        for (meter, price) in prices {
            shared
                .store
                .set_meter_price(&meter, price)
                .map_err(|error| Failure::bad_request(error.to_string()))?;
        }
    }
    Ok(respond::json(StatusCode::OK, &shared.store.meter_prices()))
}

/// `GET` the account's promotions; `POST` one (`{"id", "promotionName"?, ...}`) to add it.
pub(super) fn promotions(shared: &Shared, request: &ApiRequest) -> Handled {
    if request.method == http::Method::POST {
        let promotion: amberflo_types::Promotion =
            request.json("promotion", shared.config.max_decoded_bytes)?;
        if amberflo_types::is_blank(&promotion.id) {
            return Err(Failure::bad_request("id must not be blank"));
        }
        shared.store.add_promotion(promotion);
    }
    Ok(respond::json(StatusCode::OK, &shared.store.promotions()))
}

/// The stored records, optionally filtered by `customerId` and `meterApiName`, and cut to the
/// last `limit`.
pub(super) fn records(shared: &Shared, request: &ApiRequest) -> Handled {
    let customer = request.param("customerId");
    let meter = request.param("meterApiName");
    let limit = match request.param("limit") {
        None => usize::MAX,
        Some(value) => value
            .parse()
            .map_err(|_| Failure::bad_request(format!("limit must be a number, not {value:?}")))?,
    };
    let records = shared
        .store
        .latest_records(customer.as_deref(), meter.as_deref(), limit);
    Ok(respond::json(StatusCode::OK, &records))
}

pub(super) fn clear_records(shared: &Shared) -> Handled {
    let cleared = shared.store.record_count() + shared.store.custom_record_count();
    shared.store.clear_records();
    Ok(respond::json(
        StatusCode::OK,
        &serde_json::json!({ "cleared": cleared }),
    ))
}

pub(super) fn custom_records(shared: &Shared) -> Handled {
    Ok(respond::json(
        StatusCode::OK,
        &shared.store.custom_records(),
    ))
}

pub(super) fn stats(shared: &Shared) -> Handled {
    Ok(respond::json(StatusCode::OK, &shared.stats()))
}

/// What the page at `/` shows (see [`crate::console`]): its charts, tables and filter lists,
/// the tiles (customers counted from the API and the records alike) and the faults in force.
pub(super) fn console(shared: &Shared, request: &ApiRequest) -> Handled {
    let query = ConsoleQuery::parse(|name| request.param(name)).map_err(Failure::bad_request)?;
    let mut view = shared
        .store
        .console(&query, amberflo_types::now_millis())
        .map_err(Failure::bad_request)?;
    let mut tiles = serde_json::to_value(shared.stats()).unwrap_or_default();
    for list in ["customers", "meters"] {
        let count = view[list].as_array().map_or(0, Vec::len);
        tiles[list] = count.into();
    }
    view["tiles"] = tiles;
    view["faults"] = serde_json::to_value(shared.faults.settings()).unwrap_or_default();
    view["clients"] = serde_json::to_value(shared.clients.list()).unwrap_or_default();
    Ok(respond::json(StatusCode::OK, &view))
}

/// `GET` the latest report of each aggregating client (by name); `POST` a client's report
/// (`{"client", "recordsIn", "aggregatesOut", "passedThrough", "openKeys"}`) to replace its
/// previous one. Answers the stored report to a `POST`.
pub(super) fn client_stats(shared: &Shared, request: &ApiRequest) -> Handled {
    if request.method == http::Method::POST {
        let report: ClientReport = request.json("client stats", shared.config.max_decoded_bytes)?;
        let stats = report
            .into_stats(amberflo_types::now_millis())
            .map_err(Failure::bad_request)?;
        shared.clients.report(stats.clone());
        return Ok(respond::json(StatusCode::OK, &stats));
    }
    Ok(respond::json(StatusCode::OK, &shared.clients.list()))
}

pub(super) fn summary(shared: &Shared) -> Handled {
    Ok(respond::json(
        StatusCode::OK,
        &shared.store.summary(SUMMARY_LATEST),
    ))
}
