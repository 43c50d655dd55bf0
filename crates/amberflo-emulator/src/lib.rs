//! A local, in-memory, Amberflo-compatible HTTP server.
//!
//! It speaks the same API as Amberflo (ingest, usage, usage cost, customers, billing, signals,
//! promotions, meter definitions), so the SDK's
//! examples run offline, users can integration-test their metering code, and this project's
//! own tests and benchmarks talk to a real server over loopback HTTP.
//!
//! [`Emulator::start`] binds `127.0.0.1` on a free port and serves from a dedicated thread
//! with its own tokio runtime, so it works from plain `main`, `#[test]` and `#[tokio::test]`
//! alike; dropping the handle (or [`Emulator::shutdown`]) stops it cleanly, in bounded time.
//!
//! ```
//! use amberflo_emulator::Emulator;
//! use amberflo_types::MeterRecord;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let emulator = Emulator::builder().api_key("test-key").start()?;
//! let record = MeterRecord::builder("ApiCalls", 1.0, "customer-1").build()?;
//! let reply = reqwest::Client::new()
//!     .post(format!("{}/ingest/", emulator.url())) // use url() as API and ingest URL
//!     .header("X-API-KEY", "test-key")
//!     .json(&[record])
//!     .send().await?
//!     .text().await?;
//! assert_eq!(reply, "1 records were ingested");
//! assert_eq!(emulator.records()[0].customer_id(), "customer-1");
//! emulator.shutdown_async().await;
//! # Ok(())
//! # }
//! ```
//!
//! # What it serves
//!
//! The Amberflo API as described in the project's design notes. A trailing `/` is optional
//! everywhere (`/ingest` is `/ingest/`).
//!
//! | method | path | what |
//! |---|---|---|
//! | POST | `/ingest` | meter records: one object or an array, plain or `Content-Encoding: gzip`; `?schemaDetection=AUTO` stores custom JSON objects as they are. Replies `N records were ingested` |
//! | POST | `/usage` | one usage report ([`usage`] has the aggregation rules) |
//! | POST | `/usage/batch` | an array of queries, an array of reports |
//! | GET | `/usage/all` | `startTimeInSeconds`, `endTimeInSeconds`?, `timeGroupingInterval`, `groupBy=customerId`?, `customerId`?: one `SUM` report per meter |
//! | GET | `/customers` | every customer; `?customerId=X` one customer, or `{}` |
//! | POST, PUT | `/customers` | create (409 if it exists; `?autoCreateCustomerInStripe=true` adds a `stripeId` trait `cus_emulated_<id>`), replace (404 if missing) |
//! | GET, DELETE | `/customers/<id>` | one customer (404 if missing); delete it |
//! | PUT | `/customers/stage` | `{customerId, lifecycleStage}`: set the stage (404 if missing) |
//! | POST | `/session` | a portal session: `{"url": "<emulator>/portal/<token>", "sessionToken"}` |
//! | GET, POST | `/payments/pricing/amberflo/customer-pricing` | `?CustomerId=`: the latest product plan (404 if none); assign a plan |
//! | GET | `/payments/pricing/amberflo/customer-pricing/list` | `?CustomerId=`: every plan |
//! | POST, DELETE | `/payments/pricing/amberflo/customer-prepaid` | a prepaid order (ids unique per customer, 409); delete one (`?Id=&CustomerId=`, 404 if missing) |
//! | POST | `/payments/external/prepaid-payment-status` | record an external payment's status on the order named by `prepaidUri` |
//! | POST | `/payments/cost/usage-cost` | usage cost from the records and per-meter prices, paged ([`cost`]) |
//! | GET, POST, PUT | `/notification` | every signal; create one (no id); update one (id required) |
//! | GET, DELETE | `/notification/<id>` | one signal (404 if missing); delete it |
//! | GET | `/payments/pricing/amberflo/account-pricing/promotions/list`, `.../promotions?id=` | the account's promotions; one (404 if missing) |
//! | POST, DELETE | `/payments/pricing/amberflo/customer-promotions` | apply a promotion (404 unknown, 400 already applied); remove one (`?CustomerId=&Id=`) |
//! | GET | `/payments/pricing/amberflo/customer-promotions/list` | `?ProductId=&CustomerId=`: the applied promotions |
//! | GET, POST, PUT | `/meters` | every meter definition (`?meterApiName=` one, 404 if missing); create (400 "Meter already exists" for a taken name); update (needs the server id, else the same 400) |
//! | DELETE | `/meters/<id>` | delete a meter by id once its `lockingStatus` is `deprecated` (400 before) |
//! | GET | `/payments/pricing/amberflo/customer-prepaid/list` | `?CustomerId=&ProductId=` |
//! | GET | `/payments/billing/customer-product-invoice/all` | `?customerId=&productId=&fromCache=&withPaymentStatus=`: emulated invoices ([`invoice`]) |
//! | GET | `/payments/billing/customer-product-invoice` | `latest=true`, or `productPlanId`, `year`, `month`, `day` (404 if none matches) |
//! | GET | `/` | the console, live: usage charts per meter (minute, hour or day; grouped by customer or a dimension; filtered by meter, customer and time range), totals and costs, the latest records received with what became of each, what aggregating clients reported (records in, aggregates out, the ratio), fault injection buttons (`/favicon.ico` is a 204) |
//! | GET | `/_emulator/console` | what the console shows, as JSON: `meter`, `customer`, `range` (`1h`, `24h`, `7d`, `30d`, `all`), `interval` (`minute`, `hour`, `day`), `group` (`customer` or `dimension:<name>`); also `clients`, the latest [`ClientStats`] |
//! | GET | `/portal/<token>` | the emulated customer portal of a session |
//! | GET, POST, DELETE | `/_emulator/faults` | the current [`FaultSettings`]; apply some; clear all |
//! | GET, DELETE | `/_emulator/records` | stored records (`?customerId=&meterApiName=&limit=`); clear them |
//! | GET | `/_emulator/custom-records` | stored custom-schema records |
//! | GET | `/_emulator/stats` | [`Stats`] |
//! | GET | `/_emulator/summary` | per customer and meter: record count, total, last time; and the latest records |
//! | GET, POST | `/_emulator/prices` | the per-meter prices usage cost uses; set some (`{"ApiCalls": 0.01}`) |
//! | GET, POST | `/_emulator/promotions` | the account's promotions; add one (`{"id", ...}`) |
//! | GET, POST | `/_emulator/client-stats` | the latest [`ClientStats`] of each client that aggregates at the source (at most [`MAX_CLIENTS`], by name); report one (`{"client", "recordsIn", "aggregatesOut", "passedThrough", "openKeys"}`, replacing that client's previous report) |
//!
//! Payloads are validated with the same rules as `amberflo-types`; a bad one gets a 400 whose
//! `message` names the field, e.g. `records[3]: meter_api_name must not be blank`. Errors are
//! JSON `{"message": "..."}`; unknown paths get 404, wrong methods 405 (with `Allow`), bodies
//! over the limit 413 (also when gzip decompresses past its own limit), an unknown
//! `Content-Encoding` 415, and a missing or wrong `X-API-KEY` (when a key is configured) 401.
//! The emulator's own routes (`/`, `/portal/...`, `/_emulator/...`) need no key and ignore
//! faults. A handler that panics answers 500; the server keeps running.
//!
//! Duplicates: a record with the `uniqueId` **and** content of a stored one is dropped (and
//! counted); one that reuses an id with different content is stored too. The ingest reply
//! counts every record received.
//!
//! # Faults
//!
//! [`Emulator::faults`] (or `POST /_emulator/faults`) fails the next N API requests with a
//! status and optional `Retry-After`, delays every request, or closes the next N connections
//! without a response, optionally only for one path prefix.
//!
//! # Binary
//!
//! With the default `cli` feature: `amberflo-emulator --port 8080 [--api-key K] [--bind
//! 127.0.0.1]` prints its URL on the first line of stdout and stops cleanly on Ctrl-C.

mod calendar;
mod cancel;
mod clients;
pub mod config;
mod console;
pub mod cost;
mod error;
mod faults;
mod handle;
pub mod ingest;
pub mod invoice;
mod routes;
mod server;
mod stats;
mod store;
pub mod usage;
mod view;

pub use clients::{ClientStats, MAX_CLIENT_NAME_BYTES, MAX_CLIENTS};
pub use config::{
    DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_DECODED_BYTES,
    DEFAULT_SHUTDOWN_TIMEOUT, DEFAULT_WORKER_THREADS, EmulatorBuilder,
};
pub use error::EmulatorError;
pub use faults::{DropConnections, FailRequests, FaultError, FaultSettings, Faults};
pub use handle::Emulator;
pub use ingest::{BodyEncoding, IngestError};
pub use stats::Stats;
pub use store::{IngestOutcome, Store, StoreError};
pub use usage::UsageError;
