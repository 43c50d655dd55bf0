//! The query parameters of the prepaid order endpoints: listing a customer's orders
//! ([`PrepaidOrderListQuery`]) and deleting one ([`DeletePrepaidOrderQuery`]).

use serde::{Deserialize, Serialize};

use crate::billing::default_product_id;
use crate::error::{Rule, ValidationError};
use crate::validate;

/// Query parameters `?CustomerId=&ProductId=` of the prepaid order list.
///
/// ```
/// use amberflo_types::{PrepaidOrderListQuery, Rule};
///
/// let query = PrepaidOrderListQuery::builder("customer-1").build()?;
/// assert_eq!(query.product_id(), "1");
/// assert_eq!(
///     serde_urlencoded::to_string(&query).unwrap(),
///     "CustomerId=customer-1&ProductId=1"
/// );
/// let error = PrepaidOrderListQuery::builder("customer-1").product_id(" ").build().unwrap_err();
/// assert_eq!((error.field(), error.rule()), ("product_id", &Rule::Blank));
/// # Ok::<(), amberflo_types::ValidationError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "PascalCase")]
pub struct PrepaidOrderListQuery {
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::NonBlank"))]
    customer_id: String,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::NonBlank"))]
    product_id: String,
}

impl PrepaidOrderListQuery {
    /// Starts a query for the active prepaid orders of `customer_id` (product `"1"` unless
    /// set with [`PrepaidOrderListQueryBuilder::product_id`]).
    pub fn builder(customer_id: impl Into<String>) -> PrepaidOrderListQueryBuilder {
        PrepaidOrderListQueryBuilder {
            query: PrepaidOrderListQuery {
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

/// Builds a validated [`PrepaidOrderListQuery`]; see [`PrepaidOrderListQuery::builder`].
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct PrepaidOrderListQueryBuilder {
    query: PrepaidOrderListQuery,
}

impl PrepaidOrderListQueryBuilder {
    /// Asks for another product's orders (default `"1"`; not blank).
    pub fn product_id(mut self, product_id: impl Into<String>) -> Self {
        self.query.product_id = product_id.into();
        self
    }

    /// Validates and returns the query.
    pub fn build(self) -> Result<PrepaidOrderListQuery, ValidationError> {
        self.query.validate()?;
        Ok(self.query)
    }
}

/// Query parameters `?Id=&CustomerId=` that delete a prepaid order
/// (`DELETE /payments/pricing/amberflo/customer-prepaid`).
///
/// ```
/// use amberflo_types::{DeletePrepaidOrderQuery, Rule};
///
/// let query = DeletePrepaidOrderQuery::builder("customer-1").order_id("order-1").build()?;
/// assert_eq!(serde_urlencoded::to_string(&query).unwrap(), "Id=order-1&CustomerId=customer-1");
/// let error = DeletePrepaidOrderQuery::builder("customer-1").build().unwrap_err();
/// assert_eq!((error.field(), error.rule()), ("order_id", &Rule::Missing));
/// # Ok::<(), amberflo_types::ValidationError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct DeletePrepaidOrderQuery {
    #[serde(rename = "Id")]
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::NonBlank"))]
    order_id: String,
    #[serde(rename = "CustomerId")]
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::NonBlank"))]
    customer_id: String,
}

impl DeletePrepaidOrderQuery {
    /// Starts deleting an order (set it with [`DeletePrepaidOrderQueryBuilder::order_id`]) of
    /// `customer_id`.
    pub fn builder(customer_id: impl Into<String>) -> DeletePrepaidOrderQueryBuilder {
        DeletePrepaidOrderQueryBuilder {
            customer_id: customer_id.into(),
            order_id: None,
        }
    }

    /// Checks the ids are not blank.
    pub fn validate(&self) -> Result<(), ValidationError> {
        validate::non_blank("order_id", &self.order_id)?;
        validate::non_blank("customer_id", &self.customer_id)
    }

    /// The order (sent as `Id`).
    pub fn order_id(&self) -> &str {
        &self.order_id
    }

    /// The customer.
    pub fn customer_id(&self) -> &str {
        &self.customer_id
    }
}

/// Builds a validated [`DeletePrepaidOrderQuery`].
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct DeletePrepaidOrderQueryBuilder {
    customer_id: String,
    order_id: Option<String>,
}

impl DeletePrepaidOrderQueryBuilder {
    /// Sets the order to delete (required).
    pub fn order_id(mut self, order_id: impl Into<String>) -> Self {
        self.order_id = Some(order_id.into());
        self
    }

    /// Validates and returns the query (`order_id` is [`Rule::Missing`] when never set).
    pub fn build(self) -> Result<DeletePrepaidOrderQuery, ValidationError> {
        let order_id = self
            .order_id
            .ok_or_else(|| ValidationError::new("order_id", Rule::Missing))?;
        let query = DeletePrepaidOrderQuery {
            order_id,
            customer_id: self.customer_id,
        };
        query.validate()?;
        Ok(query)
    }
}
