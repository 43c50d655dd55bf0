//! Schemas of the building blocks the models share: non-blank strings, lists and maps of them,
//! positive numbers, and the hand-written schemas of the types with custom serde
//! ([`UniqueId`](crate::UniqueId), [`Dimensions`](crate::Dimensions)).
//!
//! The models name these in `#[schemars(with = "...")]` attributes; a field marked
//! `skip_serializing_if = "Option::is_none"` names the inner part directly, so its schema
//! has no `null` (we omit the field instead of sending `null`).

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};

use super::NON_BLANK_PATTERN;
use crate::{Dimensions, RecordLimits, UniqueId};

/// A string that is not blank (see [`crate::is_blank`]).
pub(crate) struct NonBlank;

impl JsonSchema for NonBlank {
    fn schema_name() -> Cow<'static, str> {
        "NonBlankString".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A string with at least one visible character: not empty, and not made only of whitespace, control characters and invisible format characters (zero-width space, BOM, bidirectional marks, soft hyphen, ...).",
            "type": "string",
            "minLength": 1,
            "pattern": NON_BLANK_PATTERN,
        })
    }
}

/// A non-blank name or id of a meter record: at most
/// [`RecordLimits::DEFAULT`](crate::RecordLimits)`.max_name_bytes` characters (the limit is in
/// bytes; JSON Schema counts characters, so multi-byte text is bounded less tightly).
pub(crate) struct RecordName;

impl JsonSchema for RecordName {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "RecordName".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        limited::<NonBlank>(generator, RecordLimits::DEFAULT.max_name_bytes)
    }
}

/// A schema of `T` with `maxLength: max`.
fn limited<T: JsonSchema>(generator: &mut SchemaGenerator, max: usize) -> Schema {
    json_schema!({
        "allOf": [generator.subschema_for::<T>()],
        "maxLength": max,
    })
}

/// A non-empty list of non-blank strings.
pub(crate) struct NonBlankList;

impl JsonSchema for NonBlankList {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "NonBlankList".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "array",
            "minItems": 1,
            "items": generator.subschema_for::<NonBlank>(),
        })
    }
}

/// An object whose keys and values are non-blank strings.
pub(crate) struct NonBlankMap;

impl JsonSchema for NonBlankMap {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "NonBlankMap".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "object",
            "propertyNames": generator.subschema_for::<NonBlank>(),
            "additionalProperties": generator.subschema_for::<NonBlank>(),
        })
    }
}

/// A usage filter: non-blank keys, each with a non-empty list of non-blank values.
pub(crate) struct FilterMap;

impl JsonSchema for FilterMap {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "FilterMap".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "object",
            "propertyNames": generator.subschema_for::<NonBlank>(),
            "additionalProperties": generator.subschema_for::<NonBlankList>(),
        })
    }
}

/// A finite number greater than zero (JSON has no NaN or infinity).
pub(crate) struct PositiveNumber;

impl JsonSchema for PositiveNumber {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "PositiveNumber".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "number",
            "exclusiveMinimum": 0,
        })
    }
}

/// A prepaid order's original worth: a finite number greater than zero, or `0` for "unset"
/// (what the Go SDK sends when it has none).
pub(crate) struct WorthNumber;

impl JsonSchema for WorthNumber {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "WorthNumber".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "number",
            "minimum": 0,
        })
    }
}

/// A prepaid offer version: -1 (the latest) or a positive integer.
pub(crate) struct OfferVersion;

impl JsonSchema for OfferVersion {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "OfferVersion".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "integer",
            "anyOf": [
                { "const": crate::DEFAULT_PREPAID_OFFER_VERSION },
                { "minimum": 1 },
            ],
        })
    }
}

/// A record's id: any non-blank string up to the name limit (a generated one is a lower-case
/// hyphenated UUID v4).
impl JsonSchema for UniqueId {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "UniqueId".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        generator.subschema_for::<RecordName>()
    }
}

/// An object of non-blank string keys and values (serialised with the keys sorted), within
/// the default [`RecordLimits`].
impl JsonSchema for Dimensions {
    fn schema_name() -> Cow<'static, str> {
        "Dimensions".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let limits = RecordLimits::DEFAULT;
        json_schema!({
            "description": "A meter record's dimensions: non-blank names to non-blank values.",
            "type": "object",
            "maxProperties": limits.max_dimensions,
            "propertyNames": generator.subschema_for::<RecordName>(),
            "additionalProperties": limited::<NonBlank>(generator, limits.max_value_bytes),
        })
    }
}
