//! [`MetersApi`]: meter definitions under `/meters`.

use amberflo_types::{
    MeterApiName, MeterDefinition, MeterDefinitionPayload, MeterDefinitionQuery, MeterId,
};
use http::Method;

use crate::api::found;
use crate::api::{path, server_id};
use crate::client::Client;
use crate::error::Error;

const METERS: &str = "/meters";

/// Manages meter definitions; from [`Client::meters`].
///
/// The API's rules: an update carries the server's id (from [`get`](Self::get) or
/// [`create`](Self::create)), and a meter is deleted by id, after it was marked deprecated.
///
/// ```no_run
/// use amberflo::types::{MeterDefinitionPayload, MeterType};
///
/// # async fn demo(client: amberflo::Client) -> Result<(), amberflo::Error> {
/// let payload = MeterDefinitionPayload::builder("ApiCalls")
///     .label("API calls")
///     .meter_type(MeterType::SumOfAllUsage)
///     .build()?;
/// let meter = client.meters().create(&payload).await?;
/// let deprecated = payload.to_builder().id(&meter.id).deprecated().build()?;
/// client.meters().update(&deprecated).await?;
/// client.meters().delete(&meter.id).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct MetersApi<'a> {
    client: &'a Client,
}

impl<'a> MetersApi<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        MetersApi { client }
    }

    /// Every meter definition.
    ///
    /// ```no_run
    /// # async fn demo(client: amberflo::Client) -> Result<(), amberflo::Error> {
    /// let meters = client.meters().list().await?;
    /// let names: Vec<&str> = meters.iter().map(|meter| meter.meter_api_name.as_str()).collect();
    /// println!("{names:?}");
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As any API call.
    pub async fn list(self) -> Result<Vec<MeterDefinition>, Error> {
        self.client.call(Method::GET, METERS, &()).await
    }

    /// The meter with this API name, or `None` when there is none (`GET /meters?meterApiName=`
    /// answers the list of matches, `[]` for none).
    ///
    /// ```no_run
    /// # async fn demo(client: amberflo::Client) -> Result<(), amberflo::Error> {
    /// if let Some(meter) = client.meters().get("ApiCalls").await? {
    ///     println!("{} ({:?}) has id {}", meter.label, meter.meter_type, meter.id);
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::Validation`] for a blank name, else as any API call.
    pub async fn get(
        self,
        meter_api_name: impl Into<MeterApiName>,
    ) -> Result<Option<MeterDefinition>, Error> {
        let meter_api_name = meter_api_name.into();
        let query = MeterDefinitionQuery::new(meter_api_name.as_str())?;
        let matches: Vec<MeterDefinition> = found::matches(self.client, METERS, &query).await?;
        // The one with this name, should the server ignore the filter.
        Ok(matches
            .into_iter()
            .find(|meter| meter_api_name == meter.meter_api_name.as_str()))
    }

    /// Creates a meter (`POST`, not retried); the payload must not carry an id.
    ///
    /// # Errors
    /// [`Error::Validation`] for an invalid payload or one with an id, else as any API call
    /// (400 when the name is taken).
    pub async fn create(self, payload: &MeterDefinitionPayload) -> Result<MeterDefinition, Error> {
        payload.validate()?;
        server_id::absent_for_create(payload.id())?;
        self.client
            .call_json(Method::POST, METERS, &(), payload)
            .await
    }

    /// Replaces a meter (`PUT`); the payload must carry the server's id.
    ///
    /// # Errors
    /// [`Error::Validation`] for an invalid payload or one without an id, else as any API
    /// call.
    pub async fn update(self, payload: &MeterDefinitionPayload) -> Result<MeterDefinition, Error> {
        payload.validate()?;
        server_id::present_for_update(payload.id())?;
        self.client
            .call_json(Method::PUT, METERS, &(), payload)
            .await
    }

    /// Deletes a meter by its server id (mark it deprecated first). What the server answers
    /// beside a 2xx is not read.
    ///
    /// ```no_run
    /// # async fn demo(client: amberflo::Client) -> Result<(), amberflo::Error> {
    /// if let Some(meter) = client.meters().get("ApiCalls").await? {
    ///     client.meters().delete(&meter.id).await?;
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// A meter's API name is not its id, and does not pass for one:
    ///
    /// ```compile_fail
    /// # async fn demo(client: amberflo::Client) -> Result<(), amberflo::Error> {
    /// let name = amberflo::types::MeterApiName::from("ApiCalls");
    /// client.meters().delete(name).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::Validation`] for a blank id (or `.`, `..`), else as any API call.
    pub async fn delete(self, id: impl Into<MeterId>) -> Result<(), Error> {
        let path = path::with_id(METERS, "id", id.into().as_str())?;
        self.client
            .call_ignoring_body(Method::DELETE, &path, &())
            .await
    }
}
