//! Promotions: the account's [`Promotion`]s, applying one to a customer
//! ([`ApplyPromotionPayload`]), the applied [`CustomerPromotion`]s, and their query
//! parameters.
//!
//! Like the other billing endpoints, the customer-promotion endpoints spell their query
//! parameters in PascalCase (`CustomerId`, `ProductId`, `Id`); the account promotion lookup
//! uses `id`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::billing::default_product_id;
use crate::error::{Rule, ValidationError};
use crate::time::EpochSeconds;
use crate::usage::TimeRange;
use crate::validate;

/// A promotion of the account, as the API returns it (lenient; other fields in `extra`).
/// `id` is required.
///
/// ```
/// use amberflo_types::Promotion;
///
/// let promotion: Promotion =
///     serde_json::from_str(r#"{"id": "p1", "promotionName": "Launch", "discount": 10}"#)?;
/// assert_eq!(promotion.promotion_name.as_deref(), Some("Launch"));
/// assert_eq!(promotion.extra["discount"], 10);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Promotion {
    /// The promotion's id.
    pub id: String,
    /// Its name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promotion_name: Option<String>,
    /// Its description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Every other field the server sent (discounts, time limits, ...).
    #[serde(flatten, deserialize_with = "crate::extra::bounded")]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// Query parameters `?id=` of one account promotion.
///
/// ```
/// use amberflo_types::PromotionQuery;
///
/// let query = PromotionQuery::new("promo-1")?;
/// assert_eq!(serde_urlencoded::to_string(&query).unwrap(), "id=promo-1");
/// assert!(PromotionQuery::new(" ").is_err());
/// # Ok::<(), amberflo_types::ValidationError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct PromotionQuery {
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::NonBlank"))]
    id: String,
}

impl PromotionQuery {
    /// The query for one promotion; the id must not be blank.
    pub fn new(id: impl Into<String>) -> Result<Self, ValidationError> {
        let query = PromotionQuery { id: id.into() };
        query.validate()?;
        Ok(query)
    }

    /// Checks that the id is not blank.
    pub fn validate(&self) -> Result<(), ValidationError> {
        validate::non_blank("id", &self.id)
    }

    /// The promotion asked for.
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// Applies an account promotion to a customer
/// (`POST /payments/pricing/amberflo/customer-promotions`).
///
/// ```
/// use amberflo_types::{EpochSeconds, ApplyPromotionPayload, Rule, TimeRange};
///
/// let payload = ApplyPromotionPayload::builder("customer-1")
///     .promotion_id("promo-1")
///     .applied_time_range(TimeRange::since(EpochSeconds::new(1_700_000_000))?)
///     .build()?;
/// assert_eq!(
///     serde_json::to_value(&payload).unwrap(),
///     serde_json::json!({"customerId": "customer-1", "promotionId": "promo-1", "productId": "1",
///         "appliedTimeRange": {"startTimeInSeconds": 1_700_000_000}})
/// );
/// let error = ApplyPromotionPayload::builder("customer-1").build().unwrap_err();
/// assert_eq!((error.field(), error.rule()), ("promotion_id", &Rule::Missing));
/// # Ok::<(), amberflo_types::ValidationError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ApplyPromotionPayload {
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::NonBlank"))]
    customer_id: String,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::NonBlank"))]
    promotion_id: String,
    #[serde(default = "default_product_id")]
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::NonBlank"))]
    product_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schemars", schemars(with = "TimeRange"))]
    applied_time_range: Option<TimeRange>,
}

impl ApplyPromotionPayload {
    /// Starts applying a promotion (set it with
    /// [`ApplyPromotionPayloadBuilder::promotion_id`]) to `customer_id`.
    pub fn builder(customer_id: impl Into<String>) -> ApplyPromotionPayloadBuilder {
        ApplyPromotionPayloadBuilder {
            customer_id: customer_id.into(),
            promotion_id: None,
            product_id: default_product_id(),
            applied_time_range: None,
        }
    }

    /// Checks ids are not blank and the time range is valid.
    pub fn validate(&self) -> Result<(), ValidationError> {
        validate::non_blank("customer_id", &self.customer_id)?;
        validate::non_blank("promotion_id", &self.promotion_id)?;
        validate::non_blank("product_id", &self.product_id)?;
        if let Some(range) = &self.applied_time_range {
            range
                .validate()
                .map_err(|e| e.within("applied_time_range"))?;
        }
        Ok(())
    }

    /// The customer.
    pub fn customer_id(&self) -> &str {
        &self.customer_id
    }

    /// The promotion applied.
    pub fn promotion_id(&self) -> &str {
        &self.promotion_id
    }

    /// The product (default `"1"`).
    pub fn product_id(&self) -> &str {
        &self.product_id
    }

    /// When the promotion applies, if limited.
    pub fn applied_time_range(&self) -> Option<&TimeRange> {
        self.applied_time_range.as_ref()
    }
}

