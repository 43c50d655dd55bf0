//! Signals (notifications, `/notification`): the [`SignalPayload`] sent to create or update
//! one, the lenient [`Signal`] the API returns, and the open enums of their closed sets.
//!
//! One file on purpose: the payload and the response share every field and enum, and most of
//! its length is their docs and examples.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Rule, ValidationError};
use crate::open_enum::open_enum;
use crate::time::EpochMillis;
use crate::{number, validate};

open_enum! {
    /// What a signal watches (`notificationType`).
    ///
    /// ```
    /// use amberflo_types::NotificationType;
    ///
    /// assert_eq!(NotificationType::from("usage"), NotificationType::Usage);
    /// let later = NotificationType::from("carbon-footprint");
    /// assert_eq!(later, NotificationType::Other("carbon-footprint".into()));
    /// assert_eq!(serde_json::to_string(&later).unwrap(), r#""carbon-footprint""#);
    /// ```
    NotificationType {
        /// Usage of a meter (`usage`).
        Usage => "usage",
        /// Invoice totals (`invoice`).
        Invoice => "invoice",
        /// Prepaid balance (`prepaid`).
        Prepaid => "prepaid",
        /// Pay-as-you-go promotion balance (`pay-as-you-go-promotion`).
        PayAsYouGoPromotion => "pay-as-you-go-promotion",
        /// Product item units (`product-item-units`).
        ProductItemUnits => "product-item-units",
        /// Product item price (`product-item-price`).
        ProductItemPrice => "product-item-price",
        /// Records for a meter that does not exist (`undefined-meter`).
        UndefinedMeter => "undefined-meter",
        /// Records for a customer that does not exist (`undefined-customer`).
        UndefinedCustomer => "undefined-customer",
    }
}

open_enum! {
    /// When a signal fires (`thresholdCondition`).
    ///
    /// ```
    /// use amberflo_types::ThresholdCondition;
    ///
    /// assert_eq!(ThresholdCondition::GreaterThan.as_str(), "greater-than");
    /// ```
    ThresholdCondition {
        /// The value falls below the threshold (`less-than`).
        LessThan => "less-than",
        /// The value falls below a percentage (`less-than-percent`).
        LessThanPercent => "less-than-percent",
        /// The value rises above the threshold (`greater-than`).
        GreaterThan => "greater-than",
        /// The value changes by the threshold percentage (`percent-change`).
        PercentChange => "percent-change",
    }
}

open_enum! {
    /// The range a signal's value is computed over (`range`): the Go SDK's
    /// `AggregationInterval`, lower case.
    ///
    /// ```
    /// use amberflo_types::SignalRange;
    ///
    /// assert_eq!(SignalRange::Day.as_str(), "day");
    /// ```
    SignalRange {
        /// The last hour (`hour`).
        Hour => "hour",
        /// The last day (`day`).
        Day => "day",
        /// The last week (`week`).
        Week => "week",
        /// The last month (`month`).
        Month => "month",
    }
}

open_enum! {
    /// Which customers a signal covers (`customerFilterMode`).
    ///
    /// ```
    /// use amberflo_types::CustomerFilterMode;
    ///
    /// assert_eq!(CustomerFilterMode::AllCustomers.as_str(), "*");
    /// ```
    CustomerFilterMode {
        /// Every customer together (`*`).
        AllCustomers => "*",
        /// Each customer on its own (`per-customer`).
        PerCustomer => "per-customer",
        /// One customer, named by `customerId` (`specific-customer`).
        SpecificCustomer => "specific-customer",
    }
}

