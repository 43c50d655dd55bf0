//! The parser these visitors replaced (serde's derive over a borrowing struct), kept to
//! hold the new one to the same results and error messages.

use amberflo_types::EpochMillis;
use std::borrow::Cow;
use std::fmt;

use amberflo_types::{MeterRecord, RecordLimits, UniqueId};
use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};

use crate::ingest::batch::{Pair, canonical_uuid};
use crate::ingest::parse::{Text, first_token};
use crate::ingest::{IngestError, locate_malformed};

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

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
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
        serde_json::from_slice(json).map_err(|error| locate_malformed(json, error).to_string())?
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
            .meter_time(EpochMillis::new(raw.meter_time_in_millis))
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
                .build_with(&RecordLimits::NONE)
                .map_err(|source| IngestError::Invalid { index, source }.to_string())
        })
        .collect()
}
