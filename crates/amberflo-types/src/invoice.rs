//! Invoice queries ([`AllInvoicesQuery`], [`InvoiceQuery`]) and the lenient [`Invoice`].
//!
//! `GET /payments/billing/customer-product-invoice/all` takes an [`AllInvoicesQuery`];
//! `GET /payments/billing/customer-product-invoice` takes an [`InvoiceQuery`], either for the
//! latest (open) invoice or for the one of a product plan starting on a given date.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

use crate::billing::default_product_id;
use crate::date::{CalendarDate, Month};
use crate::error::{Rule, ValidationError};
use crate::prepaid::PaymentStatus;
use crate::time::EpochSeconds;
use crate::validate;

/// Query parameters of the all-invoices endpoint: `customerId`, `productId` (default `"1"`),
/// `fromCache` and `withPaymentStatus` (both `true` unless skipped).
///
/// Build it with [`AllInvoicesQuery::builder`].
///
/// ```
/// use amberflo_types::{AllInvoicesQuery, Rule};
///
/// let query = AllInvoicesQuery::builder("customer-1")
///     .skip_cache()
///     .build()?;
/// assert_eq!(query.customer_id(), "customer-1");
/// assert!(query.skip_cache() && !query.skip_payment_status());
/// assert_eq!(
///     serde_urlencoded::to_string(&query).unwrap(),
///     "customerId=customer-1&productId=1&fromCache=false&withPaymentStatus=true"
/// );
/// let error = AllInvoicesQuery::builder("customer-1")
///     .product_id("")
///     .build()
///     .unwrap_err();
/// assert_eq!((error.field(), error.rule()), ("product_id", &Rule::Blank));
/// # Ok::<(), amberflo_types::ValidationError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct AllInvoicesQuery {
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::NonBlank"))]
    customer_id: String,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::NonBlank"))]
    product_id: String,
    #[serde(deserialize_with = "bool_or_str")]
    #[cfg_attr(feature = "schemars", schemars(with = "bool"))]
    from_cache: bool,
    #[serde(deserialize_with = "bool_or_str")]
    #[cfg_attr(feature = "schemars", schemars(with = "bool"))]
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
    /// Starts a query for all invoices of `customer_id`, for product `"1"`, from cache, with
    /// payment status.
    pub fn builder(customer_id: impl Into<String>) -> AllInvoicesQueryBuilder {
        AllInvoicesQueryBuilder {
            query: AllInvoicesQuery {
                customer_id: customer_id.into(),
                product_id: default_product_id(),
                from_cache: true,
                with_payment_status: true,
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

    /// Whether the server must not answer from its cache (`fromCache=false`).
    pub fn skip_cache(&self) -> bool {
        !self.from_cache
    }

    /// Whether invoices come without their payment status (`withPaymentStatus=false`).
    pub fn skip_payment_status(&self) -> bool {
        !self.with_payment_status
    }
}

/// Builds a validated [`AllInvoicesQuery`]; see [`AllInvoicesQuery::builder`].
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct AllInvoicesQueryBuilder {
    query: AllInvoicesQuery,
}

impl AllInvoicesQueryBuilder {
    /// Asks for another product's invoices (default `"1"`). A blank id fails `build`.
    pub fn product_id(mut self, product_id: impl Into<String>) -> Self {
        self.query.product_id = product_id.into();
        self
    }

    /// Asks the server not to answer from its cache (`fromCache=false`).
    pub fn skip_cache(mut self) -> Self {
        self.query.from_cache = false;
        self
    }

    /// Asks for invoices without their payment status (`withPaymentStatus=false`).
    pub fn skip_payment_status(mut self) -> Self {
        self.query.with_payment_status = false;
        self
    }

    /// Validates and returns the query, or the first rule broken.
    pub fn build(self) -> Result<AllInvoicesQuery, ValidationError> {
        self.query.validate()?;
        Ok(self.query)
    }
}

/// Query parameters for one invoice: the latest one, or the one of a product plan starting
/// on a date.
///
/// Build it with [`InvoiceQuery::builder`]: with neither a product plan nor a start date it
/// asks for the latest invoice (`latest=true`); with both, for that invoice; with only one of
/// them, `build` fails with [`Rule::Missing`] naming the other.
///
/// ```
/// use amberflo_types::{CalendarDate, InvoiceQuery, Month, Rule};
///
/// let latest = InvoiceQuery::builder("customer-1").build()?;
/// assert!(latest.is_latest());
///
/// let march = CalendarDate::new(2024, Month::March, 1)?;
/// let dated = InvoiceQuery::builder("customer-1")
///     .product_plan_id("plan-gold")
///     .start_date(march)
///     .skip_cache()
///     .build()?;
/// assert_eq!(dated.start_date(), Some(march));
/// assert!(
///     serde_urlencoded::to_string(&dated)
///         .unwrap()
///         .ends_with("year=2024&month=3&day=1")
/// );
///
/// let error = InvoiceQuery::builder("customer-1")
///     .start_date(march)
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
#[cfg_attr(
    feature = "schemars",
    schemars(extend("anyOf" = [
        { "required": ["latest"], "properties": { "latest": { "const": true } } },
        { "required": ["productPlanId", "year", "month", "day"] },
    ]))
)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceQuery {
    #[serde(flatten)]
    common: AllInvoicesQuery,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schemars", schemars(with = "bool"))]
    latest: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::NonBlank"))]
    product_plan_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "schemars",
        schemars(with = "i32", range(min = 1, max = 9999))
    )]
    year: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schemars", schemars(with = "u32", range(min = 1, max = 12)))]
    month: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schemars", schemars(with = "u32", range(min = 1, max = 31)))]
    day: Option<u32>,
}