/// A signal to create (`POST /notification`, without an id) or update (`PUT /notification`,
/// with the id the server gave it).
///
/// Build it with [`SignalPayload::builder`]. `email` is always sent (`[]` for a webhook-only
/// signal).
///
/// ```
/// use amberflo_types::{
///     CustomerFilterMode, NotificationType, Rule, SignalPayload, ThresholdCondition,
/// };
///
/// let signal = SignalPayload::builder("High usage", NotificationType::Usage)
///     .meter_id("meter-1")
///     .threshold(ThresholdCondition::GreaterThan, 1000.0)
///     .email("ops@acme.test")
///     .customer_filter_mode(CustomerFilterMode::PerCustomer)
///     .enabled()
///     .build()?;
/// let json = serde_json::to_value(&signal).unwrap();
/// assert_eq!(json["notificationType"], "usage");
/// assert_eq!(json["thresholdValue"], 1000);
/// assert!(json.get("id").is_none());
///
/// let webhook_only = SignalPayload::builder("Hook", NotificationType::Invoice)
///     .webhook_url("https://hooks.acme.test/amberflo")
///     .build()?;
/// assert_eq!(
///     serde_json::to_value(&webhook_only).unwrap()["email"],
///     serde_json::json!([])
/// );
///
/// let error = SignalPayload::builder("One customer", NotificationType::Usage)
///     .customer_filter_mode(CustomerFilterMode::SpecificCustomer)
///     .build()
///     .unwrap_err();
/// assert_eq!(
///     (error.field(), error.rule()),
///     ("customer_id", &Rule::Missing)
/// );
/// # Ok::<(), amberflo_types::ValidationError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct SignalPayload {
    // The Go SDK sends `"id": ""` to create; empty reads as no id.
    #[serde(
        default,
        deserialize_with = "crate::lenient::empty_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::NonBlank"))]
    id: Option<String>,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::NonBlank"))]
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::NonBlank"))]
    description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::NonBlank"))]
    meter_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schemars", schemars(with = "SignalRange"))]
    range: Option<SignalRange>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::NonBlank"))]
    cron: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schemars", schemars(with = "bool"))]
    enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::NonBlank"))]
    frequency: Option<String>,
    notification_type: NotificationType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schemars", schemars(with = "ThresholdCondition"))]
    threshold_condition: Option<ThresholdCondition>,
    // Read as a number or as text: the Go SDK sends `"200"`.
    #[serde(
        default,
        serialize_with = "number::serialize_option",
        deserialize_with = "crate::lenient::number_or_text",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "schemars", schemars(with = "f64"))]
    threshold_value: Option<f64>,
    #[serde(default)]
    #[cfg_attr(feature = "schemars", schemars(with = "Vec<crate::schema::NonBlank>"))]
    email: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::NonBlank"))]
    webhook_url: Option<String>,
    #[serde(
        default,
        with = "headers_as_text",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::NonBlank"))]
    webhook_headers: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::NonBlank"))]
    webhook_payload: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schemars", schemars(with = "CustomerFilterMode"))]
    customer_filter_mode: Option<CustomerFilterMode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::NonBlank"))]
    customer_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::NonBlank"))]
    product_plan_id: Option<String>,
}

impl SignalPayload {
    /// Starts a signal named `name` watching `notification_type`.
    pub fn builder(
        name: impl Into<String>,
        notification_type: NotificationType,
    ) -> SignalPayloadBuilder {
        SignalPayloadBuilder {
            payload: SignalPayload {
                id: None,
                name: name.into(),
                description: None,
                meter_id: None,
                range: None,
                cron: None,
                enabled: None,
                frequency: None,
                notification_type,
                threshold_condition: None,
                threshold_value: None,
                email: Vec::new(),
                webhook_url: None,
                webhook_headers: None,
                webhook_payload: None,
                customer_filter_mode: None,
                customer_id: None,
                product_plan_id: None,
            },
        }
    }

    /// A builder holding this payload's fields, to change some (for example to update a
    /// signal: `signal.to_builder().id(server_id)`).
    pub fn to_builder(&self) -> SignalPayloadBuilder {
        SignalPayloadBuilder {
            payload: self.clone(),
        }
    }

