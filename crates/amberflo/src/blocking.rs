//! Synchronous twins of the API clients (feature `blocking`), from [`Client::blocking`].
//!
//! Each call runs on the SDK's I/O runtime and waits for it on the calling thread with a
//! runtime-free park, so it works with no runtime at all and never panics inside one (it
//! does block that thread: inside async code, prefer the async clients).
//!
//! ```no_run
//! let client = amberflo::Client::builder().api_key("my-api-key").build()?;
//! let customers = client.blocking().customers().list()?;
//! println!("{} customers", customers.len());
//! # Ok::<(), amberflo::Error>(())
//! ```

use amberflo_batcher::block_on;
use amberflo_types::{
    AllInvoicesQuery, AllUsageQuery, Customer, CustomerPayload, CustomerPortalSession,
    CustomerPortalSessionRequest, CustomerProductPlan, CustomerProductPlanPayload, Invoice,
    InvoiceQuery, PrepaidOrder, PrepaidOrderListQuery, PrepaidOrderPayload, UsageQuery,
    UsageReport,
};

use crate::client::Client;
use crate::error::Error;

/// The synchronous API clients of one [`Client`].
#[derive(Debug, Clone, Copy)]
pub struct BlockingClient<'a> {
    client: &'a Client,
}

impl<'a> BlockingClient<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        BlockingClient { client }
    }

    /// The usage API.
    pub fn usage(&self) -> BlockingUsageApi<'a> {
        BlockingUsageApi {
            client: self.client,
        }
    }

    /// The customers API.
    pub fn customers(&self) -> BlockingCustomersApi<'a> {
        BlockingCustomersApi {
            client: self.client,
        }
    }

    /// The customer portal sessions API.
    pub fn portal_sessions(&self) -> BlockingPortalSessionsApi<'a> {
        BlockingPortalSessionsApi {
            client: self.client,
        }
    }

    /// The product plans API.
    pub fn product_plans(&self) -> BlockingProductPlansApi<'a> {
        BlockingProductPlansApi {
            client: self.client,
        }
    }

    /// The prepaid orders API.
    pub fn prepaid_orders(&self) -> BlockingPrepaidOrdersApi<'a> {
        BlockingPrepaidOrdersApi {
            client: self.client,
        }
    }

    /// The invoices API.
    pub fn invoices(&self) -> BlockingInvoicesApi<'a> {
        BlockingInvoicesApi {
            client: self.client,
        }
    }
}

/// Synchronous [`UsageApi`](crate::api::UsageApi).
#[derive(Debug, Clone, Copy)]
pub struct BlockingUsageApi<'a> {
    client: &'a Client,
}

impl BlockingUsageApi<'_> {
    /// See [`UsageApi::get`](crate::api::UsageApi::get).
    ///
    /// # Errors
    /// As the async twin.
    pub fn get(&self, query: &UsageQuery) -> Result<UsageReport, Error> {
        block_on(self.client.usage().get(query))
    }

    /// See [`UsageApi::batch`](crate::api::UsageApi::batch).
    ///
    /// # Errors
    /// As the async twin.
    pub fn batch(&self, queries: &[UsageQuery]) -> Result<Vec<UsageReport>, Error> {
        block_on(self.client.usage().batch(queries))
    }

    /// See [`UsageApi::all`](crate::api::UsageApi::all).
    ///
    /// # Errors
    /// As the async twin.
    pub fn all(&self, query: &AllUsageQuery) -> Result<Vec<UsageReport>, Error> {
        block_on(self.client.usage().all(query))
    }
}

/// Synchronous [`CustomersApi`](crate::api::CustomersApi).
#[derive(Debug, Clone, Copy)]
pub struct BlockingCustomersApi<'a> {
    client: &'a Client,
}

impl BlockingCustomersApi<'_> {
    /// See [`CustomersApi::list`](crate::api::CustomersApi::list).
    ///
    /// # Errors
    /// As the async twin.
    pub fn list(&self) -> Result<Vec<Customer>, Error> {
        block_on(self.client.customers().list())
    }

    /// See [`CustomersApi::get`](crate::api::CustomersApi::get).
    ///
    /// # Errors
    /// As the async twin.
    pub fn get(&self, customer_id: &str) -> Result<Option<Customer>, Error> {
        block_on(self.client.customers().get(customer_id))
    }

    /// See [`CustomersApi::add`](crate::api::CustomersApi::add).
    ///
    /// # Errors
    /// As the async twin.
    pub fn add(&self, payload: &CustomerPayload) -> Result<Customer, Error> {
        block_on(self.client.customers().add(payload))
    }

    /// See [`CustomersApi::update`](crate::api::CustomersApi::update).
    ///
    /// # Errors
    /// As the async twin.
    pub fn update(&self, payload: &CustomerPayload) -> Result<Customer, Error> {
        block_on(self.client.customers().update(payload))
    }

    /// See [`CustomersApi::add_or_update`](crate::api::CustomersApi::add_or_update).
    ///
    /// # Errors
    /// As the async twin.
    pub fn add_or_update(&self, payload: &CustomerPayload) -> Result<Customer, Error> {
        block_on(self.client.customers().add_or_update(payload))
    }
}

