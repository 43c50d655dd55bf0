//! [`DeletePrepaidOrderQuery`]: the query parameters that delete a prepaid order (a
//! customer's orders are listed with [`crate::CustomerProductQuery`]).

use serde::{Deserialize, Serialize};

use crate::error::ValidationError;
use crate::validate;

/// Query parameters `?Id=&CustomerId=` that delete a prepaid order
/// (`DELETE /payments/pricing/amberflo/customer-prepaid`).
///
/// ```
/// use amberflo_types::{DeletePrepaidOrderQuery, Rule};
///
/// let query = DeletePrepaidOrderQuery::new("customer-1", "order-1")?;
/// assert_eq!(
///     serde_urlencoded::to_string(&query).unwrap(),
///     "Id=order-1&CustomerId=customer-1"
/// );
/// let error = DeletePrepaidOrderQuery::new("customer-1", "").unwrap_err();
/// assert_eq!((error.field(), error.rule()), ("order_id", &Rule::Blank));
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
    /// Deletes `order_id` of `customer_id`; both must not be blank.
    pub fn new(
        customer_id: impl Into<String>,
        order_id: impl Into<String>,
    ) -> Result<Self, ValidationError> {
        let query = DeletePrepaidOrderQuery {
            order_id: order_id.into(),
            customer_id: customer_id.into(),
        };
        query.validate()?;
        Ok(query)
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
