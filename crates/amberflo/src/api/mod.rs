//! The API clients, one per area of the Amberflo API. Each borrows the [`Client`] and runs
//! its exchanges on the SDK's I/O runtime, so its futures work under any executor.
//!
//! [`Client`]: crate::Client

mod billing;
mod customers;
mod found;
mod portal;
mod usage;

pub use billing::{InvoicesApi, PrepaidOrdersApi, ProductPlansApi};
pub use customers::CustomersApi;
pub use portal::PortalSessionsApi;
pub use usage::UsageApi;
