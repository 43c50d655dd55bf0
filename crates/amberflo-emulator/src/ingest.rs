//! Ingest bodies: bounded gzip decoding and parsing straight from bytes into validated
//! [`MeterRecord`]s (or, for `?schemaDetection=AUTO`, into custom JSON objects).
//!
//! A body holds one record (a JSON object) or many (a JSON array). Every record is checked
//! with [`MeterRecord::validate`]; the first bad one rejects the whole body with an error such
//! as `records[3]: meter_api_name must not be blank`.

use std::borrow::Cow;
use std::fmt;
use std::io::Read;
use std::marker::PhantomData;

use amberflo_types::{MeterRecord, UniqueId, ValidationError};
use flate2::read::MultiGzDecoder;
use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::Value;
use uuid::Uuid;

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
            // The gzip trailer holds the decoded size (mod 2^32): a good capacity hint.
            let hint = body
                .len()
                .checked_sub(4)
                .and_then(|at| body.get(at..))
                .and_then(|tail| <[u8; 4]>::try_from(tail).ok())
                .map_or(0, |tail| u32::from_le_bytes(tail) as usize);
            let mut decoded = Vec::with_capacity(hint.min(max_decoded).saturating_add(1));
            let limit = u64::try_from(max_decoded)
                .unwrap_or(u64::MAX)
                .saturating_add(1);
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

/// The first byte that is not JSON whitespace.
fn first_token(json: &[u8]) -> Option<u8> {
    json.iter()
        .copied()
        .find(|byte| !matches!(byte, b' ' | b'\t' | b'\n' | b'\r'))
}

/// A meter record as it appears in the body, its strings borrowed from the body whenever
/// they hold no escapes. Same field names as [`MeterRecord`]'s own `Deserialize`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRecord<'a> {
    #[serde(borrow)]
    unique_id: Cow<'a, str>,
    #[serde(borrow)]
    meter_api_name: Cow<'a, str>,
    meter_value: f64,
    #[serde(borrow)]
    customer_id: Cow<'a, str>,
    meter_time_in_millis: i64,
    #[serde(default, borrow)]
    dimensions: Option<Pairs<'a>>,
}

/// A string borrowed from the body when it can be.
#[derive(Deserialize)]
struct Text<'a>(#[serde(borrow)] Cow<'a, str>);

/// Dimension key/value pairs.
type PairList<'a> = Vec<(Cow<'a, str>, Cow<'a, str>)>;

/// A JSON object of strings, as key/value pairs in body order.
struct Pairs<'a>(PairList<'a>);

impl<'de: 'a, 'a> Deserialize<'de> for Pairs<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PairsVisitor<'a>(PhantomData<&'a ()>);

        impl<'de: 'a, 'a> Visitor<'de> for PairsVisitor<'a> {
            type Value = Pairs<'a>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of strings")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut pairs = Vec::with_capacity(map.size_hint().unwrap_or(4));
                while let Some((Text(key), Text(value))) = map.next_entry()? {
                    pairs.push((key, value));
                }
                Ok(Pairs(pairs))
            }
        }

        deserializer.deserialize_map(PairsVisitor(PhantomData))
    }
}

fn blank(text: &str) -> bool {
    text.trim().is_empty()
}

/// Whether `id` is a UUID in canonical (lowercase, hyphenated) form, which [`UniqueId`]
/// keeps binary; any other id is kept as a string.
fn canonical_uuid(id: &str) -> Option<Uuid> {
    if id.len() != 36 || id.bytes().any(|byte| byte.is_ascii_uppercase()) {
        return None;
    }
    Uuid::try_parse(id).ok()
}

impl<'a> RawRecord<'a> {
    /// [`MeterRecord::validate`]'s rules, checked without building the record. A test holds
    /// the two to the same answers; the error message always comes from `validate` itself.
    fn is_valid(&self) -> bool {
        !blank(&self.meter_api_name)
            && self.meter_value.is_finite()
            && self.meter_time_in_millis > 0
            && !blank(&self.customer_id)
            && (canonical_uuid(&self.unique_id).is_some() || !blank(&self.unique_id))
            && self
                .dimensions
                .as_ref()
                .is_none_or(|Pairs(pairs)| pairs.iter().all(|(k, v)| !blank(k) && !blank(v)))
    }

