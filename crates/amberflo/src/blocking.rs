//! Synchronous twins of the API clients (feature `blocking`), from [`Client::blocking`].
//!
//! Each call runs on the SDK's I/O runtime and waits for it on the calling thread with a
//! runtime-free park, so it works with no runtime at all and never panics inside one (it
//! does block that thread: inside async code, prefer the async clients).
//!
//! The twins are generated from one table (`blocking_apis!` in this module), so each has exactly the
//! arguments, result, documentation link and `#[doc(alias)]` (the Python SDK's name) of its
//! async method.
//!
//! ```no_run
//! let client = amberflo::Client::builder().api_key("my-api-key").build()?;
//! let customers = client.blocking().customers().list()?;
//! println!("{} customers", customers.len());
//! # Ok::<(), amberflo::Error>(())
//! ```

use amberflo_batcher::block_on;
use amberflo_types::{
    AllInvoicesQuery, AllUsageQuery, ApplyPromotionPayload, Customer, CustomerId,
    CustomerLifecycleStagePayload, CustomerPayload, CustomerPortalSession,
    CustomerPortalSessionRequest, CustomerProductPlan, CustomerProductPlanPayload,
    CustomerProductQuery, CustomerPromotion, Invoice, InvoiceQuery, MeterApiName, MeterDefinition,
    MeterDefinitionPayload, MeterId, MeterRecord, PrepaidOrder, PrepaidOrderId,
    PrepaidOrderPayload, PrepaidPaymentStatus, PrepaidPaymentStatusPayload, Promotion, PromotionId,
    Signal, SignalId, SignalPayload, UsageCostQuery, UsageCostReport, UsageQuery, UsageReport,
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
}

/// For each area: a `Blocking…Api` struct, its accessor on [`BlockingClient`], and one method
/// per async method (same name, arguments and result) that runs it with `block_on`.
macro_rules! blocking_apis {
    ($(
        $accessor:ident: $blocking:ident => $api:ident {
            $( $(#[$attr:meta])* fn $method:ident($($arg:ident: $ty:ty),*) -> $ret:ty; )*
        }
    )*) => {
        impl<'a> BlockingClient<'a> {
            $(
                #[doc = concat!("The synchronous [`", stringify!($api), "`](crate::api::", stringify!($api), ").")]
                pub fn $accessor(&self) -> $blocking<'a> {
                    $blocking { client: self.client }
                }
            )*
        }

        $(
            #[doc = concat!("Synchronous [`", stringify!($api), "`](crate::api::", stringify!($api), ").")]
            #[derive(Debug, Clone, Copy)]
            pub struct $blocking<'a> {
                client: &'a Client,
            }

            impl $blocking<'_> {
                $(
                    #[doc = concat!("See [`", stringify!($api), "::", stringify!($method), "`](crate::api::", stringify!($api), "::", stringify!($method), ").")]
                    ///
                    /// # Errors
                    /// As the async twin.
                    $(#[$attr])*
                    pub fn $method(&self, $($arg: $ty),*) -> Result<$ret, Error> {
                        block_on(self.client.$accessor().$method($($arg),*))
                    }
                )*
            }
        )*
    };
}

