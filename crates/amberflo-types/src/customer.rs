//! Customers: the [`CustomerPayload`] sent to create or replace one, the lenient [`Customer`]
//! the API returns, and the query parameters of the customer endpoints.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::ValidationError;
use crate::validate;

/// A customer to create (`POST /customers/`) or replace (`PUT /customers/`).
///
/// ```
/// use amberflo_types::CustomerPayload;
///
/// let payload = CustomerPayload::builder("customer-1", "Acme Inc.")
///     .email("billing@acme.test")
///     .with_trait("region", "us-east-1")
///     .build()?;
/// assert_eq!(payload.customer_id(), "customer-1");
/// assert!(CustomerPayload::builder("", "Acme").build().is_err());
/// # Ok::<(), amberflo_types::ValidationError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerPayload {
    customer_id: String,
    customer_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    customer_email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    traits: Option<BTreeMap<String, String>>,
}

impl CustomerPayload {
    /// Starts a payload for the customer with this id and display name.
    pub fn builder(
        customer_id: impl Into<String>,
        customer_name: impl Into<String>,
    ) -> CustomerPayloadBuilder {
        CustomerPayloadBuilder {
            payload: CustomerPayload {
                customer_id: customer_id.into(),
                customer_name: customer_name.into(),
                customer_email: None,
                enabled: None,
                traits: None,
            },
        }
    }

    /// Checks that id and name are not blank, the email (if set) is not blank, and trait
    /// keys and values are not blank.
    pub fn validate(&self) -> Result<(), ValidationError> {
        validate::non_blank("customer_id", &self.customer_id)?;
        validate::non_blank("customer_name", &self.customer_name)?;
        validate::optional_non_blank("customer_email", self.customer_email.as_deref())?;
        if let Some(traits) = &self.traits {
            validate::string_map("traits", traits)?;
        }
        Ok(())
    }

    /// The customer's id.
    pub fn customer_id(&self) -> &str {
        &self.customer_id
    }

    /// The customer's display name.
    pub fn customer_name(&self) -> &str {
        &self.customer_name
    }

    /// The customer's email, if set.
    pub fn customer_email(&self) -> Option<&str> {
        self.customer_email.as_deref()
    }

    /// Whether the customer is enabled, if set (the API defaults to enabled).
    pub fn enabled(&self) -> Option<bool> {
        self.enabled
    }

    /// Reference metadata for other systems, if set.
    pub fn traits(&self) -> Option<&BTreeMap<String, String>> {
        self.traits.as_ref()
    }
}

/// Builds a validated [`CustomerPayload`]; see [`CustomerPayload::builder`].
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct CustomerPayloadBuilder {
    payload: CustomerPayload,
}

impl CustomerPayloadBuilder {
    /// Sets the customer's email.
    pub fn email(mut self, email: impl Into<String>) -> Self {
        self.payload.customer_email = Some(email.into());
        self
    }

    /// Enables or disables (deactivates) the customer.
    pub fn enabled(mut self, enabled: bool) -> Self {
        self.payload.enabled = Some(enabled);
        self
    }

    /// Adds one trait: metadata for billing or other systems, also usable as a usage filter.
    pub fn with_trait(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.payload
            .traits
            .get_or_insert_with(BTreeMap::new)
            .insert(key.into(), value.into());
        self
    }

    /// Validates and returns the payload, or the first rule broken.
    pub fn build(self) -> Result<CustomerPayload, ValidationError> {
        self.payload.validate()?;
        Ok(self.payload)
    }
}

/// A customer as the API returns it. Parsed leniently: fields this type does not name are
/// kept in [`Customer::extra`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct Customer {
    /// The customer's id.
    pub customer_id: String,
    /// The customer's display name.
    pub customer_name: String,
    /// The customer's email.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_email: Option<String>,
    /// Whether the customer is enabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// The customer's traits.
    pub traits: BTreeMap<String, String>,
    /// Creation time, in Unix milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub create_time: Option<i64>,
    /// Last update time, in Unix milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update_time: Option<i64>,
    /// Every other field the server sent.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl From<CustomerPayload> for Customer {
    fn from(payload: CustomerPayload) -> Self {
        Customer {
            customer_id: payload.customer_id,
            customer_name: payload.customer_name,
            customer_email: payload.customer_email,
            enabled: payload.enabled,
            traits: payload.traits.unwrap_or_default(),
            ..Customer::default()
        }
    }
}

/// Query parameters of `GET /customers/?customerId=`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerQuery {
    customer_id: String,
}

impl CustomerQuery {
    /// The query for one customer; the id must not be blank.
    pub fn new(customer_id: impl Into<String>) -> Result<Self, ValidationError> {
        let customer_id = customer_id.into();
        validate::non_blank("customer_id", &customer_id)?;
        Ok(CustomerQuery { customer_id })
    }

    /// The customer asked for.
    pub fn customer_id(&self) -> &str {
        &self.customer_id
    }
}

/// Query parameters of `POST /customers/`: `autoCreateCustomerInStripe=true` when asked for,
/// nothing otherwise.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateCustomerQuery {
    #[serde(default, skip_serializing_if = "is_false")]
    auto_create_customer_in_stripe: bool,
}

impl CreateCustomerQuery {
    /// Also creates the customer in Stripe (adding a `stripeId` trait) when `create_in_stripe`.
    pub fn new(create_in_stripe: bool) -> Self {
        CreateCustomerQuery {
            auto_create_customer_in_stripe: create_in_stripe,
        }
    }

    /// Whether the customer is also created in Stripe.
    pub fn create_in_stripe(&self) -> bool {
        self.auto_create_customer_in_stripe
    }
}

fn is_false(value: &bool) -> bool {
    !value
}