    /// Checks every rule: name, ids, texts and emails not blank; enum values not blank; a
    /// finite threshold; `customer_id` set when the filter mode is `specific-customer`.
    pub fn validate(&self) -> Result<(), ValidationError> {
        validate::optional_non_blank("id", self.id.as_deref())?;
        validate::non_blank("name", &self.name)?;
        for (field, value) in [
            ("description", &self.description),
            ("meter_id", &self.meter_id),
            ("cron", &self.cron),
            ("frequency", &self.frequency),
            ("webhook_url", &self.webhook_url),
            ("webhook_payload", &self.webhook_payload),
            ("customer_id", &self.customer_id),
            ("product_plan_id", &self.product_plan_id),
        ] {
            validate::optional_non_blank(field, value.as_deref())?;
        }
        if let Some(range) = &self.range {
            range.check("range")?;
        }
        if let Some(headers) = &self.webhook_headers {
            validate::string_map("webhook_headers", headers)?;
        }
        self.notification_type.check("notification_type")?;
        if let Some(condition) = &self.threshold_condition {
            condition.check("threshold_condition")?;
        }
        if let Some(value) = self.threshold_value {
            validate::finite("threshold_value", value)?;
        }
        validate::each_non_blank("email", &self.email)?;
        if let Some(mode) = &self.customer_filter_mode {
            mode.check("customer_filter_mode")?;
            if *mode == CustomerFilterMode::SpecificCustomer && self.customer_id.is_none() {
                return Err(ValidationError::new("customer_id", Rule::Missing));
            }
        }
        Ok(())
    }

    /// The server's id (set for updates only).
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The signal's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What the signal watches.
    pub fn notification_type(&self) -> &NotificationType {
        &self.notification_type
    }

    /// The threshold condition, if set.
    pub fn threshold_condition(&self) -> Option<&ThresholdCondition> {
        self.threshold_condition.as_ref()
    }

    /// The threshold value, if set.
    pub fn threshold_value(&self) -> Option<f64> {
        self.threshold_value
    }

    /// The addresses notified (empty for webhook-only signals).
    pub fn email(&self) -> &[String] {
        &self.email
    }

    /// The webhook called, if set.
    pub fn webhook_url(&self) -> Option<&str> {
        self.webhook_url.as_deref()
    }

    /// The meter watched, if set.
    pub fn meter_id(&self) -> Option<&str> {
        self.meter_id.as_deref()
    }

    /// Which customers the signal covers, if set.
    pub fn customer_filter_mode(&self) -> Option<&CustomerFilterMode> {
        self.customer_filter_mode.as_ref()
    }

    /// The one customer covered, if set.
    pub fn customer_id(&self) -> Option<&str> {
        self.customer_id.as_deref()
    }

    /// Whether the signal is enabled, if set.
    pub fn enabled(&self) -> Option<bool> {
        self.enabled
    }
}

/// Builds a validated [`SignalPayload`]; see [`SignalPayload::builder`].
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct SignalPayloadBuilder {
    payload: SignalPayload,
}

