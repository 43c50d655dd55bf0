//! The record log: meter records in arrival order, stored compactly and deduplicated, plus
//! custom-schema records and a per-customer summary kept up to date lazily.
//!
//! Compact storage: each record is 56 bytes plus 8 per dimension; meter names, customer ids
//! and dimension keys and values are interned ([`Interner`]). A [`MeterRecord`] is rebuilt
//! only when one is read out. This keeps memory (and page faults while ingesting) an order of
//! magnitude below storing `MeterRecord`s, whose dimension map alone takes ~0.5 KiB.
//!
//! Records arrive as an ingest [`Batch`]: one `Vec` of records and one of all their
//! dimension pairs, each record holding a span of it (built by one parse of the body, or from
//! `MeterRecord`s). They are interned and appended in one pass under the store's lock.
//!
//! Deduplication: a record is dropped when a record with the same `uniqueId` and the same
//! content (meter, value, customer, time, dimensions) is already stored. A record that reuses
//! a `uniqueId` with different content is stored as well, so a client bug that recycles ids
//! stays visible instead of vanishing. The index ([`DedupIndex`]) maps a hash of the unique id
//! (computed before the lock is taken) to the positions of the records carrying it.

use amberflo_types::EpochMillis;
use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasherDefault;

use amberflo_types::{MeterRecord, RecordLimits, UniqueId};
use serde::Serialize;
use serde_json::Value;

use super::dedup::DedupIndex;
use super::interner::{FxHasher, Interner, Sym};
use crate::ingest::Batch;
use crate::view::RecordView;

/// A record's position in [`RecordLog::records`], as the dedup index keeps it: 4 bytes.
/// Past `u32::MAX` records (far more than fit in memory) positions saturate and those records
/// are not deduplicated.
fn position_of(position: usize) -> u32 {
    u32::try_from(position).unwrap_or(u32::MAX)
}

/// How many of the last records received the log remembers (for the console's table).
pub(crate) const RECENT: usize = 25;

/// `dimensions_len` of a record that has no `dimensions` field at all.
const NO_DIMENSIONS: u32 = u32::MAX;

/// One stored record.
#[derive(Debug, Clone, PartialEq)]
struct Stored {
    unique_id: UniqueId,
    meter: Sym,
    customer: Sym,
    /// Where its dimensions start in [`RecordLog::dimensions`].
    dimensions_start: u32,
    /// How many it has, or [`NO_DIMENSIONS`].
    dimensions_len: u32,
    value: f64,
    time: i64,
}

/// A stored record with the tables needed to read it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StoredView<'a> {
    record: &'a Stored,
    log: &'a RecordLog,
}

impl<'a> StoredView<'a> {
    fn dimension_pairs(self) -> Option<&'a [(Sym, Sym)]> {
        if self.record.dimensions_len == NO_DIMENSIONS {
            return None;
        }
        let start = self.record.dimensions_start as usize;
        let end = start + self.record.dimensions_len as usize;
        Some(self.log.dimensions.get(start..end).unwrap_or(&[]))
    }

    /// Its unique id.
    pub(crate) fn unique_id(self) -> &'a UniqueId {
        &self.record.unique_id
    }

    /// Its dimensions, in key order.
    pub(crate) fn dimensions(self) -> impl Iterator<Item = (&'a str, &'a str)> {
        let strings = &self.log.strings;
        self.dimension_pairs()
            .unwrap_or(&[])
            .iter()
            .map(move |&(key, value)| (strings.resolve(key), strings.resolve(value)))
    }

    /// The record as a [`MeterRecord`] (`None` only if it somehow fails validation).
    pub(crate) fn to_record(self) -> Option<MeterRecord> {
        let strings = &self.log.strings;
        let builder = MeterRecord::builder(
            strings.resolve(self.record.meter),
            self.record.value,
            strings.resolve(self.record.customer),
        )
        .meter_time(EpochMillis::new(self.record.time))
        .unique_id(self.record.unique_id.clone());
        let builder = match self.dimension_pairs() {
            Some(pairs) => builder.dimensions(
                pairs
                    .iter()
                    .map(|(key, value)| (strings.resolve(*key), strings.resolve(*value))),
            ),
            None => builder,
        };
        match builder.build_with(&RecordLimits::NONE) {
            Ok(record) => Some(record),
            Err(error) => {
                tracing::error!(%error, "a stored record no longer validates");
                None
            }
        }
    }
}

