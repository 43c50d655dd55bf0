//! [`CustomersApi`]: list, get, add, update, add-or-update and delete customers, and move them
//! through lifecycle stages.

use amberflo_types::{
    CreateCustomerQuery, Customer, CustomerId, CustomerLifecycleStagePayload, CustomerPayload,
    CustomerQuery,
};

use crate::api::found;
use crate::api::path;
use crate::client::Client;
use crate::error::Error;
use http::Method;

const CUSTOMERS: &str = "/customers/";
const CUSTOMER_STAGE: &str = "/customers/stage";

/// Manages customers; from [`Client::customers`].
///
/// ```no_run
/// use amberflo::types::CustomerPayload;
///
/// # async fn demo(client: amberflo::Client) -> Result<(), amberflo::Error> {
/// let payload = CustomerPayload::builder("customer-1")
///     .customer_name("Acme Inc.")
///     .customer_email("billing@acme.test")
///     .build()?;
/// let customer = client.customers().create_or_update(&payload).await?;
/// assert_eq!(customer.customer_id, "customer-1");
/// assert!(client.customers().get("customer-1").await?.is_some());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct CustomersApi<'a> {
    client: &'a Client,
}

impl<'a> CustomersApi<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        CustomersApi { client }
    }

    /// Every customer.
    ///
    /// # Errors
    /// As any API call.
    pub async fn list(self) -> Result<Vec<Customer>, Error> {
        self.client.call(Method::GET, CUSTOMERS, &()).await
    }

    /// The customer with this id, or `None` when there is none.
    ///
    /// # Errors
    /// [`Error::Validation`] for a blank id, else as any API call.
    pub async fn get(self, customer_id: impl Into<CustomerId>) -> Result<Option<Customer>, Error> {
        let query = CustomerQuery::new(customer_id.into().into_string())?;
        // The API answers `{}` for an unknown id; a 404 means the same.
        found::get(self.client, CUSTOMERS, &query).await
    }

    /// Creates a customer; also in Stripe (a `stripeId` trait) when the payload was built
    /// with [`create_in_stripe`](amberflo_types::CustomerPayloadBuilder::create_in_stripe).
    ///
    /// # Errors
    /// [`Error::Validation`] for an invalid payload, else as any API call.
    #[doc(alias = "add")]
    pub async fn create(self, payload: &CustomerPayload) -> Result<Customer, Error> {
        payload.validate()?;
        let query = CreateCustomerQuery::for_payload(payload);
        self.client
            .call_json(Method::POST, CUSTOMERS, &query, payload)
            .await
    }

    /// Replaces an existing customer. PUT semantics: fields not set in `payload` (email,
    /// traits such as `stripeId`) are cleared; merge the current customer in first to keep them.
    ///
    /// # Errors
    /// [`Error::Validation`] for an invalid payload, else as any API call.
    pub async fn update(self, payload: &CustomerPayload) -> Result<Customer, Error> {
        payload.validate()?;
        self.client
            .call_json(Method::PUT, CUSTOMERS, &(), payload)
            .await
    }

    /// Updates the customer if it exists (with [`update`](Self::update)'s PUT semantics),
    /// else creates it (the payload's `create_in_stripe` applies only to creation): a
    /// [`get`](Self::get), then an [`update`](Self::update) or a [`create`](Self::create), so
    /// not atomic (the Python SDK's `add_or_update`).
    ///
    /// # Errors
    /// As [`get`](Self::get), [`create`](Self::create) and [`update`](Self::update).
    #[doc(alias = "add_or_update")]
    pub async fn create_or_update(self, payload: &CustomerPayload) -> Result<Customer, Error> {
        payload.validate()?;
        match self.get(payload.customer_id()).await? {
            Some(_) => self.update(payload).await,
            None => self.create(payload).await,
        }
    }

    /// Deletes the customer (`DELETE /customers/{customerId}`, the id percent-encoded so
    /// that no id can change the path). What the server answers beside a 2xx is not read.
    ///
    /// ```no_run
    /// # async fn demo(client: amberflo::Client) -> Result<(), amberflo::Error> {
    /// client.customers().delete("customer-1").await?;
    /// assert!(client.customers().get("customer-1").await?.is_none());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::Validation`] for a blank id (or `.`, `..`), else as any API call.
    pub async fn delete(self, customer_id: impl Into<CustomerId>) -> Result<(), Error> {
        let path = path::with_id(CUSTOMERS, "customer_id", customer_id.into().as_str())?;
        self.client
            .call_ignoring_body(Method::DELETE, &path, &())
            .await
    }

    /// Moves the customer to another lifecycle stage (`PUT /customers/stage`).
    ///
    /// ```no_run
    /// use amberflo::types::{CustomerLifecycleStagePayload, LifecycleStage};
    ///
    /// # async fn demo(client: amberflo::Client) -> Result<(), amberflo::Error> {
    /// let stage = CustomerLifecycleStagePayload::new("customer-1", LifecycleStage::Active)?;
    /// let customer = client.customers().set_lifecycle_stage(&stage).await?;
    /// assert_eq!(customer.lifecycle_stage, Some(LifecycleStage::Active));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::Validation`] for an invalid payload, else as any API call.
    pub async fn set_lifecycle_stage(
        self,
        payload: &CustomerLifecycleStagePayload,
    ) -> Result<Customer, Error> {
        payload.validate()?;
        self.client
            .call_json(Method::PUT, CUSTOMER_STAGE, &(), payload)
            .await
    }
}
