//! The serde seeds and visitors that parse a body in a single pass, straight from its bytes
//! into a [`Batch`], reporting missing, repeated and mistyped fields as serde's derive does.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::batch::{Batch, Fields, Pair, Span, seal};
use super::fast::parse_plain;
use super::{IngestError, locate_malformed};

/// The first byte that is not JSON whitespace.
pub(super) fn first_token(json: &[u8]) -> Option<u8> {
    json.iter()
        .copied()
        .find(|byte| !matches!(byte, b' ' | b'\t' | b'\n' | b'\r'))
}

/// A batch being parsed.
#[derive(Default)]
pub(super) struct Parsing<'a> {
    pub(super) batch: Batch<'a>,
    /// The records that failed the pre-check (normally none), checked again once the whole
    /// body parsed: a syntax error anywhere is reported before a rule broken earlier.
    pub(super) suspects: Vec<usize>,
}

/// The fewest body bytes a record object takes in an array: its five required fields with
/// one-byte values, the comma after it, and no whitespace.
const MIN_RECORD_BYTES: usize = 90;

impl<'a> Parsing<'a> {
    /// Room for as many record objects as a body of `len` bytes can hold (a hint: records
    /// given as arrays are shorter, and grow the `Vec` as usual), so the records `Vec` is
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
    pub(super) fn push(&mut self, fields: Fields<'a>) {
        let index = self.batch.records.len();
        if !self.batch.push(fields) {
            self.suspects.push(index);
        }
    }

    /// Forgets every record, pair and suspect, keeping the buffers.
    fn clear(&mut self) {
        self.batch.records.clear();
        self.batch.pairs.clear();
        self.suspects.clear();
    }
}

/// A string borrowed from the body when it can be.
#[derive(Deserialize)]
pub(super) struct Text<'a>(#[serde(borrow)] pub(super) Cow<'a, str>);

/// A meter record's fields, by their JSON names (the same as
/// [`MeterRecord`](amberflo_types::MeterRecord)'s own `Deserialize`). Unknown fields are
/// ignored.
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
///
/// The hand-written parser ([`parse_plain`]) takes the common shape; the serde visitors
/// parse anything else from scratch, and word the errors.
pub(super) fn parse_batch(json: &[u8]) -> Result<Parsing<'_>, IngestError> {
    let mut parsing = Parsing::for_body(json.len());
    let text = std::str::from_utf8(json).ok();
    if let Some(text) = text {
        if parse_plain(text, &mut parsing) {
            return Ok(parsing);
        }
        parsing.clear();
    }
    parse_with_serde(json, text, parsing)
}

/// [`parse_batch`] with the serde visitors alone, into `parsing` (empty); `text` is `json`
/// when it is UTF-8.
pub(super) fn parse_with_serde<'a>(
    json: &'a [u8],
    text: Option<&'a str>,
    mut parsing: Parsing<'a>,
) -> Result<Parsing<'a>, IngestError> {
    let single = first_token(json) == Some(b'{');
    let parsed = match text {
        Some(text) => parse_into(
            &mut serde_json::Deserializer::from_str(text),
            &mut parsing,
            single,
        ),
        // Not UTF-8: the byte parser rejects it where it did before bodies were validated up
        // front (it does not check strings it skips), with the same message.
        None => parse_into(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_record_bytes_is_the_smallest_record() {
        let record = br#"{"uniqueId":"a","meterApiName":"m","meterValue":1,"customerId":"c","meterTimeInMillis":5},"#;
        assert_eq!(record.len(), MIN_RECORD_BYTES);
    }
}