blocking_apis! {
    usage: BlockingUsageApi => UsageApi {
        fn get(query: &UsageQuery) -> UsageReport;
        fn batch(queries: &[UsageQuery]) -> Vec<UsageReport>;
        #[doc(alias("get_all", "all"))]
        fn list(query: &AllUsageQuery) -> Vec<UsageReport>;
    }
    ingest: BlockingIngestApi => IngestApi {
        #[doc(alias = "send_now")]
        fn send(records: &[MeterRecord]) -> String;
    }
    customers: BlockingCustomersApi => CustomersApi {
        fn list() -> Vec<Customer>;
        fn get(customer_id: impl Into<CustomerId>) -> Option<Customer>;
        #[doc(alias = "add")]
        fn create(payload: &CustomerPayload) -> Customer;
        fn update(payload: &CustomerPayload) -> Customer;
        #[doc(alias = "add_or_update")]
        fn create_or_update(payload: &CustomerPayload) -> Customer;
        fn delete(customer_id: impl Into<CustomerId>) -> ();
        fn set_lifecycle_stage(payload: &CustomerLifecycleStagePayload) -> Customer;
    }
    portal_sessions: BlockingPortalSessionsApi => PortalSessionsApi {
        #[doc(alias = "get")]
        fn create(request: &CustomerPortalSessionRequest) -> CustomerPortalSession;
    }
    product_plans: BlockingProductPlansApi => ProductPlansApi {
        #[doc(alias = "add_or_update")]
        fn assign(payload: &CustomerProductPlanPayload) -> CustomerProductPlan;
        fn get(customer_id: impl Into<CustomerId>) -> Option<CustomerProductPlan>;
        fn list(customer_id: impl Into<CustomerId>) -> Vec<CustomerProductPlan>;
    }
    prepaid_orders: BlockingPrepaidOrdersApi => PrepaidOrdersApi {
        #[doc(alias = "add")]
        fn create(payload: &PrepaidOrderPayload) -> PrepaidOrder;
        #[doc(alias = "list_active")]
        fn list(query: &CustomerProductQuery) -> Vec<PrepaidOrder>;
        fn delete(customer_id: impl Into<CustomerId>, order_id: impl Into<PrepaidOrderId>) -> ();
        fn report_external_payment(payload: &PrepaidPaymentStatusPayload) -> PrepaidPaymentStatus;
    }
    invoices: BlockingInvoicesApi => InvoicesApi {
        #[doc(alias("get_all", "all"))]
        fn list(query: &AllInvoicesQuery) -> Vec<Invoice>;
        fn get(query: &InvoiceQuery) -> Option<Invoice>;
    }
    usage_cost: BlockingUsageCostApi => UsageCostApi {
        fn get(query: &UsageCostQuery) -> UsageCostReport;
    }
    signals: BlockingSignalsApi => SignalsApi {
        fn list() -> Vec<Signal>;
        fn get(id: impl Into<SignalId>) -> Option<Signal>;
        fn create(payload: &SignalPayload) -> Signal;
        fn update(payload: &SignalPayload) -> Signal;
        fn delete(id: impl Into<SignalId>) -> ();
    }
    promotions: BlockingPromotionsApi => PromotionsApi {
        fn list() -> Vec<Promotion>;
        fn get(id: impl Into<PromotionId>) -> Option<Promotion>;
        fn apply(payload: &ApplyPromotionPayload) -> CustomerPromotion;
        fn list_applied(query: &CustomerProductQuery) -> Vec<CustomerPromotion>;
        fn remove(customer_id: impl Into<CustomerId>, promotion_id: impl Into<PromotionId>) -> ();
    }
    meters: BlockingMetersApi => MetersApi {
        fn list() -> Vec<MeterDefinition>;
        fn get(meter_api_name: impl Into<MeterApiName>) -> Option<MeterDefinition>;
        fn create(payload: &MeterDefinitionPayload) -> MeterDefinition;
        fn update(payload: &MeterDefinitionPayload) -> MeterDefinition;
        fn delete(id: impl Into<MeterId>) -> ();
    }
}

impl<'a> BlockingUsageCostApi<'a> {
    /// Every page, as an iterator: see
    /// [`UsageCostApi::pages`](crate::api::UsageCostApi::pages). It ends after the last page,
    /// or after the first error (which it yields).
    ///
    /// ```no_run
    /// use amberflo::types::{
    ///     EpochSeconds, PageRequest, TimeGroupingInterval, TimeRange, UsageCostQuery,
    /// };
    ///
    /// let client = amberflo::Client::builder().api_key("my-api-key").build()?;
    /// let query = UsageCostQuery::builder(
    ///     TimeGroupingInterval::Day,
    ///     TimeRange::since(EpochSeconds::new(1_700_000_000))?,
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
