//! [`PrepaidOrderPayload`] (`POST .../customer-prepaid`) and the [`PrepaidOrder`] the API
//! answers with.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::period::BillingPeriod;
use crate::billing::{DEFAULT_PREPAID_OFFER_VERSION, default_product_id};
use crate::error::{Rule, ValidationError};
use crate::time::EpochSeconds;
use crate::{number, time, validate};

/// A prepaid order for a customer (`POST /payments/pricing/amberflo/customer-prepaid`).
///
/// Build it with [`PrepaidOrderPayload::builder`]; the start time and price are required,
/// the order id defaults to a fresh UUID v4.
///
/// ```
/// use amberflo_types::{
///     BillingPeriod, BillingPeriodUnit, EpochSeconds, PrepaidOrderPayload, Rule,
/// };
/// use std::time::{Duration, UNIX_EPOCH};
///
/// let order = PrepaidOrderPayload::builder("customer-1")
///     .id("order-1")
///     .start_time(UNIX_EPOCH + Duration::from_secs(1_700_000_000))
///     .prepaid_price(100.0)
///     .recurrence_frequency(BillingPeriod::new(1, BillingPeriodUnit::Month)?)
///     .build()?;
/// let json = serde_json::to_value(&order).unwrap();
/// assert_eq!(json["startTimeInSeconds"], 1_700_000_000);
/// assert_eq!(json["prepaidOfferVersion"], -1);
/// assert_eq!(json["externalPayment"], false);
///
/// let free = PrepaidOrderPayload::builder("customer-1")
///     .start_time(EpochSeconds::new(1_700_000_000))
///     .prepaid_price(0.0)
///     .build()
///     .unwrap_err();
/// assert_eq!(
///     (free.field(), free.rule()),
///     ("prepaid_price", &Rule::NotPositive)
/// );
/// let unpriced = PrepaidOrderPayload::builder("customer-1")
///     .start_time(EpochSeconds::new(1_700_000_000))
///     .build()
///     .unwrap_err();
/// assert_eq!(
///     (unpriced.field(), unpriced.rule()),
///     ("prepaid_price", &Rule::Missing)
/// );
/// # Ok::<(), amberflo_types::ValidationError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct PrepaidOrderPayload {
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::NonBlank"))]
    id: String,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::NonBlank"))]
    customer_id: String,
    #[serde(default = "default_product_id")]
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::NonBlank"))]
    product_id: String,
    #[cfg_attr(feature = "schemars", schemars(range(min = 1, max = crate::MAX_EPOCH_SECONDS)))]
    start_time_in_seconds: i64,
    #[serde(default = "default_offer_version")]
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::OfferVersion"))]
    prepaid_offer_version: i64,
    #[serde(serialize_with = "number::serialize")]
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::PositiveNumber"))]
    prepaid_price: f64,
    #[serde(default)]
    external_payment: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schemars", schemars(with = "BillingPeriod"))]
    recurrence_frequency: Option<BillingPeriod>,
    // The Go SDK always sends `originalWorth` (0 when unset); 0 reads as unset.
    #[serde(
        default,
        serialize_with = "number::serialize_option",
        deserialize_with = "crate::lenient::zero_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::WorthNumber"))]
    original_worth: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::NonBlank"))]
    label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schemars", schemars(with = "f64"))]
    custom_priority: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schemars", schemars(with = "crate::PrepaidPriority"))]
    prepaid_priority: Option<crate::PrepaidPriority>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::NonBlank"))]
    original_currency: Option<String>,
}

fn default_offer_version() -> i64 {
    DEFAULT_PREPAID_OFFER_VERSION
}