/// Builds a validated [`ApplyPromotionPayload`]; see [`ApplyPromotionPayload::builder`].
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct ApplyPromotionPayloadBuilder {
    customer_id: String,
    promotion_id: Option<String>,
    product_id: String,
    applied_time_range: Option<TimeRange>,
}

impl ApplyPromotionPayloadBuilder {
    /// Sets the promotion to apply (required, not blank).
    pub fn promotion_id(mut self, promotion_id: impl Into<String>) -> Self {
        self.promotion_id = Some(promotion_id.into());
        self
    }

    /// Sets the product (default `"1"`).
    pub fn product_id(mut self, product_id: impl Into<String>) -> Self {
        self.product_id = product_id.into();
        self
    }

    /// Limits when the promotion applies.
    pub fn applied_time_range(mut self, range: TimeRange) -> Self {
        self.applied_time_range = Some(range);
        self
    }

    /// Validates and returns the payload (`promotion_id` is [`Rule::Missing`] when never
    /// set).
    pub fn build(self) -> Result<ApplyPromotionPayload, ValidationError> {
        validate::non_blank("customer_id", &self.customer_id)?;
        let promotion_id = self
            .promotion_id
            .ok_or_else(|| ValidationError::new("promotion_id", Rule::Missing))?;
        let payload = ApplyPromotionPayload {
            customer_id: self.customer_id,
            promotion_id,
            product_id: self.product_id,
            applied_time_range: self.applied_time_range,
        };
        payload.validate()?;
        Ok(payload)
    }
}

/// A promotion applied to a customer, as the API returns it (lenient; other fields in
/// `extra`, such as the Go SDK's `appliedTimeInSeconds`). Every field may be absent: the Go
/// SDK's `CustomerAppliedPromotion` has no `id`, only a `relationId`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CustomerPromotion {
    /// The id of this application, when the server sends one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The customer.
    #[serde(default, deserialize_with = "crate::lenient::null_as_default")]
    #[cfg_attr(feature = "schemars", schemars(with = "Option<String>"))]
    pub customer_id: String,
    /// The promotion.
    #[serde(default, deserialize_with = "crate::lenient::null_as_default")]
    #[cfg_attr(feature = "schemars", schemars(with = "Option<String>"))]
    pub promotion_id: String,
    /// The product.
    #[serde(default, deserialize_with = "crate::lenient::null_as_default")]
    #[cfg_attr(feature = "schemars", schemars(with = "Option<String>"))]
    pub product_id: String,
    /// When it applies from, in Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied_time_in_seconds: Option<EpochSeconds>,
    /// When it was applied, in Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub added_time_in_seconds: Option<EpochSeconds>,
    /// When it was removed, in Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removed_time_in_seconds: Option<EpochSeconds>,
    /// The relation's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relation_id: Option<String>,
    /// Its priority among the customer's promotions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<f64>,
    /// The invoices it applied to, as the server sent them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity_product_invoices: Option<serde_json::Value>,
    /// What is left of it in the current cycle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_left_in_cycle: Option<f64>,
    /// What is left of it in total.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_amount_left: Option<f64>,
    /// Every other field the server sent.
    #[serde(flatten, deserialize_with = "crate::extra::bounded")]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// Query parameters `?CustomerId=&PromotionId=` that remove a promotion from a customer
/// (`DELETE .../customer-promotions`), as the Go SDK's `RemovePromotion` sends them: the
/// promotion's own id (the one applied), not the id of the relation.
///
/// ```
/// use amberflo_types::{RemovePromotionQuery, Rule};
///
/// let query = RemovePromotionQuery::new("customer-1", "promo-1")?;
/// assert_eq!(
///     serde_urlencoded::to_string(&query).unwrap(),
///     "CustomerId=customer-1&PromotionId=promo-1"
/// );
/// let error = RemovePromotionQuery::new("customer-1", " ").unwrap_err();
/// assert_eq!(
///     (error.field(), error.rule()),
///     ("promotion_id", &Rule::Blank)
/// );
/// # Ok::<(), amberflo_types::ValidationError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "PascalCase")]
pub struct RemovePromotionQuery {
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::NonBlank"))]
    customer_id: String,
    #[serde(alias = "Id")]
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::NonBlank"))]
    promotion_id: String,
}

impl RemovePromotionQuery {
    /// Removes `promotion_id` from `customer_id`; both must not be blank.
    pub fn new(
        customer_id: impl Into<String>,
        promotion_id: impl Into<String>,
    ) -> Result<Self, ValidationError> {
        let query = RemovePromotionQuery {
            customer_id: customer_id.into(),
            promotion_id: promotion_id.into(),
        };
        query.validate()?;
        Ok(query)
    }

    /// Checks the ids are not blank.
    pub fn validate(&self) -> Result<(), ValidationError> {
        validate::non_blank("customer_id", &self.customer_id)?;
        validate::non_blank("promotion_id", &self.promotion_id)
    }

    /// The customer.
    pub fn customer_id(&self) -> &str {
        &self.customer_id
    }

    /// The promotion removed (sent as `PromotionId`).
    pub fn promotion_id(&self) -> &str {
        &self.promotion_id
    }
}
