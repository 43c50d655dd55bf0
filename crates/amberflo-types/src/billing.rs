//! Billing payloads: customer product plans, prepaid orders and their query parameters.
//!
//! The billing endpoints spell their query parameters in PascalCase (`CustomerId`,
//! `ProductId`), unlike the rest of the API.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Rule, ValidationError};
use crate::{number, validate};

/// The product id the API uses when none is given.
pub const DEFAULT_PRODUCT_ID: &str = "1";

/// The prepaid offer version that means "the latest".
pub const DEFAULT_PREPAID_OFFER_VERSION: i64 = -1;

/// A product plan must last at least this long, in seconds (one day).
pub const MIN_PRODUCT_PLAN_SECONDS: i64 = 86_400;

fn default_product_id() -> String {
    DEFAULT_PRODUCT_ID.to_owned()
}

/// Relates a customer to a product plan (`POST /payments/pricing/amberflo/customer-pricing`).
///
/// ```
/// use amberflo_types::CustomerProductPlanPayload;
///
/// let payload = CustomerProductPlanPayload::builder("customer-1", "plan-gold")
///     .start_time_in_seconds(1_700_000_000)
///     .build()?;
/// assert_eq!(payload.product_id(), "1");
/// let too_short = CustomerProductPlanPayload::builder("customer-1", "plan-gold")
///     .start_time_in_seconds(1_700_000_000)
///     .end_time_in_seconds(1_700_000_100)
///     .build();
/// assert_eq!(
///     too_short.unwrap_err().to_string(),
///     "end_time_in_seconds must be at least 86400 seconds after start"
/// );
/// # Ok::<(), amberflo_types::ValidationError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerProductPlanPayload {
    customer_id: String,
    product_plan_id: String,
    #[serde(default = "default_product_id")]
    product_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    start_time_in_seconds: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    end_time_in_seconds: Option<i64>,
}

impl CustomerProductPlanPayload {
    /// Starts a payload putting `customer_id` on `product_plan_id` (product `"1"`).
    pub fn builder(
        customer_id: impl Into<String>,
        product_plan_id: impl Into<String>,
    ) -> CustomerProductPlanPayloadBuilder {
        CustomerProductPlanPayloadBuilder {
            payload: CustomerProductPlanPayload {
                customer_id: customer_id.into(),
                product_plan_id: product_plan_id.into(),
                product_id: default_product_id(),
                start_time_in_seconds: None,
                end_time_in_seconds: None,
            },
        }
    }

    /// Checks ids are not blank, times are positive, and the end comes at least a day after
    /// the start.
    pub fn validate(&self) -> Result<(), ValidationError> {
        validate::non_blank("customer_id", &self.customer_id)?;
        validate::non_blank("product_plan_id", &self.product_plan_id)?;
        validate::non_blank("product_id", &self.product_id)?;
        if let Some(start) = self.start_time_in_seconds {
            validate::positive("start_time_in_seconds", start)?;
        }
        if let Some(end) = self.end_time_in_seconds {
            validate::positive("end_time_in_seconds", end)?;
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
}

/// Builds a validated [`CustomerProductPlanPayload`].
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct CustomerProductPlanPayloadBuilder {
    payload: CustomerProductPlanPayload,
}

impl CustomerProductPlanPayloadBuilder {
    /// Sets the product (default `"1"`).
    pub fn product_id(mut self, product_id: impl Into<String>) -> Self {
        self.payload.product_id = product_id.into();
        self
    }

    /// Sets when the plan starts, in Unix seconds.
    pub fn start_time_in_seconds(mut self, seconds: i64) -> Self {
        self.payload.start_time_in_seconds = Some(seconds);
        self
    }

    /// Sets when the plan ends, in Unix seconds (at least a day after the start).
    pub fn end_time_in_seconds(mut self, seconds: i64) -> Self {
        self.payload.end_time_in_seconds = Some(seconds);
        self
    }

    /// Validates and returns the payload.
    pub fn build(self) -> Result<CustomerProductPlanPayload, ValidationError> {
        self.payload.validate()?;
        Ok(self.payload)
    }
}

/// A customer's product plan as the API returns it (lenient; other fields in `extra`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct CustomerProductPlan {
    /// The customer.
    pub customer_id: String,
    /// The product plan.
    pub product_plan_id: String,
    /// The product.
    pub product_id: String,
    /// When the plan starts, in Unix seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time_in_seconds: Option<i64>,
    /// When the plan ends, in Unix seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time_in_seconds: Option<i64>,
    /// Every other field the server sent.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl From<CustomerProductPlanPayload> for CustomerProductPlan {
    fn from(payload: CustomerProductPlanPayload) -> Self {
        CustomerProductPlan {
            customer_id: payload.customer_id,
            product_plan_id: payload.product_plan_id,
            product_id: payload.product_id,
            start_time_in_seconds: payload.start_time_in_seconds,
            end_time_in_seconds: payload.end_time_in_seconds,
            extra: BTreeMap::new(),
        }
    }
}

/// Query parameters `?CustomerId=` of the product plan endpoints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BillingCustomerQuery {
    customer_id: String,
}

