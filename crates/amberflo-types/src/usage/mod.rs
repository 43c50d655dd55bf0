//! Usage queries and reports: [`UsageQuery`] (built by [`UsagePayloadFactory::create`], also
//! named [`UsageQuery::builder`]), [`AllUsageQuery`] for every meter at once, and
//! [`UsageReport`]. The aggregations and bucket widths are here; the parts in `range`
//! (time range, take), `query`, `all` and `report`.

mod all;
mod query;
mod range;
mod report;

pub use all::{AllUsageGroupBy, AllUsageQuery, AllUsageQueryBuilder};
pub use query::{UsagePayloadFactory, UsageQuery, UsageQueryBuilder};
pub use range::{Take, TimeRange};
pub use report::{ClientMeter, MeterGroup, UsageReport, UsageValue};

use crate::open_enum::open_enum;

open_enum! {
    any_case
    /// How a usage query aggregates the values of each time bucket.
    ///
    /// Sent upper case (`"SUM"`); read in any case, as the API reads it: the Go and TypeScript
    /// SDKs send lower case (`"sum"`). An aggregation this SDK does not know is kept in `Other`.
    AggregationType {
        /// The sum of the values.
        Sum => "SUM",
        /// The number of records.
        Count => "COUNT",
        /// The smallest value.
        Min => "MIN",
        /// The largest value.
        Max => "MAX",
    }
}

open_enum! {
    any_case
    /// The width of the time buckets of a usage report.
    ///
    /// Sent upper case (`"DAY"`); read in any case, as the API reads it: the Go and TypeScript
    /// SDKs send lower case (`"day"`). An interval this SDK does not know is kept in `Other`.
    TimeGroupingInterval {
        /// One bucket per hour.
        Hour => "HOUR",
        /// One bucket per day (UTC).
        Day => "DAY",
        /// One bucket per week.
        Week => "WEEK",
        /// One bucket per calendar month.
        Month => "MONTH",
    }
}
