//! Project automation, run as `cargo xtask <command>` (see `.cargo/config.toml`).
//!
//! - `cargo xtask ci`: everything CI checks, failing fast and naming the failed step.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod ci;
mod tidy;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci::run(),
        Some("tidy") => tidy::check(&ci::workspace_root()),
        _ => {
            eprintln!("usage: cargo xtask <ci|tidy>");
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
