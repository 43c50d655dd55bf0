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

/// Reads a number sent as a JSON number or as text (`200`, `"200"`, `"1.5"`), as the Go SDK's
/// signals carry `thresholdValue`; `null` or absent is `None`.
pub(crate) fn number_or_text<'de, D>(deserializer: D) -> Result<Option<f64>, D::Error>
where
    D: Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum NumberOrText {
        Number(f64),
        Text(String),
    }
    match Option::<NumberOrText>::deserialize(deserializer)? {
        None => Ok(None),
        Some(NumberOrText::Number(number)) => Ok(Some(number)),
        Some(NumberOrText::Text(text)) => text
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|number| number.is_finite())
            .map(Some)
            .ok_or_else(|| {
                serde::de::Error::custom(format!("expected a finite number, not {text:?}"))
            }),
    }
}

/// Reads an optional number where `0` means unset, as the Go SDK sends a prepaid order's
/// `originalWorth` (a float64 without `omitempty`): `0`, `null` or absent are `None`.
pub(crate) fn zero_as_none<'de, D>(deserializer: D) -> Result<Option<f64>, D::Error>
where
    D: Deserializer<'de>,
{
    Ok(Option::<f64>::deserialize(deserializer)?.filter(|value| *value != 0.0))
}

/// Reads optional text where `""` means unset, as the Go SDK sends the `id` of a signal to
/// create (a string without `omitempty`): `""`, `null` or absent are `None`.
pub(crate) fn empty_as_none<'de, D>(deserializer: D) -> Result<Option<String>, D::Error>
where
    D: Deserializer<'de>,
{
    Ok(Option::<String>::deserialize(deserializer)?.filter(|text| !text.is_empty()))
}

/// Reads a `T`, or `None` when the value is `null`, absent or not a `T`: for an echo of the
/// request (usage cost's `key`) that must not make the whole answer unreadable.
pub(crate) fn or_none<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let value = serde_json::Value::deserialize(deserializer)?;
    Ok(serde_json::from_value(value).ok())
}
