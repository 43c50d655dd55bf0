//! [`Found`]: an answer that is either a `T` or "nothing" (`null` or `{}`), as the lookups of
//! a customer or a product plan answer for an id without one; and [`get`], the lookup that
//! reads one.

use http::{Method, StatusCode};
use serde::Serialize;
use serde::de::{Deserialize, DeserializeOwned, Deserializer, Error as _};

use crate::client::Client;
use crate::error::Error;

/// `GET {path}?{query}` for one `T`: `None` when the API answers `null`, `{}` or 404, as it
/// does for an id without one.
pub(crate) async fn get<Q, T>(client: &Client, path: &str, query: &Q) -> Result<Option<T>, Error>
where
    Q: Serialize + ?Sized,
    T: DeserializeOwned + Send + 'static,
{
    match client.call::<_, Found<T>>(Method::GET, path, query).await {
        Ok(Found(found)) => Ok(found),
        Err(error) if error.status() == Some(StatusCode::NOT_FOUND) => Ok(None),
        Err(error) => Err(error),
    }
}

/// `Some(T)`, or `None` for `null` and `{}`. Anything else must be a whole `T`: a missing
/// required field is a decode error naming it, not an empty value.
pub(crate) struct Found<T>(pub(crate) Option<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Found<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        let nothing = match &value {
            serde_json::Value::Null => true,
            serde_json::Value::Object(fields) => fields.is_empty(),
            _ => false,
        };
        if nothing {
            return Ok(Found(None));
        }
        T::deserialize(value)
            .map(|found| Found(Some(found)))
            .map_err(D::Error::custom)
    }
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
}
