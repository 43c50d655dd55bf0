//! The unique id of an aggregate: a UUID v5 in the client's instance namespace.

use amberflo_types::{Dimensions, UniqueId, Uuid};

/// What an aggregate's id is derived from.
pub(crate) struct IdSource<'a> {
    pub(crate) meter: &'a str,
    pub(crate) customer: &'a str,
    pub(crate) dimensions: Option<&'a Dimensions>,
    pub(crate) window_start_ms: i64,
    pub(crate) window_ms: i64,
    /// The smallest unique id of the records folded in: different for every aggregate of one
    /// key and window (they hold different records), the same when the same records are
    /// folded again.
    pub(crate) first_member: &'a UniqueId,
}

/// The id of the aggregate `source` describes, in `instance`'s namespace: the same inputs
/// give the same id, so a resent aggregate is deduplicated; another instance, key, window or
/// set of records gives another.
pub(crate) fn aggregate_id(instance: Uuid, source: &IdSource<'_>) -> UniqueId {
    let member = source.first_member.to_string();
    let mut name = Vec::with_capacity(128 + member.len());
    name.extend_from_slice(b"amberflo-aggregate/1\0");
    name.extend_from_slice(&source.window_start_ms.to_le_bytes());
    name.extend_from_slice(&source.window_ms.to_le_bytes());
    let dimensions = source.dimensions.into_iter().flat_map(Dimensions::iter);
    let texts = [source.meter, source.customer, &member]
        .into_iter()
        .chain(dimensions.flat_map(|(key, value)| [key, value]));
    for text in texts {
        // Lengths first, so that no two lists of texts run together into one name.
        name.extend_from_slice(&(text.len() as u64).to_le_bytes());
        name.extend_from_slice(text.as_bytes());
    }
    UniqueId::from(Uuid::new_v5(&instance, &name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source<'a>(member: &'a UniqueId, dimensions: Option<&'a Dimensions>) -> IdSource<'a> {
        IdSource {
            meter: "ApiCalls",
            customer: "customer-1",
            dimensions,
            window_start_ms: 1_700_000_040_000,
            window_ms: 60_000,
            first_member: member,
        }
    }

    #[test]
    fn the_same_aggregate_gets_the_same_id_and_any_difference_another() {
        let instance = Uuid::from_u128(7);
        let member = UniqueId::from("a");
        let base = aggregate_id(instance, &source(&member, None));
        assert_eq!(base, aggregate_id(instance, &source(&member, None)));

        assert_ne!(
            base,
            aggregate_id(Uuid::from_u128(8), &source(&member, None))
        );
        assert_ne!(
            base,
            aggregate_id(instance, &source(&UniqueId::from("b"), None))
        );
        let record = amberflo_types::MeterRecord::builder("ApiCalls", 1.0, "customer-1")
            .dimension("region", "eu")
            .build()
            .unwrap();
        let region = record.dimensions();
        assert_ne!(base, aggregate_id(instance, &source(&member, region)));
        let mut later = source(&member, None);
        later.window_start_ms += 60_000;
        assert_ne!(base, aggregate_id(instance, &later));
        // Texts cannot run into each other: ("ab", "c") is not ("a", "bc").
        let mut split = source(&member, None);
        split.meter = "ApiCallscustomer-";
        split.customer = "1";
        assert_ne!(base, aggregate_id(instance, &split));
    }
}
