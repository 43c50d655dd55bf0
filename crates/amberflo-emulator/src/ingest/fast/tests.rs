//! Tests of the hand-written parser: it takes exactly the plain shape, and whatever it takes
//! it parses as the serde visitors do, to the bit.

use std::cell::Cell;

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, TestRunner};

use super::parse_plain;
use crate::ingest::IngestError;
use crate::ingest::batch::Batch;
use crate::ingest::parse::{Parsing, parse_batch, parse_with_serde};

/// What a parse gave, comparable: the batch, the meter values' bits (`==` takes `-0.0` for
/// `0.0`), and the suspects; or the error message.
type Outcome<'a> = Result<(Batch<'a>, Vec<u64>, Vec<usize>), String>;

fn outcome(result: Result<Parsing<'_>, IngestError>) -> Outcome<'_> {
    result
        .map(|Parsing { batch, suspects }| {
            let bits = batch
                .records
                .iter()
                .map(|record| record.meter_value.to_bits())
                .collect();
            (batch, bits, suspects)
        })
        .map_err(|error| error.to_string())
}

/// The hand-written parser alone: `None` when it gives up.
fn fast(json: &str) -> Option<Outcome<'_>> {
    let mut parsing = Parsing::default();
    parse_plain(json, &mut parsing).then(|| outcome(Ok(parsing)))
}

/// The serde visitors alone.
fn serde(json: &str) -> Outcome<'_> {
    outcome(parse_with_serde(
        json.as_bytes(),
        Some(json),
        Parsing::default(),
    ))
}

/// Checks `json` as the property test does: what the fast path takes, it parses as serde
/// does; `parse_batch` gives serde's result either way. Returns whether the fast path took it.
fn check(json: &str) -> Result<bool, TestCaseError> {
    let serde = serde(json);
    let fast = fast(json);
    if let Some(fast) = &fast {
        prop_assert!(
            serde.is_ok(),
            "serde refused what the fast path took: {serde:?}"
        );
        prop_assert_eq!(fast, &serde);
    }
    prop_assert_eq!(outcome(parse_batch(json.as_bytes())), serde);
    Ok(fast.is_some())
}

/// [`check`], for a plain test.
fn checked(json: &str) -> Result<bool, String> {
    check(json).map_err(|error| error.to_string())
}

/// A record of the common shape.
const RECORD: &str = concat!(
    r#"{"uniqueId":"2f0c1d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f","meterApiName":"ApiCalls","#,
    r#""meterValue":1,"customerId":"customer-42","meterTimeInMillis":1764059861123,"#,
    r#""dimensions":{"region":"us-east-1","service":"checkout","tier":"free"}}"#,
);

/// A plain record with the field `name`'s value replaced by `value`.
fn with(name: &str, value: &str) -> String {
    let record: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(RECORD).expect("valid record");
    let fields: Vec<String> = record
        .iter()
        .map(|(key, old)| {
            let text = if key == name {
                value.to_owned()
            } else {
                old.to_string()
            };
            format!("\"{key}\":{text}")
        })
        .collect();
    format!("[{{{}}}]", fields.join(","))
}

