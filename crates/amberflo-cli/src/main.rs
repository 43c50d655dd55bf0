//! `amberflo`: Amberflo from the command line. See `amberflo --help` and the README's CLI
//! section.
//!
//! ```text
//! amberflo ingest usage-2024-06.ndjson.gz --spool /var/tmp/amberflo   # backfill, resumable
//! amberflo validate export.csv                                          # check before sending
//! amberflo usage ApiCalls --since 7d --group-by customerId             # what was used
//! amberflo customers create acme --name "Acme Corp"
//! ```

mod checkpoint;
mod cli;
mod connect;
mod error;
mod ingest;
mod input;
mod manage;
mod output;
mod progress;
mod query;
mod range;
mod records;
mod validate;

use std::io::Write;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use crate::cli::{Cli, Command};
use crate::connect::Target;
use crate::error::CliError;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.verbose > 0 {
        let level = if cli.verbose > 1 { "debug" } else { "info" };
        tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_env_filter(format!(
                "amberflo={level},amberflo_batcher={level},amberflo_transport={level}"
            ))
            .init();
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let result = run(&cli, &mut out);
    let _ = out.flush();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let _ = writeln!(std::io::stderr(), "amberflo: {error}");
            error.exit_code()
        }
    }
}

fn run(cli: &Cli, out: &mut dyn Write) -> Result<(), CliError> {
    let format = cli.format;
    match &cli.command {
        Command::Ingest(args) => ingest::run(&cli.connection, args, out),
        Command::Validate(args) => validate::run(args, out),
        Command::Completions { shell } => {
            clap_complete::generate(*shell, &mut Cli::command(), "amberflo", out);
            Ok(())
        }
        Command::Usage(args) => query::usage(&client(cli)?.1, args, format, out),
        Command::Cost(args) => query::cost(&client(cli)?.1, args, format, out),
        Command::Customers(command) => manage::customers(&client(cli)?.1, command, format, out),
        Command::Meters(command) => manage::meters(&client(cli)?.1, command, format, out),
        Command::Invoices(command) => manage::invoices(&client(cli)?.1, command, format, out),
    }
}

/// A client for an API command (and the emulator it talks to, with `--emulator`).
fn client(cli: &Cli) -> Result<(Target, amberflo::Client), CliError> {
    let target = Target::new(&cli.connection)?;
    let client = target.client()?;
    Ok((target, client))
}