impl SignalPayloadBuilder {
    /// Sets the server's id of the signal (required by an update, refused by a create).
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.payload.id = Some(id.into());
        self
    }

    /// Renames the signal.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.payload.name = name.into();
        self
    }

    /// Sets a description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.payload.description = Some(description.into());
        self
    }

    /// Sets the meter watched (its id).
    pub fn meter_id(mut self, meter_id: impl Into<String>) -> Self {
        self.payload.meter_id = Some(meter_id.into());
        self
    }

    /// Sets the range the value is computed over.
    pub fn range(mut self, range: SignalRange) -> Self {
        self.payload.range = Some(range);
        self
    }

    /// Sets a cron schedule for checking.
    pub fn cron(mut self, cron: impl Into<String>) -> Self {
        self.payload.cron = Some(cron.into());
        self
    }

    /// Sets how often the signal is checked, as the API spells it.
    pub fn frequency(mut self, frequency: impl Into<String>) -> Self {
        self.payload.frequency = Some(frequency.into());
        self
    }

    /// Enables the signal (`"enabled": true`).
    pub fn enabled(mut self) -> Self {
        self.payload.enabled = Some(true);
        self
    }

    /// Disables the signal (`"enabled": false`).
    pub fn disabled(mut self) -> Self {
        self.payload.enabled = Some(false);
        self
    }

    /// Changes what the signal watches.
    pub fn notification_type(mut self, notification_type: NotificationType) -> Self {
        self.payload.notification_type = notification_type;
        self
    }

    /// Fires when the value meets `condition` against `value` (a finite number).
    pub fn threshold(mut self, condition: ThresholdCondition, value: f64) -> Self {
        self.payload.threshold_condition = Some(condition);
        self.payload.threshold_value = Some(value);
        self
    }

    /// Adds an address to notify.
    pub fn email(mut self, email: impl Into<String>) -> Self {
        self.payload.email.push(email.into());
        self
    }

    /// Sets the webhook to call.
    pub fn webhook_url(mut self, url: impl Into<String>) -> Self {
        self.payload.webhook_url = Some(url.into());
        self
    }

    /// Adds a header the webhook is called with (sent, as the API takes them, as one JSON
    /// object in text: `"{\"Authorization\":\"Bearer x\"}"`).
    pub fn webhook_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.payload
            .webhook_headers
            .get_or_insert_with(BTreeMap::new)
            .insert(name.into(), value.into());
        self
    }

    /// Sets the webhook's payload template (text).
    pub fn webhook_payload(mut self, payload: impl Into<String>) -> Self {
        self.payload.webhook_payload = Some(payload.into());
        self
    }

    /// Sets which customers the signal covers.
    pub fn customer_filter_mode(mut self, mode: CustomerFilterMode) -> Self {
        self.payload.customer_filter_mode = Some(mode);
        self
    }

    /// Sets the one customer covered (with [`CustomerFilterMode::SpecificCustomer`]).
    pub fn customer_id(mut self, customer_id: impl Into<String>) -> Self {
        self.payload.customer_id = Some(customer_id.into());
        self
    }

    /// Sets the product plan covered.
    pub fn product_plan_id(mut self, product_plan_id: impl Into<String>) -> Self {
        self.payload.product_plan_id = Some(product_plan_id.into());
        self
    }

    /// Validates and returns the payload, or the first rule broken.
    pub fn build(self) -> Result<SignalPayload, ValidationError> {
        self.payload.validate()?;
        Ok(self.payload)
    }
}

/// A signal as the API returns it (lenient; other fields in `extra`). `id` is required.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Signal {
    /// The server's id.
    pub id: String,
    /// The name.
    #[serde(default, deserialize_with = "crate::lenient::null_as_default")]
    #[cfg_attr(feature = "schemars", schemars(with = "Option<String>"))]
    pub name: String,
    /// The description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The meter watched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meter_id: Option<String>,
    /// The range the value is computed over (a value that is not text, such as a number,
    /// reads as `Other` with its JSON text).
    #[serde(
        default,
        deserialize_with = "range_leniently",
        skip_serializing_if = "Option::is_none"
    )]
    pub range: Option<SignalRange>,
    /// The cron schedule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cron: Option<String>,
    /// Whether it is enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// The check frequency, as the server sent it (no upstream source gives its type).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency: Option<serde_json::Value>,
    /// Creation time, in Unix milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_time: Option<EpochMillis>,
    /// Last update time, in Unix milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_time: Option<EpochMillis>,
    /// What it watches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification_type: Option<NotificationType>,
    /// When it fires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold_condition: Option<ThresholdCondition>,
    /// The threshold (sent by the server as a number or as text, as in the Go SDK's
    /// `Notification`; read as a number either way).
    #[serde(
        default,
        deserialize_with = "crate::lenient::number_or_text",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "schemars", schemars(with = "Option<f64>"))]
    pub threshold_value: Option<f64>,
    /// Addresses notified.
    #[serde(default, deserialize_with = "crate::lenient::null_as_default")]
    #[cfg_attr(feature = "schemars", schemars(with = "Option<Vec<String>>"))]
    pub email: Vec<String>,
    /// The webhook called.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<String>,
    /// The webhook's headers (the API sends them as one JSON object in text; an object is read
    /// too). Text that is not a JSON object of strings is a decode error naming
    /// `webhookHeaders`.
    #[serde(
        default,
        with = "headers_as_text",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "schemars", schemars(with = "Option<String>"))]
    pub webhook_headers: Option<BTreeMap<String, String>>,
    /// The webhook's payload template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_payload: Option<String>,
    /// Which customers it covers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_filter_mode: Option<CustomerFilterMode>,
    /// The one customer covered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    /// The product plan covered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_plan_id: Option<String>,
    /// Every other field the server sent.
    #[serde(flatten, deserialize_with = "crate::extra::bounded")]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl Signal {
    /// The signal a payload describes, with the given server id (for servers such as the
    /// emulator, and tests).
    pub fn from_payload(payload: &SignalPayload, id: impl Into<String>) -> Signal {
        Signal {
            id: id.into(),
            name: payload.name.clone(),
            description: payload.description.clone(),
            meter_id: payload.meter_id.clone(),
            range: payload.range.clone(),
            cron: payload.cron.clone(),
            enabled: payload.enabled,
            frequency: payload.frequency.clone().map(serde_json::Value::String),
            create_time: None,
            update_time: None,
            notification_type: Some(payload.notification_type.clone()),
            threshold_condition: payload.threshold_condition.clone(),
            threshold_value: payload.threshold_value,
            email: payload.email.clone(),
            webhook_url: payload.webhook_url.clone(),
            webhook_headers: payload.webhook_headers.clone(),
            webhook_payload: payload.webhook_payload.clone(),
            customer_filter_mode: payload.customer_filter_mode.clone(),
            customer_id: payload.customer_id.clone(),
            product_plan_id: payload.product_plan_id.clone(),
            extra: BTreeMap::new(),
        }
    }
}