/// Synchronous [`PortalSessionsApi`](crate::api::PortalSessionsApi).
#[derive(Debug, Clone, Copy)]
pub struct BlockingPortalSessionsApi<'a> {
    client: &'a Client,
}

impl BlockingPortalSessionsApi<'_> {
    /// See [`PortalSessionsApi::create`](crate::api::PortalSessionsApi::create).
    ///
    /// # Errors
    /// As the async twin.
    pub fn create(
        &self,
        request: &CustomerPortalSessionRequest,
    ) -> Result<CustomerPortalSession, Error> {
        block_on(self.client.portal_sessions().create(request))
    }
}

/// Synchronous [`ProductPlansApi`](crate::api::ProductPlansApi).
#[derive(Debug, Clone, Copy)]
pub struct BlockingProductPlansApi<'a> {
    client: &'a Client,
}

impl BlockingProductPlansApi<'_> {
    /// See [`ProductPlansApi::add_or_update`](crate::api::ProductPlansApi::add_or_update).
    ///
    /// # Errors
    /// As the async twin.
    pub fn add_or_update(
        &self,
        payload: &CustomerProductPlanPayload,
    ) -> Result<CustomerProductPlan, Error> {
        block_on(self.client.product_plans().add_or_update(payload))
    }

    /// See [`ProductPlansApi::get`](crate::api::ProductPlansApi::get).
    ///
    /// # Errors
    /// As the async twin.
    pub fn get(&self, customer_id: &str) -> Result<Option<CustomerProductPlan>, Error> {
        block_on(self.client.product_plans().get(customer_id))
    }

    /// See [`ProductPlansApi::list`](crate::api::ProductPlansApi::list).
    ///
    /// # Errors
    /// As the async twin.
    pub fn list(&self, customer_id: &str) -> Result<Vec<CustomerProductPlan>, Error> {
        block_on(self.client.product_plans().list(customer_id))
    }
}

/// Synchronous [`PrepaidOrdersApi`](crate::api::PrepaidOrdersApi).
#[derive(Debug, Clone, Copy)]
pub struct BlockingPrepaidOrdersApi<'a> {
    client: &'a Client,
}

impl BlockingPrepaidOrdersApi<'_> {
    /// See [`PrepaidOrdersApi::add`](crate::api::PrepaidOrdersApi::add).
    ///
    /// # Errors
    /// As the async twin.
    pub fn add(&self, payload: &PrepaidOrderPayload) -> Result<PrepaidOrder, Error> {
        block_on(self.client.prepaid_orders().add(payload))
    }

    /// See [`PrepaidOrdersApi::list_active`](crate::api::PrepaidOrdersApi::list_active).
    ///
    /// # Errors
    /// As the async twin.
    pub fn list_active(&self, query: &PrepaidOrderListQuery) -> Result<Vec<PrepaidOrder>, Error> {
        block_on(self.client.prepaid_orders().list_active(query))
    }
}

/// Synchronous [`InvoicesApi`](crate::api::InvoicesApi).
#[derive(Debug, Clone, Copy)]
pub struct BlockingInvoicesApi<'a> {
    client: &'a Client,
}

impl BlockingInvoicesApi<'_> {
    /// See [`InvoicesApi::all`](crate::api::InvoicesApi::all).
    ///
    /// # Errors
    /// As the async twin.
    pub fn all(&self, query: &AllInvoicesQuery) -> Result<Vec<Invoice>, Error> {
        block_on(self.client.invoices().all(query))
    }

    /// See [`InvoicesApi::get`](crate::api::InvoicesApi::get).
    ///
    /// # Errors
    /// As the async twin.
    pub fn get(&self, query: &InvoiceQuery) -> Result<Invoice, Error> {
        block_on(self.client.invoices().get(query))
    }
}
