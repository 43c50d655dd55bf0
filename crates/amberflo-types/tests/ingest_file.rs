//! File validation (`amberflo_types::ingest_file`): NDJSON and JSON arrays, line numbers and
//! element indexes, syntax errors, the per-record size limit, and a bounded error list on a
//! generated 1,000,000-line file.

use std::io::{BufWriter, Write};

use amberflo_types::ingest_file::{
    self, DEFAULT_MAX_ERRORS, FileFormat, FileReport, FileValidator, Problem,
};
use amberflo_types::{Rule, ValidationError};

fn record(id: u64) -> String {
    format!(
        r#"{{"uniqueId":"id-{id}","meterApiName":"ApiCalls","meterValue":{id},"customerId":"customer-{c}","meterTimeInMillis":1700000000000,"dimensions":{{"region":"us-east-1"}}}}"#,
        c = id % 97
    )
}

fn invalid(field: &'static str, rule: Rule) -> Problem {
    Problem::Invalid(ValidationError::new(field, rule))
}

/// `(line, index, problem)` of every kept error.
fn located(report: &FileReport) -> Vec<(u64, Option<u64>, Problem)> {
    report
        .errors
        .iter()
        .map(|error| (error.line, error.index, error.problem.clone()))
        .collect()
}

#[test]
fn a_million_line_file_reports_exactly_its_bad_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("records.ndjson");
    let bad: [(u64, &str, Problem); 5] = [
        (
            1,
            r#"{"uniqueId":"x","meterApiName":" ","meterValue":1,"customerId":"c","meterTimeInMillis":1700000000000}"#,
            invalid("meter_api_name", Rule::Blank),
        ),
        (
            250_000,
            r#"{"uniqueId":"x","meterApiName":"m","meterValue":"1","customerId":"c","meterTimeInMillis":1700000000000}"#,
            invalid(
                "meter_value",
                Rule::WrongType {
                    expected: "a number",
                },
            ),
        ),
        (
            500_001,
            r#"{"uniqueId":"x","meterApiName":"m","meterValue":1,"customerId":"c","meterTimeInMillis":0}"#,
            invalid("meter_time_in_millis", Rule::NotPositive),
        ),
        (
            999_999,
            r#"{"uniqueId":"x","meterApiName":"m","meterValue":1,"meterTimeInMillis":1700000000000}"#,
            invalid("customer_id", Rule::Missing),
        ),
        (
            1_000_000,
            r#"{"uniqueId":"x","meterApiName":"m","#,
            Problem::Syntax {
                message: "EOF while parsing a value".into(),
            },
        ),
    ];
    {
        let mut out = BufWriter::new(std::fs::File::create(&path).unwrap());
        for line in 1..=1_000_000_u64 {
            match bad.iter().find(|(at, _, _)| *at == line) {
                Some((_, text, _)) => writeln!(out, "{text}").unwrap(),
                None => writeln!(out, "{}", record(line)).unwrap(),
            }
        }
        out.flush().unwrap();
    }
    let report = ingest_file::validate_reader(std::fs::File::open(&path).unwrap()).unwrap();
    assert_eq!(report.format, FileFormat::Ndjson);
    assert_eq!((report.valid, report.invalid), (999_995, 5));
    let expected: Vec<_> = bad
        .iter()
        .map(|(line, _, p)| (*line, None, p.clone()))
        .collect();
    assert_eq!(located(&report), expected);
    assert_eq!(report.errors[4].column, Some(35));
    assert!(!report.is_ok() && report.complete);
}

