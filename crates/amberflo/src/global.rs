//! The process-wide client behind [`init`], [`meter`] and [`flush`], for applications that
//! prefer not to pass a [`Client`] around.

use std::sync::{PoisonError, RwLock};
use std::time::Duration;

use amberflo_types::MeterRecord;

use crate::client::Client;
use crate::config::ClientBuilder;
use crate::error::{Error, MeterError};

static GLOBAL: RwLock<Option<Client>> = RwLock::new(None);

fn global() -> Option<Client> {
    GLOBAL
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
}

fn replace_global(client: Option<Client>) -> Option<Client> {
    let mut slot = GLOBAL.write().unwrap_or_else(PoisonError::into_inner);
    std::mem::replace(&mut *slot, client)
}

/// Uninstalls `client` if it is still the installed one (checked and taken under one lock).
fn uninstall(client: &Client) -> Option<Client> {
    let mut slot = GLOBAL.write().unwrap_or_else(PoisonError::into_inner);
    slot.take_if(|installed| installed.same_as(client))
}

/// Builds a client and installs it as the process-wide one used by [`meter`] and [`flush`].
/// Keep the returned guard alive: dropping it flushes and shuts the client down.
///
/// ```no_run
/// fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let _guard = amberflo::init(amberflo::Client::builder().api_key("my-api-key"))?;
///     amberflo::meter("ApiCalls", 1.0, "customer-1")?;
///     Ok(())
/// } // the guard drops here: queued records are delivered first
/// ```
///
/// # Errors
/// As [`ClientBuilder::build`].
pub fn init(builder: ClientBuilder) -> Result<ClientGuard, Error> {
    let client = builder.build()?;
    if let Some(previous) = replace_global(Some(client.clone())) {
        // Its own guard, when dropped later, finds it uninstalled and only shuts it down.
        if let Err(error) = previous.shutdown(previous.shutdown_timeout()) {
            tracing::warn!(%error, "amberflo: the replaced client's shutdown did not finish");
        }
    }
    Ok(ClientGuard { client })
}

/// Meters through the client installed by [`init`]; see [`Client::meter`].
///
/// # Errors
/// [`Error::Meter`] as [`Client::meter`], and [`Error::NotInitialized`] (with the record)
/// before [`init`] or after its guard dropped.
pub fn meter(
    meter_api_name: impl AsRef<str>,
    meter_value: f64,
    customer_id: impl AsRef<str>,
) -> Result<(), Error> {
    match global() {
        Some(client) => Ok(client.meter(meter_api_name, meter_value, customer_id)?),
        None => {
            let record = MeterRecord::builder(meter_api_name, meter_value, customer_id)
                .build()
                .map_err(MeterError::Invalid)?;
            Err(Error::NotInitialized(Box::new(record)))
        }
    }
}

/// Flushes the client installed by [`init`]; see [`Client::flush`]. Does nothing without one.
///
/// # Errors
/// As [`Client::flush`].
pub fn flush(timeout: Duration) -> Result<(), Error> {
    global().map_or(Ok(()), |client| client.flush(timeout))
}

/// Flushes and stops the client installed by [`init`], like dropping its guard; use it before
/// `std::process::exit`, which skips destructors. Does nothing without one.
///
/// # Errors
/// As [`Client::shutdown`].
pub fn shutdown(timeout: Duration) -> Result<(), Error> {
    global().map_or(Ok(()), |client| client.shutdown(timeout))
}

/// The process-wide client, if [`init`] installed one.
pub fn client() -> Option<Client> {
    global()
}

/// Returned by [`init`]: dropping it uninstalls the process-wide client, flushes it and stops
/// its workers (waiting at most the client's shutdown timeout).
#[must_use = "dropping the guard at once shuts the client down"]
#[derive(Debug)]
pub struct ClientGuard {
    client: Client,
}

impl ClientGuard {
    /// The installed client.
    pub fn client(&self) -> &Client {
        &self.client
    }
}

impl Drop for ClientGuard {
    fn drop(&mut self) {
        // Dropped outside the lock, after the shutdown below.
        let _uninstalled = uninstall(&self.client);
        if let Err(error) = self.client.shutdown(self.client.shutdown_timeout()) {
            tracing::warn!(%error, "amberflo: the guard's shutdown did not finish");
        }
    }
}