impl PrepaidOrderPayload {
    /// Starts an order for `customer_id`. Its id defaults to a fresh UUID v4 (lower-case,
    /// hyphenated) made by [`build`](PrepaidOrderPayloadBuilder::build), so a builder used
    /// as a template gives each order its own id, while a built payload sent again keeps
    /// its id; set the start with
    /// [`PrepaidOrderPayloadBuilder::start_time`] and the price with
    /// [`PrepaidOrderPayloadBuilder::prepaid_price`].
    pub fn builder(customer_id: impl Into<String>) -> PrepaidOrderPayloadBuilder {
        PrepaidOrderPayloadBuilder {
            id: None,
            customer_id: customer_id.into(),
            product_id: default_product_id(),
            start_time_in_seconds: None,
            prepaid_offer_version: DEFAULT_PREPAID_OFFER_VERSION,
            prepaid_price: None,
            external_payment: false,
            recurrence_frequency: None,
            original_worth: None,
            label: None,
            custom_priority: None,
            prepaid_priority: None,
            original_currency: None,
        }
    }

    /// Checks ids are not blank, the start is positive, the offer version is positive (or
    /// the default -1), the price and original worth are positive finite numbers, the custom
    /// priority is finite.
    pub fn validate(&self) -> Result<(), ValidationError> {
        validate::non_blank("id", &self.id)?;
        validate::non_blank("customer_id", &self.customer_id)?;
        validate::non_blank("product_id", &self.product_id)?;
        validate::epoch_seconds("start_time_in_seconds", self.start_time_in_seconds)?;
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
        validate::optional_non_blank("label", self.label.as_deref())?;
        if let Some(priority) = self.custom_priority {
            validate::finite("custom_priority", priority)?;
        }
        validate::optional_non_blank("original_currency", self.original_currency.as_deref())?;
        if let Some(priority) = &self.prepaid_priority {
            priority.check("prepaid_priority")?;
        }
        Ok(())
    }

    /// The order's label, if set.
    pub fn label(&self) -> Option<&str> {
        self.label.as_deref()
    }

    /// The order's custom priority, if set.
    pub fn custom_priority(&self) -> Option<f64> {
        self.custom_priority
    }

    /// Which orders are used first, if set.
    pub fn prepaid_priority(&self) -> Option<&crate::PrepaidPriority> {
        self.prepaid_priority.as_ref()
    }

