//! Project automation, run as `cargo xtask <command>` (see `.cargo/config.toml`).
//!
//! - `cargo xtask ci`: everything CI checks, failing fast and naming the failed step.
//! - `cargo xtask schema`: writes the JSON Schemas of `amberflo-types` to `schemas/` (CI fails
//!   when the committed files drift from the code).
//! - `cargo xtask bench`: the end-to-end ingest benchmark against the emulator (see
//!   `cargo xtask bench --help`), optionally against the official Python SDK.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod bench;
mod ci;
mod schema;
mod tidy;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci::run(),
        Some("bench") => bench::run(&args[1..]),
        Some("tidy") => tidy::check(&ci::workspace_root()),
        Some("schema") => schema::write(&ci::workspace_root()),
        _ => {
            eprintln!("usage: cargo xtask <ci|tidy|schema|bench>");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}
