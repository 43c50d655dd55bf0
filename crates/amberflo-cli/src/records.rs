//! Reading the records of an input, in its format, one at a time.

use std::io::Read;

use amberflo::types::{EpochMillis, MeterRecord};
use amberflo_types::ingest_file::FileValidator;

use crate::cli::InputFormat;
use crate::error::CliError;
use crate::input::Input;

/// The record fields a CSV file's columns may name; any other column is a dimension.
const CSV_FIELDS: [&str; 5] = [
    "meterApiName",
    "meterValue",
    "customerId",
    "meterTimeInMillis",
    "uniqueId",
];

/// A record that could not be read: where, and why.
#[derive(Debug, Clone)]
pub(crate) struct Invalid {
    pub(crate) line: u64,
    pub(crate) reason: String,
}

/// Reads every record of `input`, handing each (or why it is invalid) to `on_record`. A
/// record without a unique id gets one derived from the file's identity and its line when
/// `derive_ids`, else it is invalid.
///
/// # Errors
///
/// When the input cannot be read (a truncated gzip file, say).
pub(crate) fn read(
    input: Input,
    derive_ids: bool,
    mut on_record: impl FnMut(Result<MeterRecord, Invalid>),
) -> Result<(), CliError> {
    let Input {
        path,
        format,
        identity,
        reader,
        ..
    } = input;
    let result = match format {
        InputFormat::Csv => read_csv(reader, derive_ids.then_some(identity), &mut on_record),
        InputFormat::Json => {
            let mut validator = FileValidator::new().max_errors(0);
            if derive_ids {
                validator = validator.derive_missing_unique_ids(identity);
            }
            validator
                .read(reader, |read| {
                    on_record(match read {
                        Ok(read) => Ok(read.record),
                        Err(error) => Err(Invalid {
                            line: error.line,
                            reason: error.problem.to_string(),
                        }),
                    });
                })
                .map(drop)
        }
    };
    result.map_err(|error| CliError::input(&path, &error))
}

/// Reads a CSV file with a header row.
fn read_csv(
    reader: Box<dyn Read + Send>,
    derive_ids: Option<amberflo_types::Uuid>,
    on_record: &mut dyn FnMut(Result<MeterRecord, Invalid>),
) -> std::io::Result<()> {
    let mut csv = csv::ReaderBuilder::new().flexible(true).from_reader(reader);
    let headers = match csv.byte_headers() {
        Ok(headers) => headers.clone(),
        Err(error) => return csv_error(error, on_record),
    };
    let mut names = Vec::with_capacity(headers.len());
    for name in &headers {
        let Ok(name) = std::str::from_utf8(name) else {
            on_record(Err(Invalid {
                line: 1,
                reason: "the header row is not UTF-8 text".to_owned(),
            }));
            return Ok(());
        };
        names.push(name.trim().to_owned());
    }
    for required in &CSV_FIELDS[..4] {
        if !names.iter().any(|name| name == required) {
            on_record(Err(Invalid {
                line: 1,
                reason: format!("the header row has no `{required}` column"),
            }));
            return Ok(());
        }
    }
    let mut row = csv::ByteRecord::new();
    loop {
        match csv.read_byte_record(&mut row) {
            Ok(false) => return Ok(()),
            Ok(true) => {
                let line = row.position().map_or(0, csv::Position::line);
                on_record(
                    csv_record(&names, &row, derive_ids, line)
                        .map_err(|reason| Invalid { line, reason }),
                );
            }
            Err(error) => return csv_error(error, on_record),
        }
    }
}

/// A CSV error: an I/O error ends the file; anything else is that row's problem.
fn csv_error(
    error: csv::Error,
    on_record: &mut dyn FnMut(Result<MeterRecord, Invalid>),
) -> std::io::Result<()> {
    let line = error.position().map_or(0, csv::Position::line);
    match error.into_kind() {
        csv::ErrorKind::Io(error) => Err(error),
        kind => {
            on_record(Err(Invalid {
                line,
                reason: format!("{:?}", kind),
            }));
            Ok(())
        }
    }
}

/// One CSV row as a meter record.
fn csv_record(
    names: &[String],
    row: &csv::ByteRecord,
    derive_ids: Option<amberflo_types::Uuid>,
    line: u64,
) -> Result<MeterRecord, String> {
    if row.len() != names.len() {
        return Err(format!(
            "has {} fields where the header row has {}",
            row.len(),
            names.len()
        ));
    }
    let mut fields: [&str; 5] = [""; 5];
    let mut dimensions = Vec::new();
    for (name, value) in names.iter().zip(row) {
        let value = std::str::from_utf8(value)
            .map_err(|_| format!("{name} is not UTF-8 text"))?
            .trim();
        match CSV_FIELDS.iter().position(|field| field == name) {
            Some(at) => fields[at] = value,
            None if value.is_empty() => {}
            None => dimensions.push((name.as_str(), value)),
        }
    }
    let [meter_api_name, value, customer_id, time, unique_id] = fields;
    let value: f64 = value
        .parse()
        .map_err(|_| format!("meter_value must be a number, not {value:?}"))?;
    let time: i64 = time
        .parse()
        .map_err(|_| format!("meter_time_in_millis must be an integer, not {time:?}"))?;
    let mut builder = MeterRecord::builder(meter_api_name, value, customer_id)
        .meter_time(EpochMillis::new(time))
        .dimensions(dimensions);
    builder = match (unique_id, derive_ids) {
        ("", Some(source)) => builder.derived_unique_id(source, line),
        ("", None) => return Err("unique_id must be set".to_owned()),
        (id, _) => builder.unique_id(id),
    };
    builder.build().map_err(|error| error.to_string())
}
