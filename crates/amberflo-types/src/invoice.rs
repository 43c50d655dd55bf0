//! Invoice queries ([`AllInvoicesQuery`], [`InvoiceQuery`]) and the lenient [`Invoice`].
//!
//! `GET /payments/billing/customer-product-invoice/all` takes an [`AllInvoicesQuery`];
//! `GET /payments/billing/customer-product-invoice` takes an [`InvoiceQuery`], either for the
//! latest (open) invoice or for the one starting on a given date.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

use crate::billing::DEFAULT_PRODUCT_ID;
use crate::error::{Rule, ValidationError};
use crate::validate;

/// Query parameters of the all-invoices endpoint: `customerId`, `productId` (default `"1"`),
/// `fromCache` and `withPaymentStatus` (both default `true`).
///
/// ```
/// use amberflo_types::AllInvoicesQuery;
///
/// let query = AllInvoicesQuery::new("customer-1")?.from_cache(false);
/// assert_eq!(query.customer_id(), "customer-1");
/// assert!(AllInvoicesQuery::new(" ").is_err());
/// # Ok::<(), amberflo_types::ValidationError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AllInvoicesQuery {
    customer_id: String,
    product_id: String,
    #[serde(deserialize_with = "bool_or_str")]
    from_cache: bool,
    #[serde(deserialize_with = "bool_or_str")]
    with_payment_status: bool,
}

/// Reads a boolean, or its query-string spelling `"true"` / `"false"`. Needed because
/// [`InvoiceQuery`] flattens [`AllInvoicesQuery`], and serde hands flattened fields of a
/// query string over as strings, which a plain `bool` refuses.
fn bool_or_str<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    struct BoolOrStr;

    impl Visitor<'_> for BoolOrStr {
        type Value = bool;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a boolean or \"true\" / \"false\"")
        }

        fn visit_bool<E: de::Error>(self, value: bool) -> Result<bool, E> {
            Ok(value)
        }

        fn visit_str<E: de::Error>(self, value: &str) -> Result<bool, E> {
            match value {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(E::invalid_value(de::Unexpected::Str(value), &self)),
            }
        }
    }

    deserializer.deserialize_any(BoolOrStr)
}

impl AllInvoicesQuery {
    /// All invoices of `customer_id` for product `"1"`, from cache, with payment status.
    pub fn new(customer_id: impl Into<String>) -> Result<Self, ValidationError> {
        let customer_id = customer_id.into();
        validate::non_blank("customer_id", &customer_id)?;
        Ok(AllInvoicesQuery {
            customer_id,
            product_id: DEFAULT_PRODUCT_ID.to_owned(),
            from_cache: true,
            with_payment_status: true,
        })
    }

    /// Asks for another product's invoices. A blank id keeps the default product.
    #[must_use]
    pub fn product_id(mut self, product_id: impl Into<String>) -> Self {
        let product_id = product_id.into();
        if !product_id.trim().is_empty() {
            self.product_id = product_id;
        }
        self
    }

    /// Whether the server may answer from its cache.
    #[must_use]
    pub fn from_cache(mut self, from_cache: bool) -> Self {
        self.from_cache = from_cache;
        self
    }

    /// Whether invoices carry their payment status.
    #[must_use]
    pub fn with_payment_status(mut self, with_payment_status: bool) -> Self {
        self.with_payment_status = with_payment_status;
        self
    }

    /// The customer asked for.
    pub fn customer_id(&self) -> &str {
        &self.customer_id
    }

    /// The product asked for.
    pub fn product(&self) -> &str {
        &self.product_id
    }
}

