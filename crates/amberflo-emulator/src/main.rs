//! The `amberflo-emulator` binary: runs the emulator until Ctrl-C (or SIGTERM).
//!
//! ```text
//! amberflo-emulator --port 8080 [--api-key K] [--bind 127.0.0.1]
//! ```
//!
//! The first line on stdout is the base URL (handy with `--port 0`); logs go to stderr
//! (`RUST_LOG` filters them, default `info`).

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::Write;
use std::net::IpAddr;
use std::process::ExitCode;
use std::time::Duration;

use amberflo_emulator::{DEFAULT_MAX_BODY_BYTES, Emulator};
use clap::Parser;

/// What a person (or a script) finds beside the API, shown under `--help`.
const PAGES: &str = "\
Beside the Amberflo API it serves (no API key needed):
  /                       the console: usage charts per meter (by minute, hour or day,
                          grouped by customer or a dimension, filtered by meter, customer
                          and time range), totals and costs, the latest records with their
                          unique ids and whether they were dropped as duplicates or
                          cancelled, what aggregating clients reported (records in,
                          aggregates out, the ratio), and fault injection buttons
  /_emulator/console      what the console shows, as JSON (meter, customer, range,
                          interval, group), with the clients' reports
  /_emulator/stats        counters (records, requests, duplicates, faults)
  /_emulator/faults       GET the faults in force; POST {\"fail\": {\"count\": 3, \"status\": 503,
                          \"retryAfter\": \"2\"}, \"dropConnections\": {\"count\": 1},
                          \"latencyMs\": 500, \"rejectIds\": [...]}; DELETE to clear
  /_emulator/records      stored records (customerId, meterApiName, limit); DELETE clears
  /_emulator/custom-records
                          stored custom-schema records
  /_emulator/prices       per-meter prices for usage cost (POST {\"ApiCalls\": 0.01})
  /_emulator/promotions   the account's promotions; POST {\"id\": ...} adds one
  /_emulator/summary      per customer and meter totals, and the latest records
  /_emulator/client-stats GET what aggregating clients reported (the latest per client,
                          at most 64); POST {\"client\": \"api-1\", \"recordsIn\": 1000,
                          \"aggregatesOut\": 4, \"passedThrough\": 0, \"openKeys\": 2}";

// `PAGES` gives the bound on clients kept.
const _: () = assert!(amberflo_emulator::MAX_CLIENTS == 64);

/// A local, in-memory Amberflo-compatible server.
#[derive(Debug, Parser)]
#[command(name = "amberflo-emulator", version, about, after_help = PAGES)]
struct Args {
    /// Port to listen on (0 picks a free one).
    #[arg(long, env = "AMBERFLO_EMULATOR_PORT", default_value_t = 8080)]
    port: u16,
    /// Require this X-API-KEY on API requests.
    #[arg(long, env = "AMBERFLO_EMULATOR_API_KEY")]
    api_key: Option<String>,
    /// Address to listen on.
    #[arg(long, env = "AMBERFLO_EMULATOR_BIND", default_value = "127.0.0.1")]
    bind: IpAddr,
    /// Largest request body accepted, in bytes.
    #[arg(long, default_value_t = DEFAULT_MAX_BODY_BYTES)]
    max_body_bytes: usize,
    /// Delay added to every API request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
}

fn main() -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let args = Args::parse();

    let mut builder = Emulator::builder()
        .bind(args.bind)
        .port(args.port)
        .max_body_bytes(args.max_body_bytes)
        .latency(Duration::from_millis(args.latency_ms));
    if let Some(key) = args.api_key {
        builder = builder.api_key(key);
    }
    let emulator = match builder.start() {
        Ok(emulator) => emulator,
        Err(error) => {
            eprintln!("amberflo-emulator: {error}");
            return ExitCode::FAILURE;
        }
    };
    println!("{}", emulator.url());
    let _ = std::io::stdout().flush();

    if let Err(error) = wait_for_signal() {
        eprintln!("amberflo-emulator: cannot wait for Ctrl-C: {error}");
    }
    tracing::info!("stopping");
    emulator.shutdown();
    ExitCode::SUCCESS
}

/// Blocks until Ctrl-C (SIGINT) or, on Unix, SIGTERM.
fn wait_for_signal() -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let mut terminate = signal(SignalKind::terminate())?;
            tokio::select! {
                result = tokio::signal::ctrl_c() => result,
                _ = terminate.recv() => Ok(()),
            }
        }
        #[cfg(not(unix))]
        {
            tokio::signal::ctrl_c().await
        }
    })
}