/// `webhookHeaders`: a map of header names to values, sent as one JSON object in text, as the
/// API takes it (the Go SDK's `WebhookHeaders string`); empty text reads as no headers.
mod headers_as_text {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serializer, de::Error as _, ser::Error as _};

    pub(super) fn serialize<S: Serializer>(
        headers: &Option<BTreeMap<String, String>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match headers {
            Some(headers) => {
                let text = serde_json::to_string(headers).map_err(S::Error::custom)?;
                serializer.serialize_str(&text)
            }
            None => serializer.serialize_none(),
        }
    }

    /// The longest `webhookHeaders` text read: 1 MiB (a few headers take a few hundred bytes).
    const MAX_TEXT_BYTES: usize = 1 << 20;

    /// The headers as text holding a JSON object (what the API sends), or as the object
    /// itself; `null` and blank text are none.
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Sent {
        Text(String),
        Object(BTreeMap<String, String>),
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<BTreeMap<String, String>>, D::Error> {
        match Option::<Sent>::deserialize(deserializer)? {
            Some(Sent::Object(headers)) => Ok(Some(headers)),
            Some(Sent::Text(text)) if !text.trim().is_empty() => {
                if text.len() > MAX_TEXT_BYTES {
                    return Err(D::Error::custom(format!(
                        "webhookHeaders text is longer than {MAX_TEXT_BYTES} bytes"
                    )));
                }
                let headers: BTreeMap<String, String> =
                    serde_json::from_str(&text).map_err(|error| {
                        D::Error::custom(format!(
                            "webhookHeaders must be a JSON object of strings in text: {error}"
                        ))
                    })?;
                // What the map takes, charged as the transport charges a map it decodes.
                let entry = 3 * 2 * std::mem::size_of::<String>() + 32;
                let strings: usize = headers.iter().map(|(k, v)| k.len() + v.len()).sum();
                let cost = (headers.len() + 4) * entry + strings;
                crate::decode_budget::charge(cost).map_err(D::Error::custom)?;
                Ok(Some(headers))
            }
            _ => Ok(None),
        }
    }
}

/// A response's `range`: text is read as a [`SignalRange`]; any other JSON value (a number,
/// ...) as `Other` holding its JSON text, rather than failing the whole signal.
fn range_leniently<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<SignalRange>, D::Error> {
    Ok(
        match Option::<serde_json::Value>::deserialize(deserializer)? {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(text)) => Some(SignalRange::from(text)),
            Some(other) => Some(SignalRange::Other(other.to_string())),
        },
    )
}
