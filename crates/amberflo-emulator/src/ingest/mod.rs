//! Ingest bodies: bounded gzip decoding and a single-pass parse straight from the bytes into
//! a compact, validated `Batch` (or, for `?schemaDetection=AUTO`, into custom JSON objects).
//!
//! A body holds one record (a JSON object) or many (a JSON array). Every record is held to
//! [`MeterRecord::validate`]'s rules; the first bad one rejects the whole body with an error
//! such as `records[3]: meter_api_name must not be blank`.
//!
//! # Cost per record
//!
//! Ingest is the emulator's hot path (load tests send millions of records), so parsing a
//! record allocates nothing in the common case (UUID ids, strings without escapes):
//!
//! - the body's UTF-8 is validated once, up front, so the JSON parser borrows each string
//!   without checking it again;
//! - each record is appended to one `Batch`: a `Vec` of fixed-size `Incoming` records plus
//!   one `Vec` of dimension pairs shared by all of them, each record holding a `Span` of it;
//! - a hand-written parser takes the common shape (an array of records with the known
//!   fields, strings without escapes) faster than serde_json does, and gives up on anything
//!   else; serde visitors seeded with the batch
//!   ([`DeserializeSeed`](serde::de::DeserializeSeed)) then parse the body from scratch;
//! - the unique id is parsed as a UUID once, and each record is pre-checked as it is parsed,
//!   without building a [`MeterRecord`]. Only a record that fails the pre-check is built, to
//!   let the types crate name the broken rule.
//!
//! Errors keep the shape they had when records were parsed by serde's derive: the visitors
//! report missing, repeated and mistyped fields as the derive does, and a body that fails to
//! parse is parsed again, slowly, to name the malformed record (`locate_malformed`).
//!
//! # Layout
//!
//! This module holds the error type, body decoding and the entry points; `batch` holds the
//! batch model and the pre-check, `fast` the hand-written parser of the common shape, and
//! `parse` the serde seeds and visitors.

mod batch;
mod fast;
mod parse;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::io::Read;

use amberflo_types::{MeterRecord, ValidationError};
use flate2::bufread::MultiGzDecoder;
use libdeflater::Decompressor;
use serde_json::Value;

pub(crate) use batch::Batch;
use parse::{Parsing, parse_batch};

/// How a request body is encoded (its `Content-Encoding`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BodyEncoding {
    /// Plain bytes.
    Identity,
    /// gzip-compressed bytes.
    Gzip,
}

/// Why an ingest body was rejected. Every variant is the client's fault (HTTP 4xx).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    /// The body claimed to be gzip but could not be decompressed.
    #[error("invalid gzip body: {0}")]
    Gzip(#[source] std::io::Error),
    /// The decompressed body was larger than the configured limit.
    #[error("decompressed body exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The body was not valid JSON of the expected shape.
    #[error("malformed JSON: {0}")]
    Json(#[source] serde_json::Error),
    /// Record `index` was not a valid meter record (a missing or mistyped field).
    #[error("records[{index}]: {source}")]
    Malformed {
        /// The record's position in the body (0 for a single-object body).
        index: usize,
        /// What serde reported.
        #[source]
        source: serde_json::Error,
    },
    /// Record `index` broke a validation rule; the error names the field.
    #[error("records[{index}]: {source}")]
    Invalid {
        /// The record's position in the body (0 for a single-object body).
        index: usize,
        /// The rule broken.
        #[source]
        source: ValidationError,
    },
    /// A custom-schema record was not a JSON object.
    #[error("records[{index}]: must be a JSON object")]
    NotAnObject {
        /// The record's position in the body.
        index: usize,
    },
}

/// Decompresses `body` when it is gzip, refusing to produce more than `max_decoded` bytes.
///
/// A plain body is borrowed as is (its size was bounded when it was read).
pub fn decode_body(
    body: &[u8],
    encoding: BodyEncoding,
    max_decoded: usize,
) -> Result<Cow<'_, [u8]>, IngestError> {
    match encoding {
        BodyEncoding::Identity => Ok(Cow::Borrowed(body)),
        BodyEncoding::Gzip => {
            let size = gzip_size_hint(body);
            if size <= max_decoded
                && let Some(decoded) = inflate_single_member(body, size)
            {
                return Ok(Cow::Owned(decoded));
            }
            // Several members, a trailer that does not match, or bad data: the streaming
            // decoder decides (and words the error). Sized from the trailer, the body is
            // inflated without growing the buffer.
            let mut decoded = Vec::with_capacity(size.min(max_decoded).saturating_add(1));
            let limit = u64::try_from(max_decoded)
                .unwrap_or(u64::MAX)
                .saturating_add(1);
            // The `bufread` decoder reads the slice in place; the `read` one would copy it
            // through a buffer of its own, allocated per body.
            MultiGzDecoder::new(body)
                .take(limit)
                .read_to_end(&mut decoded)
                .map_err(IngestError::Gzip)?;
            if decoded.len() > max_decoded {
                return Err(IngestError::TooLarge { limit: max_decoded });
            }
            Ok(Cow::Owned(decoded))
        }
    }
}

