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
//! - serde visitors seeded with the batch ([`DeserializeSeed`]) append each record to one
//!   `Batch`: a `Vec` of fixed-size `Incoming` records plus one `Vec` of dimension pairs
//!   shared by all of them, each record holding a `Span` of it;
//! - the unique id is parsed as a UUID once, and each record is pre-checked as it is parsed,
//!   without building a [`MeterRecord`]. Only a record that fails the pre-check is built, to
//!   let the types crate name the broken rule.
//!
//! Errors keep the shape they had when records were parsed by serde's derive: the visitors
//! report missing, repeated and mistyped fields as the derive does, and a body that fails to
//! parse is parsed again, slowly, to name the malformed record (`locate_malformed`).

use std::borrow::Cow;
use std::fmt;
use std::io::Read;
use std::ops::Range;

use amberflo_types::{MeterRecord, UniqueId, ValidationError};
use flate2::bufread::MultiGzDecoder;
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
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
            // Sized from the trailer: the body is inflated without growing the buffer.
            let mut decoded =
                Vec::with_capacity(gzip_size_hint(body).min(max_decoded).saturating_add(1));
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

/// The decoded size a gzip body announces in its trailer (ISIZE, the size mod 2^32): a
/// capacity hint, exact for one gzip member under 4 GiB.
fn gzip_size_hint(body: &[u8]) -> usize {
    body.len()
        .checked_sub(4)
        .and_then(|at| body.get(at..))
        .and_then(|tail| <[u8; 4]>::try_from(tail).ok())
        .map_or(0, |tail| u32::from_le_bytes(tail) as usize)
}

/// The first byte that is not JSON whitespace.
fn first_token(json: &[u8]) -> Option<u8> {
    json.iter()
        .copied()
        .find(|byte| !matches!(byte, b' ' | b'\t' | b'\n' | b'\r'))
}

/// A dimension key and value, borrowed from the body when they hold no escapes.
pub(crate) type Pair<'a> = (Cow<'a, str>, Cow<'a, str>);

/// Where one record's dimensions sit in [`Batch::pairs`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    /// The first pair's position.
    pub(crate) start: usize,
    /// How many pairs.
    pub(crate) len: usize,
}

impl Span {
    /// The positions of the pairs.
    pub(crate) fn range(self) -> Range<usize> {
        self.start..self.start + self.len
    }
}

/// A record on its way into the store, its strings still borrowed from the body.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Incoming<'a> {
    pub(crate) unique_id: UniqueId,
    pub(crate) meter_api_name: Cow<'a, str>,
    pub(crate) customer_id: Cow<'a, str>,
    pub(crate) meter_value: f64,
    pub(crate) meter_time_in_millis: i64,
    /// Its pairs in [`Batch::pairs`], sorted by key, keys unique; `None` when the record had
    /// no `dimensions` field.
    pub(crate) dimensions: Option<Span>,
}

/// Records on their way into the store, with the dimension pairs of all of them in one
/// buffer: a batch costs two allocations however many records and dimensions it holds.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Batch<'a> {
    /// The records, in body order.
    pub(crate) records: Vec<Incoming<'a>>,
    /// Every record's dimensions, each record's run sorted by key with unique keys.
    pub(crate) pairs: Vec<Pair<'a>>,
}

/// One record's fields as parsed, before its unique id is converted.
struct Fields<'a> {
    unique_id: Cow<'a, str>,
    meter_api_name: Cow<'a, str>,
    meter_value: f64,
    customer_id: Cow<'a, str>,
    meter_time_in_millis: i64,
    /// Already sealed in the batch's pairs (see [`seal`]).
    dimensions: Option<Span>,
}

impl<'a> Batch<'a> {
    /// A batch borrowing the fields of `records` (which must be valid), for the paths that
    /// store already built records.
    pub(crate) fn from_records(records: &'a [MeterRecord]) -> Self {
        let mut batch = Batch {
            records: Vec::with_capacity(records.len()),
            pairs: Vec::new(),
        };
        for record in records {
            let dimensions = record.dimensions().map(|dimensions| {
                let start = batch.pairs.len();
                batch.pairs.extend(
                    dimensions
                        .iter()
                        .map(|(key, value)| (Cow::Borrowed(key), Cow::Borrowed(value))),
                );
                seal(&mut batch.pairs, start)
            });
            batch.records.push(Incoming {
                unique_id: record.unique_id().clone(),
                meter_api_name: Cow::Borrowed(record.meter_api_name()),
                customer_id: Cow::Borrowed(record.customer_id()),
                meter_value: record.meter_value(),
                meter_time_in_millis: record.meter_time_in_millis(),
                dimensions,
            });
        }
        batch
    }

