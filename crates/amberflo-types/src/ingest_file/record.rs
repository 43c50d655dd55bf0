//! Checks one meter record's JSON: parse, then [`MeterRecord::validate`]; a record that does
//! not parse is diagnosed field by field, so the error names the field and the rule.

use compact_str::CompactString;
use serde::Deserialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::report::Problem;
use crate::error::{Rule, ValidationError};
use crate::{Dimensions, MeterRecord, UniqueId};

/// Where a record was read, for the id of a record without one: the file's [`Uuid`] (when
/// missing ids are derived) and the record's position in it.
#[derive(Clone, Copy)]
pub(crate) struct Place {
    pub(crate) source: Option<Uuid>,
    pub(crate) position: u64,
}

/// A meter record as a file may hold it: with or without its unique id.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RecordFields {
    #[serde(default)]
    unique_id: Option<UniqueId>,
    meter_api_name: CompactString,
    meter_value: f64,
    customer_id: CompactString,
    meter_time_in_millis: i64,
    #[serde(default)]
    dimensions: Option<Dimensions>,
}

impl RecordFields {
    /// The meter record, checked, its id derived from `place` when it has none.
    fn into_record(self, place: Place) -> Result<MeterRecord, Problem> {
        let derived = match (&self.unique_id, place.source) {
            (Some(_), _) => None,
            (None, Some(source)) => Some(source),
            (None, None) => {
                return Err(Problem::Invalid(ValidationError::new(
                    "unique_id",
                    Rule::Missing,
                )));
            }
        };
        let mut record = MeterRecord::from_parts(
            self.unique_id
                .unwrap_or_else(|| UniqueId::from(Uuid::nil())),
            self.meter_api_name,
            self.meter_value,
            self.customer_id,
            self.meter_time_in_millis,
            self.dimensions,
        );
        if let Some(source) = derived {
            let id = UniqueId::derived(source, place.position, &record);
            record.set_unique_id(id);
        }
        record.validate().map_err(Problem::Invalid)?;
        Ok(record)
    }
}

/// Checks one record's JSON text (a line of NDJSON); a syntax error comes with its column.
pub(crate) fn check_bytes(
    text: &[u8],
    place: Place,
) -> Result<MeterRecord, (Problem, Option<u64>)> {
    let syntax = |error: &serde_json::Error| {
        let column = u64::try_from(error.column()).ok().filter(|&c| c > 0);
        (syntax_problem(error), column)
    };
    match serde_json::from_slice::<RecordFields>(text) {
        Ok(record) => record.into_record(place).map_err(|problem| (problem, None)),
        Err(error) if error.is_data() => match serde_json::from_slice::<Value>(text) {
            Ok(value) => Err((diagnose(&value, &error, place), None)),
            Err(error) => Err(syntax(&error)),
        },
        Err(error) => Err(syntax(&error)),
    }
}

/// Checks one record already parsed as JSON (an element of an array).
pub(crate) fn check_value(value: &Value, place: Place) -> Result<MeterRecord, Problem> {
    match RecordFields::deserialize(value) {
        Ok(record) => record.into_record(place),
        Err(error) => Err(diagnose(value, &error, place)),
    }
}

/// The parser's message without its " at line L column C" suffix.
pub(crate) fn syntax_problem(error: &serde_json::Error) -> Problem {
    let text = error.to_string();
    let message = match text.rfind(" at line ") {
        Some(position) if error.line() > 0 => text[..position].to_owned(),
        _ => text,
    };
    Problem::Syntax { message }
}

/// What a record's JSON must hold: its name, the field name errors use, the expected type.
const FIELDS: [(&str, &str, Kind); 6] = [
    ("uniqueId", "unique_id", Kind::String),
    ("meterApiName", "meter_api_name", Kind::String),
    ("meterValue", "meter_value", Kind::Number),
    ("customerId", "customer_id", Kind::String),
    ("meterTimeInMillis", "meter_time_in_millis", Kind::Integer),
    ("dimensions", "dimensions", Kind::Dimensions),
];

