//! Billing payloads: customer product plans and their query parameters, and the product
//! constants (prepaid orders are in [`crate::prepaid`]'s modules).
//!
//! The billing endpoints spell their query parameters in PascalCase (`CustomerId`,
//! `ProductId`), unlike the rest of the API.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::error::{Rule, ValidationError};
use crate::time::EpochSeconds;
use crate::{time, validate};

/// The product id the API uses when none is given.
pub const DEFAULT_PRODUCT_ID: &str = "1";

/// The prepaid offer version that means "the latest".
pub const DEFAULT_PREPAID_OFFER_VERSION: i64 = -1;

/// A product plan must last at least this long, in seconds (one day).
pub const MIN_PRODUCT_PLAN_SECONDS: i64 = 86_400;

/// [`DEFAULT_PRODUCT_ID`] as an owned id: the serde default of every `productId` field.
pub(crate) fn default_product_id() -> String {
    DEFAULT_PRODUCT_ID.to_owned()
}

/// Relates a customer to a product plan (`POST /payments/pricing/amberflo/customer-pricing`).
///
/// Build it with [`CustomerProductPlanPayload::builder`]; the plan id is required.
///
/// ```
/// use amberflo_types::{CustomerProductPlanPayload, Rule};
/// use std::time::{Duration, UNIX_EPOCH};
///
/// let start = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
/// let payload = CustomerProductPlanPayload::builder("customer-1")
///     .product_plan_id("plan-gold")
///     .start_time(start)
///     .build()?;
/// assert_eq!(payload.product_id(), "1");
/// assert_eq!(payload.start_time_in_seconds(), Some(1_700_000_000));
///
/// let too_short = CustomerProductPlanPayload::builder("customer-1")
///     .product_plan_id("plan-gold")
///     .start_time(start)
///     .end_time(start + Duration::from_secs(100))
///     .build();
/// assert_eq!(
///     too_short.unwrap_err().to_string(),
///     "end_time_in_seconds must be at least 86400 seconds after start"
/// );
/// let error = CustomerProductPlanPayload::builder("customer-1")
///     .build()
///     .unwrap_err();
/// assert_eq!(
///     (error.field(), error.rule()),
///     ("product_plan_id", &Rule::Missing)
/// );
/// # Ok::<(), amberflo_types::ValidationError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct CustomerProductPlanPayload {
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::NonBlank"))]
    customer_id: String,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::NonBlank"))]
    product_plan_id: String,
    #[serde(default = "default_product_id")]
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::NonBlank"))]
    product_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "schemars",
        schemars(with = "i64", range(min = 1, max = crate::MAX_EPOCH_SECONDS))
    )]
    start_time_in_seconds: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "schemars",
        schemars(with = "i64", range(min = 1, max = crate::MAX_EPOCH_SECONDS))
    )]
    end_time_in_seconds: Option<i64>,
}

impl CustomerProductPlanPayload {
    /// Starts a payload putting `customer_id` on a product plan (set it with
    /// [`CustomerProductPlanPayloadBuilder::product_plan_id`]) of product `"1"`.
    pub fn builder(customer_id: impl Into<String>) -> CustomerProductPlanPayloadBuilder {
        CustomerProductPlanPayloadBuilder {
            customer_id: customer_id.into(),
            product_plan_id: None,
            product_id: default_product_id(),
            start_time_in_seconds: None,
            end_time_in_seconds: None,
        }
    }

    /// Checks ids are not blank, times are positive, and the end comes at least a day after
    /// the start.
    pub fn validate(&self) -> Result<(), ValidationError> {
        validate::non_blank("customer_id", &self.customer_id)?;
        validate::non_blank("product_plan_id", &self.product_plan_id)?;
        validate::non_blank("product_id", &self.product_id)?;
        if let Some(start) = self.start_time_in_seconds {
            validate::epoch_seconds("start_time_in_seconds", start)?;
        }
        if let Some(end) = self.end_time_in_seconds {
            validate::epoch_seconds("end_time_in_seconds", end)?;
        }
        if let (Some(start), Some(end)) = (self.start_time_in_seconds, self.end_time_in_seconds)
            && end.saturating_sub(start) < MIN_PRODUCT_PLAN_SECONDS
        {
            let rule = Rule::TooCloseToStart {
                min_seconds: MIN_PRODUCT_PLAN_SECONDS,
            };
            return Err(ValidationError::new("end_time_in_seconds", rule));
        }
        Ok(())
    }

