//! The client a command talks through: configured from flags and the environment, or bound
//! to an embedded emulator (`--emulator`).

use amberflo::emulator::Emulator;
use amberflo::{Client, ClientBuilder};

use crate::cli::Connection;
use crate::error::CliError;

/// The API key the embedded emulator is started with when none is given.
const EMULATOR_KEY: &str = "amberflo-cli-emulator";

/// A client builder for `connection`; the emulator it started, if any, serves until dropped.
pub(crate) struct Target {
    builder: ClientBuilder,
    _emulator: Option<Emulator>,
}

impl Target {
    pub(crate) fn new(connection: &Connection) -> Result<Self, CliError> {
        let mut builder = Client::builder();
        let emulator = if connection.emulator {
            let key = connection.api_key.as_deref().unwrap_or(EMULATOR_KEY);
            let emulator = Emulator::builder().api_key(key).start().map_err(|error| {
                CliError::config(format!(
                    "cannot start the emulator: {}",
                    crate::error::chain(&error)
                ))
            })?;
            builder = builder.api_key(key).endpoint(emulator.url());
            Some(emulator)
        } else {
            let key = connection.api_key.as_deref().ok_or_else(|| {
                CliError::config(
                    "no API key: pass --api-key or set AMBERFLO_API_KEY (or use --emulator)",
                )
            })?;
            builder = builder.api_key(key);
            if let Some(url) = &connection.api_url {
                builder = builder.api_url(url);
            }
            if let Some(url) = &connection.ingest_url {
                builder = builder.ingest_url(url);
            }
            None
        };
        Ok(Target {
            builder,
            _emulator: emulator,
        })
    }

    /// The builder, to add settings to.
    pub(crate) fn builder(&self) -> ClientBuilder {
        self.builder.clone()
    }

    /// A client with the default settings.
    pub(crate) fn client(&self) -> Result<Client, CliError> {
        self.builder()
            .build()
            .map_err(|error| CliError::sdk("cannot start the client", &error))
    }
}