impl<'a> RecordView<'a> for StoredView<'a> {
    fn meter_api_name(self) -> &'a str {
        self.log.strings.resolve(self.record.meter)
    }

    fn customer_id(self) -> &'a str {
        self.log.strings.resolve(self.record.customer)
    }

    fn meter_value(self) -> f64 {
        self.record.value
    }

    fn meter_time_in_millis(self) -> i64 {
        self.record.time
    }

    fn dimension(self, name: &str) -> Option<&'a str> {
        let strings = &self.log.strings;
        self.dimension_pairs()?
            .iter()
            .find(|(key, _)| strings.resolve(*key) == name)
            .map(|(_, value)| strings.resolve(*value))
    }
}

/// Totals of one meter for one customer, for the live page.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MeterTotals {
    pub(crate) records: u64,
    pub(crate) total: f64,
    pub(crate) last_meter_time_in_millis: i64,
}

/// The stored records.
#[derive(Debug, Default)]
pub(crate) struct RecordLog {
    records: Vec<Stored>,
    dimensions: Vec<(Sym, Sym)>,
    strings: Interner,
    /// Id hash to the positions of the records stored with it.
    index: DedupIndex,
    custom: Vec<Value>,
    /// The last [`RECENT`] records received, newest last: where each is stored, and whether
    /// it was a duplicate of that record (and dropped).
    recent: VecDeque<(u32, bool)>,
    summary_cursor: usize,
    summary: HashMap<(Sym, Sym), MeterTotals, BuildHasherDefault<FxHasher>>,
}

impl RecordLog {
    /// Stores the batch's records (whose id hashes are `hashes`), returning how many were
    /// duplicates.
    pub(crate) fn insert(&mut self, batch: Batch<'_>, hashes: &[u64]) -> usize {
        let Batch { records, pairs } = batch;
        let mut duplicates = 0;
        // Grow every table once per batch rather than mid-batch (the index may get an entry
        // per record; duplicates leave some room unused until the next batch).
        self.records.reserve(records.len());
        self.dimensions.reserve(pairs.len());
        self.index.reserve(records.len());
        std::hint::black_box(self.index.warm(hashes));
        // What the previous record's meter name and i-th dimension key interned to.
        let mut meter_hint = None;
        let mut key_hints = [None; 8];
        for (incoming, hash) in records.into_iter().zip(hashes) {
            let dimensions_start = u32::try_from(self.dimensions.len()).unwrap_or(u32::MAX);
            let dimensions_len = match incoming.dimensions {
                None => NO_DIMENSIONS,
                Some(span) => {
                    let pairs = pairs.get(span.range()).unwrap_or(&[]);
                    for (at, (key, value)) in pairs.iter().enumerate() {
                        let key = match key_hints.get_mut(at) {
                            Some(hint) => self.strings.intern_hinted(key, hint),
                            None => self.strings.intern(key),
                        };
                        let pair = (key, self.strings.intern(value));
                        self.dimensions.push(pair);
                    }
                    u32::try_from(pairs.len()).unwrap_or(NO_DIMENSIONS - 1)
                }
            };
            let record = Stored {
                unique_id: incoming.unique_id,
                meter: self
                    .strings
                    .intern_hinted(&incoming.meter_api_name, &mut meter_hint),
                customer: self.strings.intern(&incoming.customer_id),
                dimensions_start,
                dimensions_len,
                value: incoming.meter_value,
                time: incoming.meter_time_in_millis,
            };
            let (records, dimensions) = (&self.records, &self.dimensions);
            let seen = self.index.candidates(*hash).find(|&at| {
                records
                    .get(at as usize)
                    .is_some_and(|stored| same(stored, &record, dimensions))
            });
            let received = if let Some(at) = seen {
                duplicates += 1;
                // Give back the dimension slots the duplicate took.
                self.dimensions.truncate(dimensions_start as usize);
                (at, true)
            } else {
                let at = position_of(self.records.len());
                self.index.insert(*hash, at);
                self.records.push(record);
                (at, false)
            };
            if self.recent.len() == RECENT {
                self.recent.pop_front();
            }
            self.recent.push_back(received);
        }
        duplicates
    }

    pub(crate) fn insert_custom(&mut self, values: Vec<Value>) {
        self.custom.extend(values);
    }

    pub(crate) fn len(&self) -> usize {
        self.records.len()
    }