/// Query parameters for one invoice: the latest one, or the one starting on a date.
///
/// ```
/// use amberflo_types::InvoiceQuery;
///
/// let latest = InvoiceQuery::latest("customer-1")?;
/// assert!(latest.is_latest());
/// let march = InvoiceQuery::for_start_date("customer-1", "plan-gold", 2024, 3, 1)?;
/// assert_eq!(march.start_date(), Some((2024, 3, 1)));
/// assert!(InvoiceQuery::for_start_date("customer-1", "plan-gold", 2023, 2, 29).is_err());
/// # Ok::<(), amberflo_types::ValidationError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceQuery {
    #[serde(flatten)]
    common: AllInvoicesQuery,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    latest: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    product_plan_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    year: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    month: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    day: Option<u32>,
}

impl InvoiceQuery {
    /// The customer's latest (currently open) invoice.
    pub fn latest(customer_id: impl Into<String>) -> Result<Self, ValidationError> {
        Ok(InvoiceQuery {
            common: AllInvoicesQuery::new(customer_id)?,
            latest: Some(true),
            product_plan_id: None,
            year: None,
            month: None,
            day: None,
        })
    }

    /// The customer's invoice under `product_plan_id` that starts on `year-month-day`.
    pub fn for_start_date(
        customer_id: impl Into<String>,
        product_plan_id: impl Into<String>,
        year: i32,
        month: u32,
        day: u32,
    ) -> Result<Self, ValidationError> {
        let common = AllInvoicesQuery::new(customer_id)?;
        let product_plan_id = product_plan_id.into();
        validate::non_blank("product_plan_id", &product_plan_id)?;
        validate_date(year, month, day)?;
        Ok(InvoiceQuery {
            common,
            latest: None,
            product_plan_id: Some(product_plan_id),
            year: Some(year),
            month: Some(month),
            day: Some(day),
        })
    }

    /// Asks for another product's invoice. A blank id keeps the default product.
    #[must_use]
    pub fn product_id(mut self, product_id: impl Into<String>) -> Self {
        self.common = self.common.product_id(product_id);
        self
    }

    /// Whether the server may answer from its cache.
    #[must_use]
    pub fn from_cache(mut self, from_cache: bool) -> Self {
        self.common = self.common.from_cache(from_cache);
        self
    }

    /// Whether the invoice carries its payment status.
    #[must_use]
    pub fn with_payment_status(mut self, with_payment_status: bool) -> Self {
        self.common = self.common.with_payment_status(with_payment_status);
        self
    }

    /// The customer asked for.
    pub fn customer_id(&self) -> &str {
        self.common.customer_id()
    }

    /// Whether this asks for the latest invoice.
    pub fn is_latest(&self) -> bool {
        self.latest == Some(true)
    }

    /// The product plan, for a query by start date.
    pub fn product_plan_id(&self) -> Option<&str> {
        self.product_plan_id.as_deref()
    }

    /// The invoice's start date (year, month, day), for a query by start date.
    pub fn start_date(&self) -> Option<(i32, u32, u32)> {
        Some((self.year?, self.month?, self.day?))
    }
}

fn validate_date(year: i32, month: u32, day: u32) -> Result<(), ValidationError> {
    if !(1..=9999).contains(&year) {
        return Err(ValidationError::new(
            "invoice_start_date.year",
            Rule::OutOfRange { min: 1, max: 9999 },
        ));
    }
    if !(1..=12).contains(&month) {
        return Err(ValidationError::new(
            "invoice_start_date.month",
            Rule::OutOfRange { min: 1, max: 12 },
        ));
    }
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days_in_month = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if day == 0 || day > days_in_month {
        return Err(ValidationError::new("invoice_start_date", Rule::NotADate));
    }
    Ok(())
}

/// An invoice as the API returns it. Parsed leniently: the fields named here are optional and
/// everything else is kept in [`Invoice::extra`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct Invoice {
    /// The invoice's start, in Unix seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoice_start_time_in_seconds: Option<i64>,
    /// The invoice's end, in Unix seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoice_end_time_in_seconds: Option<i64>,
    /// The payment status, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_status: Option<String>,
    /// Every other field the server sent (invoice key, totals, line items, ...).
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}
