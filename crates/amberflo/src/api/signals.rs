//! [`SignalsApi`]: signals (notifications) under `/notification`.

use amberflo_types::{Signal, SignalId, SignalPayload};
use http::Method;

use crate::api::found;
use crate::api::{path, server_id};
use crate::client::Client;
use crate::error::Error;

const NOTIFICATION: &str = "/notification";

/// Manages signals (alerts on usage, invoices, prepaid balances, ...); from
/// [`Client::signals`].
///
/// ```no_run
/// use amberflo::types::{NotificationType, SignalPayload, ThresholdCondition};
///
/// # async fn demo(client: amberflo::Client) -> Result<(), amberflo::Error> {
/// let payload = SignalPayload::builder("High usage", NotificationType::Usage)
///     .meter_id("meter-1")
///     .threshold(ThresholdCondition::GreaterThan, 1000.0)
///     .email("ops@acme.test")
///     .build()?;
/// let signal = client.signals().create(&payload).await?;
/// let disabled = payload.to_builder().id(&signal.id).disabled().build()?;
/// client.signals().update(&disabled).await?;
/// client.signals().delete(&signal.id).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct SignalsApi<'a> {
    client: &'a Client,
}

impl<'a> SignalsApi<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        SignalsApi { client }
    }

    /// Every signal.
    ///
    /// ```no_run
    /// # async fn demo(client: amberflo::Client) -> Result<(), amberflo::Error> {
    /// for signal in client.signals().list().await? {
    ///     println!("{}: {} ({:?})", signal.id, signal.name, signal.notification_type);
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As any API call.
    pub async fn list(self) -> Result<Vec<Signal>, Error> {
        self.client.call(Method::GET, NOTIFICATION, &()).await
    }

    /// The signal with this id, or `None` when there is none.
    ///
    /// ```no_run
    /// # async fn demo(client: amberflo::Client) -> Result<(), amberflo::Error> {
    /// match client.signals().get("signal-1").await? {
    ///     Some(signal) => println!("{} is enabled: {:?}", signal.name, signal.enabled),
    ///     None => println!("no such signal"),
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::Validation`] for a blank id (or `.`, `..`), else as any API call.
    pub async fn get(self, id: impl Into<SignalId>) -> Result<Option<Signal>, Error> {
        let path = path::with_id(NOTIFICATION, "id", id.into().as_str())?;
        found::get(self.client, &path, &()).await
    }

    /// Creates a signal (`POST`, not retried); the payload must not carry an id.
    ///
    /// # Errors
    /// [`Error::Validation`] for an invalid payload or one with an id, else as any API call.
    pub async fn create(self, payload: &SignalPayload) -> Result<Signal, Error> {
        payload.validate()?;
        server_id::absent_for_create(payload.id())?;
        self.client
            .call_json(Method::POST, NOTIFICATION, &(), payload)
            .await
    }

    /// Replaces a signal (`PUT`); the payload must carry the server's id.
    ///
    /// # Errors
    /// [`Error::Validation`] for an invalid payload or one without an id, else as any API
    /// call.
    pub async fn update(self, payload: &SignalPayload) -> Result<Signal, Error> {
        payload.validate()?;
        server_id::present_for_update(payload.id())?;
        self.client
            .call_json(Method::PUT, NOTIFICATION, &(), payload)
            .await
    }

    /// Deletes a signal. What the server answers beside a 2xx is not read.
    ///
    /// # Errors
    /// [`Error::Validation`] for a blank id (or `.`, `..`), else as any API call.
    pub async fn delete(self, id: impl Into<SignalId>) -> Result<(), Error> {
        let path = path::with_id(NOTIFICATION, "id", id.into().as_str())?;
        self.client
            .call_ignoring_body(Method::DELETE, &path, &())
            .await
    }
}
