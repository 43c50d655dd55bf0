//! `POST /ingest`: meter records (one or an array, gzip or plain), or custom-schema records
//! with `?schemaDetection=AUTO`. Replies `N records were ingested`, N counting every record
//! received (duplicates included, as Amberflo does).

use http::StatusCode;

use super::Handled;
use crate::server::request::ingest_error;
use crate::server::respond;
use crate::server::{ApiRequest, Shared};

pub(super) fn ingest(shared: &Shared, request: &ApiRequest) -> Handled {
    let encoding = request.encoding()?;
    let custom = request
        .param("schemaDetection")
        .is_some_and(|mode| mode.eq_ignore_ascii_case("AUTO"));
    let received = if custom {
        shared
            .store
            .ingest_custom(&request.body, encoding)
            .map_err(|error| ingest_error(&error))?
    } else {
        let outcome = shared
            .store
            .ingest(&request.body, encoding)
            .map_err(|error| ingest_error(&error))?;
        if outcome.duplicates > 0 {
            tracing::debug!(duplicates = outcome.duplicates, "dropped duplicate records");
        }
        outcome.received
    };
    Ok(respond::text(
        StatusCode::OK,
        format!("{received} records were ingested"),
    ))
}
