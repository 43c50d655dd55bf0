//! A bound on the memory an answer may take once decoded.
//!
//! The response cap bounds an answer's bytes, not what they become: `[{},{},…]` costs 3 bytes
//! an element in JSON and a whole struct (hundreds of bytes) decoded, and `{"a":""}` a B-tree
//! node. [`decode`] wraps the JSON deserializer so that everything the typed answer is about
//! to allocate is charged against a budget first, and an answer over it is refused before it
//! is built. What is charged, an upper bound of what the standard collections allocate:
//!
//! | piece of the answer | charge |
//! | --- | --- |
//! | a string or byte string of `n` bytes | `n` |
//! | an element of a sequence (`Vec` grows by doubling, from 4) | 2 × its size, and 4 × on the first |
//! | an entry of a map (B-tree nodes are at least half full) | 3 × (key size + value size) + 32, and one node (11 × that + 128) on the first |
//! | a field a struct with a `#[serde(flatten)]` field does not know (buffered in a `Vec`, then kept in a map) | 5 × (key size + value size), and 2 × that on the first |
//!
//! A struct's own fields live inline in the struct, charged by whatever holds it; only the
//! heap of its fields is charged, and what a struct with a flattened field buffers. Such a
//! struct is told from a map by its visitor, which serde's derive describes as `struct …`,
//! and the fields it buffers by their type, serde's `Content` (a test proves both hold for
//! the serde this builds with).

use std::fmt;
use std::mem::size_of;

use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor,
};

/// Decodes `json` into a `T` whose heap, as charged above, stays within `limit` bytes.
pub(crate) fn decode<'de, T: de::Deserialize<'de>>(
    json: &'de [u8],
    limit: usize,
) -> Result<T, serde_json::Error> {
    amberflo_types::decode_budget::scoped(limit, || {
        let mut deserializer = serde_json::Deserializer::from_slice(json);
        let value = T::deserialize(Budgeted {
            inner: &mut deserializer,
        })?;
        deserializer.end()?;
        Ok(value)
    })
}

/// Charges the budget of the decode in progress ([`amberflo_types::decode_budget`], a
/// thread's, which the types crate's own parsers charge too).
fn charge<E: de::Error>(bytes: usize) -> Result<(), E> {
    amberflo_types::decode_budget::charge(bytes).map_err(E::custom)
}

/// How a sequence or map is held by what it decodes into.
#[derive(Clone, Copy)]
enum Holder {
    /// A collection on the heap: its elements are charged.
    Heap,
    /// A struct or tuple: its fields are inline, already charged.
    Inline,
    /// A struct with a flattened field, read as a map: it buffers what it does not know.
    Buffering,
}

impl Holder {
    /// How a map read by `visitor` is held: a derived struct's visitor expects `struct …`.
    fn of_map<'de, V: Visitor<'de>>(visitor: &V) -> Holder {
        use std::fmt::Write;

        struct Expecting<'a, V>(&'a V);
        impl<'de, V: Visitor<'de>> fmt::Display for Expecting<'_, V> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.expecting(f)
            }
        }
        /// Keeps the first bytes written.
        #[derive(Default)]
        struct Prefix {
            bytes: [u8; 7],
            len: usize,
        }
        impl Write for Prefix {
            fn write_str(&mut self, text: &str) -> fmt::Result {
                for &byte in text.as_bytes() {
                    if self.len == self.bytes.len() {
                        break;
                    }
                    self.bytes[self.len] = byte;
                    self.len += 1;
                }
                Ok(())
            }
        }
        let mut prefix = Prefix::default();
        let _ = write!(prefix, "{}", Expecting(visitor));
        if &prefix.bytes[..prefix.len] == b"struct " {
            Holder::Buffering
        } else {
            Holder::Heap
        }
    }
}

/// The deserializer, charging what it hands out.
struct Budgeted<D> {
    inner: D,
}

