//! [`Dimensions`]: a meter record's dimensions, compact and sorted by key.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Index;

use compact_str::CompactString;
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A meter record's dimensions: string keys and values, keys unique and sorted.
///
/// They are kept as one sorted list of pairs, each string stored inline when it has at most 24
/// bytes, so a record with a few short dimensions makes one small allocation for them (a map
/// would make a node of several hundred bytes even for one entry). They serialise as a JSON
/// object with the keys in sorted order, and deserialise from one (a repeated key keeps its
/// last value, as a map does). Read them from [`MeterRecord::dimensions`]; set them with
/// [`MeterRecordBuilder::dimension`] and [`MeterRecordBuilder::dimensions`].
///
/// [`MeterRecord::dimensions`]: crate::MeterRecord::dimensions
/// [`MeterRecordBuilder::dimension`]: crate::MeterRecordBuilder::dimension
/// [`MeterRecordBuilder::dimensions`]: crate::MeterRecordBuilder::dimensions
///
/// ```
/// use amberflo_types::MeterRecord;
///
/// let record = MeterRecord::builder("ApiCalls", 1.0, "customer-1")
///     .dimension("region", "us-east-1")
///     .dimensions([("tier", "pro"), ("plan", "team")])
///     .build()?;
/// let dimensions = record.dimensions().expect("dimensions were set");
/// assert_eq!(dimensions.len(), 3);
/// assert_eq!(dimensions.get("region"), Some("us-east-1"));
/// assert_eq!(&dimensions["tier"], "pro");
/// assert!(!dimensions.contains_key("zone"));
/// // Iteration is in key order, as is the JSON object.
/// let keys: Vec<&str> = dimensions.iter().map(|(key, _)| key).collect();
/// assert_eq!(keys, ["plan", "region", "tier"]);
/// assert_eq!(
///     serde_json::to_string(dimensions).unwrap(),
///     r#"{"plan":"team","region":"us-east-1","tier":"pro"}"#,
/// );
/// # Ok::<(), amberflo_types::ValidationError>(())
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Dimensions {
    /// Sorted by key (byte order, as `str`'s `Ord`), keys unique.
    entries: Vec<(CompactString, CompactString)>,
}

impl Dimensions {
    /// No dimensions, with room for `capacity` without reallocating.
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Dimensions {
            entries: Vec::with_capacity(capacity),
        }
    }

    /// The value of `key`, if there is one.
    pub fn get(&self, key: &str) -> Option<&str> {
        // A scan: records have few dimensions, and most keys differ in length, which `==`
        // compares first; cheaper than the sorted search's byte comparisons.
        self.entries
            .iter()
            .find(|(probe, _)| probe == key)
            .map(|(_, value)| value.as_str())
    }

    /// Whether there is a value for `key`.
    pub fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_ok()
    }

    /// The `(key, value)` pairs, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries
            .iter()
            .map(|(key, value)| (key.as_str(), value.as_str()))
    }

    /// How many dimensions there are.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The dimensions as an owned map.
    pub fn to_map(&self) -> BTreeMap<String, String> {
        self.iter()
            .map(|(key, value)| (key.to_owned(), value.to_owned()))
            .collect()
    }

    /// Sets `key` to `value`, replacing the value it had.
    pub(crate) fn insert(&mut self, key: &str, value: &str) {
        // Keys often come in order: then one comparison with the last key places the pair.
        if self
            .entries
            .last()
            .is_none_or(|(last, _)| last.as_str() < key)
        {
            self.entries
                .push((CompactString::new(key), CompactString::new(value)));
            return;
        }
        match self.position(key) {
            Ok(index) => self.entries[index].1 = CompactString::new(value),
            Err(index) => self
                .entries
                .insert(index, (CompactString::new(key), CompactString::new(value))),
        }
    }

    /// Sets every pair in turn (a repeated key keeps its last value).
    pub(crate) fn extend<K, V>(&mut self, pairs: impl IntoIterator<Item = (K, V)>)
    where
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let pairs = pairs.into_iter();
        if self.entries.is_empty() {
            // Common case: take them all, then sort once.
            self.entries.reserve_exact(pairs.size_hint().0);
            self.entries.extend(pairs.map(|(key, value)| {
                (
                    CompactString::new(key.as_ref()),
                    CompactString::new(value.as_ref()),
                )
            }));
            self.normalize();
        } else {
            for (key, value) in pairs {
                self.insert(key.as_ref(), value.as_ref());
            }
        }
    }

    /// Frees spare capacity (records can be queued by the hundred thousand).
    pub(crate) fn shrink_to_fit(&mut self) {
        if self.entries.capacity() > self.entries.len() {
            self.entries.shrink_to_fit();
        }
    }

    fn position(&self, key: &str) -> Result<usize, usize> {
        self.entries
            .binary_search_by(|(probe, _)| probe.as_str().cmp(key))
    }

    /// Sorts by key and drops repeated keys, keeping the value that came last.
    fn normalize(&mut self) {
        // Stable: the pairs of one key stay in the order given.
        self.entries
            .sort_by(|(a, _), (b, _)| a.as_str().cmp(b.as_str()));
        self.entries.dedup_by(|later, kept| {
            if later.0 == kept.0 {
                std::mem::swap(&mut later.1, &mut kept.1);
                true
            } else {
                false
            }
        });
    }
}