    /// The record's dimensions, or `None` when it has no `dimensions` field.
    pub(crate) fn dimensions(&self, record: &Incoming<'_>) -> Option<&[Pair<'a>]> {
        record
            .dimensions
            .map(|span| self.pairs.get(span.range()).unwrap_or(&[]))
    }

    /// Appends a parsed record, parsing its unique id as a UUID (once), and tells whether it
    /// passes [`MeterRecord::validate`]'s rules, checked without building the record. A test
    /// holds the two to the same answers; the error message always comes from `validate`.
    fn push(&mut self, fields: Fields<'a>) -> bool {
        let (unique_id, id_ok) = match canonical_uuid(&fields.unique_id) {
            Some(uuid) => (UniqueId::from(uuid), true),
            None => {
                let id_ok = !blank(&fields.unique_id);
                (UniqueId::from(fields.unique_id.into_owned()), id_ok)
            }
        };
        let record = Incoming {
            unique_id,
            meter_api_name: fields.meter_api_name,
            customer_id: fields.customer_id,
            meter_value: fields.meter_value,
            meter_time_in_millis: fields.meter_time_in_millis,
            dimensions: fields.dimensions,
        };
        let valid = id_ok && self.pre_check(&record);
        self.records.push(record);
        valid
    }

    /// [`MeterRecord::validate`]'s rules for everything but the unique id. The dimensions
    /// are checked after a repeated key kept its last value, as in the built record.
    fn pre_check(&self, record: &Incoming<'_>) -> bool {
        !blank(&record.meter_api_name)
            && record.meter_value.is_finite()
            && record.meter_time_in_millis > 0
            && !blank(&record.customer_id)
            && self.dimensions(record).is_none_or(|pairs| {
                pairs
                    .iter()
                    .all(|(key, value)| !blank(key) && !blank(value))
            })
    }

