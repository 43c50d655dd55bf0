//! Checks a file of meter records before it is ingested, with the types crate alone (no
//! HTTP): NDJSON (one record per line) or a JSON array. Prints the report and exits with
//! status 1 when a record is invalid (2 when the file cannot be read).
//!
//! ```text
//! cargo run --example validate -- records.ndjson
//! cargo run --example validate -- --max-errors 20 batch.json
//! ```
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::fs::File;
use std::path::PathBuf;
use std::process::ExitCode;

use amberflo_types::ingest_file::{DEFAULT_MAX_ERRORS, DEFAULT_MAX_RECORD_BYTES, FileValidator};
use clap::Parser;

/// Validate an NDJSON or JSON-array file of Amberflo meter records.
#[derive(Debug, Parser)]
struct Args {
    /// The file to check.
    file: PathBuf,
    /// How many errors to print (every invalid record is still counted).
    #[arg(long, default_value_t = DEFAULT_MAX_ERRORS)]
    max_errors: usize,
    /// The longest a record's JSON text may be, in bytes.
    #[arg(long, default_value_t = DEFAULT_MAX_RECORD_BYTES)]
    max_record_bytes: usize,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let file = match File::open(&args.file) {
        Ok(file) => file,
        Err(error) => {
            eprintln!("validate: cannot open {}: {error}", args.file.display());
            return ExitCode::from(2);
        }
    };
    let validator = FileValidator::new()
        .max_errors(args.max_errors)
        .max_record_bytes(args.max_record_bytes);
    match validator.validate(file) {
        Ok(report) => {
            println!("{}: {report}", args.file.display());
            if report.is_ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(error) => {
            eprintln!("validate: cannot read {}: {error}", args.file.display());
            ExitCode::from(2)
        }
    }
}
