//! Tests of the entry points: gzip decoding, parsing into records and into a batch, and the
//! error messages, held to those of the derived parser the visitors replaced ([`derived`]).

mod derived;

use std::io::Write;

use super::*;

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap_or_default();
    encoder.finish().unwrap_or_default()
}

#[test]
fn gzip_round_trip_and_limit() {
    let body = gzip(b"[1,2,3]");
    let decoded = decode_body(&body, BodyEncoding::Gzip, 100);
    assert!(matches!(decoded.as_deref(), Ok(b"[1,2,3]")));
    let big = gzip(&[b' '; 1000]);
    let too_big = decode_body(&big, BodyEncoding::Gzip, 999);
    assert!(matches!(too_big, Err(IngestError::TooLarge { limit: 999 })));
    assert!(matches!(
        decode_body(b"not gzip", BodyEncoding::Gzip, 100),
        Err(IngestError::Gzip(_))
    ));
}

#[test]
fn gzip_members_are_concatenated() {
    let mut body = gzip(b"[1,");
    body.extend(gzip(b"2]"));
    let decoded = decode_body(&body, BodyEncoding::Gzip, 100);
    assert!(matches!(decoded.as_deref(), Ok(b"[1,2]")));
    // The trailer is only a hint: a wrong one neither breaks nor bounds the result.
    assert_eq!(gzip_size_hint(&body), 2);
    assert_eq!(gzip_size_hint(b"gz"), 0);
}

#[test]
fn the_single_member_fast_path_never_drops_or_invents_bytes() {
    let member = gzip(b"[1,2]");
    // Two members of the same size: the trailer matches the first member, the magic scan
    // still finds the second.
    let twice = [member.clone(), member.clone()].concat();
    assert!(matches!(
        decode_body(&twice, BodyEncoding::Gzip, 100).as_deref(),
        Ok(b"[1,2][1,2]")
    ));
    // Bytes after the member: the streaming decoder rejects them, as before.
    let trailing = [member.clone(), b"garbage!".to_vec()].concat();
    assert!(matches!(
        decode_body(&trailing, BodyEncoding::Gzip, 100),
        Err(IngestError::Gzip(_))
    ));
    // A trailer with the wrong size: refused, as the streaming decoder checks it.
    let mut lying = gzip(&[b'x'; 300]);
    let at = lying.len() - 4;
    lying[at..].copy_from_slice(&10u32.to_le_bytes());
    assert!(inflate_single_member(&lying, 10).is_none());
    assert!(matches!(
        decode_body(&lying, BodyEncoding::Gzip, 1000),
        Err(IngestError::Gzip(_))
    ));
    assert_eq!(
        inflate_single_member(&member, 5).as_deref(),
        Some(&b"[1,2]"[..])
    );
    assert!(may_hold_another_member(&[0, 0x1f, 0x8b, 0x08]));
    assert!(!may_hold_another_member(&[0x1f, 0x8b, 0x07, 0x1f, 0x8b]));
}

#[test]
fn names_the_malformed_record() {
    let body = br#"[{"uniqueId":"a","meterApiName":"m","meterValue":1,"customerId":"c","meterTimeInMillis":5},
                    {"uniqueId":"b","meterApiName":"m","meterValue":1,"meterTimeInMillis":5}]"#;
    let error = parse_records(body).map(|_| ()).unwrap_err().to_string();
    assert!(
        error.starts_with("records[1]: missing field `customerId`"),
        "{error}"
    );
    let error = parse_records(b"[1").map(|_| ()).unwrap_err().to_string();
    assert!(error.starts_with("malformed JSON"), "{error}");
}