/// Inflates a gzip body made of one member whose trailer announces `size` bytes, in one call
/// to libdeflate (about twice as fast as zlib-rs's streaming inflate); `None` when the body
/// may hold something else, for the streaming decoder to handle:
///
/// - another member: libdeflate would stop after the first, so any `1f 8b 08` (a member's
///   magic and method) after the first header sends the body to the streaming decoder;
/// - bytes after the member, or a member of another size: libdeflate ignores trailing
///   bytes, but then the last four bytes are not the member's size (`ISIZE`). Only trailing
///   bytes that happen to end with that size slip through (the streaming decoder would
///   refuse them): a risk this development server takes for a 2x faster inflate.
fn inflate_single_member(body: &[u8], size: usize) -> Option<Vec<u8>> {
    if may_hold_another_member(body.get(GZIP_HEADER_LEN..)?) {
        return None;
    }
    let mut decoded = vec![0; size];
    let written = Decompressor::new()
        .gzip_decompress(body, &mut decoded)
        .ok()?;
    (written == size).then_some(decoded)
}

/// The length of a gzip header without optional fields.
const GZIP_HEADER_LEN: usize = 10;

/// Whether `bytes` contain `1f 8b 08` anywhere. Branch-free, so that it vectorises: the scan
/// costs about a microsecond for a batch of a thousand records.
fn may_hold_another_member(bytes: &[u8]) -> bool {
    let second = bytes.get(1..).unwrap_or_default();
    let third = bytes.get(2..).unwrap_or_default();
    bytes
        .iter()
        .zip(second)
        .zip(third)
        .fold(false, |found, ((a, b), c)| {
            found | ((*a == 0x1f) & (*b == 0x8b) & (*c == 0x08))
        })
}

/// The decoded size a gzip body announces in its trailer (ISIZE, the size mod 2^32): a
/// capacity hint, exact for one gzip member under 4 GiB.
fn gzip_size_hint(body: &[u8]) -> usize {
    body.len()
        .checked_sub(4)
        .and_then(|at| body.get(at..))
        .and_then(|tail| <[u8; 4]>::try_from(tail).ok())
        .map_or(0, |tail| u32::from_le_bytes(tail) as usize)
}

/// Parses and validates a body into records ready for the store.
pub(crate) fn parse_incoming(json: &[u8]) -> Result<Batch<'_>, IngestError> {
    let Parsing { batch, suspects } = parse_batch(json)?;
    for index in suspects {
        let Some(record) = batch.records.get(index) else {
            continue;
        };
        // Let the types crate name the broken rule.
        let record = batch
            .to_record(record)
            .map_err(|source| IngestError::Invalid { index, source })?;
        tracing::warn!(
            index,
            ?record,
            "record passed validation after a failed pre-check"
        );
    }
    Ok(batch)
}

/// Parses one record (a JSON object) or many (an array) and validates each.
///
/// The body is parsed straight from its bytes, borrowing its strings, and each record is
/// held to [`MeterRecord::validate`]'s rules.
///
/// ```
/// use amberflo_emulator::ingest::parse_records;
///
/// let body = br#"[{"uniqueId":"a","meterApiName":"ApiCalls","meterValue":1,
///                 "customerId":"c1","meterTimeInMillis":1700000000000}]"#;
/// assert_eq!(parse_records(body)?.len(), 1);
///
/// let bad = br#"{"uniqueId":"a","meterApiName":" ","meterValue":1,
///               "customerId":"c1","meterTimeInMillis":1700000000000}"#;
/// let error = parse_records(bad).unwrap_err();
/// assert_eq!(error.to_string(), "records[0]: meter_api_name must not be blank");
/// # Ok::<(), amberflo_emulator::ingest::IngestError>(())
/// ```
pub fn parse_records(json: &[u8]) -> Result<Vec<MeterRecord>, IngestError> {
    let Parsing { batch, .. } = parse_batch(json)?;
    batch
        .records
        .iter()
        .enumerate()
        .map(|(index, record)| {
            batch
                .to_record(record)
                .map_err(|source| IngestError::Invalid { index, source })
        })
        .collect()
}

/// Finds which record of an array failed to parse, for a message naming it (slow path).
fn locate_malformed(json: &[u8], error: serde_json::Error) -> IngestError {
    let Ok(values) = serde_json::from_slice::<Vec<Value>>(json) else {
        return IngestError::Json(error);
    };
    for (index, value) in values.into_iter().enumerate() {
        if let Err(source) = serde_json::from_value::<MeterRecord>(value) {
            return IngestError::Malformed { index, source };
        }
    }
    IngestError::Json(error)
}

/// Parses a custom-schema body (`?schemaDetection=AUTO`): one JSON object or an array of
/// them, kept as they are.
pub fn parse_custom(json: &[u8]) -> Result<Vec<Value>, IngestError> {
    let value: Value = serde_json::from_slice(json).map_err(IngestError::Json)?;
    let values = match value {
        Value::Array(values) => values,
        other => vec![other],
    };
    if let Some(index) = values.iter().position(|value| !value.is_object()) {
        return Err(IngestError::NotAnObject { index });
    }
    Ok(values)
}
