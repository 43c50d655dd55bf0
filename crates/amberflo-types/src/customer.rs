//! Customers: the [`CustomerPayload`] sent to create or replace one, the lenient [`Customer`]
//! the API returns, and the query parameters of the customer endpoints.
//!
//! One file on purpose: the payload, the response, the lifecycle stage and the address share
//! their fields, and most of its length is docs and examples.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Rule, ValidationError};
use crate::open_enum::open_enum;
use crate::time::EpochMillis;
use crate::validate;

open_enum! {
    /// Where a customer is in its lifecycle (`lifecycleStage`).
    ///
    /// ```
    /// use amberflo_types::LifecycleStage;
    ///
    /// assert_eq!(LifecycleStage::Trial.as_str(), "trial");
    /// assert_eq!(serde_json::from_str::<LifecycleStage>(r#""churn-risk""#).unwrap().as_str(), "churn-risk");
    /// ```
    LifecycleStage {
        /// Being set up (`onboarding`).
        Onboarding => "onboarding",
        /// On a trial (`trial`).
        Trial => "trial",
        /// A paying customer (`active`).
        Active => "active",
        /// Gone (`offboarded`).
        Offboarded => "offboarded",
    }
}

/// A postal address (`address`): every part optional, none blank.
///
/// Parsed leniently, as part of a [`Customer`]: fields this type does not name are kept in
/// [`Address::extra`], and sent back as they are when the address goes into a
/// [`CustomerPayload`].
///
/// ```
/// use amberflo_types::{Address, Rule};
///
/// let address = Address::builder().line1("1 Main St").city("Springfield").country("US").build()?;
/// assert_eq!(
///     serde_json::to_value(&address).unwrap(),
///     serde_json::json!({"line1": "1 Main St", "city": "Springfield", "country": "US"})
/// );
/// let error = Address::builder().postal_code(" ").build().unwrap_err();
/// assert_eq!((error.field(), error.rule()), ("postal_code", &Rule::Blank));
///
/// let parsed: Address = serde_json::from_str(r#"{"city": "Springfield", "line2": "Unit 4"}"#).unwrap();
/// assert_eq!(parsed.extra["line2"], "Unit 4");
/// # Ok::<(), amberflo_types::ValidationError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Address {
    /// The street line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::NonBlank"))]
    pub line1: Option<String>,
    /// The city.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::NonBlank"))]
    pub city: Option<String>,
    /// The state or region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::NonBlank"))]
    pub state: Option<String>,
    /// The postal code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::NonBlank"))]
    pub postal_code: Option<String>,
    /// The country.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::NonBlank"))]
    pub country: Option<String>,
    /// Every other field the server sent.
    #[serde(flatten, deserialize_with = "crate::extra::bounded")]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl Address {
    /// Starts an address.
    pub fn builder() -> AddressBuilder {
        AddressBuilder {
            address: Address::default(),
        }
    }

    /// Checks that no part that is set is blank.
    pub fn validate(&self) -> Result<(), ValidationError> {
        validate::optional_non_blank("line1", self.line1.as_deref())?;
        validate::optional_non_blank("city", self.city.as_deref())?;
        validate::optional_non_blank("state", self.state.as_deref())?;
        validate::optional_non_blank("postal_code", self.postal_code.as_deref())?;
        validate::optional_non_blank("country", self.country.as_deref())
    }
}

/// Builds a validated [`Address`]; see [`Address::builder`].
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct AddressBuilder {
    address: Address,
}

impl AddressBuilder {
    /// Sets the street line.
    pub fn line1(mut self, line1: impl Into<String>) -> Self {
        self.address.line1 = Some(line1.into());
        self
    }

    /// Sets the city.
    pub fn city(mut self, city: impl Into<String>) -> Self {
        self.address.city = Some(city.into());
        self
    }

    /// Sets the state or region.
    pub fn state(mut self, state: impl Into<String>) -> Self {
        self.address.state = Some(state.into());
        self
    }

    /// Sets the postal code.
    pub fn postal_code(mut self, postal_code: impl Into<String>) -> Self {
        self.address.postal_code = Some(postal_code.into());
        self
    }

    /// Sets the country.
    pub fn country(mut self, country: impl Into<String>) -> Self {
        self.address.country = Some(country.into());
        self
    }

