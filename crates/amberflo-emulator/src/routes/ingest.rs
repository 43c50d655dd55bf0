//! `POST /ingest`: meter records (one or an array, gzip or plain), or custom-schema records
//! with `?schemaDetection=AUTO`. Replies `N records were ingested`, N counting every record
//! received (duplicates included, as Amberflo does).

use http::StatusCode;

use super::Handled;
use crate::server::request::ingest_error;
use crate::server::respond::{self, Failure};
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
        refuse_poisoned(shared, request, encoding)?;
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

/// The `reject_ids` fault: a batch holding a refused id is answered 400 naming the ids, and
/// nothing of it is stored.
fn refuse_poisoned(
    shared: &Shared,
    request: &ApiRequest,
    encoding: crate::ingest::BodyEncoding,
) -> Result<(), Failure> {
    let refused = shared.faults.rejected_ids();
    if refused.is_empty() {
        return Ok(());
    }
    let json = crate::ingest::decode_body(&request.body, encoding, shared.config.max_decoded_bytes)
        .map_err(|error| ingest_error(&error))?;
    let records = crate::ingest::parse_records(&json).map_err(|error| ingest_error(&error))?;
    let found: Vec<String> = records
        .iter()
        .map(|record| record.unique_id().to_string())
        .filter(|id| refused.contains(id))
        .collect();
    if found.is_empty() {
        return Ok(());
    }
    Err(Failure::new(
        StatusCode::BAD_REQUEST,
        format!("records refused: uniqueId {}", found.join(", ")),
    ))
}
