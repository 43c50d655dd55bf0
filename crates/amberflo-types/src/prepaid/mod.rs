//! Prepaid orders: placing them ([`order`]), their cycles ([`period`]), listing and
//! deleting them ([`query`]), and reporting payments made outside Amberflo ([`payment`]).

mod order;
mod payment;
mod period;
mod query;

pub use order::{PrepaidOrder, PrepaidOrderPayload, PrepaidOrderPayloadBuilder};
pub use payment::{
    PaymentStatus, PrepaidPaymentStatus, PrepaidPaymentStatusPayload,
    PrepaidPaymentStatusPayloadBuilder, PrepaidPriority,
};
pub use period::{BillingPeriod, BillingPeriodUnit};
pub use query::DeletePrepaidOrderQuery;