    /// Validates and returns the address.
    pub fn build(self) -> Result<Address, ValidationError> {
        self.address.validate()?;
        Ok(self.address)
    }
}

/// A customer to create (`POST /customers/`) or replace (`PUT /customers/`).
///
/// Build it with [`CustomerPayload::builder`]; the name is required.
///
/// ```
/// use amberflo_types::{CreateCustomerQuery, CustomerPayload, Rule};
///
/// let payload = CustomerPayload::builder("customer-1")
///     .customer_name("Acme Inc.")
///     .customer_email("billing@acme.test")
///     .traits([("region", "us-east-1")])
///     .create_in_stripe()
///     .build()?;
/// assert_eq!(payload.customer_id(), "customer-1");
/// let json = serde_json::to_value(&payload).unwrap();
/// assert_eq!(json["traits"]["region"], "us-east-1");
/// assert!(
///     json.get("createInStripe").is_none(),
///     "a request option, not in the body"
/// );
/// assert!(CreateCustomerQuery::for_payload(&payload).create_in_stripe());
///
/// let error = CustomerPayload::builder("customer-1").build().unwrap_err();
/// assert_eq!(
///     (error.field(), error.rule()),
///     ("customer_name", &Rule::Missing)
/// );
/// assert_eq!(error.to_string(), "customer_name must be set");
/// # Ok::<(), amberflo_types::ValidationError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct CustomerPayload {
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::NonBlank"))]
    customer_id: String,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::NonBlank"))]
    customer_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::NonBlank"))]
    customer_email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schemars", schemars(with = "bool"))]
    enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::NonBlankMap"))]
    traits: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schemars", schemars(with = "Address"))]
    address: Option<Address>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schemars", schemars(with = "LifecycleStage"))]
    lifecycle_stage: Option<LifecycleStage>,
    /// A request option, not part of the body (see [`CreateCustomerQuery`]).
    #[serde(skip)]
    create_in_stripe: bool,
}