impl InvoiceQuery {
    /// Starts a query for one invoice of `customer_id` (product `"1"`, from cache, with
    /// payment status): the latest, unless a product plan and start date are set.
    pub fn builder(customer_id: impl Into<String>) -> InvoiceQueryBuilder {
        InvoiceQueryBuilder {
            common: AllInvoicesQuery::builder(customer_id),
            product_plan_id: None,
            start_date: None,
        }
    }

    /// Checks the ids are not blank and, unless this asks for the latest invoice, that the
    /// product plan and a valid start date are present (date errors are named
    /// `start_date.year`, `start_date.month` and `start_date`).
    pub fn validate(&self) -> Result<(), ValidationError> {
        self.common.validate()?;
        if self.is_latest() {
            return Ok(());
        }
        let plan = self
            .product_plan_id
            .as_deref()
            .ok_or_else(|| ValidationError::new("product_plan_id", Rule::Missing))?;
        validate::non_blank("product_plan_id", plan)?;
        let (Some(year), Some(month), Some(day)) = (self.year, self.month, self.day) else {
            return Err(ValidationError::new("start_date", Rule::Missing));
        };
        if !(1..=9999).contains(&year) {
            // Reported before the month, as `CalendarDate::new` does.
            CalendarDate::checked("start_date", year, Month::January, 1)?;
        }
        let month = u8::try_from(month)
            .map_err(|_| ValidationError::new("month", Rule::OutOfRange { min: 1, max: 12 }))
            .and_then(Month::try_from)
            .map_err(|error| error.within("start_date"))?;
        let day = u8::try_from(day).unwrap_or(u8::MAX);
        CalendarDate::checked("start_date", year, month, day)?;
        Ok(())
    }

    /// The customer asked for.
    pub fn customer_id(&self) -> &str {
        self.common.customer_id()
    }

    /// The product asked for.
    pub fn product_id(&self) -> &str {
        self.common.product_id()
    }

    /// Whether the server must not answer from its cache (`fromCache=false`).
    pub fn skip_cache(&self) -> bool {
        self.common.skip_cache()
    }

    /// Whether the invoice comes without its payment status (`withPaymentStatus=false`).
    pub fn skip_payment_status(&self) -> bool {
        self.common.skip_payment_status()
    }

    /// Whether this asks for the latest invoice.
    pub fn is_latest(&self) -> bool {
        self.latest == Some(true)
    }

    /// The product plan, for a query by start date.
    pub fn product_plan_id(&self) -> Option<&str> {
        self.product_plan_id.as_deref()
    }

    /// The invoice's start date, for a query by start date (`None` also when a deserialised
    /// query holds no valid date).
    pub fn start_date(&self) -> Option<CalendarDate> {
        let month = Month::try_from(u8::try_from(self.month?).ok()?).ok()?;
        CalendarDate::new(self.year?, month, u8::try_from(self.day?).ok()?).ok()
    }
}

/// Builds a validated [`InvoiceQuery`]; see [`InvoiceQuery::builder`].
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct InvoiceQueryBuilder {
    common: AllInvoicesQueryBuilder,
    product_plan_id: Option<String>,
    start_date: Option<CalendarDate>,
}

impl InvoiceQueryBuilder {
    /// Asks for another product's invoice (default `"1"`). A blank id fails `build`.
    pub fn product_id(mut self, product_id: impl Into<String>) -> Self {
        self.common = self.common.product_id(product_id);
        self
    }

    /// Asks the server not to answer from its cache (`fromCache=false`).
    pub fn skip_cache(mut self) -> Self {
        self.common = self.common.skip_cache();
        self
    }

    /// Asks for the invoice without its payment status (`withPaymentStatus=false`).
    pub fn skip_payment_status(mut self) -> Self {
        self.common = self.common.skip_payment_status();
        self
    }

    /// Asks for the invoice of this product plan (not blank; needs a start date too).
    pub fn product_plan_id(mut self, product_plan_id: impl Into<String>) -> Self {
        self.product_plan_id = Some(product_plan_id.into());
        self
    }

    /// Asks for the invoice starting on `date` (needs a product plan too).
    pub fn start_date(mut self, date: CalendarDate) -> Self {
        self.start_date = Some(date);
        self
    }

    /// Validates and returns the query: the latest invoice when neither a product plan nor
    /// a start date was set, [`Rule::Missing`] naming the other when only one was.
    pub fn build(self) -> Result<InvoiceQuery, ValidationError> {
        let common = self.common.build()?;
        let (latest, date) = match (&self.product_plan_id, self.start_date) {
            (None, None) => (Some(true), None),
            (Some(_), Some(date)) => (None, Some(date)),
            (Some(_), None) => return Err(ValidationError::new("start_date", Rule::Missing)),
            (None, Some(_)) => {
                return Err(ValidationError::new("product_plan_id", Rule::Missing));
            }
        };
        let query = InvoiceQuery {
            common,
            latest,
            product_plan_id: self.product_plan_id,
            year: date.map(|date| date.year()),
            month: date.map(|date| u32::from(date.month().number())),
            day: date.map(|date| u32::from(date.day())),
        };
        query.validate()?;
        Ok(query)
    }
}

/// An invoice as the API returns it. Parsed leniently: the fields named here are optional and
/// everything else is kept in [`Invoice::extra`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct Invoice {
    /// The invoice's start, in Unix seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoice_start_time_in_seconds: Option<EpochSeconds>,
    /// The invoice's end, in Unix seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoice_end_time_in_seconds: Option<EpochSeconds>,
    /// The payment status, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_status: Option<PaymentStatus>,
    /// Every other field the server sent (invoice key, totals, line items, ...).
    #[serde(flatten, deserialize_with = "crate::extra::bounded")]
    pub extra: BTreeMap<String, serde_json::Value>,
}