    /// Builds `record` (one of this batch's) as a [`MeterRecord`], which validates it.
    fn to_record(&self, record: &Incoming<'_>) -> Result<MeterRecord, ValidationError> {
        let builder = MeterRecord::builder(
            record.meter_api_name.as_ref(),
            record.meter_value,
            record.customer_id.as_ref(),
        )
        .time_in_millis(record.meter_time_in_millis)
        .unique_id(record.unique_id.clone());
        let builder = match self.dimensions(record) {
            Some(pairs) => builder.dimensions(
                pairs
                    .iter()
                    .map(|(key, value)| (key.as_ref(), value.as_ref())),
            ),
            None => builder,
        };
        builder.build()
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

/// Ends one record's dimensions, `pairs[start..]`: sorts them by key and keeps the last
/// value of a repeated key (as a JSON map does), in place, dropping the repeats from the
/// end of the buffer. Returns where they now sit.
fn seal(pairs: &mut Vec<Pair<'_>>, start: usize) -> Span {
    let len = pairs.get_mut(start..).map_or(0, sort_keep_last);
    pairs.truncate(start + len);
    Span { start, len }
}

/// Sorts `pairs` by key and moves each key's last pair to the front, in key order, returning
/// how many keys there are (the pairs past them are the repeats to drop).
fn sort_keep_last(pairs: &mut [Pair<'_>]) -> usize {
    // Stable: the pairs of one key stay in body order, so the last one is the one to keep.
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    let mut kept = 0;
    for next in 0..pairs.len() {
        if kept > 0 && pairs[kept - 1].0 == pairs[next].0 {
            // The same key again: its later pair replaces the one kept.
            pairs.swap(kept - 1, next);
        } else {
            pairs.swap(kept, next);
            kept += 1;
        }
    }
    kept
}

/// A batch being parsed.
#[derive(Default)]
struct Parsing<'a> {
    batch: Batch<'a>,
    /// The records that failed the pre-check (normally none), checked again once the whole
    /// body parsed: a syntax error anywhere is reported before a rule broken earlier.
    suspects: Vec<usize>,
}

/// The fewest body bytes a record object takes in an array: its five required fields with
/// one-byte values, the comma after it, and no whitespace.
const MIN_RECORD_BYTES: usize = 90;

impl<'a> Parsing<'a> {
    /// Room for as many records as a body of `len` bytes can hold, so the records `Vec` is
    /// allocated once instead of being regrown and copied. That is at most ~1.3 bytes per
    /// body byte, held only until the batch is stored; for a large body the part never
    /// written is never touched, so it takes no memory.
    fn for_body(len: usize) -> Self {
        Parsing {
            batch: Batch {
                records: Vec::with_capacity(len / MIN_RECORD_BYTES),
                pairs: Vec::new(),
            },
            suspects: Vec::new(),
        }
    }

    /// Appends a parsed record, noting it when it fails the pre-check.
    fn push(&mut self, fields: Fields<'a>) {
        let index = self.batch.records.len();
        if !self.batch.push(fields) {
            self.suspects.push(index);
        }
    }
}

/// A string borrowed from the body when it can be.
#[derive(Deserialize)]
struct Text<'a>(#[serde(borrow)] Cow<'a, str>);

/// A meter record's fields, by their JSON names (the same as [`MeterRecord`]'s own
/// `Deserialize`). Unknown fields are ignored.
#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "camelCase")]
enum Field {
    UniqueId,
    MeterApiName,
    MeterValue,
    CustomerId,
    MeterTimeInMillis,
    Dimensions,
    #[serde(other)]
    Other,
}

/// The field names, for [`Deserializer::deserialize_struct`].
const FIELDS: &[&str] = &[
    "uniqueId",
    "meterApiName",
    "meterValue",
    "customerId",
    "meterTimeInMillis",
    "dimensions",
];

/// The name serde's derive gave the record type these visitors replace; it shows in error
/// messages, which stay as they were.
const RECORD: &str = "struct RawRecord";

/// Parses a JSON array of records, appending each to the batch.
struct RecordsSeed<'p, 'a>(&'p mut Parsing<'a>);

impl<'de: 'a, 'a> DeserializeSeed<'de> for RecordsSeed<'_, 'a> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de: 'a, 'a> Visitor<'de> for RecordsSeed<'_, 'a> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a sequence")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let parsing = self.0;
        while seq.next_element_seed(RecordSeed(&mut *parsing))?.is_some() {}
        Ok(())
    }
}

/// Parses one record (a JSON object, or an array of its fields in order as serde's derive
/// also accepts), appending it to the batch.
struct RecordSeed<'p, 'a>(&'p mut Parsing<'a>);

impl<'de: 'a, 'a> DeserializeSeed<'de> for RecordSeed<'_, 'a> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_struct("RawRecord", FIELDS, self)
    }
}

