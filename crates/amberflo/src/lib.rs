//! The Rust SDK for [Amberflo](https://www.amberflo.io) usage metering and billing.
//!
//! `meter` validates a record and puts it on a bounded in-memory queue in well under a
//! microsecond, from any thread, without blocking and without an async runtime. Background
//! workers send batches (gzip JSON) to the ingest API, retry with jittered exponential backoff
//! (honouring `Retry-After`), and hand every record that cannot be delivered to your error
//! callback: nothing is lost silently. The API clients cover every area of the API:
//!
//! | area | client | calls |
//! |---|---|---|
//! | usage | [`Client::usage`] | one query, a batch, all meters |
//! | usage cost | [`Client::usage_cost`] | one page, or every page ([`UsageCostPages`]) |
//! | customers | [`Client::customers`] | list, get, add, update, add-or-update, delete, lifecycle stage |
//! | portal sessions | [`Client::portal_sessions`] | create |
//! | product plans | [`Client::product_plans`] | assign, latest, history |
//! | prepaid orders | [`Client::prepaid_orders`] | add, list active, delete, report an external payment |
//! | invoices | [`Client::invoices`] | all, one |
//! | signals | [`Client::signals`] | list, get, create, update, delete |
//! | promotions | [`Client::promotions`] | list, get, apply to a customer, list applied, remove |
//! | meter definitions | [`Client::meters`] | list, get by API name, create, update, delete |
//! | event cancellation | [`types::MeterRecordBuilder::cancel_previous`] | a record that cancels a previous one |
//!
//! API calls that are safe to repeat (GET, PUT, DELETE, and the read-only POSTs of usage and
//! usage cost) are retried on 408, 429, 5xx and network errors per
//! [`ClientBuilder::api_retry_policy`]; a POST that creates is never retried blindly.
//!
//! ```no_run
//! use std::time::Duration;
//! use amberflo::{Client, MeterRecord};
//!
//! let client = Client::builder().api_key("my-api-key").build()?; // or Client::from_env()
//! client.meter("ApiCalls", 1.0, "customer-1")?;
//! client.meter_record(
//!     MeterRecord::builder("Storage", 2.5, "customer-1").dimension("region", "us-east-1").build()?,
//! )?;
//! client.shutdown(Duration::from_secs(10))?; // delivers what is queued, then stops
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `reqwest` | yes | the reqwest transport |
//! | `rustls` | yes | TLS through rustls (ring) |
//! | `hyper` | no | the hyper transport; with `reqwest` too, reqwest stays the default and `use_hyper()` picks hyper |
//! | `native-tls` | no | TLS through the platform library, for the reqwest transport (its default TLS when on) |
//! | `blocking` | no | synchronous API clients, `Client::blocking` |
//! | `mock` | no | `amberflo::mock::MockTransport`, to swap the transport in your tests |
//! | `s3` | no | deliver batches as objects in an S3 bucket (`ClientBuilder::ingest_to_s3`) |
//! | `emulator` | no | `amberflo::emulator`, a local Amberflo-compatible server |
//!
//! Features are additive: any combination compiles, and [`ClientBuilder::build`] picks a
//! documented default by precedence ([`transport::TransportKind`], [`transport::TlsBackend`])
//! that `use_reqwest()` / `use_hyper()` or [`ClientBuilder::transport`] override;
//! [`Client::transport`] tells which was picked. A build with no transport feature still
//! compiles: `build` then needs a transport from [`ClientBuilder::transport`] and otherwise
//! returns [`Error::NoTransport`].
//!
//! # Delivery guarantees
//!
//! Every record ends in exactly one place: delivered; handed to the error callback with the
//! error (fatal 4xx at once, 408/429/5xx and network errors after the retries, or whatever is
//! still queued at the shutdown deadline); with a spool, left on disk at the shutdown deadline
//! for the next client ([`Stats::left_on_spool`]); or refused by `meter`, which gives it back inside
//! [`MeterError`] when the queue is full or the client is shut down. [`Client::stats`] counts
//! each bucket. `flush` waits for everything enqueued before it; `shutdown` (and dropping the
//! last clone, or the [`ClientGuard`]) flushes and stops, bounded by a timeout.
//!
//! # Runtimes
//!
//! The client owns a small Tokio runtime for its HTTP exchanges, so `meter`, `flush`,
//! `shutdown` and drop work with no runtime and inside any Tokio runtime (current-thread or
//! multi-thread) without panics or deadlocks, and the async API clients can be awaited on any
//! executor.

// The README's Rust snippets are doc-tests too.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;

pub mod aggregate;
mod api;
#[cfg(feature = "blocking")]
pub mod blocking;
mod client;
mod config;
mod deadline;
mod error;
mod global;
pub mod llm;
mod runtime;
#[cfg(feature = "s3")]
mod s3_sink;
mod sink;

pub use api::{
    CustomersApi, IngestApi, InvoicesApi, MetersApi, PortalSessionsApi, PrepaidOrdersApi,
    ProductPlansApi, PromotionsApi, SignalsApi, UsageApi, UsageCostApi, UsageCostPages,
};
pub use client::Client;
pub use config::{
    ClientBuilder, DEFAULT_CUSTOM_QUEUE_CAPACITY, DEFAULT_MAX_REQUEST_BYTES, ENV_API_KEY,
    ENV_API_URL, ENV_INGEST_URL, FailedBatch, default_api_retry_policy,
};
pub use error::{CustomPayloadError, Error, MeterError, RuntimeError};
pub use global::{ClientGuard, client, flush, init, meter, shutdown};

