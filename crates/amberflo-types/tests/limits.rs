//! Size limits of meter records: at the limit passes, one byte (or entry) over is a typed
//! error naming the field; a huge key is never quoted in the error.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use amberflo_types::EpochMillis;
use amberflo_types::{MeterRecord, MeterRecordBuilder, RecordLimits, Rule};

const NAME: usize = RecordLimits::DEFAULT.max_name_bytes;
const VALUE: usize = RecordLimits::DEFAULT.max_value_bytes;

fn builder(name: &str, customer: &str) -> MeterRecordBuilder {
    MeterRecord::builder(name, 1.0, customer).meter_time(EpochMillis::new(1_700_000_000_000))
}

fn refused(builder: MeterRecordBuilder) -> (String, Rule) {
    let error = builder.build().expect_err("over a limit");
    (error.field().to_owned(), error.rule().clone())
}

fn too_long(max_bytes: usize) -> Rule {
    Rule::TooLong { max_bytes }
}

#[test]
fn names_and_ids_up_to_the_limit_pass_and_one_byte_more_fails() {
    let at = "n".repeat(NAME);
    let over = "n".repeat(NAME + 1);
    assert!(builder(&at, &at).unique_id(at.as_str()).build().is_ok());
    assert_eq!(
        refused(builder(&over, "c")),
        ("meter_api_name".to_owned(), too_long(NAME))
    );
    assert_eq!(
        refused(builder("m", &over)),
        ("customer_id".to_owned(), too_long(NAME))
    );
    assert_eq!(
        refused(builder("m", "c").unique_id(over.as_str())),
        ("unique_id".to_owned(), too_long(NAME))
    );
}

#[test]
fn dimension_keys_values_and_count_are_limited() {
    let key_over = "k".repeat(NAME + 1);
    let (field, rule) = refused(builder("m", "c").dimension(&key_over, "v"));
    // The key may be huge: the field says `<key>` rather than quoting it.
    assert_eq!((field.as_str(), rule), ("dimensions.<key>", too_long(NAME)));

    assert!(
        builder("m", "c")
            .dimension("k", "v".repeat(VALUE))
            .build()
            .is_ok()
    );
    assert_eq!(
        refused(builder("m", "c").dimension("k", "v".repeat(VALUE + 1))),
        ("dimensions.k".to_owned(), too_long(VALUE))
    );

    let max = RecordLimits::DEFAULT.max_dimensions;
    let at: Vec<(String, String)> = (0..max).map(|i| (format!("k{i}"), "v".into())).collect();
    assert!(builder("m", "c").dimensions(at.clone()).build().is_ok());
    let over = at.into_iter().chain([("extra".to_owned(), "v".to_owned())]);
    assert_eq!(
        refused(builder("m", "c").dimensions(over)),
        ("dimensions".to_owned(), Rule::TooMany { max })
    );
}

#[test]
fn the_whole_record_is_limited() {
    // 20 dimensions of 1,000-byte values: each field is fine, the record is not.
    let dimensions = (0..20).map(|i| (format!("k{i}"), "v".repeat(1000)));
    assert_eq!(
        refused(builder("m", "c").dimensions(dimensions)),
        (
            "record".to_owned(),
            too_long(RecordLimits::DEFAULT.max_record_bytes)
        )
    );
}

#[test]
fn other_limits_apply_through_the_with_variants() {
    let mut tight = RecordLimits::default();
    tight.max_name_bytes = 4;
    let error = builder("meter", "c").build_with(&tight).unwrap_err();
    assert_eq!(error.field(), "meter_api_name");
    assert_eq!(
        error.to_string(),
        "meter_api_name must be at most 4 bytes long"
    );

    let record = builder(&"m".repeat(NAME + 1), "c").build_with(&{
        let mut roomy = RecordLimits::default();
        roomy.max_name_bytes = 1024;
        roomy
    });
    let record = record.expect("within the roomier limit");
    assert!(record.validate().is_err(), "the defaults still refuse it");
}
