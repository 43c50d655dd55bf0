//! Meter every HTTP request of an axum, tonic or hyper service to
//! [Amberflo](https://www.amberflo.io) with one [`tower` layer](MeteringLayer).
//!
//! ```
//! use amberflo_tower::{MeterValue, MeteringLayer};
//! use axum::{Router, routing::get};
//!
//! let client = amberflo::Client::builder().api_key("my-api-key").build()?;
//! let metering = MeteringLayer::builder(client)
//!     .meter("api-calls", MeterValue::Count) // 1 per request
//!     .meter("api-bytes-out", MeterValue::ResponseBytes)
//!     .customer_header("x-customer-id") // requests without one are skipped
//!     .build()?;
//! let app: Router = Router::new().route("/users/{id}", get(|| async { "user" })).layer(metering);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Each request makes one record per meter, for its customer, with the dimensions `method`,
//! `route` (`/users/{id}` with the `axum` feature, from axum's `MatchedPath`), `status_class`
//! (`2xx`, ...) and `outcome` by default ([`Dimension`] lists the others: host, status,
//! request headers). It is metered once the response body has been sent (so status, latency
//! and bytes are known), or when the response is dropped before the end (a client that
//! disconnected), with `outcome` = `aborted`: exactly once either way.
//!
//! Metering never blocks and never fails a request: records go through the client's
//! [`meter_record_async`](amberflo::Client::meter_record_async), which never waits for a disk
//! (not even for a spool that syncs every record); a record the client refuses
//! (queue full, client shut down) is counted in [`MeteringLayer::stats`] and the client's
//! `Stats::rejected`, and logged once per overflow episode.
//!
//! A caller cannot dodge metering with what it sends: dimension values taken from the request
//! (headers, host, route) are cut to fit the client's record limits (on a character boundary,
//! ending with `…`), and a request whose customer id cannot be metered (not UTF-8, or over
//! the client's `max_name_bytes`, 256 bytes by default) is refused with `431` or `400` without reaching the service, unless
//! [`InvalidCustomer::Serve`] says to serve it unmetered (counted).
//!
//! # Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `axum` | no | the `route` dimension from axum's `MatchedPath` (`/users/{id}`, not `/users/42`) |
//!
//! The crate depends on `amberflo` without its default features: the application picks the
//! transport by enabling them on its own `amberflo` dependency.
//!
//! # Where to put the layer
//!
//! - axum: `Router::layer` after the routes, so the route template is known; a layer that
//!   authenticates and puts the user in the extensions (read with
//!   [`customer_fn`](MeteringLayerBuilder::customer_fn)) must be added after this one, so it
//!   runs first.
//! - tonic: `Server::builder().layer(layer)`; the route is the gRPC method path.
//! - hyper: wrap the service with `MeteringLayer::layer` (from `tower::Layer`).
//!
//! # Cost
//!
//! Per metered request: one `Arc` reference count, clones of the header values and URI parts
//! the records need (reference counts), a counter `Arc` only when request bytes are metered,
//! and the records themselves; dimension names are fixed when the layer is built. axum boxes
//! the bodies of any middleware that wraps them (this one included). The crate README has
//! the benchmark figures.

// The README's Rust snippet is a doc-test too.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

mod body;
mod config;
mod layer;
mod shared;

pub use body::{RequestBody, ResponseBody};
pub use config::{
    ConfigError, DEFAULT_CUSTOMER_HEADER, Dimension, InvalidCustomer, MeterValue,
    MeteringLayerBuilder, MeteringStats, MissingCustomer, Outcome, RequestSummary, ValueFn,
};
pub use layer::{MeteringLayer, MeteringService, ResponseFuture};