impl BillingCustomerQuery {
    /// The query for one customer; the id must not be blank.
    pub fn new(customer_id: impl Into<String>) -> Result<Self, ValidationError> {
        let customer_id = customer_id.into();
        validate::non_blank("customer_id", &customer_id)?;
        Ok(BillingCustomerQuery { customer_id })
    }

    /// The customer asked for.
    pub fn customer_id(&self) -> &str {
        &self.customer_id
    }
}

/// Query parameters `?CustomerId=&ProductId=` of the prepaid order list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PrepaidOrderListQuery {
    customer_id: String,
    product_id: String,
}

impl PrepaidOrderListQuery {
    /// Active prepaid orders of `customer_id` for product `"1"`.
    pub fn new(customer_id: impl Into<String>) -> Result<Self, ValidationError> {
        Self::for_product(customer_id, DEFAULT_PRODUCT_ID)
    }

    /// Active prepaid orders of `customer_id` for `product_id`.
    pub fn for_product(
        customer_id: impl Into<String>,
        product_id: impl Into<String>,
    ) -> Result<Self, ValidationError> {
        let query = PrepaidOrderListQuery {
            customer_id: customer_id.into(),
            product_id: product_id.into(),
        };
        validate::non_blank("customer_id", &query.customer_id)?;
        validate::non_blank("product_id", &query.product_id)?;
        Ok(query)
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

/// The unit of a [`BillingPeriod`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
#[non_exhaustive]
pub enum BillingPeriodUnit {
    /// Days.
    Day,
    /// Calendar months.
    Month,
    /// Calendar years.
    Year,
}

/// The span of a billing cycle, such as 3 months or 15 days.
///
/// ```
/// use amberflo_types::{BillingPeriod, BillingPeriodUnit};
///
/// let quarterly = BillingPeriod::new(3, BillingPeriodUnit::Month)?;
/// assert_eq!(
///     serde_json::to_value(quarterly).unwrap(),
///     serde_json::json!({"interval": "MONTH", "intervalsCount": 3})
/// );
/// # Ok::<(), amberflo_types::ValidationError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BillingPeriod {
    interval: BillingPeriodUnit,
    intervals_count: i64,
}

impl BillingPeriod {
    /// `count` (positive) times `unit`.
    pub fn new(count: i64, unit: BillingPeriodUnit) -> Result<Self, ValidationError> {
        let period = BillingPeriod {
            interval: unit,
            intervals_count: count,
        };
        period.validate()?;
        Ok(period)
    }

    /// Checks that the count is positive.
    pub fn validate(&self) -> Result<(), ValidationError> {
        validate::positive("count", self.intervals_count)
    }

    /// The unit.
    pub fn unit(&self) -> BillingPeriodUnit {
        self.interval
    }

    /// How many units.
    pub fn count(&self) -> i64 {
        self.intervals_count
    }
}

/// A prepaid order for a customer (`POST /payments/pricing/amberflo/customer-prepaid`).
///
/// ```
/// use amberflo_types::{BillingPeriod, BillingPeriodUnit, PrepaidOrderPayload};
///
/// let order = PrepaidOrderPayload::builder("order-1", "customer-1", 1_700_000_000, 100.0)
///     .recurrence_frequency(BillingPeriod::new(1, BillingPeriodUnit::Month)?)
///     .build()?;
/// let json = serde_json::to_value(&order).unwrap();
/// assert_eq!(json["prepaidOfferVersion"], -1);
/// assert_eq!(json["externalPayment"], false);
/// assert!(PrepaidOrderPayload::builder("o", "c", 1, 0.0).build().is_err());
/// # Ok::<(), amberflo_types::ValidationError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrepaidOrderPayload {
    id: String,
    customer_id: String,
    #[serde(default = "default_product_id")]
    product_id: String,
    start_time_in_seconds: i64,
    #[serde(default = "default_offer_version")]
    prepaid_offer_version: i64,
    #[serde(serialize_with = "number::serialize")]
    prepaid_price: f64,
    #[serde(default)]
    external_payment: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    recurrence_frequency: Option<BillingPeriod>,
    #[serde(
        default,
        serialize_with = "number::serialize_option",
        skip_serializing_if = "Option::is_none"
    )]
    original_worth: Option<f64>,
}

