//! Serde helpers for lenient response parsing: an explicit JSON `null` in a field that is
//! not an `Option` reads as the field's default, exactly as if the field were absent.
//!
//! Fields using these also name their schema (`#[schemars(with = "Option<...>")]`), so that
//! the response schemas say `null` is accepted.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};

/// Reads the value, or `T::default()` for `null` (use with `#[serde(default)]` so that an
/// absent field defaults too).
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Reads a map whose values may be `null`: `null` for the whole map is an empty map, and a
/// `null` value is `V::default()` (the key is kept).
pub(crate) fn null_values_as_default<'de, D, V>(
    deserializer: D,
) -> Result<BTreeMap<String, V>, D::Error>
where
    D: Deserializer<'de>,
    V: Deserialize<'de> + Default,
{
    let map = Option::<BTreeMap<String, Option<V>>>::deserialize(deserializer)?;
    Ok(map
        .into_iter()
        .flatten()
        .map(|(key, value)| (key, value.unwrap_or_default()))
        .collect())
}