#[derive(Clone, Copy)]
enum Kind {
    String,
    Number,
    Integer,
    Dimensions,
}

/// Names the first field that made `value` fail to parse as a record.
fn diagnose(value: &Value, error: &serde_json::Error, place: Place) -> Problem {
    let Value::Object(object) = value else {
        return wrong_type("record", "an object");
    };
    match first_bad_field(object, place.source.is_some()) {
        Some(problem) => problem,
        None => Problem::NotARecord {
            message: match syntax_problem(error) {
                Problem::Syntax { message } => message,
                other => other.to_string(),
            },
        },
    }
}

/// The first field of `object` that is missing or of the wrong type (a missing unique id is
/// fine when `derive_ids`).
fn first_bad_field(object: &Map<String, Value>, derive_ids: bool) -> Option<Problem> {
    for (json_name, field, kind) in FIELDS {
        let Some(value) = object.get(json_name) else {
            if matches!(kind, Kind::Dimensions) || (derive_ids && json_name == "uniqueId") {
                continue;
            }
            return Some(Problem::Invalid(ValidationError::new(field, Rule::Missing)));
        };
        match kind {
            Kind::String if !value.is_string() => return Some(wrong_type(field, "a string")),
            Kind::Number if !value.is_number() => return Some(wrong_type(field, "a number")),
            Kind::Integer if value.as_i64().is_none() => {
                return Some(wrong_type(field, "an integer (64-bit)"));
            }
            Kind::Dimensions => match value {
                Value::Null => {}
                Value::Object(dimensions) => {
                    if let Some((key, _)) = dimensions.iter().find(|(_, v)| !v.is_string()) {
                        return Some(wrong_type(format!("dimensions.{key}"), "a string"));
                    }
                }
                _ => return Some(wrong_type(field, "an object of strings")),
            },
            _ => {}
        }
    }
    None
}

fn wrong_type(field: impl Into<std::borrow::Cow<'static, str>>, expected: &'static str) -> Problem {
    Problem::Invalid(ValidationError::new(field, Rule::WrongType { expected }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(text: &str) -> String {
        check_bytes(text.as_bytes(), STRICT)
            .unwrap_err()
            .0
            .to_string()
    }

    const STRICT: Place = Place {
        source: None,
        position: 0,
    };

    const OK: &str = r#"{"uniqueId":"u","meterApiName":"m","meterValue":1,"customerId":"c","meterTimeInMillis":1700000000000}"#;

    #[test]
    fn errors_name_the_field_and_rule() {
        assert!(check_bytes(OK.as_bytes(), STRICT).is_ok());
        assert_eq!(
            problem(&OK.replace(r#""c""#, r#"" ""#)),
            "customer_id must not be blank"
        );
        assert_eq!(
            problem(&OK.replace("1,", r#""1","#)),
            "meter_value must be a number"
        );
        assert_eq!(
            problem(&OK.replace(r#""uniqueId":"u","#, "")),
            "unique_id must be set"
        );
        assert_eq!(
            problem(&OK.replace("000}", "000.5}")),
            "meter_time_in_millis must be an integer (64-bit)"
        );
        assert_eq!(
            problem(&OK.replace("000}", r#"000,"dimensions":{"a":"x","b":2}}"#)),
            "dimensions.b must be a string"
        );
        assert_eq!(
            problem(&OK.replace("000}", r#"000,"dimensions":{"a":" "}}"#)),
            "dimensions.a must not be blank"
        );
        assert_eq!(problem("[1]"), "record must be an object");
        assert_eq!(
            problem(r#"{"uniqueId": "#),
            "invalid JSON: EOF while parsing a value"
        );
        assert!(
            problem(&OK.replace("000}", r#"000,"customerId":"d"}"#))
                .starts_with("not a meter record: duplicate field")
        );
    }
}
