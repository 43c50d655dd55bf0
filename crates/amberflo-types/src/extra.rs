//! The `extra` map of every response type: the fields this SDK does not know, kept as JSON so
//! nothing the server sends is lost, but bounded so that a hostile or broken server cannot
//! make a response hold an unbounded amount of it.
//!
//! The unknown fields of one object may take [`MAX_EXTRA_BYTES`] together (strings and keys by
//! their length, other values 8 bytes each). A field that would go over is dropped, whole, and
//! counted in [`dropped_unknown_fields`]; smaller ones after it are still kept.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// How many bytes the unknown fields of one response object may take together: 16 MiB, room
/// for an invoice's line items, a quarter of the default answer cap.
pub const MAX_EXTRA_BYTES: usize = 16 << 20;

/// How much one value that is not text counts towards [`MAX_EXTRA_BYTES`].
const SCALAR_BYTES: usize = 8;

static DROPPED: AtomicU64 = AtomicU64::new(0);

/// How many unknown response fields were dropped in this process because they would have
/// taken an object's unknown fields over [`MAX_EXTRA_BYTES`].
///
/// ```
/// let before = amberflo_types::dropped_unknown_fields();
/// let big = "x".repeat(amberflo_types::MAX_EXTRA_BYTES + 1);
/// let json = serde_json::json!({"customerId": "c1", "blob": big, "small": 1});
/// let customer: amberflo_types::Customer = serde_json::from_value(json).unwrap();
/// assert!(!customer.extra.contains_key("blob"));
/// assert_eq!(customer.extra["small"], 1);
/// assert!(amberflo_types::dropped_unknown_fields() > before);
/// ```
pub fn dropped_unknown_fields() -> u64 {
    DROPPED.load(Ordering::Relaxed)
}

/// Reads a flattened `extra` map within [`MAX_EXTRA_BYTES`] (use with
/// `#[serde(flatten, deserialize_with = "crate::extra::bounded")]`).
pub(crate) fn bounded<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<String, Value>, D::Error> {
    deserializer.deserialize_map(ExtraVisitor)
}

struct ExtraVisitor;

impl<'de> Visitor<'de> for ExtraVisitor {
    type Value = BTreeMap<String, Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map of unknown fields")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let left = Cell::new(MAX_EXTRA_BYTES);
        let mut extra = BTreeMap::new();
        while let Some(key) = map.next_key::<String>()? {
            let before = left.get();
            let value = if charge(&left, key.len()) {
                map.next_value_seed(Bounded { left: &left })?
            } else {
                map.next_value::<IgnoredAny>()?;
                None
            };
            match value {
                Some(value) => {
                    extra.insert(key, value);
                }
                None => {
                    // Dropped whole; what it took is given back for the fields after it.
                    left.set(before);
                    DROPPED.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        Ok(extra)
    }
}

/// Takes `bytes` from the budget `left`, or empties it and says no.
fn charge(left: &Cell<usize>, bytes: usize) -> bool {
    match left.get().checked_sub(bytes) {
        Some(rest) => {
            left.set(rest);
            true
        }
        None => {
            left.set(0);
            false
        }
    }
}

/// Reads one JSON value within the budget `left`: `None` when it does not fit (the rest of it
/// is skipped without being kept).
struct Bounded<'a> {
    left: &'a Cell<usize>,
}

impl<'de> DeserializeSeed<'de> for Bounded<'_> {
    type Value = Option<Value>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<Value>, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Bounded<'_> {
    type Value = Option<Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: serde::de::Error>(self, value: bool) -> Result<Option<Value>, E> {
        Ok(charge(self.left, SCALAR_BYTES).then_some(Value::Bool(value)))
    }

    fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<Option<Value>, E> {
        Ok(charge(self.left, SCALAR_BYTES).then(|| Value::from(value)))
    }

    fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<Option<Value>, E> {
        Ok(charge(self.left, SCALAR_BYTES).then(|| Value::from(value)))
    }

    fn visit_f64<E: serde::de::Error>(self, value: f64) -> Result<Option<Value>, E> {
        let number = Number::from_f64(value).map_or(Value::Null, Value::Number);
        Ok(charge(self.left, SCALAR_BYTES).then_some(number))
    }

    fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<Option<Value>, E> {
        Ok(charge(self.left, value.len()).then(|| Value::String(value.to_owned())))
    }

    fn visit_string<E: serde::de::Error>(self, value: String) -> Result<Option<Value>, E> {
        Ok(charge(self.left, value.len()).then_some(Value::String(value)))
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Option<Value>, E> {
        Ok(charge(self.left, SCALAR_BYTES).then_some(Value::Null))
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Option<Value>, E> {
        self.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<Value>, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Option<Value>, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(Bounded { left: self.left })? {
            match item {
                Some(item) => items.push(item),
                None => {
                    while seq.next_element::<IgnoredAny>()?.is_some() {}
                    return Ok(None);
                }
            }
        }
        Ok(Some(Value::Array(items)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<Value>, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = if charge(self.left, key.len()) {
                map.next_value_seed(Bounded { left: self.left })?
            } else {
                map.next_value::<IgnoredAny>()?;
                None
            };
            match value {
                Some(value) => {
                    object.insert(key, value);
                }
                None => {
                    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                    return Ok(None);
                }
            }
        }
        Ok(Some(Value::Object(object)))
    }
}

#[cfg(test)]
mod tests {
    use crate::Customer;

    #[test]
    fn a_nested_value_over_the_budget_is_dropped_whole_and_the_rest_still_read() {
        let item = "y".repeat(1 << 20);
        let nested = vec![serde_json::json!({"k": item}); 20];
        let text = serde_json::json!({
            "customerId": "c1",
            "nested": nested,
            "after": [1, 2, 3],
            "customerName": "Acme",
        })
        .to_string();
        let customer: Customer = serde_json::from_str(&text).expect("parses");
        assert!(!customer.extra.contains_key("nested"));
        assert_eq!(customer.extra["after"], serde_json::json!([1, 2, 3]));
        assert_eq!(customer.customer_name, "Acme");
    }
}
