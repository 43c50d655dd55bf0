//! Paying for prepaid orders outside Amberflo: [`PrepaidPaymentStatusPayload`]
//! (`POST /payments/external/prepaid-payment-status`), its answer, and the open enums
//! [`PaymentStatus`] and [`PrepaidPriority`].

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::error::{Rule, ValidationError};
use crate::open_enum::open_enum;
use crate::{time, validate};

open_enum! {
    any_case
    /// The payment status of an invoice or prepaid order (`paymentStatus`).
    ///
    /// Sent upper case, as the Go SDK and the provider spell it (`"SETTLED"`); read in any
    /// case (the TypeScript SDK's `PaymentStatus` is lower case: `"settled"`).
    ///
    /// ```
    /// use amberflo_types::PaymentStatus;
    ///
    /// assert_eq!(PaymentStatus::Settled.as_str(), "SETTLED");
    /// assert_eq!(PaymentStatus::from("requires_action"), PaymentStatus::RequiresAction);
    /// ```
    PaymentStatus {
        /// Paid (`SETTLED`).
        Settled => "SETTLED",
        /// Failed (`FAILED`).
        Failed => "FAILED",
        /// Not settled yet (`PENDING`).
        Pending => "PENDING",
        /// Paid ahead, before the period ends (`PRE_PAYMENT`).
        PrePayment => "PRE_PAYMENT",
        /// Waiting for the customer to act, e.g. confirm a card (`REQUIRES_ACTION`).
        RequiresAction => "REQUIRES_ACTION",
        /// Nothing to pay (`NOT_NEEDED`).
        NotNeeded => "NOT_NEEDED",
        /// The payment system does not know (`UNKNOWN`).
        Unknown => "UNKNOWN",
    }
}

open_enum! {
    /// Which prepaid orders are used first (`prepaidPriority`).
    ///
    /// ```
    /// use amberflo_types::PrepaidPriority;
    ///
    /// assert_eq!(PrepaidPriority::Highest.as_str(), "HIGHEST_PRIORITY");
    /// ```
    PrepaidPriority {
        /// Used before the others (`HIGHEST_PRIORITY`).
        Highest => "HIGHEST_PRIORITY",
        /// Used after the others (`LOWEST_PRIORITY`).
        Lowest => "LOWEST_PRIORITY",
    }
}

/// Reports the status of a prepaid order paid outside Amberflo
/// (`POST /payments/external/prepaid-payment-status`).
///
/// ```
/// use amberflo_types::{EpochSeconds, PaymentStatus, PrepaidPaymentStatusPayload, Rule};
///
/// let payload = PrepaidPaymentStatusPayload::builder("order-1")
///     .payment_status(PaymentStatus::Settled)
///     .system_name("stripe")
///     .payment_id("pi_123")
///     .payment_time(EpochSeconds::new(1_700_000_000))
///     .build()?;
/// assert_eq!(
///     serde_json::to_value(&payload).unwrap(),
///     serde_json::json!({"prepaidUri": "order-1", "paymentStatus": "SETTLED",
///         "systemName": "stripe", "paymentId": "pi_123", "paymentTimeInSeconds": 1_700_000_000})
/// );
/// let error = PrepaidPaymentStatusPayload::builder("order-1").build().unwrap_err();
/// assert_eq!((error.field(), error.rule()), ("payment_status", &Rule::Missing));
/// # Ok::<(), amberflo_types::ValidationError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct PrepaidPaymentStatusPayload {
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::NonBlank"))]
    prepaid_uri: String,
    payment_status: PaymentStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::NonBlank"))]
    system_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::NonBlank"))]
    payment_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "schemars",
        schemars(with = "i64", range(min = 1, max = crate::MAX_EPOCH_SECONDS))
    )]
    payment_time_in_seconds: Option<i64>,
}

