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
    AllInvoicesQuery, AllUsageQuery, ApplyPromotionPayload, Customer,
    CustomerLifecycleStagePayload, CustomerPayload, CustomerPortalSession,
    CustomerPortalSessionRequest, CustomerProductPlan, CustomerProductPlanPayload,
    CustomerPromotion, CustomerPromotionListQuery, DeletePrepaidOrderQuery, Invoice, InvoiceQuery,
    MeterDefinition, MeterDefinitionPayload, MeterRecord, PrepaidOrder, PrepaidOrderListQuery,
    PrepaidOrderPayload, PrepaidPaymentStatus, PrepaidPaymentStatusPayload, Promotion,
    RemovePromotionQuery, Signal, SignalPayload, UsageCostQuery, UsageCostReport, UsageQuery,
    UsageReport,
};

use crate::api::UsageCostPages;
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

    /// Ingest now, around the queue.
    pub fn ingest(&self) -> BlockingIngestApi<'a> {
        BlockingIngestApi {
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

    /// The usage cost API.
    pub fn usage_cost(&self) -> BlockingUsageCostApi<'a> {
        BlockingUsageCostApi {
            client: self.client,
        }
    }

    /// The signals API.
    pub fn signals(&self) -> BlockingSignalsApi<'a> {
        BlockingSignalsApi {
            client: self.client,
        }
    }

    /// The promotions API.
    pub fn promotions(&self) -> BlockingPromotionsApi<'a> {
        BlockingPromotionsApi {
            client: self.client,
        }
    }

    /// The meter definitions API.
    pub fn meters(&self) -> BlockingMetersApi<'a> {
        BlockingMetersApi {
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

/// Synchronous [`IngestApi`](crate::api::IngestApi).
#[derive(Debug, Clone, Copy)]
pub struct BlockingIngestApi<'a> {
    client: &'a Client,
}

impl BlockingIngestApi<'_> {
    /// See [`IngestApi::send`](crate::api::IngestApi::send).
    ///
    /// # Errors
    /// As the async twin.
    pub fn send(&self, records: &[MeterRecord]) -> Result<String, Error> {
        block_on(self.client.ingest().send(records))
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

    /// See [`CustomersApi::delete`](crate::api::CustomersApi::delete).
    ///
    /// # Errors
    /// As the async twin.
    pub fn delete(&self, customer_id: &str) -> Result<(), Error> {
        block_on(self.client.customers().delete(customer_id))
    }

    /// See [`CustomersApi::set_lifecycle_stage`](crate::api::CustomersApi::set_lifecycle_stage).
    ///
    /// # Errors
    /// As the async twin.
    pub fn set_lifecycle_stage(
        &self,
        payload: &CustomerLifecycleStagePayload,
    ) -> Result<Customer, Error> {
        block_on(self.client.customers().set_lifecycle_stage(payload))
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

    /// See [`PrepaidOrdersApi::delete`](crate::api::PrepaidOrdersApi::delete).
    ///
    /// # Errors
    /// As the async twin.
    pub fn delete(&self, query: &DeletePrepaidOrderQuery) -> Result<(), Error> {
        block_on(self.client.prepaid_orders().delete(query))
    }

    /// See
    /// [`PrepaidOrdersApi::report_external_payment`](crate::api::PrepaidOrdersApi::report_external_payment).
    ///
    /// # Errors
    /// As the async twin.
    pub fn report_external_payment(
        &self,
        payload: &PrepaidPaymentStatusPayload,
    ) -> Result<PrepaidPaymentStatus, Error> {
        block_on(
            self.client
                .prepaid_orders()
                .report_external_payment(payload),
        )
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

/// Synchronous [`UsageCostApi`](crate::api::UsageCostApi).
#[derive(Debug, Clone, Copy)]
pub struct BlockingUsageCostApi<'a> {
    client: &'a Client,
}

impl<'a> BlockingUsageCostApi<'a> {
    /// See [`UsageCostApi::get`](crate::api::UsageCostApi::get).
    ///
    /// # Errors
    /// As the async twin.
    pub fn get(&self, query: &UsageCostQuery) -> Result<UsageCostReport, Error> {
        block_on(self.client.usage_cost().get(query))
    }

    /// Every page, as an iterator: see
    /// [`UsageCostApi::pages`](crate::api::UsageCostApi::pages). It ends after the last page,
    /// or after the first error (which it yields).
    ///
    /// ```no_run
    /// use amberflo::types::{PageRequest, TimeGroupingInterval, TimeRange, UsageCostQuery};
    ///
    /// let client = amberflo::Client::builder().api_key("my-api-key").build()?;
    /// let query = UsageCostQuery::builder(
    ///     TimeGroupingInterval::Day,
    ///     TimeRange::since_epoch_seconds(1_700_000_000)?,
    /// )
    /// .page(PageRequest::builder().size(100).build()?)
    /// .build()?;
    /// for page in client.blocking().usage_cost().pages(&query) {
    ///     println!("{} groups", page?.cost_list.len());
    /// }
    /// # Ok::<(), amberflo::Error>(())
    /// ```
    pub fn pages(&self, query: &UsageCostQuery) -> BlockingUsageCostPages<'a> {
        BlockingUsageCostPages {
            pages: Some(self.client.usage_cost().pages(query)),
        }
    }
}

/// An iterator over the pages of a usage cost answer; from
/// [`BlockingUsageCostApi::pages`].
#[derive(Debug)]
pub struct BlockingUsageCostPages<'a> {
    pages: Option<UsageCostPages<'a>>,
}

