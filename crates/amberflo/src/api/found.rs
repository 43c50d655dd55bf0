//! Lookups that may find nothing: [`get`] reads a [`Found`] answer (a `T`, or "nothing" as
//! `null` or `{}`), as the lookups of a customer or a product plan answer for an id without
//! one; [`matches`] reads a [`Matches`] answer (a list of matches, `[]` for none), as
//! `GET /meters?meterApiName=` answers.

use http::{Method, StatusCode};
use serde::Serialize;
use serde::de::{Deserialize, DeserializeOwned, Deserializer, Error as _};
use serde_json::Value;

use crate::client::Client;
use crate::error::Error;

/// `GET {path}?{query}` for one `T`: `None` when the API answers `null`, `{}` or 404, as it
/// does for an id without one.
pub(crate) async fn get<Q, T>(client: &Client, path: &str, query: &Q) -> Result<Option<T>, Error>
where
    Q: Serialize + ?Sized,
    T: DeserializeOwned + Send + 'static,
{
    not_found_is_none(client.call::<_, Found<T>>(Method::GET, path, query).await).map(|f| f.0)
}

/// `GET {path}?{query}` for a lookup answered with a list of matches: every match, none for
/// `[]` or 404. A single object (`null` and `{}` being "nothing") is read as one match.
pub(crate) async fn matches<Q, T>(client: &Client, path: &str, query: &Q) -> Result<Vec<T>, Error>
where
    Q: Serialize + ?Sized,
    T: DeserializeOwned + Send + 'static,
{
    not_found_is_none(client.call::<_, Matches<T>>(Method::GET, path, query).await).map(|m| m.0)
}

fn not_found_is_none<T: Default>(answer: Result<T, Error>) -> Result<T, Error> {
    match answer {
        Err(error) if error.status() == Some(StatusCode::NOT_FOUND) => Ok(T::default()),
        other => other,
    }
}

/// `Some(T)`, or `None` for `null` and `{}`. Anything else must be a whole `T`: a missing
/// required field is a decode error naming it, not an empty value.
pub(crate) struct Found<T>(pub(crate) Option<T>);

impl<T> Default for Found<T> {
    fn default() -> Self {
        Found(None)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Found<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        one(Value::deserialize(deserializer)?)
            .map(Found)
            .map_err(D::Error::custom)
    }
}

/// The elements of a list answer (none for `[]`), or a [`Found`] object as one.
pub(crate) struct Matches<T>(pub(crate) Vec<T>);

impl<T> Default for Matches<T> {
    fn default() -> Self {
        Matches(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Matches<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let values = match Value::deserialize(deserializer)? {
            Value::Array(list) => list,
            other => vec![other],
        };
        values
            .into_iter()
            .filter_map(|value| one(value).transpose())
            .collect::<Result<Vec<T>, _>>()
            .map(Matches)
            .map_err(D::Error::custom)
    }
}

/// `None` for `null` and `{}`, else the whole `T`.
fn one<'de, T: Deserialize<'de>>(value: Value) -> Result<Option<T>, serde_json::Error> {
    let nothing = match &value {
        Value::Null => true,
        Value::Object(fields) => fields.is_empty(),
        _ => false,
    };
    if nothing {
        return Ok(None);
    }
    T::deserialize(value).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use amberflo_types::Customer;

    fn parse(text: &str) -> Result<Option<Customer>, serde_json::Error> {
        serde_json::from_str::<Found<Customer>>(text).map(|found| found.0)
    }

    #[test]
    fn nothing_is_none_and_a_partial_object_is_an_error() {
        assert_eq!(parse("null").unwrap(), None);
        assert_eq!(parse("{}").unwrap(), None);
        let customer = parse(r#"{"customerId": "c1", "new": 1}"#).unwrap().unwrap();
        assert_eq!(customer.customer_id, "c1");
        let error = parse(r#"{"customerName": "Acme"}"#).unwrap_err();
        assert!(
            error.to_string().contains("missing field `customerId`"),
            "{error}"
        );
    }

    fn ids(text: &str) -> Result<Vec<String>, serde_json::Error> {
        serde_json::from_str::<Matches<Customer>>(text)
            .map(|matches| matches.0.into_iter().map(|c| c.customer_id).collect())
    }

    #[test]
    fn a_list_answer_is_its_matches_and_an_object_is_one() {
        assert!(ids("[]").unwrap().is_empty());
        let listed = ids(r#"[{"customerId": "c1"}, {"customerId": "c2"}]"#).unwrap();
        assert_eq!(listed, ["c1", "c2"]);
        assert_eq!(ids(r#"{"customerId": "c3"}"#).unwrap(), ["c3"]);
        assert!(ids("{}").unwrap().is_empty());
        assert!(ids(r#"[{"customerName": "no id"}]"#).is_err());
    }
}