    /// Builds the [`MeterRecord`] (which validates it).
    fn to_record(&self) -> Result<MeterRecord, ValidationError> {
        let unique_id = match canonical_uuid(&self.unique_id) {
            Some(uuid) => UniqueId::from(uuid),
            None => UniqueId::from(self.unique_id.as_ref()),
        };
        let builder = MeterRecord::builder(
            self.meter_api_name.as_ref(),
            self.meter_value,
            self.customer_id.as_ref(),
        )
        .time_in_millis(self.meter_time_in_millis)
        .unique_id(unique_id);
        let builder = match &self.dimensions {
            Some(Pairs(pairs)) => builder.dimensions(
                pairs
                    .iter()
                    .map(|(key, value)| (key.as_ref(), value.as_ref())),
            ),
            None => builder,
        };
        builder.build()
    }

    fn into_incoming(self) -> Incoming<'a> {
        let unique_id = match canonical_uuid(&self.unique_id) {
            Some(uuid) => UniqueId::from(uuid),
            None => UniqueId::from(self.unique_id.into_owned()),
        };
        Incoming {
            unique_id,
            meter_api_name: self.meter_api_name,
            customer_id: self.customer_id,
            meter_value: self.meter_value,
            meter_time_in_millis: self.meter_time_in_millis,
            dimensions: self.dimensions.map(|Pairs(pairs)| normalize(pairs)),
        }
    }
}

/// Sorts pairs by key, keeping the last value of a repeated key (as a JSON map does).
fn normalize(mut pairs: PairList<'_>) -> PairList<'_> {
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    pairs.dedup_by(|later, kept| {
        if later.0 == kept.0 {
            std::mem::swap(&mut later.1, &mut kept.1);
            true
        } else {
            false
        }
    });
    pairs
}

/// A validated record on its way into the store, its strings still borrowed from the body.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Incoming<'a> {
    pub(crate) unique_id: UniqueId,
    pub(crate) meter_api_name: Cow<'a, str>,
    pub(crate) customer_id: Cow<'a, str>,
    pub(crate) meter_value: f64,
    pub(crate) meter_time_in_millis: i64,
    /// Sorted by key, keys unique; `None` when the record had no `dimensions` field.
    pub(crate) dimensions: Option<PairList<'a>>,
}

impl<'a> Incoming<'a> {
    /// A record's fields, borrowed (the record must be valid).
    pub(crate) fn from_record(record: &'a MeterRecord) -> Self {
        Incoming {
            unique_id: record.unique_id().clone(),
            meter_api_name: Cow::Borrowed(record.meter_api_name()),
            customer_id: Cow::Borrowed(record.customer_id()),
            meter_value: record.meter_value(),
            meter_time_in_millis: record.meter_time_in_millis(),
            dimensions: record.dimensions().map(|dimensions| {
                dimensions
                    .iter()
                    .map(|(key, value)| (Cow::Borrowed(key), Cow::Borrowed(value)))
                    .collect()
            }),
        }
    }
}

/// Parses one record (a JSON object) or many (an array), borrowing strings from `json`.
fn parse_raw(json: &[u8]) -> Result<Vec<RawRecord<'_>>, IngestError> {
    if first_token(json) == Some(b'{') {
        let one = serde_json::from_slice(json)
            .map_err(|source| IngestError::Malformed { index: 0, source })?;
        Ok(vec![one])
    } else {
        serde_json::from_slice(json).map_err(|error| locate_malformed(json, error))
    }
}