impl CustomerPayload {
    /// Starts a payload for the customer with this id; set its name with
    /// [`CustomerPayloadBuilder::customer_name`].
    pub fn builder(customer_id: impl Into<String>) -> CustomerPayloadBuilder {
        CustomerPayloadBuilder {
            customer_id: customer_id.into(),
            customer_name: None,
            customer_email: None,
            enabled: None,
            traits: None,
            address: None,
            lifecycle_stage: None,
            create_in_stripe: false,
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
        if let Some(address) = &self.address {
            address.validate().map_err(|e| e.within("address"))?;
        }
        if let Some(stage) = &self.lifecycle_stage {
            stage.check("lifecycle_stage")?;
        }
        Ok(())
    }

    /// The customer's address, if set.
    pub fn address(&self) -> Option<&Address> {
        self.address.as_ref()
    }

    /// The customer's lifecycle stage, if set.
    pub fn lifecycle_stage(&self) -> Option<&LifecycleStage> {
        self.lifecycle_stage.as_ref()
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

    /// Whether creating this customer also creates it in Stripe (see
    /// [`CustomerPayloadBuilder::create_in_stripe`]). Never part of the JSON body: a
    /// deserialised payload always says `false`.
    pub fn create_in_stripe(&self) -> bool {
        self.create_in_stripe
    }
}

/// Builds a validated [`CustomerPayload`]; see [`CustomerPayload::builder`].
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct CustomerPayloadBuilder {
    customer_id: String,
    customer_name: Option<String>,
    customer_email: Option<String>,
    enabled: Option<bool>,
    traits: Option<BTreeMap<String, String>>,
    address: Option<Address>,
    lifecycle_stage: Option<LifecycleStage>,
    create_in_stripe: bool,
}

impl CustomerPayloadBuilder {
    /// Sets the customer's postal address.
    pub fn address(mut self, address: Address) -> Self {
        self.address = Some(address);
        self
    }

    /// Sets the customer's lifecycle stage.
    pub fn lifecycle_stage(mut self, stage: LifecycleStage) -> Self {
        self.lifecycle_stage = Some(stage);
        self
    }

    /// Sets the customer's display name (required, not blank).
    pub fn customer_name(mut self, customer_name: impl Into<String>) -> Self {
        self.customer_name = Some(customer_name.into());
        self
    }

    /// Sets the customer's email.
    pub fn customer_email(mut self, customer_email: impl Into<String>) -> Self {
        self.customer_email = Some(customer_email.into());
        self
    }

    /// Marks the customer as enabled (`"enabled": true`; the API's default when unset).
    pub fn enabled(mut self) -> Self {
        self.enabled = Some(true);
        self
    }

    /// Marks the customer as disabled, i.e. deactivated (`"enabled": false`).
    pub fn disabled(mut self) -> Self {
        self.enabled = Some(false);
        self
    }

    /// Adds traits: metadata for billing or other systems, also usable as usage filters. A
    /// key given again keeps its last value. Even an empty iterator sends a (`{}`) `traits`
    /// object.
    pub fn traits<K, V>(mut self, traits: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        self.traits
            .get_or_insert_with(BTreeMap::new)
            .extend(traits.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// Also creates the customer in Stripe (Amberflo then adds a `stripeId` trait).
    ///
    /// A request option, not part of the JSON body: `POST /customers/` then carries
    /// `?autoCreateCustomerInStripe=true` (see [`CreateCustomerQuery::for_payload`]).
    /// Replacing a customer (`PUT /customers/`) ignores it.
    pub fn create_in_stripe(mut self) -> Self {
        self.create_in_stripe = true;
        self
    }

    /// Validates and returns the payload, or the first rule broken (`customer_name` is
    /// [`Rule::Missing`](crate::Rule::Missing) when never set).
    pub fn build(self) -> Result<CustomerPayload, ValidationError> {
        validate::non_blank("customer_id", &self.customer_id)?;
        let customer_name = self
            .customer_name
            .ok_or_else(|| ValidationError::new("customer_name", Rule::Missing))?;
        let payload = CustomerPayload {
            customer_id: self.customer_id,
            customer_name,
            customer_email: self.customer_email,
            enabled: self.enabled,
            traits: self.traits,
            address: self.address,
            lifecycle_stage: self.lifecycle_stage,
            create_in_stripe: self.create_in_stripe,
        };
        payload.validate()?;
        Ok(payload)
    }
}

/// A customer as the API returns it. Parsed leniently: fields this type does not name are
/// kept in [`Customer::extra`].
/// `customerId` is required: an answer without it is a decode error naming it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Customer {
    /// The customer's id.
    pub customer_id: String,
    /// The customer's display name.
    #[serde(default, deserialize_with = "crate::lenient::null_as_default")]
    #[cfg_attr(feature = "schemars", schemars(with = "Option<String>"))]
    pub customer_name: String,
    /// The customer's email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_email: Option<String>,
    /// Whether the customer is enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// The customer's traits.
    #[serde(default, deserialize_with = "crate::lenient::null_as_default")]
    #[cfg_attr(
        feature = "schemars",
        schemars(with = "Option<BTreeMap<String, String>>")
    )]
    pub traits: BTreeMap<String, String>,
    /// Creation time, in Unix milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_time: Option<EpochMillis>,
    /// Last update time, in Unix milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_time: Option<EpochMillis>,
    /// The customer's postal address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    /// The customer's lifecycle stage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle_stage: Option<LifecycleStage>,
    /// Every other field the server sent.
    #[serde(flatten, deserialize_with = "crate::extra::bounded")]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl From<CustomerPayload> for Customer {
    /// The customer the payload describes (the Stripe request option is not part of it).
    fn from(payload: CustomerPayload) -> Self {
        Customer {
            customer_id: payload.customer_id,
            customer_name: payload.customer_name,
            customer_email: payload.customer_email,
            enabled: payload.enabled,
            traits: payload.traits.unwrap_or_default(),
            address: payload.address,
            lifecycle_stage: payload.lifecycle_stage,
            ..Customer::default()
        }
    }
}

/// Query parameters of `GET /customers/?customerId=`.
///
/// ```
/// use amberflo_types::{CustomerQuery, Rule};
///
/// let query = CustomerQuery::new("customer-1")?;
/// assert_eq!(
///     serde_urlencoded::to_string(&query).unwrap(),
///     "customerId=customer-1"
/// );
/// let error = CustomerQuery::new("").unwrap_err();
/// assert_eq!((error.field(), error.rule()), ("customer_id", &Rule::Blank));
/// # Ok::<(), amberflo_types::ValidationError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct CustomerQuery {
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::NonBlank"))]
    customer_id: String,
}