pub use amberflo_batcher::{
    BuildError, DeliveryError, Durability, FlushError, FsyncPolicy, RetryPolicy, SendError,
    SendErrorKind, ShutdownError, SpoolConfig, Stats,
};
pub use amberflo_transport::{ApiError, SharedError, Transport, TransportError};
pub use amberflo_types::{Dimensions, MeterRecord, UniqueId, ValidationError};
pub use http::StatusCode;

/// The payload models (`amberflo-types`): queries, payloads and responses of every API,
/// each request type with its validating builder.
pub mod types {
    pub use amberflo_types::{
        Address, AddressBuilder, ApplyPromotionPayload, ApplyPromotionPayloadBuilder,
        CANCEL_PREVIOUS_DIMENSION, CostGroup, CostValue, CustomerFilterMode, CustomerId,
        CustomerLifecycleStagePayload, CustomerPromotion, DeletePrepaidOrderQuery, EpochMillis,
        EpochSeconds, LifecycleStage, LockingStatus, MAX_EXTRA_BYTES, MeterApiName,
        MeterDefinition, MeterDefinitionPayload, MeterDefinitionPayloadBuilder,
        MeterDefinitionQuery, MeterId, MeterType, NotificationType, PageInfo, PageRequest,
        PageRequestBuilder, PaymentStatus, PrepaidOrderId, PrepaidPaymentStatus,
        PrepaidPaymentStatusPayload, PrepaidPaymentStatusPayloadBuilder, PrepaidPriority,
        Promotion, PromotionId, PromotionQuery, RemovePromotionQuery, Signal, SignalId,
        SignalPayload, SignalPayloadBuilder, SignalRange, ThresholdCondition, UsageCostQuery,
        UsageCostQueryBuilder, UsageCostReport, dropped_unknown_fields,
    };
    pub use amberflo_types::{
        AggregationType, AllInvoicesQuery, AllInvoicesQueryBuilder, AllUsageGroupBy, AllUsageQuery,
        AllUsageQueryBuilder, BillingPeriod, BillingPeriodUnit, CalendarDate, ClientMeter,
        CompactError, Customer, CustomerPayload, CustomerPayloadBuilder, CustomerPortalSession,
        CustomerPortalSessionRequest, CustomerPortalSessionRequestBuilder, CustomerProductPlan,
        CustomerProductPlanPayload, CustomerProductPlanPayloadBuilder, CustomerProductQuery,
        CustomerProductQueryBuilder, DEFAULT_PREPAID_OFFER_VERSION, DEFAULT_PRODUCT_ID, Dimensions,
        Invoice, InvoiceQuery, InvoiceQueryBuilder, MAX_EPOCH_MILLIS, MAX_EPOCH_SECONDS,
        MIN_EPOCH_MILLIS, MIN_PRODUCT_PLAN_SECONDS, MeterGroup, MeterRecord, MeterRecordBuilder,
        Month, PrepaidOrder, PrepaidOrderPayload, PrepaidOrderPayloadBuilder, RecordLimits, Rule,
        Take, TimeGroupingInterval, TimeRange, UniqueId, UsagePayloadFactory, UsageQuery,
        UsageQueryBuilder, UsageReport, UsageValue, ValidationError,
    };
}

/// The built-in transports and how a build picks one, for configuring or replacing the
/// HTTP stack (implement [`Transport`] for your own with the `async-trait` crate).
/// `ReqwestTransport` comes with the `reqwest` feature, `HyperTransport` with `hyper`.
pub mod transport {
    #[cfg(feature = "hyper")]
    pub use amberflo_transport::{HyperTransport, HyperTransportBuilder};
    #[cfg(feature = "reqwest")]
    pub use amberflo_transport::{ReqwestTransport, ReqwestTransportBuilder};
    pub use amberflo_transport::{TlsBackend, TransportKind};
}

/// S3 delivery (feature `s3`): where objects go ([`ClientBuilder::ingest_to_s3`]).
#[cfg(feature = "s3")]
pub mod s3 {
    pub use amberflo_transport::{
        S3BodyFormat, S3Credentials, S3CredentialsBuilder, S3Destination, S3DestinationBuilder,
        S3Error,
    };
}

/// [`MockTransport`](mock::MockTransport): a scripted, recording transport for your tests.
/// Available with the `mock` feature.
#[cfg(feature = "mock")]
pub mod mock {
    pub use amberflo_transport::{MockReply, MockTransport, RecordedRequest};
}

/// A local, in-memory Amberflo-compatible server (`amberflo-emulator`), for tests and
/// offline development. Available with the `emulator` feature.
#[cfg(feature = "emulator")]
pub mod emulator {
    pub use amberflo_emulator::{
        BodyEncoding, DropConnections, Emulator, EmulatorBuilder, EmulatorError, FailRequests,
        FaultError, FaultSettings, Faults, IngestError, IngestOutcome, Stats, Store, StoreError,
        UsageError,
    };
}