impl<'de: 'a, 'a> Visitor<'de> for RecordSeed<'_, 'a> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(RECORD)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let pairs = &mut self.0.batch.pairs;
        let (mut unique_id, mut meter_api_name, mut meter_value) = (None, None, None);
        let (mut customer_id, mut meter_time_in_millis, mut dimensions) = (None, None, None);
        while let Some(field) = map.next_key()? {
            match field {
                Field::UniqueId => fill(&mut unique_id, "uniqueId", || text(&mut map))?,
                Field::MeterApiName => {
                    fill(&mut meter_api_name, "meterApiName", || text(&mut map))?;
                }
                Field::MeterValue => fill(&mut meter_value, "meterValue", || map.next_value())?,
                Field::CustomerId => fill(&mut customer_id, "customerId", || text(&mut map))?,
                Field::MeterTimeInMillis => {
                    fill(&mut meter_time_in_millis, "meterTimeInMillis", || {
                        map.next_value()
                    })?;
                }
                Field::Dimensions => fill(&mut dimensions, "dimensions", || {
                    map.next_value_seed(DimensionsSeed(&mut *pairs))
                })?,
                Field::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        // Missing fields are reported in declaration order, as the derive does.
        let fields = Fields {
            unique_id: unique_id.ok_or_else(|| de::Error::missing_field("uniqueId"))?,
            meter_api_name: meter_api_name
                .ok_or_else(|| de::Error::missing_field("meterApiName"))?,
            meter_value: meter_value.ok_or_else(|| de::Error::missing_field("meterValue"))?,
            customer_id: customer_id.ok_or_else(|| de::Error::missing_field("customerId"))?,
            meter_time_in_millis: meter_time_in_millis
                .ok_or_else(|| de::Error::missing_field("meterTimeInMillis"))?,
            dimensions: dimensions.flatten(),
        };
        self.0.push(fields);
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let fields = Fields {
            unique_id: element::<Text<'a>, _>(&mut seq, 0)?.0,
            meter_api_name: element::<Text<'a>, _>(&mut seq, 1)?.0,
            meter_value: element(&mut seq, 2)?,
            customer_id: element::<Text<'a>, _>(&mut seq, 3)?.0,
            meter_time_in_millis: element(&mut seq, 4)?,
            dimensions: seq
                .next_element_seed(DimensionsSeed(&mut self.0.batch.pairs))?
                .flatten(),
        };
        self.0.push(fields);
        Ok(())
    }
}

/// Stores a field's value, refusing a field given twice (as serde's derive does).
fn fill<T, E: de::Error>(
    slot: &mut Option<T>,
    name: &'static str,
    read: impl FnOnce() -> Result<T, E>,
) -> Result<(), E> {
    if slot.is_some() {
        return Err(E::duplicate_field(name));
    }
    *slot = Some(read()?);
    Ok(())
}

/// The next map value, a string borrowed from the body when it can be.
fn text<'de: 'a, 'a, A: MapAccess<'de>>(map: &mut A) -> Result<Cow<'a, str>, A::Error> {
    map.next_value().map(|Text(text)| text)
}

/// The field at `index` of a record given as an array, which must be there.
fn element<'de, T: Deserialize<'de>, A: SeqAccess<'de>>(
    seq: &mut A,
    index: usize,
) -> Result<T, A::Error> {
    seq.next_element()?
        .ok_or_else(|| de::Error::invalid_length(index, &"struct RawRecord with 6 elements"))
}

/// Parses a record's `dimensions` (an object of strings, or `null` for none) into the
/// batch's pairs, sealing them ([`seal`]).
struct DimensionsSeed<'p, 'a>(&'p mut Vec<Pair<'a>>);

impl<'de: 'a, 'a> DeserializeSeed<'de> for DimensionsSeed<'_, 'a> {
    type Value = Option<Span>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de: 'a, 'a> Visitor<'de> for DimensionsSeed<'_, 'a> {
    type Value = Option<Span>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("option")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(PairsVisitor(self.0)).map(Some)
    }
}

/// A JSON object of strings, appended to the batch's pairs and sealed.
struct PairsVisitor<'p, 'a>(&'p mut Vec<Pair<'a>>);

impl<'de: 'a, 'a> Visitor<'de> for PairsVisitor<'_, 'a> {
    type Value = Span;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map of strings")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Span, A::Error> {
        let start = self.0.len();
        while let Some((Text(key), Text(value))) = map.next_entry()? {
            self.0.push((key, value));
        }
        Ok(seal(self.0, start))
    }
}

/// Parses one record (a JSON object) or many (an array) into a batch, borrowing strings from
/// `json`, and notes the records that fail the pre-check.
fn parse_batch(json: &[u8]) -> Result<Parsing<'_>, IngestError> {
    let single = first_token(json) == Some(b'{');
    let mut parsing = Parsing::for_body(json.len());
    let parsed = match std::str::from_utf8(json) {
        Ok(text) => parse_into(
            &mut serde_json::Deserializer::from_str(text),
            &mut parsing,
            single,
        ),
        // Not UTF-8: the byte parser rejects it where it did before this fast path (it does
        // not check strings it skips), with the same message.
        Err(_) => parse_into(
            &mut serde_json::Deserializer::from_slice(json),
            &mut parsing,
            single,
        ),
    };
    match parsed {
        Ok(()) => Ok(parsing),
        Err(source) if single => Err(IngestError::Malformed { index: 0, source }),
        Err(error) => Err(locate_malformed(json, error)),
    }
}