impl CustomerQuery {
    /// The query for one customer; the id must not be blank.
    pub fn new(customer_id: impl Into<String>) -> Result<Self, ValidationError> {
        let customer_id = customer_id.into();
        validate::non_blank("customer_id", &customer_id)?;
        Ok(CustomerQuery { customer_id })
    }

    /// Checks that the customer id is not blank (for deserialised queries).
    pub fn validate(&self) -> Result<(), ValidationError> {
        validate::non_blank("customer_id", &self.customer_id)
    }

    /// The customer asked for.
    pub fn customer_id(&self) -> &str {
        &self.customer_id
    }
}

/// Query parameters of `POST /customers/`: `autoCreateCustomerInStripe=true` when the
/// payload asks for it ([`CustomerPayloadBuilder::create_in_stripe`]), nothing otherwise.
///
/// ```
/// use amberflo_types::{CreateCustomerQuery, CustomerPayload};
///
/// let payload = CustomerPayload::builder("customer-1")
///     .customer_name("Acme Inc.")
///     .create_in_stripe()
///     .build()?;
/// let query = CreateCustomerQuery::for_payload(&payload);
/// assert_eq!(
///     serde_urlencoded::to_string(query).unwrap(),
///     "autoCreateCustomerInStripe=true"
/// );
/// assert_eq!(
///     serde_urlencoded::to_string(CreateCustomerQuery::default()).unwrap(),
///     ""
/// );
/// # Ok::<(), amberflo_types::ValidationError>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct CreateCustomerQuery {
    #[serde(default, skip_serializing_if = "is_false")]
    auto_create_customer_in_stripe: bool,
}

impl CreateCustomerQuery {
    /// The query parameters for creating `payload`'s customer.
    pub fn for_payload(payload: &CustomerPayload) -> Self {
        CreateCustomerQuery {
            auto_create_customer_in_stripe: payload.create_in_stripe,
        }
    }

    /// Whether the customer is also created in Stripe.
    pub fn create_in_stripe(&self) -> bool {
        self.auto_create_customer_in_stripe
    }

    /// Always `Ok`: any value of this query is valid (here so that every request type has
    /// `validate`).
    pub fn validate(&self) -> Result<(), ValidationError> {
        Ok(())
    }
}

impl From<&CustomerPayload> for CreateCustomerQuery {
    fn from(payload: &CustomerPayload) -> Self {
        CreateCustomerQuery::for_payload(payload)
    }
}

fn is_false(value: &bool) -> bool {
    !value
}

/// Moves a customer to another lifecycle stage (`PUT /customers/stage`).
///
/// ```
/// use amberflo_types::{CustomerLifecycleStagePayload, LifecycleStage};
///
/// let payload = CustomerLifecycleStagePayload::new("customer-1", LifecycleStage::Active)?;
/// assert_eq!(
///     serde_json::to_value(&payload).unwrap(),
///     serde_json::json!({"customerId": "customer-1", "lifecycleStage": "active"})
/// );
/// assert!(CustomerLifecycleStagePayload::new(" ", LifecycleStage::Trial).is_err());
/// # Ok::<(), amberflo_types::ValidationError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct CustomerLifecycleStagePayload {
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::NonBlank"))]
    customer_id: String,
    lifecycle_stage: LifecycleStage,
}

impl CustomerLifecycleStagePayload {
    /// Moves `customer_id` to `lifecycle_stage`; the id must not be blank.
    pub fn new(
        customer_id: impl Into<String>,
        lifecycle_stage: LifecycleStage,
    ) -> Result<Self, ValidationError> {
        let payload = CustomerLifecycleStagePayload {
            customer_id: customer_id.into(),
            lifecycle_stage,
        };
        payload.validate()?;
        Ok(payload)
    }

    /// Checks the id and the stage are not blank.
    pub fn validate(&self) -> Result<(), ValidationError> {
        validate::non_blank("customer_id", &self.customer_id)?;
        self.lifecycle_stage.check("lifecycle_stage")
    }

    /// The customer.
    pub fn customer_id(&self) -> &str {
        &self.customer_id
    }

    /// The new stage.
    pub fn lifecycle_stage(&self) -> &LifecycleStage {
        &self.lifecycle_stage
    }
}
