//! Billing API clients: [`ProductPlansApi`], [`PrepaidOrdersApi`] and [`InvoicesApi`].

use amberflo_types::{
    AllInvoicesQuery, BillingCustomerQuery, CustomerId, CustomerProductPlan,
    CustomerProductPlanPayload, CustomerProductQuery, DeletePrepaidOrderQuery, Invoice,
    InvoiceQuery, PrepaidOrder, PrepaidOrderId, PrepaidOrderPayload, PrepaidPaymentStatus,
    PrepaidPaymentStatusPayload,
};

use crate::api::found;
use crate::client::Client;
use crate::error::Error;
use http::Method;

const PRODUCT_PLAN: &str = "/payments/pricing/amberflo/customer-pricing";
const PRODUCT_PLAN_LIST: &str = "/payments/pricing/amberflo/customer-pricing/list";
const PREPAID: &str = "/payments/pricing/amberflo/customer-prepaid";
const PREPAID_LIST: &str = "/payments/pricing/amberflo/customer-prepaid/list";
const PREPAID_PAYMENT_STATUS: &str = "/payments/external/prepaid-payment-status";
const INVOICE: &str = "/payments/billing/customer-product-invoice";
const INVOICE_ALL: &str = "/payments/billing/customer-product-invoice/all";

/// Relates customers to product plans; from [`Client::product_plans`].
///
/// ```no_run
/// use amberflo::types::CustomerProductPlanPayload;
///
/// # async fn demo(client: amberflo::Client) -> Result<(), amberflo::Error> {
/// let payload = CustomerProductPlanPayload::builder("customer-1")
///     .product_plan_id("plan-gold")
///     .build()?;
/// client.product_plans().assign(&payload).await?;
/// let latest = client.product_plans().get("customer-1").await?;
/// assert_eq!(latest.map(|plan| plan.product_plan_id).as_deref(), Some("plan-gold"));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ProductPlansApi<'a> {
    client: &'a Client,
}

impl<'a> ProductPlansApi<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        ProductPlansApi { client }
    }

    /// Puts the customer on a product plan.
    ///
    /// # Errors
    /// [`Error::Validation`] for an invalid payload, else as any API call.
    #[doc(alias = "add_or_update")]
    pub async fn assign(
        self,
        payload: &CustomerProductPlanPayload,
    ) -> Result<CustomerProductPlan, Error> {
        payload.validate()?;
        self.client
            .call_json(Method::POST, PRODUCT_PLAN, &(), payload)
            .await
    }

    /// The customer's latest product plan, or `None` when it has none.
    ///
    /// # Errors
    /// [`Error::Validation`] for a blank id, else as any API call.
    pub async fn get(
        self,
        customer_id: impl Into<CustomerId>,
    ) -> Result<Option<CustomerProductPlan>, Error> {
        let query = BillingCustomerQuery::new(customer_id.into().into_string())?;
        // "No plan" may come back as 404, `null` or `{}`: all mean `None`.
        found::get(self.client, PRODUCT_PLAN, &query).await
    }

    /// The customer's whole history of product plans.
    ///
    /// # Errors
    /// [`Error::Validation`] for a blank id, else as any API call.
    pub async fn list(
        self,
        customer_id: impl Into<CustomerId>,
    ) -> Result<Vec<CustomerProductPlan>, Error> {
        let query = BillingCustomerQuery::new(customer_id.into().into_string())?;
        self.client
            .call(Method::GET, PRODUCT_PLAN_LIST, &query)
            .await
    }
}

/// Manages prepaid orders; from [`Client::prepaid_orders`].
///
/// ```no_run
/// use std::time::SystemTime;
/// use amberflo::types::{CustomerProductQuery, PrepaidOrderPayload};
///
/// # async fn demo(client: amberflo::Client) -> Result<(), amberflo::Error> {
/// let order = PrepaidOrderPayload::builder("customer-1")
///     .prepaid_price(100.0)
///     .start_time(SystemTime::now())
///     .build()?;
/// client.prepaid_orders().create(&order).await?;
/// let query = CustomerProductQuery::builder("customer-1").build()?;
/// let active = client.prepaid_orders().list(&query).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct PrepaidOrdersApi<'a> {
    client: &'a Client,
}

