//! Customers, portal sessions, product plans and prepaid orders, kept in memory.

use std::collections::{BTreeMap, HashMap};

use amberflo_types::{
    Customer, CustomerLifecycleStagePayload, CustomerPayload, CustomerPortalSessionRequest,
    CustomerProductPlan, CustomerProductPlanPayload, EpochMillis, EpochSeconds, PrepaidOrder,
    PrepaidOrderPayload, PrepaidPaymentStatus, PrepaidPaymentStatusPayload,
};

use super::StoreError;

/// How long a portal session lives when the request sets no expiry: one hour.
const DEFAULT_SESSION_MILLIS: i64 = 3_600_000;

/// A portal session handed out by `POST /session`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PortalSession {
    pub(crate) customer_id: String,
    pub(crate) expires_at_millis: i64,
    pub(crate) return_url: Option<String>,
}

/// Everything account-related the emulator holds.
#[derive(Debug, Default)]
pub(crate) struct Accounts {
    customers: BTreeMap<String, Customer>,
    sessions: HashMap<String, PortalSession>,
    plans: BTreeMap<String, Vec<CustomerProductPlan>>,
    orders: BTreeMap<String, Vec<PrepaidOrder>>,
}

impl Accounts {
    pub(crate) fn customers(&self) -> impl Iterator<Item = &Customer> {
        self.customers.values()
    }

    pub(crate) fn customer_count(&self) -> usize {
        self.customers.len()
    }

    pub(crate) fn customer(&self, customer_id: &str) -> Option<&Customer> {
        self.customers.get(customer_id)
    }

    pub(crate) fn create_customer(
        &mut self,
        payload: CustomerPayload,
        create_in_stripe: bool,
        now_millis: i64,
    ) -> Result<Customer, StoreError> {
        if self.customers.contains_key(payload.customer_id()) {
            return Err(StoreError::CustomerExists(payload.customer_id().to_owned()));
        }
        let mut customer = Customer::from(payload);
        if create_in_stripe {
            let stripe_id = format!("cus_emulated_{}", customer.customer_id);
            customer.traits.insert("stripeId".to_owned(), stripe_id);
        }
        customer.create_time = Some(EpochMillis::new(now_millis));
        customer.update_time = Some(EpochMillis::new(now_millis));
        // The TypeScript SDK's `Customer` has an `id`: the customer id, in its sample.
        customer
            .extra
            .insert("id".to_owned(), customer.customer_id.clone().into());
        self.customers
            .insert(customer.customer_id.clone(), customer.clone());
        Ok(customer)
    }

    pub(crate) fn replace_customer(
        &mut self,
        payload: CustomerPayload,
        now_millis: i64,
    ) -> Result<Customer, StoreError> {
        let Some(existing) = self.customers.get_mut(payload.customer_id()) else {
            return Err(StoreError::CustomerNotFound(
                payload.customer_id().to_owned(),
            ));
        };
        let mut customer = Customer::from(payload);
        customer.create_time = existing.create_time;
        if let Some(id) = existing.extra.get("id") {
            customer.extra.insert("id".to_owned(), id.clone());
        }
        customer.update_time = Some(EpochMillis::new(now_millis));
        *existing = customer.clone();
        Ok(customer)
    }

    pub(crate) fn delete_customer(&mut self, customer_id: &str) -> Result<Customer, StoreError> {
        self.customers
            .remove(customer_id)
            .ok_or_else(|| StoreError::CustomerNotFound(customer_id.to_owned()))
    }

    pub(crate) fn set_lifecycle_stage(
        &mut self,
        payload: &CustomerLifecycleStagePayload,
        now_millis: i64,
    ) -> Result<Customer, StoreError> {
        let Some(customer) = self.customers.get_mut(payload.customer_id()) else {
            return Err(StoreError::CustomerNotFound(
                payload.customer_id().to_owned(),
            ));
        };
        customer.lifecycle_stage = Some(payload.lifecycle_stage().clone());
        customer.update_time = Some(EpochMillis::new(now_millis));
        Ok(customer.clone())
    }

    pub(crate) fn create_session(
        &mut self,
        request: &CustomerPortalSessionRequest,
        token: String,
        now_millis: i64,
    ) {
        let session = PortalSession {
            customer_id: request.customer_id().to_owned(),
            expires_at_millis: request
                .expiration_epoch_milliseconds()
                .unwrap_or(now_millis.saturating_add(DEFAULT_SESSION_MILLIS)),
            return_url: request.return_url().map(str::to_owned),
        };
        self.sessions.insert(token, session);
    }

    pub(crate) fn session(&self, token: &str) -> Option<&PortalSession> {
        self.sessions.get(token)
    }

    pub(crate) fn add_plan(
        &mut self,
        payload: CustomerProductPlanPayload,
        now_seconds: i64,
    ) -> CustomerProductPlan {
        let mut plan = CustomerProductPlan::from(payload);
        plan.start_time_in_seconds
            .get_or_insert(EpochSeconds::new(now_seconds));
        self.plans
            .entry(plan.customer_id.clone())
            .or_default()
            .push(plan.clone());
        plan
    }

    /// Every plan of a customer, oldest first.
    pub(crate) fn plans(&self, customer_id: &str) -> &[CustomerProductPlan] {
        self.plans.get(customer_id).map_or(&[], Vec::as_slice)
    }