    /// The customer.
    pub fn customer_id(&self) -> &str {
        &self.customer_id
    }

    /// The product plan.
    pub fn product_plan_id(&self) -> &str {
        &self.product_plan_id
    }

    /// The product (default `"1"`).
    pub fn product_id(&self) -> &str {
        &self.product_id
    }

    /// When the plan starts, in Unix seconds.
    pub fn start_time_in_seconds(&self) -> Option<i64> {
        self.start_time_in_seconds
    }

    /// When the plan ends, in Unix seconds.
    pub fn end_time_in_seconds(&self) -> Option<i64> {
        self.end_time_in_seconds
    }

    /// When the plan starts, if set.
    pub fn start_time(&self) -> Option<SystemTime> {
        self.start_time_in_seconds.map(time::from_epoch_seconds)
    }

    /// When the plan ends, if set.
    pub fn end_time(&self) -> Option<SystemTime> {
        self.end_time_in_seconds.map(time::from_epoch_seconds)
    }
}

/// Builds a validated [`CustomerProductPlanPayload`]; see
/// [`CustomerProductPlanPayload::builder`].
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct CustomerProductPlanPayloadBuilder {
    customer_id: String,
    product_plan_id: Option<String>,
    product_id: String,
    start_time_in_seconds: Option<i64>,
    end_time_in_seconds: Option<i64>,
}

impl CustomerProductPlanPayloadBuilder {
    /// Sets the product plan (required, not blank).
    pub fn product_plan_id(mut self, product_plan_id: impl Into<String>) -> Self {
        self.product_plan_id = Some(product_plan_id.into());
        self
    }

    /// Sets the product (default `"1"`; not blank).
    pub fn product_id(mut self, product_id: impl Into<String>) -> Self {
        self.product_id = product_id.into();
        self
    }

    /// Sets when the plan starts (kept to the whole second). Takes a [`SystemTime`], or an
    /// [`EpochSeconds`](crate::EpochSeconds) for a number you have.
    pub fn start_time(mut self, time: impl Into<SystemTime>) -> Self {
        self.start_time_in_seconds = Some(time::to_epoch_seconds(time.into()));
        self
    }

    /// Sets when the plan ends (kept to the whole second; at least a day after the start).
    pub fn end_time(mut self, time: impl Into<SystemTime>) -> Self {
        self.end_time_in_seconds = Some(time::to_epoch_seconds(time.into()));
        self
    }

    /// Validates and returns the payload, or the first rule broken (`product_plan_id` is
    /// [`Rule::Missing`] when never set).
    pub fn build(self) -> Result<CustomerProductPlanPayload, ValidationError> {
        validate::non_blank("customer_id", &self.customer_id)?;
        let product_plan_id = self
            .product_plan_id
            .ok_or_else(|| ValidationError::new("product_plan_id", Rule::Missing))?;
        let payload = CustomerProductPlanPayload {
            customer_id: self.customer_id,
            product_plan_id,
            product_id: self.product_id,
            start_time_in_seconds: self.start_time_in_seconds,
            end_time_in_seconds: self.end_time_in_seconds,
        };
        payload.validate()?;
        Ok(payload)
    }
}

/// A customer's product plan as the API returns it (lenient; other fields in `extra`).
/// `customerId` and `productPlanId` are required: an answer without it is a decode error naming it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CustomerProductPlan {
    /// The customer.
    pub customer_id: String,
    /// The product plan.
    pub product_plan_id: String,
    /// The product.
    #[serde(default, deserialize_with = "crate::lenient::null_as_default")]
    #[cfg_attr(feature = "schemars", schemars(with = "Option<String>"))]
    pub product_id: String,
    /// When the plan starts, in Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time_in_seconds: Option<EpochSeconds>,
    /// When the plan ends, in Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time_in_seconds: Option<EpochSeconds>,
    /// Every other field the server sent.
    #[serde(flatten, deserialize_with = "crate::extra::bounded")]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl From<CustomerProductPlanPayload> for CustomerProductPlan {
    fn from(payload: CustomerProductPlanPayload) -> Self {
        CustomerProductPlan {
            customer_id: payload.customer_id,
            product_plan_id: payload.product_plan_id,
            product_id: payload.product_id,
            start_time_in_seconds: payload.start_time_in_seconds.map(EpochSeconds::new),
            end_time_in_seconds: payload.end_time_in_seconds.map(EpochSeconds::new),
            extra: BTreeMap::new(),
        }
    }
}

