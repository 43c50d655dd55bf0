//! Product plans, prepaid orders and invoices (`/payments/...`).
//!
//! `GET .../customer-pricing?CustomerId=` returns the latest plan, or 404 when the customer
//! has none; the list endpoints return `[]` then. Prepaid order ids are unique per customer
//! (409 otherwise). Invoices are emulated (see [`crate::invoice`]); a single-invoice query
//! that matches none gets 404.

use amberflo_types::{
    AllInvoicesQuery, BillingCustomerQuery, CalendarDate, CustomerProductPlanPayload,
    DeletePrepaidOrderQuery, InvoiceQuery, Month, PrepaidOrderPayload, PrepaidPaymentStatusPayload,
    ValidationError,
};
use http::StatusCode;

use super::{Handled, store_error};
use crate::Store;
use crate::server::respond::{self, Failure};
use crate::server::{ApiRequest, Shared};

fn invalid(error: &ValidationError) -> Failure {
    Failure::bad_request(error.to_string())
}

fn billing_customer(request: &ApiRequest) -> Result<BillingCustomerQuery, Failure> {
    BillingCustomerQuery::new(request.param("CustomerId").unwrap_or_default())
        .map_err(|error| invalid(&error))
}

pub(super) fn add_plan(shared: &Shared, request: &ApiRequest) -> Handled {
    let payload: CustomerProductPlanPayload =
        request.json("product plan", shared.config.max_decoded_bytes)?;
    let plan = shared
        .store
        .add_product_plan(payload)
        .map_err(|error| store_error(&error))?;
    Ok(respond::json(StatusCode::OK, &plan))
}

pub(super) fn latest_plan(shared: &Shared, request: &ApiRequest) -> Handled {
    let query = billing_customer(request)?;
    shared
        .store
        .product_plan(query.customer_id())
        .map(|plan| respond::json(StatusCode::OK, &plan))
        .ok_or_else(|| {
            Failure::new(
                StatusCode::NOT_FOUND,
                format!("customer {} has no product plan", query.customer_id()),
            )
        })
}

pub(super) fn plans(shared: &Shared, request: &ApiRequest) -> Handled {
    let query = billing_customer(request)?;
    let plans = shared.store.product_plans(query.customer_id());
    Ok(respond::json(StatusCode::OK, &plans))
}

pub(super) fn add_order(shared: &Shared, request: &ApiRequest) -> Handled {
    let payload: PrepaidOrderPayload =
        request.json("prepaid order", shared.config.max_decoded_bytes)?;
    let order = shared
        .store
        .add_prepaid_order(&payload)
        .map_err(|error| store_error(&error))?;
    Ok(respond::json(StatusCode::OK, &order))
}

pub(super) fn orders(shared: &Shared, request: &ApiRequest) -> Handled {
    let query = super::customer_product_query(request)?;
    let orders = shared
        .store
        .prepaid_orders(query.customer_id(), query.product_id());
    Ok(respond::json(StatusCode::OK, &orders))
}

pub(super) fn delete_order(shared: &Shared, request: &ApiRequest) -> Handled {
    let query = DeletePrepaidOrderQuery::new(
        request.param("CustomerId").unwrap_or_default(),
        request.required_param(&["Id"])?,
    )
    .map_err(|error| Failure::bad_request(error.to_string().replace("order_id", "Id")))?;
    let order = shared
        .store
        .delete_prepaid_order(query.customer_id(), query.order_id())
        .map_err(|error| store_error(&error))?;
    Ok(respond::json(StatusCode::OK, &order))
}

pub(super) fn payment_status(shared: &Shared, request: &ApiRequest) -> Handled {
    let payload: PrepaidPaymentStatusPayload =
        request.json("prepaid payment status", shared.config.max_decoded_bytes)?;
    let status = shared
        .store
        .set_prepaid_payment_status(&payload)
        .map_err(|error| store_error(&error))?;
    Ok(respond::json(StatusCode::OK, &status))
}

/// The parameters both invoice endpoints share.
struct InvoiceParams {
    query: AllInvoicesQuery,
    with_payment_status: bool,
}

fn invoice_params(request: &ApiRequest) -> Result<InvoiceParams, Failure> {
    let mut query = AllInvoicesQuery::builder(request.param("customerId").unwrap_or_default());
    // Like the server (and Python's `product_id or "1"`), a blank product is the default.
    if let Some(product) = request
        .param("productId")
        .filter(|product| !product.trim().is_empty())
    {
        query = query.product_id(product);
    }
    let query = query.build().map_err(|error| invalid(&error))?;
    // Accepted for compatibility; the emulator has no cache.
    request.flag("fromCache", true)?;
    let with_payment_status = request.flag("withPaymentStatus", true)?;
    Ok(InvoiceParams {
        query,
        with_payment_status,
    })
}

pub(super) fn invoices(shared: &Shared, request: &ApiRequest) -> Handled {
    let params = invoice_params(request)?;
    let invoices = shared.store.invoices_for(
        params.query.customer_id(),
        params.query.product_id(),
        params.with_payment_status,
    );
    Ok(respond::json(StatusCode::OK, &invoices))
}

fn number<T: std::str::FromStr>(request: &ApiRequest, name: &str) -> Result<T, Failure> {
    let value = request
        .param(name)
        .ok_or_else(|| Failure::bad_request(format!("{name} is required without latest=true")))?;
    value
        .trim()
        .parse()
        .map_err(|_| Failure::bad_request(format!("{name} must be a number, not {value:?}")))
}

/// The date `year-month-day`, its errors named `invoice_start_date...` (year first, then
/// month, then the day, as the server checks them).
fn invoice_start_date(year: i32, month: u32, day: u32) -> Result<CalendarDate, Failure> {
    let named = |error: &ValidationError| Failure::bad_request(format!("invoice_start_{error}"));
    let Ok(Ok(month)) = u8::try_from(month).map(Month::try_from) else {
        // A bad year is reported before a bad month.
        CalendarDate::new(year, Month::January, 1).map_err(|error| named(&error))?;
        return Err(Failure::bad_request(
            "invoice_start_date.month must be between 1 and 12",
        ));
    };
    CalendarDate::new(year, month, u8::try_from(day).unwrap_or(u8::MAX))
        .map_err(|error| named(&error))
}

pub(super) fn invoice(shared: &Shared, request: &ApiRequest) -> Handled {
    let params = invoice_params(request)?;
    let customer = params.query.customer_id();
    let mut query = InvoiceQuery::builder(customer).product_id(params.query.product_id());
    if !request.flag("latest", false)? {
        let plan = request.param("productPlanId").ok_or_else(|| {
            Failure::bad_request("either latest=true or productPlanId, year, month and day")
        })?;
        let (year, month, day) = (
            number(request, "year")?,
            number(request, "month")?,
            number(request, "day")?,
        );
        // A blank plan is reported before a bad date, as the server does.
        if plan.trim().is_empty() {
            return Err(Failure::bad_request("product_plan_id must not be blank"));
        }
        query = query
            .product_plan_id(plan)
            .start_date(invoice_start_date(year, month, day)?);
    }
    let query = query.build().map_err(|error| invalid(&error))?;
    let invoices = shared.store.invoices_for(
        customer,
        params.query.product_id(),
        params.with_payment_status,
    );
    Store::select_invoice(&query, invoices)
        .map(|invoice| respond::json(StatusCode::OK, &invoice))
        .ok_or_else(|| Failure::new(StatusCode::NOT_FOUND, "no such invoice"))
}