#[test]
fn the_error_list_is_capped_and_the_counts_stay_exact() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.ndjson");
    {
        let mut out = BufWriter::new(std::fs::File::create(&path).unwrap());
        for line in 0..10_000_u64 {
            if line % 3 == 0 {
                writeln!(out, "{}", record(line)).unwrap();
            } else {
                writeln!(out, "{{}}").unwrap();
            }
        }
    }
    let report = ingest_file::validate_reader(std::fs::File::open(&path).unwrap()).unwrap();
    assert_eq!((report.valid, report.invalid), (3_334, 6_666));
    assert_eq!(report.errors.len(), DEFAULT_MAX_ERRORS);
    assert_eq!(report.errors_not_kept(), 6_666 - DEFAULT_MAX_ERRORS as u64);
    assert_eq!(report.errors[0].line, 2);
    assert_eq!(report.errors[1].line, 3);
    assert_eq!(report.errors[2].line, 5);
    let small = FileValidator::new()
        .max_errors(3)
        .validate(std::fs::File::open(&path).unwrap())
        .unwrap();
    assert_eq!((small.invalid, small.errors.len()), (6_666, 3));
    let none = FileValidator::new()
        .max_errors(0)
        .validate(&b"{}\n{}\n"[..])
        .unwrap();
    assert_eq!((none.invalid, none.errors.len()), (2, 0));
    assert!(
        report
            .to_string()
            .contains(&format!("... and {} more errors", 6_666 - 100))
    );
}

#[test]
fn arrays_report_the_line_and_index_of_each_bad_element() {
    let text = format!(
        "\u{FEFF}\n  [\n{},\n{{\"uniqueId\": \"b\",\n \"meterApiName\": \"m\", \"meterValue\": 1,\n \"customerId\": \"\\u200B\", \"meterTimeInMillis\": 1700000000000}},\n\n  {}, 7, {{\"uniqueId\": \"d\", \"meterApiName\": \"m\", \"meterValue\": 1, \"customerId\": \"c\", \"meterTimeInMillis\": 1700000000000, \"dimensions\": {{\"a\": \"x\", \" \": \"y\"}}}}\n]\n",
        record(1),
        record(3)
    );
    let report = ingest_file::validate_reader(text.as_bytes()).unwrap();
    assert_eq!(report.format, FileFormat::JsonArray);
    assert_eq!((report.valid, report.invalid), (2, 3));
    assert!(report.complete);
    assert_eq!(
        located(&report),
        [
            (4, Some(1), invalid("customer_id", Rule::Blank)),
            (
                8,
                Some(3),
                invalid(
                    "record",
                    Rule::WrongType {
                        expected: "an object"
                    }
                )
            ),
            (8, Some(4), invalid("dimensions.<key>", Rule::Blank)),
        ]
    );
    assert_eq!(
        report.errors[0].to_string(),
        "line 4 (element 1): customer_id must not be blank"
    );
}

#[test]
fn a_syntax_error_in_an_array_ends_the_check_at_its_line() {
    let text = format!(
        "[\n{},\n{},\n{{\"uniqueId\": oops}},\n{}\n]",
        record(1),
        record(2),
        record(4)
    );
    let report = ingest_file::validate_reader(text.as_bytes()).unwrap();
    assert_eq!((report.valid, report.invalid), (2, 1));
    assert!(!report.complete);
    let error = &report.errors[0];
    assert_eq!(
        (error.line, error.column, error.index),
        (4, Some(14), Some(2))
    );
    assert!(
        matches!(&error.problem, Problem::Syntax { message } if message.starts_with("expected value"))
    );

    let trailing = format!("[{}] x", record(1));
    let report = ingest_file::validate_reader(trailing.as_bytes()).unwrap();
    assert_eq!(
        (report.valid, report.invalid, report.complete),
        (1, 1, true)
    );
    assert_eq!(report.errors[0].index, None);

    let unterminated = format!("[{},", record(1));
    let report = ingest_file::validate_reader(unterminated.as_bytes()).unwrap();
    assert_eq!(
        (report.valid, report.invalid, report.complete),
        (1, 1, false)
    );
}

