//! [`CustomersApi`]: list, get, add, update and add-or-update customers.

use amberflo_types::{CreateCustomerQuery, Customer, CustomerPayload, CustomerQuery};

use crate::api::found::Found;
use crate::client::Client;
use crate::error::Error;
use http::Method;
use http::StatusCode;

const CUSTOMERS: &str = "/customers/";

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
/// let customer = client.customers().add_or_update(&payload).await?;
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
    pub async fn get(self, customer_id: &str) -> Result<Option<Customer>, Error> {
        let query = CustomerQuery::new(customer_id)?;
        // The API answers `{}` for an unknown id; a 404 means the same.
        match self
            .client
            .call::<_, Found<Customer>>(Method::GET, CUSTOMERS, &query)
            .await
        {
            Ok(Found(customer)) => Ok(customer),
            Err(error) if error.status() == Some(StatusCode::NOT_FOUND) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Creates a customer; also in Stripe (a `stripeId` trait) when the payload was built
    /// with [`create_in_stripe`](amberflo_types::CustomerPayloadBuilder::create_in_stripe).
    ///
    /// # Errors
    /// [`Error::Validation`] for an invalid payload, else as any API call.
    pub async fn add(self, payload: &CustomerPayload) -> Result<Customer, Error> {
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
    /// else creates it (the payload's `create_in_stripe` applies only to creation).
    ///
    /// # Errors
    /// As [`get`](Self::get), [`add`](Self::add) and [`update`](Self::update).
    pub async fn add_or_update(self, payload: &CustomerPayload) -> Result<Customer, Error> {
        payload.validate()?;
        match self.get(payload.customer_id()).await? {
            Some(_) => self.update(payload).await,
            None => self.add(payload).await,
        }
    }
}
