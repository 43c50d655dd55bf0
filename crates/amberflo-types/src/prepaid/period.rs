//! [`BillingPeriod`]: the span of a recurring prepaid order's cycle.

use serde::{Deserialize, Serialize};

use crate::error::ValidationError;
use crate::validate;

/// The unit of a [`BillingPeriod`].
///
/// Sent upper case (`"MONTH"`); read in any case: the TypeScript SDK and the provider send
/// lower case (`"month"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "UPPERCASE", try_from = "String")]
#[non_exhaustive]
pub enum BillingPeriodUnit {
    /// Days.
    Day,
    /// Calendar months.
    Month,
    /// Calendar years.
    Year,
}

impl BillingPeriodUnit {
    /// Every unit.
    pub const ALL: [BillingPeriodUnit; 3] = [
        BillingPeriodUnit::Day,
        BillingPeriodUnit::Month,
        BillingPeriodUnit::Year,
    ];

    /// The name the API uses (`"DAY"`, `"MONTH"`, `"YEAR"`).
    pub fn as_str(self) -> &'static str {
        match self {
            BillingPeriodUnit::Day => "DAY",
            BillingPeriodUnit::Month => "MONTH",
            BillingPeriodUnit::Year => "YEAR",
        }
    }
}

crate::open_enum::any_case!(BillingPeriodUnit, "billing period unit");

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct BillingPeriod {
    interval: BillingPeriodUnit,
    #[cfg_attr(feature = "schemars", schemars(range(min = 1)))]
    intervals_count: i64,
}

impl BillingPeriod {
    /// `count` (positive) times `unit`.
    pub fn new(count: i64, unit: BillingPeriodUnit) -> Result<Self, ValidationError> {
        let period = BillingPeriod {
            interval: unit,
            intervals_count: count,
        };
        period.validate()?;
        Ok(period)
    }

    /// Checks that the count is positive.
    pub fn validate(&self) -> Result<(), ValidationError> {
        validate::positive("count", self.intervals_count)
    }

    /// The unit.
    pub fn unit(&self) -> BillingPeriodUnit {
        self.interval
    }

    /// How many units.
    pub fn count(&self) -> i64 {
        self.intervals_count
    }
}