impl PrepaidPaymentStatusPayload {
    /// Starts a report for the prepaid order at `prepaid_uri` (as Amberflo names it); set the
    /// status with [`PrepaidPaymentStatusPayloadBuilder::payment_status`].
    pub fn builder(prepaid_uri: impl Into<String>) -> PrepaidPaymentStatusPayloadBuilder {
        PrepaidPaymentStatusPayloadBuilder {
            prepaid_uri: prepaid_uri.into(),
            payment_status: None,
            system_name: None,
            payment_id: None,
            payment_time_in_seconds: None,
        }
    }

    /// Checks texts are not blank and the time is positive.
    pub fn validate(&self) -> Result<(), ValidationError> {
        validate::non_blank("prepaid_uri", &self.prepaid_uri)?;
        self.payment_status.check("payment_status")?;
        validate::optional_non_blank("system_name", self.system_name.as_deref())?;
        validate::optional_non_blank("payment_id", self.payment_id.as_deref())?;
        if let Some(seconds) = self.payment_time_in_seconds {
            validate::epoch_seconds("payment_time_in_seconds", seconds)?;
        }
        Ok(())
    }

    /// The prepaid order.
    pub fn prepaid_uri(&self) -> &str {
        &self.prepaid_uri
    }

    /// The status reported.
    pub fn payment_status(&self) -> &PaymentStatus {
        &self.payment_status
    }

    /// The payment system, if set.
    pub fn system_name(&self) -> Option<&str> {
        self.system_name.as_deref()
    }

    /// The payment's id in that system, if set.
    pub fn payment_id(&self) -> Option<&str> {
        self.payment_id.as_deref()
    }

    /// When it was paid, in Unix seconds, if set.
    pub fn payment_time_in_seconds(&self) -> Option<i64> {
        self.payment_time_in_seconds
    }
}

/// Builds a validated [`PrepaidPaymentStatusPayload`].
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct PrepaidPaymentStatusPayloadBuilder {
    prepaid_uri: String,
    payment_status: Option<PaymentStatus>,
    system_name: Option<String>,
    payment_id: Option<String>,
    payment_time_in_seconds: Option<i64>,
}

impl PrepaidPaymentStatusPayloadBuilder {
    /// Sets the status (required).
    pub fn payment_status(mut self, status: PaymentStatus) -> Self {
        self.payment_status = Some(status);
        self
    }

    /// Sets the payment system (e.g. `stripe`).
    pub fn system_name(mut self, name: impl Into<String>) -> Self {
        self.system_name = Some(name.into());
        self
    }

    /// Sets the payment's id in that system.
    pub fn payment_id(mut self, id: impl Into<String>) -> Self {
        self.payment_id = Some(id.into());
        self
    }

    /// Sets when it was paid (kept to the whole second). Takes a [`SystemTime`], or an
    /// [`EpochSeconds`](crate::EpochSeconds) for a number you have.
    pub fn payment_time(mut self, time: impl Into<SystemTime>) -> Self {
        self.payment_time_in_seconds = Some(time::to_epoch_seconds(time.into()));
        self
    }

    /// Validates and returns the payload (`payment_status` is [`Rule::Missing`] when never
    /// set).
    pub fn build(self) -> Result<PrepaidPaymentStatusPayload, ValidationError> {
        let payment_status = self
            .payment_status
            .ok_or_else(|| ValidationError::new("payment_status", Rule::Missing))?;
        let payload = PrepaidPaymentStatusPayload {
            prepaid_uri: self.prepaid_uri,
            payment_status,
            system_name: self.system_name,
            payment_id: self.payment_id,
            payment_time_in_seconds: self.payment_time_in_seconds,
        };
        payload.validate()?;
        Ok(payload)
    }
}

/// What the API answers to a payment status report (lenient: every field optional, the
/// rest in `extra`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PrepaidPaymentStatus {
    /// The prepaid order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prepaid_uri: Option<String>,
    /// The status now recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_status: Option<PaymentStatus>,
    /// Every other field the server sent.
    #[serde(flatten, deserialize_with = "crate::extra::bounded")]
    pub extra: BTreeMap<String, serde_json::Value>,
}
