//! [`DeletePrepaidOrderQuery`]: the query parameters that delete a prepaid order (a
//! customer's orders are listed with [`crate::CustomerProductQuery`]).

use serde::{Deserialize, Serialize};

use crate::error::{Rule, ValidationError};
use crate::validate;

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