#[test]
fn takes_the_common_shape() {
    for body in [
        format!("[{RECORD}]"),
        format!(" \r\n[ {RECORD} ,\t{RECORD}\n]\n "),
        "[]".to_owned(),
        " [ ] ".to_owned(),
        with("dimensions", "null"),
        with("dimensions", "{}"),
        with("dimensions", r#"{"k":"1","a":" ","k":"2"}"#),
        with("meterApiName", r#""Gebühr €""#),
        with("meterValue", "-0"),
        with("meterValue", "-1.25E-3"),
        with("meterValue", "123456789012345678901234567890"),
        with("meterTimeInMillis", "-9223372036854775808"),
        // Taken, and noted as suspects for the pre-check.
        with("meterTimeInMillis", "0"),
        with("customerId", r#"" ""#),
    ] {
        assert_eq!(checked(&body), Ok(true), "{body}");
    }
    let two = format!("[{RECORD},{RECORD}]");
    let (batch, _, suspects) = fast(&two).expect("taken").expect("parsed");
    assert_eq!((batch.records.len(), batch.pairs.len()), (2, 6));
    assert!(suspects.is_empty());
    // The value from serde_json's integer path: `-0` is `-0.0`.
    let negative_zero = with("meterValue", "-0");
    let (_, bits, _) = fast(&negative_zero).expect("taken").expect("parsed");
    assert_eq!(bits, [(-0.0f64).to_bits()]);
}

#[test]
fn gives_up_on_anything_else() {
    let mut bodies = vec![
        // Escapes, in keys and values, and control characters.
        RECORD.replacen("uniqueId", r"unique\u0049d", 1),
        RECORD.replacen("ApiCalls", r#"Api\"Calls"#, 1),
        RECORD.replacen("us-east-1", r"us\/east", 1),
        RECORD.replacen("checkout", "check\tout", 1),
        RECORD.replacen("checkout", "checkout\t", 1),
        RECORD.replacen("checkout", "checkout\n", 1),
        // Unknown, repeated and missing fields.
        RECORD.replacen("meterApiName", "meterApi", 1),
        RECORD.replacen(r#""dimensions""#, r#""extra":"x","dimensions""#, 1),
        RECORD.replacen("customerId", "meterApiName", 1),
        RECORD.replacen(r#","dimensions""#, r#","dimensions":null,"dimensions""#, 1),
        RECORD.replacen(r#""customerId":"customer-42","#, "", 1),
        // A key without its colon, before another one.
        RECORD
            .replacen(r#""meterApiName":"ApiCalls","#, "", 1)
            .replacen(r#"{"#, r#"{"uniqueId" "meterApiName":"ApiCalls","#, 1),
        RECORD.replacen(r#"{"uniqueId":"#, r#"{"uniqueId""#, 1),
        r#"{"uniqueId":"a"}"#.to_owned(),
        "{}".to_owned(),
        // Mistyped values.
        RECORD.replacen("1764059861123", "1764059861123.0", 1),
        RECORD.replacen("1764059861123", "1764059861123e0", 1),
        RECORD.replacen("1764059861123", "-0", 1),
        RECORD.replacen("1764059861123", "9223372036854775808", 1),
        RECORD.replacen("1764059861123", r#""1764059861123""#, 1),
        RECORD.replacen(r#""meterValue":1"#, r#""meterValue":"1""#, 1),
        RECORD.replacen(r#""meterValue":1"#, r#""meterValue":1e400"#, 1),
        RECORD.replacen(r#""meterValue":1"#, r#""meterValue":01"#, 1),
        RECORD.replacen(r#""meterValue":1"#, r#""meterValue":1."#, 1),
        RECORD.replacen(r#""meterValue":1"#, r#""meterValue":null"#, 1),
        RECORD.replacen(r#""free""#, "7", 1),
        RECORD
            .replacen(r#""dimensions":{"#, r#""dimensions":[{"#, 1)
            .replacen(r#""free"}"#, r#""free"}]"#, 1),
    ]
    .into_iter()
    .map(|record| format!("[{record}]"))
    .collect::<Vec<_>>();
    bodies.extend([
        // A record as an array of its fields, a single record, not an array of records.
        r#"[["a","m",1,"c",5]]"#.to_owned(),
        RECORD.to_owned(),
        format!(" {RECORD} "),
        String::new(),
        "null".to_owned(),
        "[1]".to_owned(),
        // Trailing garbage, missing or extra commas.
        format!("[{RECORD}] x"),
        format!("[{RECORD}]]"),
        format!("[{RECORD},]"),
        format!("[{RECORD}{RECORD}]"),
        format!("[{RECORD}"),
        "[".to_owned(),
        // Whitespace JSON does not have.
        format!("[\u{b}{RECORD}]"),
    ]);
    for body in &bodies {
        assert_eq!(fast(body), None, "{body}");
        assert_eq!(checked(body), Ok(false), "{body}");
    }
}

/// A piece of JSON text, and whether the fast path takes it.
#[derive(Debug, Clone)]
struct Piece {
    text: String,
    plain: bool,
}

/// Picks a piece from `plain` (taken by the fast path) mostly, else from `other`.
fn pick(
    plain: &'static [&'static str],
    other: &'static [&'static str],
) -> impl Strategy<Value = Piece> {
    prop_oneof![
        60 => proptest::sample::select(plain).prop_map(|text| Piece {
            text: text.to_owned(),
            plain: true,
        }),
        1 => not_plain(other),
    ]
}

/// A piece from `pool`, which the fast path gives up on.
fn not_plain(pool: &'static [&'static str]) -> impl Strategy<Value = Piece> {
    proptest::sample::select(pool).prop_map(|text| Piece {
        text: text.to_owned(),
        plain: false,
    })
}

/// String values, as written in JSON.
const STRINGS: &[&str] = &[
    r#""ApiCalls""#,
    r#""customer-42""#,
    r#""2f0c1d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f""#,
    r#""2F0C1D3E-4B5A-4C6D-8E7F-9A0B1C2D3E4F""#,
    r#""order-7""#,
    r#""""#,
    r#"" ""#,
    r#""Gebühr €""#,
    r#""日本 🎉""#,
    "\"\u{7f}\"",
];
const STRINGS_OTHER: &[&str] = &[
    r#""q\"uote""#,
    r#""back\\slash""#,
    r#""line\nbreak""#,
    r#""\u00e9""#,
    r#""\ud83c\udf89""#,
    r#""\t""#,
    "\"raw\ttab\"",
    "\"tab\t\"",
    "\"line\n\"",
    "\"raw\u{1}\"",
    "5",
    "null",
];

/// Dimension keys, few so that they repeat.
const KEYS: &[&str] = &[r#""region""#, r#""tier""#, r#""é""#, r#"" ""#];
const KEYS_OTHER: &[&str] = &[r#""r\u0065gion""#];

/// Meter values, as written in JSON.
const VALUES: &[&str] = &[
    "0",
    "-0",
    "1",
    "-1",
    "0.5",
    "-0.0",
    "-2.25e3",
    "1E2",
    "1e+2",
    "1e-5",
    "0.30000000000000004",
    "9007199254740993",
    "18446744073709551615",
    "18446744073709551616",
    "-9223372036854775808",
    "-9223372036854775809",
    "-18446744073709551617",
    "123456789012345678901234567890.5e-3",
    "2.2250738585072014e-308",
    "4.9e-324",
    "1e-400",
    "-1e-400",
    "1.7976931348623157e308",
    "1e-99999999999",
    "0e99999999999",
];
const VALUES_OTHER: &[&str] = &[
    "1e400",
    "-1e400",
    "1.8e308",
    "1e99999999999",
    "01",
    "1.",
    ".5",
    "+1",
    "1e",
    "-",
    "1.5.5",
    "\"1\"",
    "null",
    "true",
];

/// Times, as written in JSON.
const TIMES: &[&str] = &[
    "1764059861123",
    "0",
    "-1",
    "9223372036854775807",
    "-9223372036854775808",
];
const TIMES_OTHER: &[&str] = &[
    "-0",
    "9223372036854775808",
    "-9223372036854775809",
    "18446744073709551616",
    "1.5",
    "1.0",
    "1e3",
    "01",
    "\"5\"",
    "null",
];

/// Whitespace between tokens.
const SPACES: &[&str] = &["", "", "", " ", "\n", "\t", "\r\n  "];
const SPACES_OTHER: &[&str] = &["\u{b}", "\u{a0}"];

fn plain(text: String) -> Piece {
    Piece { text, plain: true }
}

fn meter_value() -> impl Strategy<Value = Piece> {
    let finite = any::<f64>().prop_filter("finite", |value| value.is_finite());
    prop_oneof![
        4 => pick(VALUES, VALUES_OTHER),
        1 => finite.clone().prop_map(|value| plain(format!("{value}"))),
        1 => finite.prop_map(|value| plain(format!("{value:e}"))),
        1 => any::<i64>().prop_map(|value| plain(value.to_string())),
        1 => "-?[1-9][0-9]{15,40}(\\.[0-9]{1,20})?([eE][+-]?[0-9]{1,2})?".prop_map(plain),
    ]
}

fn time() -> impl Strategy<Value = Piece> {
    prop_oneof![
        2 => pick(TIMES, TIMES_OTHER),
        1 => any::<i64>().prop_map(|value| plain(value.to_string())),
    ]
}

/// A field's value: one token, or an object of dimensions.
#[derive(Debug, Clone)]
enum Value {
    Token(Piece),
    Object(Vec<(Piece, Piece)>),
}

fn dimensions() -> impl Strategy<Value = Value> {
    let pair = (pick(KEYS, KEYS_OTHER), pick(STRINGS, STRINGS_OTHER));
    prop_oneof![
        4 => Just(Value::Token(plain("null".to_owned()))),
        24 => proptest::collection::vec(pair, 0..5).prop_map(Value::Object),
        1 => not_plain(&["[]", "5", "\"k\"", r#"{"k":1}"#]).prop_map(Value::Token),
    ]
}

/// A record: its entries in body order (key as written, value), and whether it is written
/// as an array of its values instead of an object.
#[derive(Debug, Clone)]
struct Record {
    entries: Vec<(Piece, Value)>,
    as_array: bool,
}

/// A field name as written: mostly plain, sometimes with its first letter escaped.
fn key(name: &'static str) -> impl Strategy<Value = Piece> {
    prop_oneof![
        200 => Just(plain(format!("\"{name}\""))),
        1 => Just(Piece {
            text: format!("\"\\u{:04x}{}\"", u32::from(name.as_bytes()[0]), &name[1..]),
            plain: false,
        }),
    ]
}

fn record() -> impl Strategy<Value = Record> {
    let fields = (
        (
            key("uniqueId"),
            pick(STRINGS, STRINGS_OTHER).prop_map(Value::Token),
        ),
        (
            key("meterApiName"),
            pick(STRINGS, STRINGS_OTHER).prop_map(Value::Token),
        ),
        (key("meterValue"), meter_value().prop_map(Value::Token)),
        (
            key("customerId"),
            pick(STRINGS, STRINGS_OTHER).prop_map(Value::Token),
        ),
        (key("meterTimeInMillis"), time().prop_map(Value::Token)),
    );
    let missing = proptest::option::weighted(0.02, 0..5usize);
    let dimensions = proptest::option::weighted(0.7, (key("dimensions"), dimensions()));
    let unknown = proptest::option::weighted(
        0.02,
        not_plain(&["\"x\"", "true", r#"{"y":[1,{}]}"#, "null"]),
    );
    let repeated = proptest::option::weighted(0.02, any::<Index>());
    let as_array = proptest::bool::weighted(0.02);
    (fields, missing, dimensions, unknown, repeated, as_array)
        .prop_flat_map(
            |(fields, missing, dimensions, unknown, repeated, as_array)| {
                let (a, b, c, d, e) = fields;
                let mut entries = vec![a, b, c, d, e];
                if let Some(index) = missing {
                    entries.remove(index);
                }
                entries.extend(dimensions);
                if let Some(value) = unknown {
                    let key = Piece {
                        text: "\"extra\"".to_owned(),
                        plain: false,
                    };
                    entries.push((key, Value::Token(value)));
                }
                if let Some(index) = repeated {
                    let mut again = entries[index.index(entries.len())].clone();
                    again.0.plain = false;
                    entries.push(again);
                }
                let plain = missing.is_none() && !as_array;
                (Just(entries).prop_shuffle(), Just(as_array), Just(plain))
            },
        )
        .prop_map(|(mut entries, as_array, plain)| {
            if !plain && !as_array {
                // Mark the record not plain through one of its keys.
                if let Some((key, _)) = entries.first_mut() {
                    key.plain = false;
                }
            }
            Record { entries, as_array }
        })
}

/// How the records are put together.
#[derive(Debug, Clone, Copy)]
enum Shape {
    Array,
    /// The first record alone (an empty object when there is none).
    Single,
    TrailingGarbage,
    TrailingComma,
}

/// Writes tokens with whitespace from a cycled list between them.
struct Writer {
    out: String,
    spaces: Vec<Piece>,
    next: usize,
    plain: bool,
}

impl Writer {
    fn gap(&mut self) {
        let space = &self.spaces[self.next % self.spaces.len()];
        self.next += 1;
        self.out.push_str(&space.text);
        self.plain &= space.plain;
    }

    fn token(&mut self, piece: &Piece) {
        self.gap();
        self.out.push_str(&piece.text);
        self.plain &= piece.plain;
    }

    fn punct(&mut self, text: &str) {
        self.gap();
        self.out.push_str(text);
    }

    fn value(&mut self, value: &Value) {
        match value {
            Value::Token(piece) => self.token(piece),
            Value::Object(pairs) => {
                self.punct("{");
                for (index, (key, value)) in pairs.iter().enumerate() {
                    if index > 0 {
                        self.punct(",");
                    }
                    self.token(key);
                    self.punct(":");
                    self.token(value);
                }
                self.punct("}");
            }
        }
    }

    fn record(&mut self, record: &Record) {
        if record.as_array {
            self.plain = false;
            self.punct("[");
            for (index, (_, value)) in record.entries.iter().enumerate() {
                if index > 0 {
                    self.punct(",");
                }
                self.value(value);
            }
            self.punct("]");
            return;
        }
        self.punct("{");
        for (index, (key, value)) in record.entries.iter().enumerate() {
            if index > 0 {
                self.punct(",");
            }
            self.token(key);
            self.punct(":");
            self.value(value);
        }
        self.punct("}");
    }
}

/// A body, and whether the fast path takes it.
fn body() -> impl Strategy<Value = (String, bool)> {
    let shape = prop_oneof![
        40 => Just(Shape::Array),
        1 => Just(Shape::Single),
        1 => Just(Shape::TrailingGarbage),
        1 => Just(Shape::TrailingComma),
    ];
    (
        proptest::collection::vec(record(), 0..6),
        shape,
        proptest::collection::vec(proptest::sample::select(SPACES), 1..24),
        proptest::option::weighted(0.03, (not_plain(SPACES_OTHER), any::<Index>())),
    )
        .prop_map(|(records, shape, spaces, odd_space)| {
            let mut spaces: Vec<Piece> = spaces
                .into_iter()
                .map(|text| plain(text.to_owned()))
                .collect();
            if let Some((space, index)) = odd_space {
                spaces.insert(index.index(spaces.len() + 1), space);
            }
            let mut writer = Writer {
                out: String::new(),
                spaces,
                next: 0,
                plain: true,
            };
            match shape {
                Shape::Single => {
                    writer.plain = false;
                    match records.first() {
                        Some(record) => writer.record(record),
                        None => writer.punct("{}"),
                    }
                }
                _ => {
                    writer.punct("[");
                    for (index, record) in records.iter().enumerate() {
                        if index > 0 {
                            writer.punct(",");
                        }
                        writer.record(record);
                    }
                    if matches!(shape, Shape::TrailingComma) {
                        writer.plain = false;
                        writer.punct(",");
                    }
                    writer.punct("]");
                    if matches!(shape, Shape::TrailingGarbage) {
                        writer.plain = false;
                        writer.punct("x");
                    }
                }
            }
            writer.gap();
            (writer.out, writer.plain)
        })
}

/// The fast path takes exactly the plain bodies, and parses them as the serde visitors do:
/// same records, pairs, meter value bits and suspects. `parse_batch` gives the serde path's
/// result (or error) on every body.
#[test]
fn takes_exactly_the_plain_bodies_and_agrees_with_serde() {
    const CASES: u32 = 3000;
    let mut runner = TestRunner::new(Config {
        failure_persistence: None,
        ..Config::with_cases(CASES)
    });
    let taken = Cell::new(0u32);
    let result = runner.run(&body(), |(body, plain)| {
        prop_assert_eq!(check(&body)?, plain, "body: {}", body);
        taken.set(taken.get() + u32::from(plain));
        Ok(())
    });
    if let Err(error) = result {
        panic!("{error}");
    }
    // Most bodies are plain, so most of the comparisons are of the fast path's batches.
    assert!(taken.get() > CASES / 4, "only {} plain bodies", taken.get());
}
