//! The API clients, one per area of the Amberflo API. Each borrows the [`Client`] and runs
//! its exchanges on the SDK's I/O runtime, so its futures work under any executor.
//!
//! [`Client`]: crate::Client

mod billing;
mod cost;
mod customers;
mod found;
mod ingest;
mod meters;
mod path;
mod portal;
mod promotions;
mod server_id;
mod signals;
mod usage;

pub use billing::{InvoicesApi, PrepaidOrdersApi, ProductPlansApi};
pub use cost::{UsageCostApi, UsageCostPages};
pub use customers::CustomersApi;
pub use ingest::IngestApi;
pub use meters::MetersApi;
pub use portal::PortalSessionsApi;
pub use promotions::PromotionsApi;
pub use signals::SignalsApi;
pub use usage::UsageApi;