    pub(crate) fn add_order(
        &mut self,
        payload: &PrepaidOrderPayload,
    ) -> Result<PrepaidOrder, StoreError> {
        let orders = self
            .orders
            .entry(payload.customer_id().to_owned())
            .or_default();
        if orders.iter().any(|order| order.id == payload.id()) {
            return Err(StoreError::OrderExists(payload.id().to_owned()));
        }
        // The stored order is the payload as sent, read back leniently, with the URI of its
        // first invoice (what an external payment is reported for).
        let mut order: PrepaidOrder = reread(payload)?;
        // Worth its price unless the order says otherwise (the Go SDK's 0 means unset). The
        // status fields the Go and TypeScript SDKs read: the order is active, its payment
        // pending until reported (`POST /payments/external/prepaid-payment-status`), and its
        // first cycle ends one recurrence after the start (at the start without one).
        if let Some(period) = payload.recurrence_frequency() {
            let unit = period.unit();
            crate::usage::supported(
                "recurrence_frequency.unit",
                unit.as_str(),
                unit.is_other(),
                amberflo_types::BillingPeriodUnit::KNOWN,
            )
            .map_err(|error| StoreError::Rejected(error.to_string()))?;
        }
        let worth = payload.original_worth().unwrap_or(payload.prepaid_price());
        let first_cycle_end = payload
            .recurrence_frequency()
            .map_or(payload.start_time_in_seconds(), |period| {
                crate::calendar::after(payload.start_time_in_seconds(), period)
            });
        for (key, value) in [
            ("originalWorth", worth.into()),
            ("internalStatus", "active".into()),
            ("paymentStatus", "PENDING".into()),
            ("firstCardEndTimeSeconds", first_cycle_end.into()),
        ] {
            order.extra.insert(key.to_owned(), value);
        }
        order.first_invoice_uri = Some(format!(
            "{}/prepaid/{}",
            payload.customer_id(),
            payload.id()
        ));
        orders.push(order.clone());
        Ok(order)
    }

    pub(crate) fn orders(&self, customer_id: &str, product_id: &str) -> Vec<PrepaidOrder> {
        self.orders
            .get(customer_id)
            .map(|orders| {
                orders
                    .iter()
                    .filter(|order| order.product_id == product_id)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    pub(crate) fn delete_order(
        &mut self,
        customer_id: &str,
        order_id: &str,
    ) -> Result<PrepaidOrder, StoreError> {
        let no_order = || {
            StoreError::NotFound(format!(
                "customer {customer_id} has no prepaid order {order_id}"
            ))
        };
        let orders = self.orders.get_mut(customer_id).ok_or_else(no_order)?;
        let position = orders
            .iter()
            .position(|order| order.id == order_id)
            .ok_or_else(no_order)?;
        Ok(orders.remove(position))
    }

    /// Records an external payment's status on the order whose `firstInvoiceUri` is the
    /// `prepaidUri`; else on the order whose id is the URI (or its last `/` segment), when
    /// exactly one customer has such an order (order ids are unique per customer only).
    pub(crate) fn set_payment_status(
        &mut self,
        payload: &PrepaidPaymentStatusPayload,
    ) -> Result<PrepaidPaymentStatus, StoreError> {
        let uri = payload.prepaid_uri();
        let order_id = uri.rsplit('/').next().unwrap_or(uri);
        let by_uri = |order: &PrepaidOrder| order.first_invoice_uri.as_deref() == Some(uri);
        let orders = self.orders.values().flatten();
        let by_id = orders.clone().filter(|order| order.id == order_id).count() == 1;
        let order = if orders.clone().any(by_uri) {
            self.orders
                .values_mut()
                .flatten()
                .find(|order| by_uri(order))
        } else if by_id {
            self.orders
                .values_mut()
                .flatten()
                .find(|order| order.id == order_id)
        } else {
            None
        };
        let order =
            order.ok_or_else(|| StoreError::NotFound(format!("prepaid order {uri} not found")))?;
        let status = serde_json::Value::String(payload.payment_status().as_str().to_owned());
        order.extra.insert("paymentStatus".to_owned(), status);
        for (key, value) in [
            ("paymentSystemName", payload.system_name()),
            ("paymentId", payload.payment_id()),
        ] {
            if let Some(value) = value {
                order
                    .extra
                    .insert(key.to_owned(), serde_json::Value::String(value.to_owned()));
            }
        }
        if let Some(seconds) = payload.payment_time_in_seconds() {
            order
                .extra
                .insert("paymentTimeInSeconds".to_owned(), seconds.into());
        }
        // The reply echoes the report, as the Go SDK's `PrepaidPaymentStatus` reads it.
        reread(payload)
    }

    pub(crate) fn clear(&mut self) {
        *self = Accounts::default();
    }
}

/// `value`'s JSON read back as a `T`: a payload stored or echoed as the response type.
fn reread<T: serde::de::DeserializeOwned>(value: &impl serde::Serialize) -> Result<T, StoreError> {
    serde_json::to_value(value)
        .and_then(serde_json::from_value)
        .map_err(|error| StoreError::Internal(error.to_string()))
}
