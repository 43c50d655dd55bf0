//! The compact batch model: records on their way into the store, their strings borrowed from
//! the body and the dimension pairs of all of them in one buffer, plus the pre-check that holds
//! each record to [`MeterRecord::validate`]'s rules without building it.

use amberflo_types::EpochMillis;
use std::borrow::Cow;
use std::ops::Range;

use amberflo_types::{MeterRecord, RecordLimits, UniqueId, ValidationError, is_blank};
use uuid::Uuid;

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
pub(super) struct Fields<'a> {
    pub(super) unique_id: Cow<'a, str>,
    pub(super) meter_api_name: Cow<'a, str>,
    pub(super) meter_value: f64,
    pub(super) customer_id: Cow<'a, str>,
    pub(super) meter_time_in_millis: i64,
    /// Already sealed in the batch's pairs (see [`seal`]).
    pub(super) dimensions: Option<Span>,
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
    pub(super) fn push(&mut self, fields: Fields<'a>) -> bool {
        let (unique_id, id_ok) = match canonical_uuid(&fields.unique_id) {
            Some(uuid) => (UniqueId::from(uuid), true),
            None => {
                let id_ok = !is_blank(&fields.unique_id);
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
        !is_blank(&record.meter_api_name)
            && record.meter_value.is_finite()
            && record.meter_time_in_millis > 0
            && !is_blank(&record.customer_id)
            && self.dimensions(record).is_none_or(|pairs| {
                pairs
                    .iter()
                    .all(|(key, value)| !is_blank(key) && !is_blank(value))
            })
    }

    /// Builds `record` (one of this batch's) as a [`MeterRecord`], which validates it.
    pub(super) fn to_record(&self, record: &Incoming<'_>) -> Result<MeterRecord, ValidationError> {
        let builder = MeterRecord::builder(
            record.meter_api_name.as_ref(),
            record.meter_value,
            record.customer_id.as_ref(),
        )
        .meter_time(EpochMillis::new(record.meter_time_in_millis))
        .unique_id(record.unique_id.clone());
        let builder = match self.dimensions(record) {
            Some(pairs) => builder.dimensions(
                pairs
                    .iter()
                    .map(|(key, value)| (key.as_ref(), value.as_ref())),
            ),
            None => builder,
        };
        // The wire contract's rules only: the SDK's size limits and time window are its own.
        builder.build_with(&RecordLimits::NONE)
    }
}

/// Whether `id` is a UUID in canonical (lowercase, hyphenated) form, which [`UniqueId`]
/// keeps binary; any other id is kept as a string.
pub(super) fn canonical_uuid(id: &str) -> Option<Uuid> {
    if id.len() != 36 || id.bytes().any(|byte| byte.is_ascii_uppercase()) {
        return None;
    }
    Uuid::try_parse(id).ok()
}

/// Ends one record's dimensions, `pairs[start..]`: sorts them by key and keeps the last
/// value of a repeated key (as a JSON map does), in place, dropping the repeats from the
/// end of the buffer. Returns where they now sit.
pub(super) fn seal(pairs: &mut Vec<Pair<'_>>, start: usize) -> Span {
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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

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
}