/// Runs the record visitors over the whole input (one record when `single`, else an array),
/// refusing anything after it, as `serde_json::from_str` does.
fn parse_into<'de, R: serde_json::de::Read<'de>>(
    deserializer: &mut serde_json::Deserializer<R>,
    parsing: &mut Parsing<'de>,
    single: bool,
) -> serde_json::Result<()> {
    if single {
        RecordSeed(parsing).deserialize(&mut *deserializer)?;
    } else {
        RecordsSeed(parsing).deserialize(&mut *deserializer)?;
    }
    deserializer.end()
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
    fn gzip_members_are_concatenated() {
        let mut body = gzip(b"[1,");
        body.extend(gzip(b"2]"));
        let decoded = decode_body(&body, BodyEncoding::Gzip, 100);
        assert!(matches!(decoded.as_deref(), Ok(b"[1,2]")));
        // The trailer is only a hint: a wrong one neither breaks nor bounds the result.
        assert_eq!(gzip_size_hint(&body), 2);
        assert_eq!(gzip_size_hint(b"gz"), 0);
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
        assert_eq!(incoming, Batch::from_records(&expected));
        // Serialising shows the ids kept their kind (UUID or custom string).
        assert_eq!(
            serde_json::to_value(&parsed).expect("serialisable"),
            serde_json::to_value(&expected).expect("serialisable")
        );
        let single = br#"{"uniqueId":"x","meterApiName":"m","meterValue":1,"customerId":"c","meterTimeInMillis":1}"#;
        assert_eq!(parse_records(single).expect("valid record").len(), 1);
        assert!(parse_records(b"[] x").is_err());
    }

    #[test]
    fn min_record_bytes_is_the_smallest_record() {
        let record = br#"{"uniqueId":"a","meterApiName":"m","meterValue":1,"customerId":"c","meterTimeInMillis":5},"#;
        assert_eq!(record.len(), MIN_RECORD_BYTES);
    }

    #[test]
    fn one_pair_buffer_keeps_each_records_dimensions() {
        let body = br#"[
            {"uniqueId":"a","meterApiName":"m","meterValue":1,"customerId":"c","meterTimeInMillis":1,
             "dimensions":{"z":"1","a":"2","z":"3","m":"4","a":"5"}},
            {"uniqueId":"b","meterApiName":"m","meterValue":1,"customerId":"c","meterTimeInMillis":1},
            {"uniqueId":"c","meterApiName":"m","meterValue":1,"customerId":"c","meterTimeInMillis":1,
             "dimensions":{"k":"v"}}
        ]"#;
        let batch = parse_incoming(body).expect("valid records");
        let dimensions: Vec<Option<Vec<(&str, &str)>>> = batch
            .records
            .iter()
            .map(|record| {
                batch.dimensions(record).map(|pairs| {
                    pairs
                        .iter()
                        .map(|(key, value)| (key.as_ref(), value.as_ref()))
                        .collect()
                })
            })
            .collect();
        assert_eq!(
            dimensions,
            [
                Some(vec![("a", "5"), ("m", "4"), ("z", "3")]),
                None,
                Some(vec![("k", "v")])
            ]
        );
        // The repeats were given back: the buffer holds the kept pairs only.
        assert_eq!(batch.pairs.len(), 4);
    }

    /// The parser these visitors replaced (serde's derive over a borrowing struct), kept to
    /// hold the new one to the same results and error messages.
    mod derived {
        use super::*;

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

        struct Pairs<'a>(Vec<Pair<'a>>);

        impl<'de: 'a, 'a> Deserialize<'de> for Pairs<'a> {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct PairsVisitor<'a>(std::marker::PhantomData<&'a ()>);

                impl<'de: 'a, 'a> Visitor<'de> for PairsVisitor<'a> {
                    type Value = Pairs<'a>;

                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str("a map of strings")
                    }

                    fn visit_map<A: MapAccess<'de>>(
                        self,
                        mut map: A,
                    ) -> Result<Self::Value, A::Error> {
                        let mut pairs = Vec::new();
                        while let Some((Text(key), Text(value))) = map.next_entry()? {
                            pairs.push((key, value));
                        }
                        Ok(Pairs(pairs))
                    }
                }

                deserializer.deserialize_map(PairsVisitor(std::marker::PhantomData))
            }
        }

        /// What `parse_records` returned before, as text.
        pub(super) fn parse_records(json: &[u8]) -> Result<Vec<MeterRecord>, String> {
            let raw: Vec<RawRecord<'_>> = if first_token(json) == Some(b'{') {
                vec![
                    serde_json::from_slice(json)
                        .map_err(|source| IngestError::Malformed { index: 0, source })
                        .map_err(|error| error.to_string())?,
                ]
            } else {
                serde_json::from_slice(json)
                    .map_err(|error| locate_malformed(json, error).to_string())?
            };
            raw.iter()
                .enumerate()
                .map(|(index, raw)| {
                    let unique_id = match canonical_uuid(&raw.unique_id) {
                        Some(uuid) => UniqueId::from(uuid),
                        None => UniqueId::from(raw.unique_id.as_ref()),
                    };
                    let builder = MeterRecord::builder(
                        raw.meter_api_name.as_ref(),
                        raw.meter_value,
                        raw.customer_id.as_ref(),
                    )
                    .time_in_millis(raw.meter_time_in_millis)
                    .unique_id(unique_id);
                    let builder = match &raw.dimensions {
                        Some(Pairs(pairs)) => builder.dimensions(
                            pairs
                                .iter()
                                .map(|(key, value)| (key.as_ref(), value.as_ref())),
                        ),
                        None => builder,
                    };
                    builder
                        .build()
                        .map_err(|source| IngestError::Invalid { index, source }.to_string())
                })
                .collect()
        }
    }

    /// `text` with each `\u{1}` replaced by a byte that is never valid UTF-8.
    fn not_utf8(text: &str) -> Vec<u8> {
        text.bytes()
            .map(|byte| if byte == 1 { 0xff } else { byte })
            .collect()
    }

    #[test]
    fn same_results_and_errors_as_the_derived_parser() {
        const RECORD: &str = r#""uniqueId":"a","meterApiName":"m","meterValue":1,"customerId":"c","meterTimeInMillis":5"#;
        let bodies: Vec<Vec<u8>> = [
            format!("{{{RECORD}}}"),
            format!("[{{{RECORD}}}]"),
            format!(" \n{{{RECORD},\"dimensions\":{{\"k\":\"v\"}}}}"),
            // Repeated, missing and mistyped fields, alone and in an array.
            format!("{{{RECORD},\"uniqueId\":\"b\"}}"),
            format!("[{{{RECORD}}},{{{RECORD},\"meterValue\":2}}]"),
            format!("{{{RECORD},\"dimensions\":null,\"dimensions\":{{}}}}"),
            format!("[{{{RECORD},\"dimensions\":{{}},\"dimensions\":null}}]"),
            r#"{"meterApiName":"m"}"#.to_owned(),
            r#"{"uniqueId":"a","meterApiName":"m","customerId":"c"}"#.to_owned(),
            r#"{"uniqueId":"a","meterApiName":"m","meterValue":1,"customerId":"c"}"#.to_owned(),
            r#"{"uniqueId":1}"#.to_owned(),
            format!("{{{RECORD},\"meterTimeInMillis\":1.5}}"),
            format!("{{\"meterTimeInMillis\":1.5,{RECORD}}}"),
            format!("{{{RECORD},\"dimensions\":[]}}"),
            format!("{{{RECORD},\"dimensions\":{{\"k\":1}}}}"),
            format!("[{{{RECORD},\"dimensions\":{{\"k\":1}}}}]"),
            format!("{{{RECORD},\"dimensions\":5}}"),
            // Unknown fields of any shape, and escapes in keys and values.
            format!("{{\"x\":{{\"y\":[1,{{}}]}},{RECORD},\"z\":null}}"),
            r#"{"unique\u0049d":"a","meterApiName":"m\n","meterValue":1e2,"customerId":"\u00e9","meterTimeInMillis":5}"#.to_owned(),
            // Records given as arrays of their fields, as the derive accepts.
            r#"[["a","m",1,"c",5]]"#.to_owned(),
            r#"[["a","m",1,"c",5,{"k":"v"}]]"#.to_owned(),
            r#"[["a","m",1,"c",5,null,7]]"#.to_owned(),
            r#"[["a","m",1,"c"]]"#.to_owned(),
            // Not an array of records at all.
            String::new(),
            "null".to_owned(),
            "5".to_owned(),
            "\"x\"".to_owned(),
            "[".to_owned(),
            "[1]".to_owned(),
            "[{}]".to_owned(),
            format!("[{{{RECORD}}}] x"),
            format!("{{{RECORD}}} x"),
            format!("[{{{RECORD}}},]"),
            // Rule violations: the first bad record is named.
            format!(
                "[{{{RECORD}}},{{{}}}]",
                RECORD.replace(r#""customerId":"c""#, r#""customerId":" ""#)
            ),
            format!(
                "[{{{}}},{{{}}}]",
                RECORD.replace(":5", ":0"),
                RECORD.replace(r#""m""#, r#""\t""#)
            ),
            format!("{{{}}}", RECORD.replace(":1,", ":1e400,")),
            format!("{{{RECORD},\"uniqueId\":\"\"}}").replacen("\"uniqueId\":\"a\",", "", 1),
            format!("{{{RECORD},\"dimensions\":{{\"k\":\" \",\"k\":\"v\"}}}}"),
            format!("{{{RECORD},\"dimensions\":{{\"k\":\"v\",\"k\":\" \"}}}}"),
            format!("{{{RECORD},\"dimensions\":{{\" \":\"v\"}}}}"),
        ]
        .into_iter()
        .map(String::into_bytes)
        .chain([
            // Invalid UTF-8: in a record's string, in a skipped one, between tokens.
            not_utf8(&format!("[{{{RECORD},\"dimensions\":{{\"k\":\"\u{1}\"}}}}]")),
            not_utf8(&format!("[{{{RECORD},\"x\":\"\u{1}\"}}]")),
            not_utf8(&format!("{{{RECORD},\"x\":\"\u{1}\"}}")),
            b"[\xff]".to_vec(),
            b"{\xff}".to_vec(),
        ])
        .collect();
        for body in &bodies {
            let shown = String::from_utf8_lossy(body);
            let new = parse_records(body).map_err(|error| error.to_string());
            assert_eq!(new, derived::parse_records(body), "body: {shown}");
            // The store's path agrees with the public one.
            let incoming = parse_incoming(body).map_err(|error| error.to_string());
            match (&incoming, &new) {
                (Ok(batch), Ok(records)) => assert_eq!(*batch, Batch::from_records(records)),
                (Err(a), Err(b)) => assert_eq!(a, b, "body: {shown}"),
                _ => panic!("parse_incoming and parse_records disagree on {shown}"),
            }
        }
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
            let mut batch = Batch::default();
            let dimensions = dimensions.map(|pairs| {
                batch.pairs.extend(pairs);
                seal(&mut batch.pairs, 0)
            });
            let passes = batch.push(Fields {
                unique_id,
                meter_api_name,
                meter_value,
                customer_id,
                meter_time_in_millis,
                dimensions,
            });
            let record = batch.records.first().expect("one record");
            prop_assert_eq!(passes, batch.to_record(record).is_ok());
        }

        /// Sealing keeps, for each key, the value given last, in key order.
        #[test]
        fn seal_keeps_the_last_value_of_each_key(
            before in proptest::collection::vec((text(TEXTS), text(TEXTS)), 0..3),
            pairs in proptest::collection::vec((text(TEXTS), text(TEXTS)), 0..8),
        ) {
            let mut buffer = before.clone();
            buffer.extend(pairs.iter().cloned());
            let span = seal(&mut buffer, before.len());
            let expected: std::collections::BTreeMap<_, _> = pairs.into_iter().collect();
            prop_assert_eq!(buffer.len(), before.len() + expected.len());
            prop_assert_eq!(buffer.get(..before.len()), Some(&before[..]));
            let sealed: Vec<_> = buffer.get(span.range()).unwrap_or(&[]).to_vec();
            prop_assert_eq!(sealed, expected.into_iter().collect::<Vec<_>>());
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
