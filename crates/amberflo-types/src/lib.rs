//! Amberflo API payload models, with validation. Serde only, no IO.
//!
//! Every request payload has a builder (or constructor) that checks the API's rules and
//! returns a [`ValidationError`] naming the field; responses are parsed leniently (unknown
//! fields ignored or kept in an `extra` map, missing ones defaulted). Nothing here panics on
//! any input.
//!
//! ```
//! use amberflo_types::{
//!     AggregationType, MeterRecord, TimeGroupingInterval, TimeRange, UsagePayloadFactory,
//! };
//!
//! // One meter event, as the ingest API takes it (an array of these).
//! let record = MeterRecord::builder("ApiCalls", 1.0, "customer-1")
//!     .dimension("region", "us-east-1")
//!     .build()?;
//! let body = serde_json::to_string(&[record])?;
//! assert!(body.contains(r#""meterApiName":"ApiCalls""#));
//!
//! // A usage query, validated by the usage payload factory.
//! let range = TimeRange::since(1_700_000_000)?;
//! let query = UsagePayloadFactory::create(
//!     "ApiCalls", AggregationType::Sum, TimeGroupingInterval::Day, range, None, None, None,
//! )?;
//! assert_eq!(serde_json::to_value(&query)?["timeRange"]["startTimeInSeconds"], 1_700_000_000);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! | API | request types | response types |
//! |---|---|---|
//! | ingest | [`MeterRecord`] (with [`Dimensions`]; a batch encodes fast with [`write_records_json`]), custom JSON (`serde_json::Value`) | text |
//! | usage | [`UsageQuery`], [`AllUsageQuery`] | [`UsageReport`] |
//! | customers | [`CustomerPayload`], [`CustomerQuery`], [`CreateCustomerQuery`] | [`Customer`] |
//! | portal sessions | [`CustomerPortalSessionRequest`] | [`CustomerPortalSession`] |
//! | product plans | [`CustomerProductPlanPayload`], [`BillingCustomerQuery`] | [`CustomerProductPlan`] |
//! | prepaid orders | [`PrepaidOrderPayload`], [`PrepaidOrderListQuery`] | [`PrepaidOrder`] |
//! | invoices | [`AllInvoicesQuery`], [`InvoiceQuery`] | [`Invoice`] |

mod billing;
mod customer;
mod dimensions;
mod error;
mod ingest;
mod invoice;
mod number;
mod portal;
mod records_json;
mod time;
mod usage;
mod validate;

pub use billing::{
    BillingCustomerQuery, BillingPeriod, BillingPeriodUnit, CustomerProductPlan,
    CustomerProductPlanPayload, CustomerProductPlanPayloadBuilder, DEFAULT_PREPAID_OFFER_VERSION,
    DEFAULT_PRODUCT_ID, MIN_PRODUCT_PLAN_SECONDS, PrepaidOrder, PrepaidOrderListQuery,
    PrepaidOrderPayload, PrepaidOrderPayloadBuilder,
};
pub use customer::{
    CreateCustomerQuery, Customer, CustomerPayload, CustomerPayloadBuilder, CustomerQuery,
};
pub use dimensions::Dimensions;
pub use error::{Rule, ValidationError};
pub use ingest::{MeterRecord, MeterRecordBuilder, UniqueId};
pub use invoice::{AllInvoicesQuery, Invoice, InvoiceQuery};
pub use portal::{
    CustomerPortalSession, CustomerPortalSessionRequest, CustomerPortalSessionRequestBuilder,
};
pub use records_json::write_records_json;
pub use time::{now_millis, now_seconds};
pub use usage::{
    AggregationType, AllUsageQuery, ClientMeter, MeterGroup, Take, TimeGroupingInterval, TimeRange,
    UsagePayloadFactory, UsageQuery, UsageQueryBuilder, UsageReport, UsageValue,
};