#[test]
fn parses_like_meter_record_deserialize() {
    let body = br#"[
        {"uniqueId":"0b0e4e2a-7c1d-4b8e-9f5a-2d3c4b5a6f70","meterApiName":"m","meterValue":1.5,
         "customerId":"c","meterTimeInMillis":5,"dimensions":{"r":"us","z":"a\u00e9"}},
        {"uniqueId":"0B0E4E2A-7C1D-4B8E-9F5A-2D3C4B5A6F70","meterApiName":"m\"q","meterValue":2,
         "customerId":"c","meterTimeInMillis":6,"dimensions":{},"extra":true},
        {"uniqueId":"{0b0e4e2a-7c1d-4b8e-9f5a-2d3c4b5a6f70}","meterApiName":"m","meterValue":-3,
         "customerId":"c","meterTimeInMillis":7,"dimensions":null},
        {"uniqueId":"order-42","meterApiName":"m","meterValue":0,"customerId":"c",
         "meterTimeInMillis":8,"dimensions":{"k":"1","k":"2"}}
    ]"#;
    let expected: Vec<MeterRecord> = serde_json::from_slice(body).expect("valid JSON");
    let parsed = parse_records(body).expect("valid records");
    assert_eq!(parsed, expected);
    let incoming = parse_incoming(body).expect("valid records");
    assert_eq!(incoming, Batch::from_records(&expected));
    // Serialising shows the ids kept their kind (UUID or custom string).
    assert_eq!(
        serde_json::to_value(&parsed).expect("serialisable"),
        serde_json::to_value(&expected).expect("serialisable")
    );
    let single = br#"{"uniqueId":"x","meterApiName":"m","meterValue":1,"customerId":"c","meterTimeInMillis":1}"#;
    assert_eq!(parse_records(single).expect("valid record").len(), 1);
    assert!(parse_records(b"[] x").is_err());
}

#[test]
fn one_pair_buffer_keeps_each_records_dimensions() {
    let body = br#"[
        {"uniqueId":"a","meterApiName":"m","meterValue":1,"customerId":"c","meterTimeInMillis":1,
         "dimensions":{"z":"1","a":"2","z":"3","m":"4","a":"5"}},
        {"uniqueId":"b","meterApiName":"m","meterValue":1,"customerId":"c","meterTimeInMillis":1},
        {"uniqueId":"c","meterApiName":"m","meterValue":1,"customerId":"c","meterTimeInMillis":1,
         "dimensions":{"k":"v"}}
    ]"#;
    let batch = parse_incoming(body).expect("valid records");
    let dimensions: Vec<Option<Vec<(&str, &str)>>> = batch
        .records
        .iter()
        .map(|record| {
            batch.dimensions(record).map(|pairs| {
                pairs
                    .iter()
                    .map(|(key, value)| (key.as_ref(), value.as_ref()))
                    .collect()
            })
        })
        .collect();
    assert_eq!(
        dimensions,
        [
            Some(vec![("a", "5"), ("m", "4"), ("z", "3")]),
            None,
            Some(vec![("k", "v")])
        ]
    );
    // The repeats were given back: the buffer holds the kept pairs only.
    assert_eq!(batch.pairs.len(), 4);
}

/// `text` with each `\u{1}` replaced by a byte that is never valid UTF-8.
fn not_utf8(text: &str) -> Vec<u8> {
    text.bytes()
        .map(|byte| if byte == 1 { 0xff } else { byte })
        .collect()
}

