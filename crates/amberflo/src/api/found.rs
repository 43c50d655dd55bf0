//! Lookups that may find nothing: [`get`] reads a [`Found`] answer (a `T`, or "nothing" as
//! `null` or `{}`), as the lookups of a customer or a product plan answer for an id without
//! one; [`matches`] reads a [`Matches`] answer (a list of matches, `[]` for none), as
//! `GET /meters?meterApiName=` answers.

use std::fmt;
use std::marker::PhantomData;

use http::{Method, StatusCode};
use serde::Serialize;
use serde::de::value::MapAccessDeserializer;
use serde::de::{
    self, Deserialize, DeserializeOwned, DeserializeSeed, Deserializer, IntoDeserializer,
    MapAccess, SeqAccess, Visitor,
};

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
        deserializer
            .deserialize_any(FoundVisitor(PhantomData))
            .map(Found)
    }
}

/// Reads a [`Found`] straight from the answer, with no intermediate `serde_json::Value` (so a
/// big answer is held once, not twice): `null` and `{}` are nothing; any other object is
/// handed to `T` with its first key put back in front.
struct FoundVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for FoundVisitor<T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object, `{}` or null")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Option<T>, E> {
        Ok(None)
    }

    fn visit_none<E: de::Error>(self) -> Result<Option<T>, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<T>, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<T>, A::Error> {
        let Some(first) = map.next_key::<String>()? else {
            return Ok(None);
        };
        let resumed = Resumed {
            first: Some(first),
            rest: map,
        };
        T::deserialize(MapAccessDeserializer::new(resumed)).map(Some)
    }
}

/// A map whose first key was already read: it yields that key again, then the rest.
struct Resumed<A> {
    first: Option<String>,
    rest: A,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Resumed<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        match self.first.take() {
            Some(key) => seed.deserialize(key.into_deserializer()).map(Some),
            None => self.rest.next_key_seed(seed),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.rest.next_value_seed(seed)
    }

    fn size_hint(&self) -> Option<usize> {
        self.rest
            .size_hint()
            .map(|rest| rest + usize::from(self.first.is_some()))
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
        deserializer
            .deserialize_any(MatchesVisitor(PhantomData))
            .map(Matches)
    }
}

/// Reads [`Matches`] straight from the answer: each element of a list as a [`Found`], or a
/// lone object (or `null`) as one.
struct MatchesVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for MatchesVisitor<T> {
    type Value = Vec<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of objects, an object, `{}` or null")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
        let mut found = Vec::new();
        while let Some(Found(item)) = seq.next_element::<Found<T>>()? {
            found.extend(item);
        }
        Ok(found)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Vec<T>, A::Error> {
        FoundVisitor(PhantomData).visit_map(map).map(Vec::from_iter)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Vec<T>, E> {
        Ok(Vec::new())
    }

    fn visit_none<E: de::Error>(self) -> Result<Vec<T>, E> {
        Ok(Vec::new())
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