    /// Every record, in arrival order.
    pub(crate) fn iter(
        &self,
    ) -> impl DoubleEndedIterator<Item = StoredView<'_>> + ExactSizeIterator + Clone {
        self.records
            .iter()
            .map(move |record| StoredView { record, log: self })
    }

    /// The last records received, newest first: each stored record (or the one a duplicate
    /// repeated) and whether it was a dropped duplicate.
    pub(crate) fn recent(&self) -> impl Iterator<Item = (StoredView<'_>, bool)> {
        self.recent
            .iter()
            .rev()
            .filter_map(move |&(at, duplicate)| {
                let record = self.records.get(at as usize)?;
                Some((StoredView { record, log: self }, duplicate))
            })
    }

    /// Whether `a` and `b` are the same stored record.
    pub(crate) fn same_record(a: StoredView<'_>, b: StoredView<'_>) -> bool {
        std::ptr::eq(a.record, b.record)
    }

    pub(crate) fn custom(&self) -> &[Value] {
        &self.custom
    }

    /// Drops everything, releasing the memory.
    pub(crate) fn clear(&mut self) {
        *self = RecordLog::default();
    }

    /// The per-customer, per-meter totals, ordered by customer then meter, brought up to
    /// date with the records that arrived since the last call.
    pub(crate) fn summary(&mut self) -> Vec<(&str, &str, MeterTotals)> {
        let RecordLog {
            records,
            strings,
            summary,
            summary_cursor,
            ..
        } = self;
        for record in records.get(*summary_cursor..).unwrap_or(&[]) {
            let totals = summary.entry((record.customer, record.meter)).or_default();
            totals.records += 1;
            totals.total += record.value;
            totals.last_meter_time_in_millis = totals.last_meter_time_in_millis.max(record.time);
        }
        *summary_cursor = records.len();
        let mut rows: Vec<(&str, &str, MeterTotals)> = summary
            .iter()
            .map(|((customer, meter), totals)| {
                (
                    strings.resolve(*customer),
                    strings.resolve(*meter),
                    totals.clone(),
                )
            })
            .collect();
        rows.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        rows
    }
}

/// Whether two stored records have the same content.
fn same(a: &Stored, b: &Stored, dimensions: &[(Sym, Sym)]) -> bool {
    let pairs = |record: &Stored| {
        let start = record.dimensions_start as usize;
        let len = if record.dimensions_len == NO_DIMENSIONS {
            0
        } else {
            record.dimensions_len as usize
        };
        dimensions.get(start..start + len)
    };
    a.unique_id == b.unique_id
        && a.meter == b.meter
        && a.customer == b.customer
        && a.value == b.value
        && a.time == b.time
        && a.dimensions_len == b.dimensions_len
        && pairs(a) == pairs(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, value: f64) -> MeterRecord {
        MeterRecord::builder("m", value, "c")
            .unique_id(id)
            .meter_time(EpochMillis::new(1_000))
            .dimension("region", "eu")
            .build_with(&RecordLimits::NONE)
            .expect("valid record")
    }

    fn insert(log: &mut RecordLog, records: &[MeterRecord], hashes: &[u64]) -> usize {
        log.insert(Batch::from_records(records), hashes)
    }

    #[test]
    fn dedups_same_id_and_content_only() {
        let mut log = RecordLog::default();
        let records = [record("a", 1.0), record("a", 1.0), record("a", 2.0)];
        // Same hash for all three: the content decides.
        assert_eq!(insert(&mut log, &records, &[7, 7, 7]), 1);
        assert_eq!(log.len(), 2);
        let more = [record("a", 2.0), record("b", 1.0)];
        assert_eq!(insert(&mut log, &more, &[7, 8]), 1);
        assert_eq!(log.len(), 3);
        // The duplicates' dimensions were given back.
        assert_eq!(log.dimensions.len(), 3);
        let summary = log.summary();
        assert_eq!(summary.len(), 1);
        let (customer, meter, totals) = &summary[0];
        assert_eq!((*customer, *meter, totals.records), ("c", "m", 3));
        assert!((totals.total - 4.0).abs() < 1e-9);
        log.clear();
        assert_eq!(log.len(), 0);
        assert!(log.summary().is_empty());
    }

    #[test]
    fn round_trips_records() {
        let records = [
            record("a", 1.5),
            MeterRecord::builder("other", 2.0, "d")
                .meter_time(EpochMillis::new(5))
                .build_with(&RecordLimits::NONE)
                .expect("valid record"),
            MeterRecord::builder("other", 2.0, "d")
                .meter_time(EpochMillis::new(5))
                .dimensions(Vec::<(String, String)>::new())
                .dimension("x", "1")
                .dimension("a", "2")
                .build_with(&RecordLimits::NONE)
                .expect("valid record"),
        ];
        let mut log = RecordLog::default();
        assert_eq!(insert(&mut log, &records, &[1, 2, 3]), 0);
        let back: Vec<MeterRecord> = log.iter().filter_map(StoredView::to_record).collect();
        assert_eq!(back, records);
        let view = log.iter().nth(2).expect("three records");
        assert_eq!(view.dimension("a"), Some("2"));
        assert_eq!(view.attribute("customerId"), Some("d"));
        assert_eq!(view.dimension("b"), None);
    }
}
