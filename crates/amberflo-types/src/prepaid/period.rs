//! [`BillingPeriod`]: the span of a recurring prepaid order's cycle.

use serde::{Deserialize, Serialize};

use crate::error::ValidationError;
use crate::open_enum::open_enum;
use crate::validate;

open_enum! {
    any_case
    /// The unit of a [`BillingPeriod`].
    ///
    /// Sent upper case (`"MONTH"`); read in any case: the TypeScript SDK and the provider send
    /// lower case (`"month"`). A unit this SDK does not know is kept in `Other`.
    BillingPeriodUnit {
        /// Days.
        Day => "DAY",
        /// Calendar months.
        Month => "MONTH",
        /// Calendar years.
        Year => "YEAR",
    }
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct BillingPeriod {
    interval: BillingPeriodUnit,
    #[cfg_attr(feature = "schemars", schemars(range(min = 1)))]
    intervals_count: u32,
}

impl BillingPeriod {
    /// `count` (positive) times `unit`.
    pub fn new(count: u32, unit: BillingPeriodUnit) -> Result<Self, ValidationError> {
        let period = BillingPeriod {
            interval: unit,
            intervals_count: count,
        };
        period.validate()?;
        Ok(period)
    }

    /// Checks that the count is positive and an `Other` unit is not blank.
    pub fn validate(&self) -> Result<(), ValidationError> {
        validate::positive("count", self.intervals_count)?;
        self.interval.check("unit")
    }

    /// The unit.
    pub fn unit(&self) -> &BillingPeriodUnit {
        &self.interval
    }

    /// How many units.
    pub fn count(&self) -> u32 {
        self.intervals_count
    }
}