    /// The currency the price is in, if set.
    pub fn original_currency(&self) -> Option<&str> {
        self.original_currency.as_deref()
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

    /// When the order starts.
    pub fn start_time(&self) -> SystemTime {
        time::from_epoch_seconds(self.start_time_in_seconds)
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

/// Builds a validated [`PrepaidOrderPayload`]; see [`PrepaidOrderPayload::builder`].
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct PrepaidOrderPayloadBuilder {
    id: Option<String>,
    customer_id: String,
    product_id: String,
    start_time_in_seconds: Option<i64>,
    prepaid_offer_version: i64,
    prepaid_price: Option<f64>,
    external_payment: bool,
    recurrence_frequency: Option<BillingPeriod>,
    original_worth: Option<f64>,
    label: Option<String>,
    custom_priority: Option<f64>,
    prepaid_priority: Option<crate::PrepaidPriority>,
    original_currency: Option<String>,
}

impl PrepaidOrderPayloadBuilder {
    /// Sets a label.
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Sets a custom priority among the customer's orders (a number, as the API takes it:
    /// `1.5` sits between `1` and `2`).
    pub fn custom_priority(mut self, priority: f64) -> Self {
        self.custom_priority = Some(priority);
        self
    }

    /// Sets which orders are used first.
    pub fn prepaid_priority(mut self, priority: crate::PrepaidPriority) -> Self {
        self.prepaid_priority = Some(priority);
        self
    }

    /// Sets the currency the price is in (e.g. `USD`).
    pub fn original_currency(mut self, currency: impl Into<String>) -> Self {
        self.original_currency = Some(currency.into());
        self
    }

    /// Sets the order's id (default: a fresh UUID v4 made by [`build`](Self::build)).
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Sets when the order starts (required; kept to the whole second). Takes a
    /// [`SystemTime`], or an [`EpochSeconds`](crate::EpochSeconds) for a number you have.
    pub fn start_time(mut self, time: impl Into<SystemTime>) -> Self {
        self.start_time_in_seconds = Some(time::to_epoch_seconds(time.into()));
        self
    }

    /// Sets the price paid (required; a positive finite number).
    pub fn prepaid_price(mut self, price: f64) -> Self {
        self.prepaid_price = Some(price);
        self
    }

    /// Sets the product (default `"1"`).
    pub fn product_id(mut self, product_id: impl Into<String>) -> Self {
        self.product_id = product_id.into();
        self
    }

    /// Sets the prepaid offer version (positive; default -1, the latest).
    pub fn prepaid_offer_version(mut self, version: i64) -> Self {
        self.prepaid_offer_version = version;
        self
    }

    /// Marks the order as paid outside Amberflo (`"externalPayment": true`).
    pub fn external_payment(mut self) -> Self {
        self.external_payment = true;
        self
    }

    /// Makes the order recur every `period`.
    pub fn recurrence_frequency(mut self, period: BillingPeriod) -> Self {
        self.recurrence_frequency = Some(period);
        self
    }

    /// Sets what the order is worth (positive).
    pub fn original_worth(mut self, worth: f64) -> Self {
        self.original_worth = Some(worth);
        self
    }

    /// Validates and returns the payload, or the first rule broken (`start_time_in_seconds`
    /// and `prepaid_price` are [`Rule::Missing`] when never set).
    pub fn build(self) -> Result<PrepaidOrderPayload, ValidationError> {
        let id = self
            .id
            .unwrap_or_else(|| Uuid::new_v4().hyphenated().to_string());
        let start_time_in_seconds = self
            .start_time_in_seconds
            .ok_or_else(|| ValidationError::new("start_time_in_seconds", Rule::Missing))?;
        let prepaid_price = self
            .prepaid_price
            .ok_or_else(|| ValidationError::new("prepaid_price", Rule::Missing))?;
        let payload = PrepaidOrderPayload {
            id,
            customer_id: self.customer_id,
            product_id: self.product_id,
            start_time_in_seconds,
            prepaid_offer_version: self.prepaid_offer_version,
            prepaid_price,
            external_payment: self.external_payment,
            recurrence_frequency: self.recurrence_frequency,
            original_worth: self.original_worth,
            label: self.label,
            custom_priority: self.custom_priority,
            prepaid_priority: self.prepaid_priority,
            original_currency: self.original_currency,
        };
        payload.validate()?;
        Ok(payload)
    }
}

/// A prepaid order as the API returns it (lenient; other fields in `extra`).
/// `id` is required: an answer without it is a decode error naming it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PrepaidOrder {
    /// The order's id.
    pub id: String,
    /// The customer.
    #[serde(default, deserialize_with = "crate::lenient::null_as_default")]
    #[cfg_attr(feature = "schemars", schemars(with = "Option<String>"))]
    pub customer_id: String,
    /// The product.
    #[serde(default, deserialize_with = "crate::lenient::null_as_default")]
    #[cfg_attr(feature = "schemars", schemars(with = "Option<String>"))]
    pub product_id: String,
    /// When the order starts, in Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time_in_seconds: Option<EpochSeconds>,
    /// The price paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prepaid_price: Option<f64>,
    /// The order's label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Its custom priority.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_priority: Option<f64>,
    /// Which orders are used first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prepaid_priority: Option<crate::PrepaidPriority>,
    /// The currency of the price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_currency: Option<String>,
    /// The URI of the order's first invoice: what
    /// [`PrepaidPaymentStatusPayload::builder`](crate::PrepaidPaymentStatusPayload::builder)
    /// takes to report an external payment for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_invoice_uri: Option<String>,
    /// Creation time, in Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_time_in_seconds: Option<EpochSeconds>,
    /// Last change, in Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified_time_in_seconds: Option<EpochSeconds>,
    /// Every other field the server sent.
    #[serde(flatten, deserialize_with = "crate::extra::bounded")]
    pub extra: BTreeMap<String, serde_json::Value>,
}