#[test]
fn over_long_records_are_refused_without_being_stored() {
    // Long, yet within the record limits: 20 dimension values of 250 bytes.
    let dimensions: Vec<String> = (0..20)
        .map(|i| format!(r#""k{i}":"{}""#, "x".repeat(250)))
        .collect();
    let long = format!(
        r#"{{"uniqueId":"u","meterApiName":"m","meterValue":1,"customerId":"c","meterTimeInMillis":1700000000000,"dimensions":{{{}}}}}"#,
        dimensions.join(",")
    );
    let ndjson = format!("{}\n{long}\n{}\n", record(1), record(3));
    let validator = FileValidator::new().max_record_bytes(1_000);
    let report = validator.validate(ndjson.as_bytes()).unwrap();
    assert_eq!((report.valid, report.invalid), (2, 1));
    assert_eq!(
        located(&report),
        [(2, None, Problem::TooLarge { limit: 1_000 })]
    );

    let array = format!("[\n{},\n{long},\n{}]", record(1), record(3));
    let report = validator.validate(array.as_bytes()).unwrap();
    assert_eq!(
        (report.valid, report.invalid, report.complete),
        (1, 1, false)
    );
    assert_eq!(
        located(&report),
        [(3, Some(1), Problem::TooLarge { limit: 1_000 })]
    );
    // The default limit takes them.
    assert!(
        ingest_file::validate_reader(array.as_bytes())
            .unwrap()
            .is_ok()
    );
}

#[test]
fn empty_files_blank_lines_and_crlf() {
    for text in ["", "\n\n  \n", "[]", " [ ] \n"] {
        let report = ingest_file::validate_reader(text.as_bytes()).unwrap();
        assert_eq!(report.records(), 0, "{text:?}");
        assert!(report.is_ok(), "{text:?}");
    }
    let text = format!(
        "\r\n{}\r\n\r\n{}\r\n",
        record(1),
        record(2).replace("ApiCalls", "\\t")
    );
    let report = ingest_file::validate_reader(text.as_bytes()).unwrap();
    assert_eq!((report.valid, report.invalid), (1, 1));
    assert_eq!(
        located(&report),
        [(4, None, invalid("meter_api_name", Rule::Blank))]
    );
}

/// Records read from `text` with ids derived from `source` (a missing id only).
fn derived_ids(text: &str, source: amberflo_types::Uuid) -> Vec<String> {
    let mut ids = Vec::new();
    let report = FileValidator::new()
        .derive_missing_unique_ids(source)
        .read(text.as_bytes(), |read| {
            ids.push(read.expect("a good record").record.unique_id().to_string());
        })
        .expect("reading from memory");
    assert!(report.is_ok());
    ids
}

#[test]
fn missing_unique_ids_are_derived_from_the_file_the_place_and_the_content() {
    let without_id = |id: u64| record(id).replace(&format!(r#""uniqueId":"id-{id}","#), "");
    let source = amberflo_types::Uuid::from_u128(7);
    let ndjson = format!("{}\n{}\n{}\n", without_id(1), without_id(1), record(2));
    let first = derived_ids(&ndjson, source);
    // Read again: the same ids. The same record on another line: another id. Its own id kept.
    assert_eq!(derived_ids(&ndjson, source), first);
    assert_ne!(first[0], first[1]);
    assert_eq!(first[2], "id-2");
    // Another file: other ids.
    assert_ne!(
        derived_ids(&ndjson, amberflo_types::Uuid::from_u128(8))[0],
        first[0]
    );
    // An array: by element index, so its layout on lines does not matter.
    let array = format!("[{}, {}]", without_id(1), without_id(3));
    let spread = format!("[\n{},\n\n{}\n]", without_id(1), without_id(3));
    assert_eq!(derived_ids(&array, source), derived_ids(&spread, source));
    // Without a source, a missing id is an error naming the field.
    let report = ingest_file::validate_reader(without_id(1).as_bytes()).unwrap();
    assert_eq!(
        located(&report),
        [(1, None, invalid("unique_id", Rule::Missing))]
    );
}

#[test]
fn read_hands_over_every_record_and_every_error_in_file_order() {
    let text = format!("{}\nnot json\n{}\n", record(1), record(2));
    let mut seen = Vec::new();
    let report = FileValidator::new()
        .read(text.as_bytes(), |read| {
            seen.push(match read {
                Ok(read) => format!("{} ok {}", read.line, read.record.unique_id()),
                Err(error) => format!("{} bad", error.line),
            });
        })
        .unwrap();
    assert_eq!(seen, ["1 ok id-1", "2 bad", "3 ok id-2"]);
    assert_eq!((report.valid, report.invalid), (2, 1));
}