fn default_offer_version() -> i64 {
    DEFAULT_PREPAID_OFFER_VERSION
}

impl PrepaidOrderPayload {
    /// Starts an order `id` for `customer_id`, starting at `start_time_in_seconds`, costing
    /// `prepaid_price` (which must be positive).
    pub fn builder(
        id: impl Into<String>,
        customer_id: impl Into<String>,
        start_time_in_seconds: i64,
        prepaid_price: f64,
    ) -> PrepaidOrderPayloadBuilder {
        PrepaidOrderPayloadBuilder {
            payload: PrepaidOrderPayload {
                id: id.into(),
                customer_id: customer_id.into(),
                product_id: default_product_id(),
                start_time_in_seconds,
                prepaid_offer_version: DEFAULT_PREPAID_OFFER_VERSION,
                prepaid_price,
                external_payment: false,
                recurrence_frequency: None,
                original_worth: None,
            },
        }
    }

    /// Checks ids are not blank, the start is positive, the offer version is positive (or
    /// the default -1), the price and original worth are positive finite numbers.
    pub fn validate(&self) -> Result<(), ValidationError> {
        validate::non_blank("id", &self.id)?;
        validate::non_blank("customer_id", &self.customer_id)?;
        validate::non_blank("product_id", &self.product_id)?;
        validate::positive("start_time_in_seconds", self.start_time_in_seconds)?;
        if self.prepaid_offer_version != DEFAULT_PREPAID_OFFER_VERSION {
            validate::positive("prepaid_offer_version", self.prepaid_offer_version)?;
        }
        validate::positive_number("prepaid_price", self.prepaid_price)?;
        if let Some(worth) = self.original_worth {
            validate::positive_number("original_worth", worth)?;
        }
        if let Some(period) = &self.recurrence_frequency {
            period
                .validate()
                .map_err(|e| e.within("recurrence_frequency"))?;
        }
        Ok(())
    }

    /// The order's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The customer.
    pub fn customer_id(&self) -> &str {
        &self.customer_id
    }

    /// The product (default `"1"`).
    pub fn product_id(&self) -> &str {
        &self.product_id
    }

    /// When the order starts, in Unix seconds.
    pub fn start_time_in_seconds(&self) -> i64 {
        self.start_time_in_seconds
    }

    /// The prepaid offer version (-1: the latest).
    pub fn prepaid_offer_version(&self) -> i64 {
        self.prepaid_offer_version
    }

    /// The price paid.
    pub fn prepaid_price(&self) -> f64 {
        self.prepaid_price
    }

    /// Whether payment happens outside Amberflo.
    pub fn external_payment(&self) -> bool {
        self.external_payment
    }

    /// How often the order recurs, if it does.
    pub fn recurrence_frequency(&self) -> Option<&BillingPeriod> {
        self.recurrence_frequency.as_ref()
    }

    /// What the order is worth, if different from its price.
    pub fn original_worth(&self) -> Option<f64> {
        self.original_worth
    }
}

/// Builds a validated [`PrepaidOrderPayload`].
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct PrepaidOrderPayloadBuilder {
    payload: PrepaidOrderPayload,
}

impl PrepaidOrderPayloadBuilder {
    /// Sets the product (default `"1"`).
    pub fn product_id(mut self, product_id: impl Into<String>) -> Self {
        self.payload.product_id = product_id.into();
        self
    }

    /// Sets the prepaid offer version (positive; default -1, the latest).
    pub fn prepaid_offer_version(mut self, version: i64) -> Self {
        self.payload.prepaid_offer_version = version;
        self
    }

    /// Marks the order as paid outside Amberflo.
    pub fn external_payment(mut self, external: bool) -> Self {
        self.payload.external_payment = external;
        self
    }

    /// Makes the order recur every `period`.
    pub fn recurrence_frequency(mut self, period: BillingPeriod) -> Self {
        self.payload.recurrence_frequency = Some(period);
        self
    }

    /// Sets what the order is worth (positive).
    pub fn original_worth(mut self, worth: f64) -> Self {
        self.payload.original_worth = Some(worth);
        self
    }

    /// Validates and returns the payload.
    pub fn build(self) -> Result<PrepaidOrderPayload, ValidationError> {
        self.payload.validate()?;
        Ok(self.payload)
    }
}

/// A prepaid order as the API returns it (lenient; other fields in `extra`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct PrepaidOrder {
    /// The order's id.
    pub id: String,
    /// The customer.
    pub customer_id: String,
    /// The product.
    pub product_id: String,
    /// When the order starts, in Unix seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time_in_seconds: Option<i64>,
    /// The price paid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prepaid_price: Option<f64>,
    /// Every other field the server sent.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}
