//! The compact binary form of `MeterRecord`: any valid record round-trips exactly (the same
//! record, the same JSON); damaged bytes (every truncation, bytes appended, any byte changed,
//! keys out of order, an unknown version or id kind) give a `CompactError` or, for a changed
//! byte, at worst another record, never a panic.
#![allow(clippy::unwrap_used)]

use amberflo_types::EpochMillis;
use amberflo_types::{MAX_EPOCH_MILLIS, MIN_EPOCH_MILLIS, MeterRecord, UniqueId};
use proptest::collection::btree_map;
use proptest::prelude::*;

/// A name or value: non-blank, any Unicode, short or past the 24 bytes kept inline.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9_.-]{1,12}",
        "\\PC{1,40}".prop_filter("not blank", |s| !s.trim().is_empty()),
    ]
}

fn unique_id() -> impl Strategy<Value = UniqueId> {
    prop_oneof![
        Just(()).prop_map(|()| UniqueId::new_v4()),
        text().prop_map(UniqueId::from),
        // A custom id that looks like a UUID, but is not its canonical lower-case form.
        Just(UniqueId::from("6F9619FF-8B86-D011-B42D-00CF4FC964FF")),
    ]
}

fn record() -> impl Strategy<Value = MeterRecord> {
    (
        text(),
        prop_oneof![
            any::<f64>().prop_filter("finite", |v| v.is_finite()),
            Just(-0.0)
        ],
        text(),
        MIN_EPOCH_MILLIS..=MAX_EPOCH_MILLIS,
        unique_id(),
        // No dimensions, or some: none at all (`"dimensions": {}`) is a third case.
        proptest::option::of(btree_map(text(), text(), 0..6)),
    )
        .prop_filter_map(
            "valid",
            |(name, value, customer, millis, id, dimensions)| {
                let mut builder = MeterRecord::builder(name, value, customer)
                    .meter_time(EpochMillis::new(millis))
                    .unique_id(id);
                if let Some(dimensions) = dimensions {
                    builder = builder.dimensions(dimensions);
                }
                builder.build().ok()
            },
        )
}

fn compact(record: &MeterRecord) -> Vec<u8> {
    let mut bytes = Vec::new();
    record.write_compact(&mut bytes);
    bytes
}

proptest! {
    #[test]
    fn every_record_round_trips_exactly(record in record()) {
        let bytes = compact(&record);
        let back = MeterRecord::read_compact(&bytes).unwrap();
        prop_assert_eq!(&back, &record);
        prop_assert_eq!(back.meter_value().to_bits(), record.meter_value().to_bits());
        prop_assert_eq!(serde_json::to_string(&back).unwrap(), serde_json::to_string(&record).unwrap());
        prop_assert!(bytes.len() < serde_json::to_vec(&record).unwrap().len());
    }

    #[test]
    fn damaged_bytes_are_refused_or_read_without_panicking(
        record in record(),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let bytes = compact(&record);
        for len in 0..bytes.len() {
            prop_assert!(MeterRecord::read_compact(&bytes[..len]).is_err(), "prefix of {len}");
        }
        let mut longer = bytes.clone();
        longer.push(byte);
        prop_assert!(MeterRecord::read_compact(&longer).is_err());
        let mut changed = bytes;
        let index = at.index(changed.len());
        changed[index] = byte;
        if let Ok(other) = MeterRecord::read_compact(&changed) {
            // Whatever it reads is a record of the type's shape: it writes and reads again
            // (compared as bytes: the value may now be NaN).
            let again = MeterRecord::read_compact(&compact(&other)).unwrap();
            prop_assert_eq!(compact(&again), compact(&other));
        }
    }
}

#[test]
fn keys_out_of_order_an_unknown_version_or_id_kind_are_named() {
    let record = MeterRecord::builder("ApiCalls", 1.0, "customer-1")
        .dimension("a", "1")
        .dimension("b", "2")
        .build()
        .unwrap();
    let bytes = compact(&record);
    // The dimensions are the last 9 bytes: 1 + their number, then "a", "1", "b", "2" each as
    // a length and a byte; swap the keys.
    let mut swapped = bytes.clone();
    let at = swapped.len() - 9;
    assert_eq!(swapped[at..], [3, 1, b'a', 1, b'1', 1, b'b', 1, b'2']);
    swapped[at + 2] = b'b';
    swapped[at + 6] = b'a';
    let error = MeterRecord::read_compact(&swapped).unwrap_err();
    assert_eq!(error.reason(), "dimension keys out of order");

    let mut version = bytes.clone();
    version[0] = 2;
    let error = MeterRecord::read_compact(&version).unwrap_err();
    assert_eq!(
        error.to_string(),
        "not a compact meter record: unknown version 2"
    );

    let mut kind = bytes;
    kind[1] = 7;
    let error = MeterRecord::read_compact(&kind).unwrap_err();
    assert_eq!(error.reason(), "unknown id kind");
}

#[test]
fn a_huge_dimension_count_is_refused_without_reserving_memory() {
    let record = MeterRecord::builder("ApiCalls", 1.0, "customer-1")
        .build()
        .unwrap();
    let mut bytes = compact(&record);
    // Replace the trailing 0 (no dimensions) by u64::MAX as a varint.
    bytes.pop();
    bytes.extend_from_slice(&[0xff; 9]);
    bytes.push(0x01);
    let error = MeterRecord::read_compact(&bytes).unwrap_err();
    assert_eq!(error.reason(), "dimension count beyond the bytes left");
}