/// The value of `key`.
///
/// # Panics
///
/// If there is no dimension `key`, like [`BTreeMap`]'s `Index`; use [`Dimensions::get`] when
/// it may be missing.
///
/// The output is a `str`, so compare a borrow of it: `&dimensions["region"] == "us-east-1"`.
impl Index<&str> for Dimensions {
    type Output = str;

    fn index(&self, key: &str) -> &str {
        self.get(key)
            .unwrap_or_else(|| panic!("no dimension {key:?}"))
    }
}

impl fmt::Debug for Dimensions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl Serialize for Dimensions {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for Dimensions {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(DimensionsVisitor)
    }
}

struct DimensionsVisitor;

impl<'de> Visitor<'de> for DimensionsVisitor {
    type Value = Dimensions;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map of string dimension names to string values")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Dimensions, A::Error> {
        // Bound the hint: it comes from the input.
        let mut dimensions = Dimensions::with_capacity(map.size_hint().unwrap_or(0).min(64));
        while let Some(pair) = map.next_entry::<CompactString, CompactString>()? {
            dimensions.entries.push(pair);
        }
        dimensions.normalize();
        dimensions.shrink_to_fit();
        Ok(dimensions)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MeterRecord;

    #[test]
    #[should_panic(expected = "no dimension \"zone\"")]
    fn indexing_a_missing_key_panics() {
        let dimensions: Dimensions = serde_json::from_str(r#"{"region": "eu"}"#).unwrap();
        assert_eq!(&dimensions["region"], "eu");
        let _ = &dimensions["zone"];
    }

    #[test]
    fn parsing_sorts_keeps_the_last_repeat_and_rejects_non_strings() {
        let dimensions: Dimensions =
            serde_json::from_str(r#"{"b": "1", "a": "2", "b": "3", "c": "4", "b": "5"}"#).unwrap();
        assert_eq!(
            dimensions.iter().collect::<Vec<_>>(),
            [("a", "2"), ("b", "5"), ("c", "4")]
        );
        assert_eq!(
            format!("{dimensions:?}"),
            r#"{"a": "2", "b": "5", "c": "4"}"#
        );
        assert!(serde_json::from_str::<Dimensions>(r#"{"a": 1}"#).is_err());
        assert!(serde_json::from_str::<Dimensions>(r#"["a", "b"]"#).is_err());
        assert!(serde_json::from_str::<Dimensions>("{}").unwrap().is_empty());
    }

    #[test]
    fn records_keep_absent_null_and_empty_dimensions_apart() {
        let base = r#""uniqueId": "u", "meterApiName": "m", "meterValue": 1,
            "customerId": "c", "meterTimeInMillis": 1"#;
        let parse = |extra: &str| -> MeterRecord {
            serde_json::from_str(&format!("{{{base}{extra}}}")).unwrap()
        };
        assert_eq!(parse("").dimensions(), None);
        assert_eq!(parse(r#", "dimensions": null"#).dimensions(), None);
        let empty = parse(r#", "dimensions": {}"#);
        assert_eq!(empty.dimensions(), Some(&Dimensions::default()));
        let json = serde_json::to_value(&empty).unwrap();
        assert_eq!(json["dimensions"], serde_json::json!({}));
        let none = serde_json::to_value(parse("")).unwrap();
        assert!(none.get("dimensions").is_none());
    }

    #[test]
    fn the_builder_stores_no_spare_capacity() {
        for count in 0..6 {
            let record = MeterRecord::builder("m", 1.0, "c")
                .dimensions((0..count).map(|i| (format!("k{i}"), "v")))
                .dimension("k1", "again")
                .build()
                .unwrap();
            let entries = &record.dimensions().unwrap().entries;
            assert_eq!(entries.capacity(), entries.len());
            assert_eq!(entries.len(), count.max(2).min(count + 1));
        }
    }
}
