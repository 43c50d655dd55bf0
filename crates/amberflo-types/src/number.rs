//! Serialisation of meter values: integral values as JSON integers, like the Python SDK sends.

use serde::Serializer;

/// Largest magnitude below which every integral `f64` is exactly an integer (2^53).
const EXACT_INTEGER_LIMIT: f64 = 9_007_199_254_740_992.0;

/// Writes `1.0` as `1` and `2.5` as `2.5`, so payloads match what other SDKs send.
pub(crate) fn serialize<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
    if value.fract() == 0.0 && value.abs() < EXACT_INTEGER_LIMIT {
        // The guard above makes the cast exact.
        #[allow(clippy::cast_possible_truncation)]
        let integer = *value as i64;
        serializer.serialize_i64(integer)
    } else {
        serializer.serialize_f64(*value)
    }
}

/// Like [`serialize`], for optional values (used with `skip_serializing_if`).
pub(crate) fn serialize_option<S: Serializer>(
    value: &Option<f64>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(value) => serialize(value, serializer),
        None => serializer.serialize_none(),
    }
}