impl<'a> PrepaidOrdersApi<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        PrepaidOrdersApi { client }
    }

    /// Adds a prepaid order to a customer.
    ///
    /// # Errors
    /// [`Error::Validation`] for an invalid payload, else as any API call.
    #[doc(alias = "add")]
    pub async fn create(self, payload: &PrepaidOrderPayload) -> Result<PrepaidOrder, Error> {
        payload.validate()?;
        self.client
            .call_json(Method::POST, PREPAID, &(), payload)
            .await
    }

    /// The customer's active prepaid orders for the query's product (default `"1"`).
    ///
    /// # Errors
    /// [`Error::Validation`] for an invalid query, else as any API call.
    #[doc(alias = "list_active")]
    pub async fn list(self, query: &CustomerProductQuery) -> Result<Vec<PrepaidOrder>, Error> {
        query.validate()?;
        self.client.call(Method::GET, PREPAID_LIST, query).await
    }

    /// Deletes a prepaid order. What the server answers beside a 2xx is not read (the Go
    /// SDK discards it too).
    ///
    /// ```no_run
    /// # async fn demo(client: amberflo::Client) -> Result<(), amberflo::Error> {
    /// client.prepaid_orders().delete("customer-1", "order-1").await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::Validation`] for a blank id, else as any API call.
    pub async fn delete(
        self,
        customer_id: impl Into<CustomerId>,
        order_id: impl Into<PrepaidOrderId>,
    ) -> Result<(), Error> {
        let query = DeletePrepaidOrderQuery::new(
            customer_id.into().into_string(),
            order_id.into().into_string(),
        )?;
        self.client
            .call_ignoring_body(Method::DELETE, PREPAID, &query)
            .await
    }

    /// Reports the status of an order paid outside Amberflo
    /// (`POST /payments/external/prepaid-payment-status`; not retried).
    ///
    /// ```no_run
    /// use amberflo::types::{PaymentStatus, PrepaidPaymentStatusPayload};
    ///
    /// # async fn demo(client: amberflo::Client) -> Result<(), amberflo::Error> {
    /// let report = PrepaidPaymentStatusPayload::builder("order-1")
    ///     .payment_status(PaymentStatus::Settled)
    ///     .system_name("stripe")
    ///     .build()?;
    /// client.prepaid_orders().report_external_payment(&report).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::Validation`] for an invalid payload, else as any API call.
    pub async fn report_external_payment(
        self,
        payload: &PrepaidPaymentStatusPayload,
    ) -> Result<PrepaidPaymentStatus, Error> {
        payload.validate()?;
        self.client
            .call_json(Method::POST, PREPAID_PAYMENT_STATUS, &(), payload)
            .await
    }
}

/// Reads invoices; from [`Client::invoices`].
///
/// ```no_run
/// use amberflo::types::{AllInvoicesQuery, InvoiceQuery};
///
/// # async fn demo(client: amberflo::Client) -> Result<(), amberflo::Error> {
/// let all = client.invoices().list(&AllInvoicesQuery::builder("customer-1").build()?).await?;
/// let open = client.invoices().get(&InvoiceQuery::builder("customer-1").build()?).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct InvoicesApi<'a> {
    client: &'a Client,
}

impl<'a> InvoicesApi<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        InvoicesApi { client }
    }

    /// All invoices of a customer.
    ///
    /// # Errors
    /// [`Error::Validation`] for an invalid query, else as any API call.
    #[doc(alias("get_all", "all"))]
    pub async fn list(self, query: &AllInvoicesQuery) -> Result<Vec<Invoice>, Error> {
        query.validate()?;
        self.client.call(Method::GET, INVOICE_ALL, query).await
    }

    /// One invoice: the latest, or the one starting on a date; `None` when there is none
    /// (a 404, `null` or `{}`).
    ///
    /// # Errors
    /// [`Error::Validation`] for an invalid query, else as any API call.
    pub async fn get(self, query: &InvoiceQuery) -> Result<Option<Invoice>, Error> {
        query.validate()?;
        found::get(self.client, INVOICE, query).await
    }
}