impl Iterator for BlockingUsageCostPages<'_> {
    type Item = Result<UsageCostReport, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        let pages = self.pages.as_mut()?;
        match block_on(pages.next_page()) {
            Ok(Some(page)) => Some(Ok(page)),
            Ok(None) => {
                self.pages = None;
                None
            }
            Err(error) => {
                self.pages = None;
                Some(Err(error))
            }
        }
    }
}

/// Synchronous [`SignalsApi`](crate::api::SignalsApi).
#[derive(Debug, Clone, Copy)]
pub struct BlockingSignalsApi<'a> {
    client: &'a Client,
}

impl BlockingSignalsApi<'_> {
    /// See [`SignalsApi::list`](crate::api::SignalsApi::list).
    ///
    /// # Errors
    /// As the async twin.
    pub fn list(&self) -> Result<Vec<Signal>, Error> {
        block_on(self.client.signals().list())
    }

    /// See [`SignalsApi::get`](crate::api::SignalsApi::get).
    ///
    /// # Errors
    /// As the async twin.
    pub fn get(&self, id: &str) -> Result<Option<Signal>, Error> {
        block_on(self.client.signals().get(id))
    }

    /// See [`SignalsApi::create`](crate::api::SignalsApi::create).
    ///
    /// # Errors
    /// As the async twin.
    pub fn create(&self, payload: &SignalPayload) -> Result<Signal, Error> {
        block_on(self.client.signals().create(payload))
    }

    /// See [`SignalsApi::update`](crate::api::SignalsApi::update).
    ///
    /// # Errors
    /// As the async twin.
    pub fn update(&self, payload: &SignalPayload) -> Result<Signal, Error> {
        block_on(self.client.signals().update(payload))
    }

    /// See [`SignalsApi::delete`](crate::api::SignalsApi::delete).
    ///
    /// # Errors
    /// As the async twin.
    pub fn delete(&self, id: &str) -> Result<(), Error> {
        block_on(self.client.signals().delete(id))
    }
}

/// Synchronous [`PromotionsApi`](crate::api::PromotionsApi).
#[derive(Debug, Clone, Copy)]
pub struct BlockingPromotionsApi<'a> {
    client: &'a Client,
}

impl BlockingPromotionsApi<'_> {
    /// See [`PromotionsApi::list`](crate::api::PromotionsApi::list).
    ///
    /// # Errors
    /// As the async twin.
    pub fn list(&self) -> Result<Vec<Promotion>, Error> {
        block_on(self.client.promotions().list())
    }

    /// See [`PromotionsApi::get`](crate::api::PromotionsApi::get).
    ///
    /// # Errors
    /// As the async twin.
    pub fn get(&self, id: &str) -> Result<Option<Promotion>, Error> {
        block_on(self.client.promotions().get(id))
    }

    /// See [`PromotionsApi::apply`](crate::api::PromotionsApi::apply).
    ///
    /// # Errors
    /// As the async twin.
    pub fn apply(&self, payload: &ApplyPromotionPayload) -> Result<CustomerPromotion, Error> {
        block_on(self.client.promotions().apply(payload))
    }

    /// See [`PromotionsApi::list_applied`](crate::api::PromotionsApi::list_applied).
    ///
    /// # Errors
    /// As the async twin.
    pub fn list_applied(
        &self,
        query: &CustomerPromotionListQuery,
    ) -> Result<Vec<CustomerPromotion>, Error> {
        block_on(self.client.promotions().list_applied(query))
    }

    /// See [`PromotionsApi::remove`](crate::api::PromotionsApi::remove).
    ///
    /// # Errors
    /// As the async twin.
    pub fn remove(&self, query: &RemovePromotionQuery) -> Result<(), Error> {
        block_on(self.client.promotions().remove(query))
    }
}

/// Synchronous [`MetersApi`](crate::api::MetersApi).
#[derive(Debug, Clone, Copy)]
pub struct BlockingMetersApi<'a> {
    client: &'a Client,
}

impl BlockingMetersApi<'_> {
    /// See [`MetersApi::list`](crate::api::MetersApi::list).
    ///
    /// # Errors
    /// As the async twin.
    pub fn list(&self) -> Result<Vec<MeterDefinition>, Error> {
        block_on(self.client.meters().list())
    }

    /// See [`MetersApi::get`](crate::api::MetersApi::get).
    ///
    /// # Errors
    /// As the async twin.
    pub fn get(&self, meter_api_name: &str) -> Result<Option<MeterDefinition>, Error> {
        block_on(self.client.meters().get(meter_api_name))
    }

    /// See [`MetersApi::create`](crate::api::MetersApi::create).
    ///
    /// # Errors
    /// As the async twin.
    pub fn create(&self, payload: &MeterDefinitionPayload) -> Result<MeterDefinition, Error> {
        block_on(self.client.meters().create(payload))
    }

    /// See [`MetersApi::update`](crate::api::MetersApi::update).
    ///
    /// # Errors
    /// As the async twin.
    pub fn update(&self, payload: &MeterDefinitionPayload) -> Result<MeterDefinition, Error> {
        block_on(self.client.meters().update(payload))
    }

    /// See [`MetersApi::delete`](crate::api::MetersApi::delete).
    ///
    /// # Errors
    /// As the async twin.
    pub fn delete(&self, id: &str) -> Result<(), Error> {
        block_on(self.client.meters().delete(id))
    }
}