/// Query parameters `?CustomerId=` of the product plan endpoints.
///
/// ```
/// use amberflo_types::{BillingCustomerQuery, Rule};
///
/// let query = BillingCustomerQuery::new("customer-1")?;
/// assert_eq!(
///     serde_urlencoded::to_string(&query).unwrap(),
///     "CustomerId=customer-1"
/// );
/// let error = BillingCustomerQuery::new(" ").unwrap_err();
/// assert_eq!((error.field(), error.rule()), ("customer_id", &Rule::Blank));
/// # Ok::<(), amberflo_types::ValidationError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "PascalCase")]
pub struct BillingCustomerQuery {
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::NonBlank"))]
    customer_id: String,
}

impl BillingCustomerQuery {
    /// The query for one customer; the id must not be blank.
    pub fn new(customer_id: impl Into<String>) -> Result<Self, ValidationError> {
        let customer_id = customer_id.into();
        validate::non_blank("customer_id", &customer_id)?;
        Ok(BillingCustomerQuery { customer_id })
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

/// Query parameters `?CustomerId=&ProductId=` of a customer's lists for one product: its
/// prepaid orders (`GET .../customer-prepaid/list`) and its applied promotions
/// (`GET .../customer-promotions/list`).
///
/// ```
/// use amberflo_types::{CustomerProductQuery, Rule};
///
/// let query = CustomerProductQuery::builder("customer-1").build()?;
/// assert_eq!(query.product_id(), "1");
/// assert_eq!(
///     serde_urlencoded::to_string(&query).unwrap(),
///     "CustomerId=customer-1&ProductId=1"
/// );
/// let error = CustomerProductQuery::builder("customer-1")
///     .product_id(" ")
///     .build()
///     .unwrap_err();
/// assert_eq!((error.field(), error.rule()), ("product_id", &Rule::Blank));
/// # Ok::<(), amberflo_types::ValidationError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "PascalCase")]
pub struct CustomerProductQuery {
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::NonBlank"))]
    customer_id: String,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::NonBlank"))]
    product_id: String,
}

impl CustomerProductQuery {
    /// Starts a query for the active prepaid orders of `customer_id` (product `"1"` unless
    /// set with [`CustomerProductQueryBuilder::product_id`]).
    pub fn builder(customer_id: impl Into<String>) -> CustomerProductQueryBuilder {
        CustomerProductQueryBuilder {
            query: CustomerProductQuery {
                customer_id: customer_id.into(),
                product_id: default_product_id(),
            },
        }
    }

    /// Checks that the customer and product ids are not blank.
    pub fn validate(&self) -> Result<(), ValidationError> {
        validate::non_blank("customer_id", &self.customer_id)?;
        validate::non_blank("product_id", &self.product_id)
    }

    /// The customer asked for.
    pub fn customer_id(&self) -> &str {
        &self.customer_id
    }

    /// The product asked for.
    pub fn product_id(&self) -> &str {
        &self.product_id
    }
}

/// Builds a validated [`CustomerProductQuery`]; see [`CustomerProductQuery::builder`].
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct CustomerProductQueryBuilder {
    query: CustomerProductQuery,
}

impl CustomerProductQueryBuilder {
    /// Asks for another product's orders (default `"1"`; not blank).
    pub fn product_id(mut self, product_id: impl Into<String>) -> Self {
        self.query.product_id = product_id.into();
        self
    }

    /// Validates and returns the query.
    pub fn build(self) -> Result<CustomerProductQuery, ValidationError> {
        self.query.validate()?;
        Ok(self.query)
    }
}
