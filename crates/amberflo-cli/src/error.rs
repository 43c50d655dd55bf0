//! One-line errors with the exit code they end the command with.

use std::fmt;
use std::path::Path;
use std::process::ExitCode;

/// Why a command failed, and its exit code (the table under `amberflo --help`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exit {
    /// Some records were invalid or not delivered.
    Records = 1,
    /// Configuration is missing or wrong.
    Config = 3,
    /// Amberflo refused a call or could not be reached.
    Api = 4,
    /// An input file could not be read.
    Input = 5,
}

/// A failed command: what to print (one line) and how to exit.
#[derive(Debug)]
pub(crate) struct CliError {
    pub(crate) exit: Exit,
    message: String,
}

impl CliError {
    pub(crate) fn new(exit: Exit, message: impl Into<String>) -> Self {
        CliError {
            exit,
            message: message.into(),
        }
    }

    /// A configuration error.
    pub(crate) fn config(message: impl Into<String>) -> Self {
        Self::new(Exit::Config, message)
    }

    /// `path` could not be read.
    pub(crate) fn input(path: &Path, error: &dyn std::error::Error) -> Self {
        Self::new(
            Exit::Input,
            format!("cannot read {}: {}", path.display(), chain(error)),
        )
    }

    /// An SDK error: configuration, or a failed call.
    pub(crate) fn sdk(context: &str, error: &amberflo::Error) -> Self {
        let exit = match error {
            amberflo::Error::Config { .. } | amberflo::Error::NoTransport => Exit::Config,
            _ => Exit::Api,
        };
        Self::new(exit, format!("{context}: {}", chain(error)))
    }

    pub(crate) fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.exit as u8)
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// An error and its causes on one line, each cause once (a message that already quotes its
/// cause does not repeat it).
pub(crate) fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text.replace('\n', " ")
}
