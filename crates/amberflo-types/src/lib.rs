//! Amberflo API payload models, with validation. Serde only, no IO.
//!
//! Requests are built and validated here; responses are parsed leniently (unknown fields
//! ignored or kept in an `extra` map, missing ones defaulted). Nothing here panics on any
//! input.
//!
//! # How request types are built
//!
//! Every request type is built one way, and checks the API's rules as it is built:
//!
//! - A type with optional fields has a `builder(...)`, taking the leading id (or, for usage
//!   queries, what every query needs), with one named method per field. Its `build()`
//!   validates and returns `Result<T, ValidationError>`. A required field that is not the
//!   leading id is set with a named method too, and `build()` reports it as
//!   [`Rule::Missing`] ("must be set") when it was never set. Builders are `#[must_use]`,
//!   `Clone` and `Debug`.
//! - A type whose fields are all required has a validating `new(...)` (or named
//!   constructors, such as [`TimeRange::between`] or [`Take::largest`]) returning
//!   `Result<T, ValidationError>`.
//! - Every request type also has `validate(&self)`, for values that came from
//!   deserialisation rather than from a builder.
//! - Getters are named like their setters. Options are named methods without arguments
//!   (`.disabled()`, `.skip_cache()`), never `bool` parameters.
//! - Every time is set one way, with `impl Into<SystemTime>` (`.meter_time(..)`,
//!   `.start_time(..)`, [`TimeRange::between`], ...; ranges also a [`std::time::Duration`]
//!   back from now, [`TimeRange::last`]): a [`std::time::SystemTime`], or, for a number you
//!   already have, an [`EpochMillis`] or [`EpochSeconds`]. A time before 1970 becomes 0 and
//!   fails the field's "must be greater than 0" rule.
//! - A blank string is always a [`ValidationError`] naming the field ([`Rule::Blank`]),
//!   never silently ignored.
//!
//! The JSON (and query strings) these types produce is exactly what the Amberflo API and its
//! official Python SDK use.
//!
//! ```
//! use amberflo_types::{
//!     AggregationType, MeterRecord, Rule, TimeGroupingInterval, TimeRange, UsageQuery,
//! };
//! use std::time::{Duration, SystemTime};
//!
//! // One meter event, as the ingest API takes it (an array of these).
//! let record = MeterRecord::builder("ApiCalls", 1.0, "customer-1")
//!     .meter_time(SystemTime::now())
//!     .dimension("region", "us-east-1")
//!     .build()?;
//! let body = serde_json::to_string(&[record])?;
//! assert!(body.contains(r#""meterApiName":"ApiCalls""#));
//!
//! // The last 24 hours of usage, per customer, in hourly buckets.
//! let last_day = TimeRange::last(Duration::from_secs(24 * 60 * 60))?;
//! let query = UsageQuery::builder(
//!     "ApiCalls",
//!     AggregationType::Sum,
//!     TimeGroupingInterval::Hour,
//!     last_day,
//! )
//! .group_by(["customerId"])
//! .build()?;
//! assert_eq!(serde_json::to_value(&query)?["groupBy"][0], "customerId");
//!
//! // A broken rule is a typed error naming the field.
//! let error = MeterRecord::builder("ApiCalls", 1.0, " ")
//!     .build()
//!     .unwrap_err();
//! assert_eq!((error.field(), error.rule()), ("customer_id", &Rule::Blank));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! | API | request types (how built) | response types |
//! |---|---|---|
//! | ingest | [`MeterRecord`] ([`MeterRecord::builder`], with [`Dimensions`]; a batch encodes fast with [`write_records_json`]; a compact binary form for local storage with [`MeterRecord::write_compact`]), custom JSON (`serde_json::Value`) | text |
//! | usage | [`UsageQuery`] ([`UsagePayloadFactory::create`], also [`UsageQuery::builder`]; [`TimeRange`], [`Take`]), [`AllUsageQuery`] ([`AllUsageQuery::builder`], [`AllUsageGroupBy`]) | [`UsageReport`] |
//! | customers | [`CustomerPayload`] ([`CustomerPayload::builder`]), [`CustomerQuery`] (`new`), [`CreateCustomerQuery`] ([`CreateCustomerQuery::for_payload`]) | [`Customer`] |
//! | portal sessions | [`CustomerPortalSessionRequest`] ([`CustomerPortalSessionRequest::builder`]) | [`CustomerPortalSession`] |
//! | product plans | [`CustomerProductPlanPayload`] ([`CustomerProductPlanPayload::builder`]), [`BillingCustomerQuery`] (`new`) | [`CustomerProductPlan`] |
//! | prepaid orders | [`PrepaidOrderPayload`] ([`PrepaidOrderPayload::builder`], [`BillingPeriod`]), [`CustomerProductQuery`] ([`CustomerProductQuery::builder`]) | [`PrepaidOrder`] |
//! | invoices | [`AllInvoicesQuery`] ([`AllInvoicesQuery::builder`]), [`InvoiceQuery`] ([`InvoiceQuery::builder`], [`CalendarDate`], [`Month`]) | [`Invoice`] |
//! | usage cost | [`UsageCostQuery`] ([`UsageCostQuery::builder`], paged with [`PageRequest`]) | [`UsageCostReport`] ([`PageInfo`]) |
//! | signals | [`SignalPayload`] ([`SignalPayload::builder`]; [`NotificationType`], [`ThresholdCondition`], [`CustomerFilterMode`]) | [`Signal`] |
//! | promotions | [`ApplyPromotionPayload`] ([`ApplyPromotionPayload::builder`]), [`PromotionQuery`] (`new`), [`CustomerProductQuery`], [`RemovePromotionQuery`] (`new`) | [`Promotion`], [`CustomerPromotion`] |
//! | customer lifecycle | [`CustomerLifecycleStagePayload`] (`new`; [`LifecycleStage`]), [`Address`] ([`Address::builder`]) | [`Customer`] |
//! | prepaid lifecycle | [`DeletePrepaidOrderQuery`] (`new`), [`PrepaidPaymentStatusPayload`] ([`PrepaidPaymentStatusPayload::builder`]; [`PaymentStatus`], [`PrepaidPriority`]) | [`PrepaidPaymentStatus`] |
//! | meter definitions | [`MeterDefinitionPayload`] ([`MeterDefinitionPayload::builder`]; [`MeterType`]), [`MeterDefinitionQuery`] (`new`) | [`MeterDefinition`] |
//! | event cancellation | [`MeterRecordBuilder::cancel_previous`] ([`CANCEL_PREVIOUS_DIMENSION`]) | |
//!
//! Closed sets the server may grow ([`AggregationType`], [`TimeGroupingInterval`],
//! [`PaymentStatus`], [`LockingStatus`], [`NotificationType`], [`SignalRange`], ...) are enums
//! with an `Other(String)` arm: a value this SDK does not know parses into it and is sent back
//! unchanged. Ids are newtypes ([`CustomerId`], [`MeterApiName`], [`MeterId`], ...), and
//! response times [`EpochSeconds`] or [`EpochMillis`], each with a `SystemTime` accessor.