#[test]
fn same_results_and_errors_as_the_derived_parser() {
    const RECORD: &str = r#""uniqueId":"a","meterApiName":"m","meterValue":1,"customerId":"c","meterTimeInMillis":5"#;
    let bodies: Vec<Vec<u8>> = [
        format!("{{{RECORD}}}"),
        format!("[{{{RECORD}}}]"),
        format!(" \n{{{RECORD},\"dimensions\":{{\"k\":\"v\"}}}}"),
        // Repeated, missing and mistyped fields, alone and in an array.
        format!("{{{RECORD},\"uniqueId\":\"b\"}}"),
        format!("[{{{RECORD}}},{{{RECORD},\"meterValue\":2}}]"),
        format!("{{{RECORD},\"dimensions\":null,\"dimensions\":{{}}}}"),
        format!("[{{{RECORD},\"dimensions\":{{}},\"dimensions\":null}}]"),
        r#"{"meterApiName":"m"}"#.to_owned(),
        r#"{"uniqueId":"a","meterApiName":"m","customerId":"c"}"#.to_owned(),
        r#"{"uniqueId":"a","meterApiName":"m","meterValue":1,"customerId":"c"}"#.to_owned(),
        r#"{"uniqueId":1}"#.to_owned(),
        format!("{{{RECORD},\"meterTimeInMillis\":1.5}}"),
        format!("{{\"meterTimeInMillis\":1.5,{RECORD}}}"),
        format!("{{{RECORD},\"dimensions\":[]}}"),
        format!("{{{RECORD},\"dimensions\":{{\"k\":1}}}}"),
        format!("[{{{RECORD},\"dimensions\":{{\"k\":1}}}}]"),
        format!("{{{RECORD},\"dimensions\":5}}"),
        // Unknown fields of any shape, and escapes in keys and values.
        format!("{{\"x\":{{\"y\":[1,{{}}]}},{RECORD},\"z\":null}}"),
        r#"{"unique\u0049d":"a","meterApiName":"m\n","meterValue":1e2,"customerId":"\u00e9","meterTimeInMillis":5}"#.to_owned(),
        // Records given as arrays of their fields, as the derive accepts.
        r#"[["a","m",1,"c",5]]"#.to_owned(),
        r#"[["a","m",1,"c",5,{"k":"v"}]]"#.to_owned(),
        r#"[["a","m",1,"c",5,null,7]]"#.to_owned(),
        r#"[["a","m",1,"c"]]"#.to_owned(),
        // Not an array of records at all.
        String::new(),
        "null".to_owned(),
        "5".to_owned(),
        "\"x\"".to_owned(),
        "[".to_owned(),
        "[1]".to_owned(),
        "[{}]".to_owned(),
        format!("[{{{RECORD}}}] x"),
        format!("{{{RECORD}}} x"),
        format!("[{{{RECORD}}},]"),
        // Rule violations: the first bad record is named.
        format!(
            "[{{{RECORD}}},{{{}}}]",
            RECORD.replace(r#""customerId":"c""#, r#""customerId":" ""#)
        ),
        format!(
            "[{{{}}},{{{}}}]",
            RECORD.replace(":5", ":0"),
            RECORD.replace(r#""m""#, r#""\t""#)
        ),
        format!("{{{}}}", RECORD.replace(":1,", ":1e400,")),
        format!("{{{RECORD},\"uniqueId\":\"\"}}").replacen("\"uniqueId\":\"a\",", "", 1),
        format!("{{{RECORD},\"dimensions\":{{\"k\":\" \",\"k\":\"v\"}}}}"),
        format!("{{{RECORD},\"dimensions\":{{\"k\":\"v\",\"k\":\" \"}}}}"),
        format!("{{{RECORD},\"dimensions\":{{\" \":\"v\"}}}}"),
    ]
    .into_iter()
    .map(String::into_bytes)
    .chain([
        // Invalid UTF-8: in a record's string, in a skipped one, between tokens.
        not_utf8(&format!("[{{{RECORD},\"dimensions\":{{\"k\":\"\u{1}\"}}}}]")),
        not_utf8(&format!("[{{{RECORD},\"x\":\"\u{1}\"}}]")),
        not_utf8(&format!("{{{RECORD},\"x\":\"\u{1}\"}}")),
        b"[\xff]".to_vec(),
        b"{\xff}".to_vec(),
    ])
    .collect();
    for body in &bodies {
        let shown = String::from_utf8_lossy(body);
        let new = parse_records(body).map_err(|error| error.to_string());
        assert_eq!(new, derived::parse_records(body), "body: {shown}");
        // The store's path agrees with the public one.
        let incoming = parse_incoming(body).map_err(|error| error.to_string());
        match (&incoming, &new) {
            (Ok(batch), Ok(records)) => assert_eq!(*batch, Batch::from_records(records)),
            (Err(a), Err(b)) => assert_eq!(a, b, "body: {shown}"),
            _ => panic!("parse_incoming and parse_records disagree on {shown}"),
        }
    }
}

#[test]
fn custom_records_must_be_objects() {
    assert_eq!(parse_custom(br#"{"a":1}"#).map(|v| v.len()).ok(), Some(1));
    assert!(matches!(
        parse_custom(br#"[{"a":1}, 2]"#),
        Err(IngestError::NotAnObject { index: 1 })
    ));
}