/// Parses and validates a body into records ready for the store.
pub(crate) fn parse_incoming(json: &[u8]) -> Result<Vec<Incoming<'_>>, IngestError> {
    let raw = parse_raw(json)?;
    let mut incoming = Vec::with_capacity(raw.len());
    for (index, raw) in raw.into_iter().enumerate() {
        if !raw.is_valid() {
            // Let the types crate name the broken rule.
            let record = raw
                .to_record()
                .map_err(|source| IngestError::Invalid { index, source })?;
            tracing::warn!(
                index,
                ?record,
                "record passed validation after a failed pre-check"
            );
        }
        incoming.push(raw.into_incoming());
    }
    Ok(incoming)
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
    let raw = parse_raw(json)?;
    raw.iter()
        .enumerate()
        .map(|(index, raw)| {
            raw.to_record()
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

#[cfg(test)]
mod tests {
    use std::io::Write;

    use proptest::prelude::*;

    use super::*;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(bytes).unwrap_or_default();
        encoder.finish().unwrap_or_default()
    }

    #[test]
    fn gzip_round_trip_and_limit() {
        let body = gzip(b"[1,2,3]");
        let decoded = decode_body(&body, BodyEncoding::Gzip, 100);
        assert!(matches!(decoded.as_deref(), Ok(b"[1,2,3]")));
        let big = gzip(&[b' '; 1000]);
        let too_big = decode_body(&big, BodyEncoding::Gzip, 999);
        assert!(matches!(too_big, Err(IngestError::TooLarge { limit: 999 })));
        assert!(matches!(
            decode_body(b"not gzip", BodyEncoding::Gzip, 100),
            Err(IngestError::Gzip(_))
        ));
    }

    #[test]
    fn names_the_malformed_record() {
        let body = br#"[{"uniqueId":"a","meterApiName":"m","meterValue":1,"customerId":"c","meterTimeInMillis":5},
                        {"uniqueId":"b","meterApiName":"m","meterValue":1,"meterTimeInMillis":5}]"#;
        let error = parse_records(body).map(|_| ()).unwrap_err().to_string();
        assert!(
            error.starts_with("records[1]: missing field `customerId`"),
            "{error}"
        );
        let error = parse_records(b"[1").map(|_| ()).unwrap_err().to_string();
        assert!(error.starts_with("malformed JSON"), "{error}");
    }

    #[test]
    fn parses_like_meter_record_deserialize() {
        let body = br#"[
            {"uniqueId":"0b0e4e2a-7c1d-4b8e-9f5a-2d3c4b5a6f70","meterApiName":"m","meterValue":1.5,
             "customerId":"c","meterTimeInMillis":5,"dimensions":{"r":"us","z":"a\u00e9"}},
            {"uniqueId":"0B0E4E2A-7C1D-4B8E-9F5A-2D3C4B5A6F70","meterApiName":"m\"q","meterValue":2,
             "customerId":"c","meterTimeInMillis":6,"dimensions":{},"extra":true},
            {"uniqueId":"{0b0e4e2a-7c1d-4b8e-9f5a-2d3c4b5a6f70}","meterApiName":"m","meterValue":-3,
             "customerId":"c","meterTimeInMillis":7,"dimensions":null},
            {"uniqueId":"order-42","meterApiName":"m","meterValue":0,"customerId":"c",
             "meterTimeInMillis":8,"dimensions":{"k":"1","k":"2"}}
        ]"#;
        let expected: Vec<MeterRecord> = serde_json::from_slice(body).expect("valid JSON");
        let parsed = parse_records(body).expect("valid records");
        assert_eq!(parsed, expected);
        let incoming = parse_incoming(body).expect("valid records");
        let from_records: Vec<Incoming<'_>> = expected.iter().map(Incoming::from_record).collect();
        assert_eq!(incoming, from_records);
        // Serialising shows the ids kept their kind (UUID or custom string).
        assert_eq!(
            serde_json::to_value(&parsed).expect("serialisable"),
            serde_json::to_value(&expected).expect("serialisable")
        );
        let single = br#"{"uniqueId":"x","meterApiName":"m","meterValue":1,"customerId":"c","meterTimeInMillis":1}"#;
        assert_eq!(parse_records(single).expect("valid record").len(), 1);
        assert!(parse_records(b"[] x").is_err());
    }

    fn text(pool: &'static [&'static str]) -> impl Strategy<Value = Cow<'static, str>> {
        proptest::sample::select(pool).prop_map(Cow::Borrowed)
    }

    const TEXTS: &[&str] = &["", " ", "\t", "m", " x "];
    const IDS: &[&str] = &[
        "",
        "  ",
        "order-1",
        "0b0e4e2a-7c1d-4b8e-9f5a-2d3c4b5a6f70",
        "0B0E4E2A-7C1D-4B8E-9F5A-2D3C4B5A6F70",
        "0b0e4e2a7c1d4b8e9f5a2d3c4b5a6f70",
    ];

    proptest! {
        /// The pre-check agrees with `MeterRecord::validate` on every combination of edge
        /// cases, so a record is accepted exactly when the types crate would accept it.
        #[test]
        fn pre_check_agrees_with_validate(
            unique_id in text(IDS),
            meter_api_name in text(TEXTS),
            customer_id in text(TEXTS),
            meter_value in proptest::sample::select(vec![0.0, -2.5, f64::NAN, f64::INFINITY]),
            meter_time_in_millis in proptest::sample::select(vec![i64::MIN, -1, 0, 1, i64::MAX]),
            dimensions in proptest::option::of(proptest::collection::vec((text(TEXTS), text(TEXTS)), 0..3)),
        ) {
            let raw = RawRecord {
                unique_id,
                meter_api_name,
                meter_value,
                customer_id,
                meter_time_in_millis,
                dimensions: dimensions.map(Pairs),
            };
            prop_assert_eq!(raw.is_valid(), raw.to_record().is_ok());
        }
    }

    #[test]
    fn custom_records_must_be_objects() {
        assert_eq!(parse_custom(br#"{"a":1}"#).map(|v| v.len()).ok(), Some(1));
        assert!(matches!(
            parse_custom(br#"[{"a":1}, 2]"#),
            Err(IngestError::NotAnObject { index: 1 })
        ));
    }
}