mod billing;
mod compact;
mod cost;
mod customer;
mod date;
pub mod decode_budget;
mod dimensions;
mod error;
mod extra;
mod ids;
mod ingest;
pub mod ingest_file;
mod invoice;
mod lenient;
mod limits;
mod meter_definition;
mod number;
mod open_enum;
mod portal;
mod prepaid;
mod promotion;
mod records_json;
#[cfg(feature = "schemars")]
pub mod schema;
mod signal;
mod time;
mod usage;
mod validate;

pub use billing::{
    BillingCustomerQuery, CustomerProductPlan, CustomerProductPlanPayload,
    CustomerProductPlanPayloadBuilder, CustomerProductQuery, CustomerProductQueryBuilder,
    DEFAULT_PREPAID_OFFER_VERSION, DEFAULT_PRODUCT_ID, MIN_PRODUCT_PLAN_SECONDS,
};
pub use compact::CompactError;
pub use cost::{
    CostGroup, CostValue, PageInfo, PageRequest, PageRequestBuilder, UsageCostQuery,
    UsageCostQueryBuilder, UsageCostReport,
};
pub use customer::{
    Address, AddressBuilder, CreateCustomerQuery, Customer, CustomerLifecycleStagePayload,
    CustomerPayload, CustomerPayloadBuilder, CustomerQuery, LifecycleStage,
};
pub use date::{CalendarDate, Month};
pub use dimensions::Dimensions;
pub use error::{Rule, ValidationError};
pub use extra::{MAX_EXTRA_BYTES, dropped_unknown_fields};
pub use ids::{CustomerId, MeterApiName, MeterId, PrepaidOrderId, PromotionId, SignalId};
pub use ingest::{CANCEL_PREVIOUS_DIMENSION, MeterRecord, MeterRecordBuilder, UniqueId};
pub use invoice::{
    AllInvoicesQuery, AllInvoicesQueryBuilder, Invoice, InvoiceQuery, InvoiceQueryBuilder,
};
pub use limits::{MAX_EPOCH_MILLIS, MAX_EPOCH_SECONDS, MIN_EPOCH_MILLIS, RecordLimits};
pub use meter_definition::{
    LockingStatus, MeterDefinition, MeterDefinitionPayload, MeterDefinitionPayloadBuilder,
    MeterDefinitionQuery, MeterType,
};
pub use portal::{
    CustomerPortalSession, CustomerPortalSessionRequest, CustomerPortalSessionRequestBuilder,
};
pub use prepaid::{
    BillingPeriod, BillingPeriodUnit, DeletePrepaidOrderQuery, PaymentStatus, PrepaidOrder,
    PrepaidOrderPayload, PrepaidOrderPayloadBuilder, PrepaidPaymentStatus,
    PrepaidPaymentStatusPayload, PrepaidPaymentStatusPayloadBuilder, PrepaidPriority,
};
pub use promotion::{
    ApplyPromotionPayload, ApplyPromotionPayloadBuilder, CustomerPromotion, Promotion,
    PromotionQuery, RemovePromotionQuery,
};
pub use records_json::write_records_json;
pub use signal::{
    CustomerFilterMode, NotificationType, Signal, SignalPayload, SignalPayloadBuilder, SignalRange,
    ThresholdCondition,
};
pub use time::{EpochMillis, EpochSeconds, now_millis, now_seconds};
pub use usage::{
    AggregationType, AllUsageGroupBy, AllUsageQuery, AllUsageQueryBuilder, ClientMeter, MeterGroup,
    Take, TimeGroupingInterval, TimeRange, UsagePayloadFactory, UsageQuery, UsageQueryBuilder,
    UsageReport, UsageValue,
};
/// The UUID type of [`UniqueId`] and [`UniqueId::derived`] (the `uuid` crate's).
pub use uuid::Uuid;
pub use validate::is_blank;