/// Forwards `deserialize_*` methods, wrapping the visitor.
macro_rules! forward {
    ($($method:ident($($arg:ident: $ty:ty),*) $holder:ident;)*) => {$(
        fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, D::Error> {
            let visitor = Charging { visitor, holder: Holder::$holder };
            self.inner.$method($($arg,)* visitor)
        }
    )*};
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Budgeted<D> {
    type Error = D::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        let holder = Holder::of_map(&visitor);
        let visitor = Charging { visitor, holder };
        self.inner.deserialize_any(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        let holder = Holder::of_map(&visitor);
        let visitor = Charging { visitor, holder };
        self.inner.deserialize_map(visitor)
    }

    forward! {
        deserialize_bool() Heap;
        deserialize_i8() Heap;
        deserialize_i16() Heap;
        deserialize_i32() Heap;
        deserialize_i64() Heap;
        deserialize_i128() Heap;
        deserialize_u8() Heap;
        deserialize_u16() Heap;
        deserialize_u32() Heap;
        deserialize_u64() Heap;
        deserialize_u128() Heap;
        deserialize_f32() Heap;
        deserialize_f64() Heap;
        deserialize_char() Heap;
        deserialize_str() Heap;
        deserialize_string() Heap;
        deserialize_bytes() Heap;
        deserialize_byte_buf() Heap;
        deserialize_option() Heap;
        deserialize_unit() Heap;
        deserialize_unit_struct(name: &'static str) Heap;
        deserialize_newtype_struct(name: &'static str) Heap;
        deserialize_seq() Heap;
        deserialize_tuple(len: usize) Inline;
        deserialize_tuple_struct(name: &'static str, len: usize) Inline;
        deserialize_struct(name: &'static str, fields: &'static [&'static str]) Inline;
        deserialize_enum(name: &'static str, variants: &'static [&'static str]) Heap;
        deserialize_identifier() Heap;
        deserialize_ignored_any() Heap;
    }

    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }
}

/// A visitor whose nested deserializers, sequences and maps charge the budget.
struct Charging<V> {
    visitor: V,
    holder: Holder,
}

/// Forwards `visit_*` methods of plain values, which allocate nothing.
macro_rules! forward_values {
    ($($method:ident($ty:ty);)*) => {$(
        fn $method<E: de::Error>(self, v: $ty) -> Result<Self::Value, E> {
            self.visitor.$method(v)
        }
    )*};
}

/// Forwards `visit_*` methods of strings and byte strings, charging their length.
macro_rules! forward_texts {
    ($($method:ident($ty:ty);)*) => {$(
        fn $method<E: de::Error>(self, v: $ty) -> Result<Self::Value, E> {
            charge(v.len())?;
            self.visitor.$method(v)
        }
    )*};
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Charging<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.visitor.expecting(f)
    }

    forward_values! {
        visit_bool(bool);
        visit_i8(i8);
        visit_i16(i16);
        visit_i32(i32);
        visit_i64(i64);
        visit_i128(i128);
        visit_u8(u8);
        visit_u16(u16);
        visit_u32(u32);
        visit_u64(u64);
        visit_u128(u128);
        visit_f32(f32);
        visit_f64(f64);
        visit_char(char);
    }

    forward_texts! {
        visit_str(&str);
        visit_borrowed_str(&'de str);
        visit_string(String);
        visit_bytes(&[u8]);
        visit_borrowed_bytes(&'de [u8]);
        visit_byte_buf(Vec<u8>);
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        self.visitor.visit_none()
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        self.visitor.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        let d = Budgeted { inner: d };
        self.visitor.visit_some(d)
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        let d = Budgeted { inner: d };
        self.visitor.visit_newtype_struct(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        let seq = Access::new(seq, self.holder);
        self.visitor.visit_seq(seq)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let map = Access::new(map, self.holder);
        self.visitor.visit_map(map)
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Self::Value, A::Error> {
        let data = Access::new(data, self.holder);
        self.visitor.visit_enum(data)
    }
}

/// A sequence, map or enum whose items charge the budget.
struct Access<A> {
    inner: A,
    holder: Holder,
    first: bool,
    /// The size of the last map key read.
    key_size: usize,
}

impl<A> Access<A> {
    fn new(inner: A, holder: Holder) -> Self {
        Access {
            inner,
            holder,
            first: true,
            key_size: 0,
        }
    }

    /// Charges one item of `size` bytes held in a collection on the heap: `per_item` × size
    /// plus `extra`, and on the first item `first_times` × size plus `first_extra`.
    fn charge_item<E: de::Error>(&mut self, size: usize, cost: ItemCost) -> Result<(), E> {
        let mut bytes = size.saturating_mul(cost.times).saturating_add(cost.plus);
        if std::mem::take(&mut self.first) {
            bytes = bytes
                .saturating_add(size.saturating_mul(cost.first_times))
                .saturating_add(cost.first_plus);
        }
        charge(bytes)
    }
}

/// What an item of a collection costs, as a multiple of its size (see the module docs).
#[derive(Clone, Copy)]
struct ItemCost {
    times: usize,
    plus: usize,
    first_times: usize,
    first_plus: usize,
}

/// A sequence element: `Vec` capacity is at most twice the length, and at least 4.
const SEQ_ELEMENT: ItemCost = ItemCost {
    times: 2,
    plus: 0,
    first_times: 4,
    first_plus: 0,
};

/// A map entry: B-tree nodes of 11 entries, at least 5 full but for the root, plus edges.
const MAP_ENTRY: ItemCost = ItemCost {
    times: 3,
    plus: 32,
    first_times: 11,
    first_plus: 128,
};

/// A field a struct with a flattened field does not know: a slot of its buffer (a `Vec`),
/// then an entry of the flattened map.
const BUFFERED_FIELD: ItemCost = ItemCost {
    times: 5,
    plus: 0,
    first_times: 2,
    first_plus: 0,
};

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Access<A> {
    type Error = A::Error;

    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, A::Error> {
        // Charged once there is one (its own heap was charged as it was read).
        let seed = Seeded { seed };
        let element = self.inner.next_element_seed(seed)?;
        if element.is_some() && matches!(self.holder, Holder::Heap) {
            self.charge_item(size_of::<S::Value>(), SEQ_ELEMENT)?;
        }
        Ok(element)
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Access<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        self.key_size = size_of::<K::Value>();
        let seed = Seeded { seed };
        self.inner.next_key_seed(seed)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, A::Error> {
        // The entry is charged with its value, once the key is known to exist.
        let cost = match self.holder {
            Holder::Heap => Some(MAP_ENTRY),
            Holder::Buffering if is_buffered::<S::Value>() => Some(BUFFERED_FIELD),
            Holder::Buffering | Holder::Inline => None,
        };
        if let Some(cost) = cost {
            self.charge_item(self.key_size + size_of::<S::Value>(), cost)?;
        }
        let seed = Seeded { seed };
        self.inner.next_value_seed(seed)
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

impl<'de, A: EnumAccess<'de>> EnumAccess<'de> for Access<A> {
    type Error = A::Error;
    type Variant = Access<A::Variant>;

    fn variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<(S::Value, Self::Variant), A::Error> {
        let (value, variant) = self.inner.variant_seed(Seeded { seed })?;
        Ok((value, Access::new(variant, Holder::Inline)))
    }
}

impl<'de, A: VariantAccess<'de>> VariantAccess<'de> for Access<A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), A::Error> {
        self.inner.unit_variant()
    }

    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value, A::Error> {
        let seed = Seeded { seed };
        self.inner.newtype_variant_seed(seed)
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        let visitor = Charging {
            visitor,
            holder: Holder::Inline,
        };
        self.inner.tuple_variant(len, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        let visitor = Charging {
            visitor,
            holder: Holder::Inline,
        };
        self.inner.struct_variant(fields, visitor)
    }
}

/// Whether a value of a struct with a flattened field is one it buffers: serde's private
/// `Content` (the struct's known fields are inline).
fn is_buffered<T>() -> bool {
    std::any::type_name::<T>().contains("Content")
}

/// A seed whose deserializer charges the budget.
struct Seeded<S> {
    seed: S,
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Seeded<S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<S::Value, D::Error> {
        self.seed.deserialize(Budgeted { inner: d })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[derive(Debug, serde::Deserialize, PartialEq)]
    #[serde(rename_all = "camelCase")]
    struct Item {
        id: String,
        #[serde(default)]
        tags: Vec<String>,
        #[serde(default)]
        traits: BTreeMap<String, String>,
        #[serde(default)]
        note: Option<String>,
        #[serde(flatten)]
        extra: BTreeMap<String, serde_json::Value>,
    }

    #[derive(Debug, serde::Deserialize, PartialEq)]
    enum Shape {
        Unit,
        Pair(u8, u8),
        Named { size: u32 },
        Wrapped(String),
    }

    #[test]
    fn decodes_what_plain_serde_json_decodes() {
        let json = br#"[{"id":"a","tags":["x","y\n"],"traits":{"k":"v"},"note":null,"more":{"n":[1,2.5,true]}},
                         {"id":"b"}]"#;
        let budgeted: Vec<Item> = decode(json, 1 << 20).unwrap();
        let plain: Vec<Item> = serde_json::from_slice(json).unwrap();
        assert_eq!(budgeted, plain);
        let shapes = br#"["Unit", {"Pair": [1, 2]}, {"Named": {"size": 3}}, {"Wrapped": "w"}]"#;
        let budgeted: Vec<Shape> = decode(shapes, 1 << 20).unwrap();
        assert_eq!(
            budgeted,
            serde_json::from_slice::<Vec<Shape>>(shapes).unwrap()
        );
        let value: serde_json::Value = decode(json, 1 << 20).unwrap();
        assert_eq!(
            value,
            serde_json::from_slice::<serde_json::Value>(json).unwrap()
        );
    }

    #[test]
    fn trailing_garbage_is_still_refused() {
        assert!(decode::<Vec<u8>>(b"[1] x", 1 << 20).is_err());
    }

    /// Bytes a JSON list of `n` copies of `item` decodes within, found by bisection.
    fn least_budget<T: de::DeserializeOwned>(json: &[u8]) -> usize {
        let (mut low, mut high) = (0, 1 << 30);
        while low < high {
            let mid = (low + high) / 2;
            if decode::<T>(json, mid).is_ok() {
                high = mid;
            } else {
                low = mid + 1;
            }
        }
        low
    }

    fn list(item: &str, n: usize) -> Vec<u8> {
        format!("[{}]", vec![item; n].join(",")).into_bytes()
    }

    #[test]
    fn tiny_elements_and_entries_are_charged_what_they_cost_decoded() {
        // 1,000 empty-ish items: the answer is small, what it decodes to is not.
        let json = list(r#"{"id":""}"#, 1000);
        let needed = least_budget::<Vec<Item>>(&json);
        assert!(needed >= 2 * 1000 * size_of::<Item>(), "{needed}");
        // A map of one tiny entry costs a node.
        let json = list(r#"{"id":"","traits":{"k":""}}"#, 1000);
        let with_maps = least_budget::<Vec<Item>>(&json);
        assert!(
            with_maps >= needed + 1000 * 11 * 48,
            "{with_maps} vs {needed}"
        );
        // Strings cost their length.
        let long = "x".repeat(10_000);
        let json = list(&format!(r#"{{"id":"{long}"}}"#), 100);
        assert!(least_budget::<Vec<Item>>(&json) >= 100 * 10_000);
    }

    #[test]
    fn fields_a_flattening_struct_buffers_are_charged_and_known_ones_are_not() {
        // If serde's derive stops describing a struct as `struct …`, or stops buffering in
        // `Content`, this fails: the charges above rest on both.
        let unknown: Vec<String> = (0..1000).map(|i| format!(r#""f{i}":0"#)).collect();
        let json = format!(r#"{{"id":"",{}}}"#, unknown.join(","));
        let needed = least_budget::<Item>(json.as_bytes());
        assert!(needed >= 1000 * 5 * 2 * 32, "{needed}");
        let known = br#"{"id":"","note":"","tags":[],"traits":{}}"#;
        assert!(
            least_budget::<Item>(known) < 32,
            "{}",
            least_budget::<Item>(known)
        );
    }

    #[test]
    fn over_budget_is_a_clear_error() {
        let json = list(r#"{"id":""}"#, 10_000);
        let err = decode::<Vec<Item>>(&json, 100_000).unwrap_err();
        assert!(
            err.to_string()
                .contains("more than 100000 bytes of memory decoded"),
            "{err}"
        );
    }
}
