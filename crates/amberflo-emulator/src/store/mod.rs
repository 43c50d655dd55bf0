//! [`Store`]: everything the emulator holds — meter records (deduplicated), custom-schema
//! records, customers, portal sessions, product plans and prepaid orders — behind short locks.
//!
//! Records and accounts have separate locks, so ingest never waits on customer calls. A
//! poisoned lock (a panic while it was held) is recovered rather than propagated: the data
//! is plain values and stays consistent at every step.
//!
//! The per-area logic lives in `records`, `accounts` and `catalog`; this file is the `Store`
//! type, its locks and one entry point per operation.

mod accounts;
mod catalog;
mod dedup;
mod interner;
pub(crate) mod records;

use std::hash::{BuildHasher, BuildHasherDefault};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use std::collections::BTreeMap;

use amberflo_types::{
    AllUsageQuery, ApplyPromotionPayload, Customer, CustomerLifecycleStagePayload, CustomerPayload,
    CustomerPortalSessionRequest, CustomerProductPlan, CustomerProductPlanPayload,
    CustomerPromotion, Invoice, InvoiceQuery, MeterDefinition, MeterDefinitionPayload, MeterRecord,
    PrepaidOrder, PrepaidOrderPayload, PrepaidPaymentStatus, PrepaidPaymentStatusPayload,
    Promotion, RecordLimits, Rule, Signal, SignalPayload, UsageCostQuery, UsageCostReport,
    UsageQuery, UsageReport, ValidationError,
};
use serde_json::Value;

use accounts::Accounts;
pub(crate) use accounts::PortalSession;
use catalog::Catalog;
use interner::FxHasher;
use records::RecordLog;

use crate::ingest::{self, Batch, BodyEncoding, IngestError};
use crate::invoice::{self, InvoiceRequest};
use crate::usage::{self, UsageError};
use crate::view::RecordView;

/// The default limit on a decompressed ingest body: 100 MiB.
pub const DEFAULT_MAX_DECODED_BYTES: usize = 100 * 1024 * 1024;

/// Why a store operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The payload broke a rule of the API; the error names the field.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// A customer with this id already exists (HTTP 409).
    #[error("customer {0} already exists")]
    CustomerExists(String),
    /// No customer has this id (HTTP 404).
    #[error("customer {0} not found")]
    CustomerNotFound(String),
    /// The customer already has a prepaid order with this id (HTTP 409).
    #[error("prepaid order {0} already exists")]
    OrderExists(String),
    /// Something this request names does not exist (HTTP 404); the message says what.
    #[error("{0}")]
    NotFound(String),
    /// The request breaks a rule of the server's state (HTTP 400), such as
    /// "Meter already exists"; the message says which.
    #[error("{0}")]
    Rejected(String),
    /// The emulator failed on its own (a bug; HTTP 500).
    #[error("internal error: {0}")]
    Internal(String),
}

/// What one ingest call did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct IngestOutcome {
    /// Records in the request.
    pub received: usize,
    /// Records stored.
    pub stored: usize,
    /// Records dropped as duplicates of stored ones (same `uniqueId`, same content).
    pub duplicates: usize,
}

/// The emulator's in-memory state. Every method takes `&self` and is thread-safe.
///
/// An [`Emulator`](crate::Emulator) owns one (see [`Emulator::store`](crate::Emulator::store));
/// a `Store` can also be used on its own, without a server, for example to benchmark ingest.
///
/// ```
/// use amberflo_emulator::{BodyEncoding, Store};
///
/// let store = Store::new();
/// let body = br#"[{"uniqueId":"a","meterApiName":"ApiCalls","meterValue":1,
///                 "customerId":"c1","meterTimeInMillis":1700000000000}]"#;
/// let outcome = store.ingest(body, BodyEncoding::Identity)?;
/// assert_eq!((outcome.received, outcome.stored), (1, 1));
/// // The same record again is a duplicate.
/// assert_eq!(store.ingest(body, BodyEncoding::Identity)?.duplicates, 1);
/// assert_eq!(store.record_count(), 1);
/// # Ok::<(), amberflo_emulator::ingest::IngestError>(())
/// ```
#[derive(Debug)]
pub struct Store {
    records: Mutex<RecordLog>,
    accounts: Mutex<Accounts>,
    catalog: Mutex<Catalog>,
    /// Hashes unique ids for the dedup index: a fast multiplicative hash, unseeded. The
    /// emulator is a development server for trusted clients (it binds 127.0.0.1 unless told
    /// otherwise): ids crafted to collide would only slow it down.
    id_hasher: BuildHasherDefault<FxHasher>,
    max_decoded_bytes: usize,
    ingest_batches: AtomicU64,
    ingest_rejected: AtomicU64,
    duplicates: AtomicU64,
}

impl Default for Store {
    fn default() -> Self {
        Store::new()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Store {
    /// An empty store that accepts decompressed bodies up to [`DEFAULT_MAX_DECODED_BYTES`].
    pub fn new() -> Self {
        Store::with_max_decoded_bytes(DEFAULT_MAX_DECODED_BYTES)
    }

    /// An empty store that refuses gzip bodies decompressing to more than `limit` bytes.
    pub fn with_max_decoded_bytes(limit: usize) -> Self {
        Store {
            records: Mutex::default(),
            accounts: Mutex::default(),
            catalog: Mutex::default(),
            id_hasher: BuildHasherDefault::default(),
            max_decoded_bytes: limit,
            ingest_batches: AtomicU64::new(0),
            ingest_rejected: AtomicU64::new(0),
            duplicates: AtomicU64::new(0),
        }
    }

    // ----- Ingest -----

    /// Decodes, parses, validates and stores an ingest body (one record or an array), as
    /// `POST /ingest` does. Nothing is stored when any record is bad.
    pub fn ingest(
        &self,
        body: &[u8],
        encoding: BodyEncoding,
    ) -> Result<IngestOutcome, IngestError> {
        let stored = ingest::decode_body(body, encoding, self.max_decoded_bytes)
            .and_then(|json| ingest::parse_incoming(&json).map(|batch| self.store_valid(batch)));
        if stored.is_err() {
            self.ingest_rejected.fetch_add(1, Ordering::Relaxed);
        }
        stored
    }

    /// Validates and stores records, as [`ingest`](Self::ingest) does after parsing.
    pub fn insert_records(&self, records: &[MeterRecord]) -> Result<IngestOutcome, IngestError> {
        for (index, record) in records.iter().enumerate() {
            record
                .validate_with(&RecordLimits::NONE)
                .map_err(|source| IngestError::Invalid { index, source })?;
        }
        Ok(self.store_valid(Batch::from_records(records)))
    }

    /// Stores a validated batch, hashing its unique ids before taking the lock.
    fn store_valid(&self, batch: Batch<'_>) -> IngestOutcome {
        let received = batch.records.len();
        let hashes: Vec<u64> = batch
            .records
            .iter()
            .map(|record| self.id_hasher.hash_one(&record.unique_id))
            .collect();
        let duplicates = lock(&self.records).insert(batch, &hashes);
        self.ingest_batches.fetch_add(1, Ordering::Relaxed);
        self.duplicates
            .fetch_add(duplicates as u64, Ordering::Relaxed);
        IngestOutcome {
            received,
            stored: received - duplicates,
            duplicates,
        }
    }

    /// Decodes and stores a custom-schema body (`?schemaDetection=AUTO`): JSON objects kept
    /// as they are. Returns how many were stored.
    pub fn ingest_custom(&self, body: &[u8], encoding: BodyEncoding) -> Result<usize, IngestError> {
        let parsed = ingest::decode_body(body, encoding, self.max_decoded_bytes)
            .and_then(|json| ingest::parse_custom(&json));
        match parsed {
            Ok(values) => {
                let count = values.len();
                lock(&self.records).insert_custom(values);
                self.ingest_batches.fetch_add(1, Ordering::Relaxed);
                Ok(count)
            }
            Err(error) => {
                self.ingest_rejected.fetch_add(1, Ordering::Relaxed);
                Err(error)
            }
        }
    }

    // ----- Records -----

    /// A copy of every stored meter record, in arrival order.
    pub fn records(&self) -> Vec<MeterRecord> {
        lock(&self.records)
            .iter()
            .filter_map(|view| view.to_record())
            .collect()
    }

    /// The last `limit` stored records (in arrival order) of `customer_id` and for
    /// `meter_api_name`, each filter applying when given.
    pub fn latest_records(
        &self,
        customer_id: Option<&str>,
        meter_api_name: Option<&str>,
        limit: usize,
    ) -> Vec<MeterRecord> {
        let log = lock(&self.records);
        let mut latest: Vec<MeterRecord> = log
            .iter()
            .rev()
            .filter(|view| customer_id.is_none_or(|customer| view.customer_id() == customer))
            .filter(|view| meter_api_name.is_none_or(|meter| view.meter_api_name() == meter))
            .take(limit)
            .filter_map(|view| view.to_record())
            .collect();
        latest.reverse();
        latest
    }

    /// How many meter records are stored.
    pub fn record_count(&self) -> usize {
        lock(&self.records).len()
    }

    /// A copy of every stored custom-schema record, in arrival order.
    pub fn custom_records(&self) -> Vec<Value> {
        lock(&self.records).custom().to_vec()
    }

    /// How many custom-schema records are stored.
    pub fn custom_record_count(&self) -> usize {
        lock(&self.records).custom().len()
    }

    /// Drops every meter and custom-schema record (and forgets their ids, so they can be
    /// ingested again). Customers, plans and orders stay.
    pub fn clear_records(&self) {
        lock(&self.records).clear();
    }

    /// Per customer, per meter totals (brought up to date lazily), plus the `latest` records.
    pub(crate) fn summary(&self, latest: usize) -> Value {
        let mut log = lock(&self.records);
        let mut customers: Vec<Value> = Vec::new();
        let mut current: Option<(&str, Vec<Value>)> = None;
        let rows = log.summary();
        for (customer, meter, totals) in rows {
            let meter = serde_json::json!({
                "meterApiName": meter,
                "records": totals.records,
                "total": totals.total,
                "lastMeterTimeInMillis": totals.last_meter_time_in_millis,
            });
            match &mut current {
                Some((name, meters)) if *name == customer => meters.push(meter),
                _ => {
                    if let Some((name, meters)) = current.take() {
                        customers.push(serde_json::json!({"customerId": name, "meters": meters}));
                    }
                    current = Some((customer, vec![meter]));
                }
            }
        }
        if let Some((name, meters)) = current {
            customers.push(serde_json::json!({"customerId": name, "meters": meters}));
        }
        let latest: Vec<MeterRecord> = log
            .iter()
            .rev()
            .take(latest)
            .filter_map(|view| view.to_record())
            .collect();
        serde_json::json!({"customers": customers, "latest": latest})
    }

    /// What the console page shows for `query` (see [`crate::console`]).
    pub(crate) fn console(
        &self,
        query: &crate::console::ConsoleQuery,
        now_millis: i64,
    ) -> Result<Value, String> {
        let prices = self.meter_prices();
        let api_customers: Vec<String> = self
            .customers()
            .into_iter()
            .map(|customer| customer.customer_id)
            .collect();
        let mut log = lock(&self.records);
        crate::console::view(&mut log, query, &prices, &api_customers, now_millis)
    }

    // ----- Usage -----

    /// The report `POST /usage/` would return for `query`, with open ranges ending now.
    pub fn usage(&self, query: &UsageQuery) -> Result<UsageReport, UsageError> {
        let now = amberflo_types::now_seconds();
        usage::aggregate_views(lock(&self.records).iter(), query, now)
    }

    /// The reports `GET /usage/all` would return for `query`, with open ranges ending now.
    pub fn all_usage(&self, query: &AllUsageQuery) -> Result<Vec<UsageReport>, UsageError> {
        let now = amberflo_types::now_seconds();
        usage::aggregate_all_views(&lock(&self.records).iter(), query, now)
    }

    // ----- Usage cost -----

    /// Sets the price of one unit of `meter_api_name` that usage cost uses (see
    /// [`crate::cost`]); a finite number, 0 or more.
    ///
    /// ```
    /// use amberflo_emulator::Store;
    ///
    /// let store = Store::new();
    /// store.set_meter_price("ApiCalls", 0.01)?;
    /// assert!(store.set_meter_price("ApiCalls", f64::NAN).is_err());
    /// assert_eq!(store.meter_prices()["ApiCalls"], 0.01);
    /// # Ok::<(), amberflo_emulator::StoreError>(())
    /// ```
    pub fn set_meter_price(&self, meter_api_name: &str, price: f64) -> Result<(), StoreError> {
        if amberflo_types::is_blank(meter_api_name) {
            return Err(ValidationError::new("meter_api_name", Rule::Blank).into());
        }
        if !price.is_finite() || price < 0.0 {
            let rule = Rule::WrongType {
                expected: "a finite number, 0 or more",
            };
            return Err(ValidationError::new(format!("prices.{meter_api_name}"), rule).into());
        }
        lock(&self.catalog)
            .prices
            .insert(meter_api_name.to_owned(), price);
        Ok(())
    }

    /// The price per unit of every priced meter.
    pub fn meter_prices(&self) -> BTreeMap<String, f64> {
        lock(&self.catalog).prices.clone()
    }

    /// The page `POST /payments/cost/usage-cost` would return for `query`, with open ranges
    /// ending now.
    pub fn usage_cost(&self, query: &UsageCostQuery) -> Result<UsageCostReport, UsageError> {
        let now = amberflo_types::now_seconds();
        let prices = self.meter_prices();
        crate::cost::usage_cost(lock(&self.records).iter(), query, &prices, now)
    }

    // ----- Signals -----

    /// Every signal, ordered by id.
    pub fn signals(&self) -> Vec<Signal> {
        lock(&self.catalog).signals()
    }

    /// One signal, if it exists.
    pub fn signal(&self, id: &str) -> Option<Signal> {
        lock(&self.catalog).signal(id)
    }

    /// Creates a signal (`POST /notification`); the payload must have no id.
    pub fn create_signal(&self, payload: &SignalPayload) -> Result<Signal, StoreError> {
        payload.validate()?;
        lock(&self.catalog).create_signal(payload, amberflo_types::now_millis())
    }

    /// Replaces a signal (`PUT /notification`); the payload must have the id.
    pub fn update_signal(&self, payload: &SignalPayload) -> Result<Signal, StoreError> {
        payload.validate()?;
        lock(&self.catalog).update_signal(payload, amberflo_types::now_millis())
    }

    /// Deletes a signal, returning it.
    pub fn delete_signal(&self, id: &str) -> Result<Signal, StoreError> {
        lock(&self.catalog).delete_signal(id)
    }

    // ----- Promotions -----

    /// Adds (or replaces) a promotion of the account, for tests and examples to apply.
    ///
    /// ```
    /// use amberflo_emulator::Store;
    /// use amberflo_types::Promotion;
    ///
    /// let store = Store::new();
    /// let promotion: Promotion = serde_json::from_str(r#"{"id": "launch", "promotionName": "Launch"}"#).unwrap();
    /// store.add_promotion(promotion);
    /// assert_eq!(store.promotions().len(), 1);
    /// ```
    pub fn add_promotion(&self, promotion: Promotion) {
        lock(&self.catalog).add_promotion(promotion);
    }

    /// Every promotion of the account, ordered by id.
    pub fn promotions(&self) -> Vec<Promotion> {
        lock(&self.catalog).promotions()
    }

    /// One promotion of the account, if it exists.
    pub fn promotion(&self, id: &str) -> Option<Promotion> {
        lock(&self.catalog).promotion(id)
    }

    /// Applies an account promotion to a customer (404 for an unknown promotion, 400 when it
    /// is already applied for the product).
    pub fn apply_promotion(
        &self,
        payload: &ApplyPromotionPayload,
    ) -> Result<CustomerPromotion, StoreError> {
        payload.validate()?;
        lock(&self.catalog).apply_promotion(payload, amberflo_types::now_seconds())
    }

    /// The promotions applied to a customer for a product, in the order applied.
    pub fn applied_promotions(
        &self,
        customer_id: &str,
        product_id: &str,
    ) -> Vec<CustomerPromotion> {
        lock(&self.catalog).applied_promotions(customer_id, product_id)
    }

    /// Removes a promotion (by promotion id, or by the id of its application) from a
    /// customer, returning it.
    pub fn remove_promotion(
        &self,
        customer_id: &str,
        id: &str,
    ) -> Result<CustomerPromotion, StoreError> {
        lock(&self.catalog).remove_promotion(customer_id, id, amberflo_types::now_seconds())
    }

    // ----- Meter definitions -----

    /// Every meter definition, ordered by id.
    pub fn meter_definitions(&self) -> Vec<MeterDefinition> {
        lock(&self.catalog).meters()
    }

    /// The meter definition with this API name, if it exists.
    pub fn meter_definition(&self, meter_api_name: &str) -> Option<MeterDefinition> {
        lock(&self.catalog).meter_by_name(meter_api_name)
    }

    /// Creates a meter definition (400 "Meter already exists" for a taken name).
    pub fn create_meter_definition(
        &self,
        payload: &MeterDefinitionPayload,
    ) -> Result<MeterDefinition, StoreError> {
        payload.validate()?;
        lock(&self.catalog).create_meter(payload)
    }

    /// Replaces a meter definition; the payload needs the server id (else 400 "Meter
    /// already exists", as the API answers).
    pub fn update_meter_definition(
        &self,
        payload: &MeterDefinitionPayload,
    ) -> Result<MeterDefinition, StoreError> {
        payload.validate()?;
        lock(&self.catalog).update_meter(payload)
    }

    /// Deletes a deprecated meter definition by id, returning it.
    pub fn delete_meter_definition(&self, id: &str) -> Result<MeterDefinition, StoreError> {
        lock(&self.catalog).delete_meter(id)
    }

    // ----- Customers -----

    /// Every customer, ordered by id.
    pub fn customers(&self) -> Vec<Customer> {
        lock(&self.accounts).customers().cloned().collect()
    }

    /// How many customers exist.
    pub fn customer_count(&self) -> usize {
        lock(&self.accounts).customer_count()
    }

    /// One customer, if it exists.
    pub fn customer(&self, customer_id: &str) -> Option<Customer> {
        lock(&self.accounts).customer(customer_id).cloned()
    }

    /// Creates a customer (`POST /customers/`); with `create_in_stripe` it gets a `stripeId`
    /// trait `cus_emulated_<customerId>`. Fails if the id is taken or the payload is invalid.
    pub fn create_customer(
        &self,
        payload: CustomerPayload,
        create_in_stripe: bool,
    ) -> Result<Customer, StoreError> {
        payload.validate()?;
        let now = amberflo_types::now_millis();
        lock(&self.accounts).create_customer(payload, create_in_stripe, now)
    }

    /// Replaces an existing customer (`PUT /customers/`), keeping its creation time.
    pub fn replace_customer(&self, payload: CustomerPayload) -> Result<Customer, StoreError> {
        payload.validate()?;
        let now = amberflo_types::now_millis();
        lock(&self.accounts).replace_customer(payload, now)
    }

    /// Deletes a customer (`DELETE /customers/<id>`), returning it.
    pub fn delete_customer(&self, customer_id: &str) -> Result<Customer, StoreError> {
        lock(&self.accounts).delete_customer(customer_id)
    }

    /// Moves a customer to a lifecycle stage (`PUT /customers/stage`), returning it.
    pub fn set_lifecycle_stage(
        &self,
        payload: &CustomerLifecycleStagePayload,
    ) -> Result<Customer, StoreError> {
        payload.validate()?;
        let now = amberflo_types::now_millis();
        lock(&self.accounts).set_lifecycle_stage(payload, now)
    }

    pub(crate) fn create_session(
        &self,
        request: &CustomerPortalSessionRequest,
        token: String,
    ) -> Result<(), StoreError> {
        request.validate()?;
        let now = amberflo_types::now_millis();
        lock(&self.accounts).create_session(request, token, now);
        Ok(())
    }

    pub(crate) fn session(&self, token: &str) -> Option<PortalSession> {
        lock(&self.accounts).session(token).cloned()
    }

    // ----- Billing -----

    /// Assigns a product plan (`POST .../customer-pricing`); a missing start becomes now.
    pub fn add_product_plan(
        &self,
        payload: CustomerProductPlanPayload,
    ) -> Result<CustomerProductPlan, StoreError> {
        payload.validate()?;
        let now = amberflo_types::now_seconds();
        Ok(lock(&self.accounts).add_plan(payload, now))
    }

    /// Every product plan of a customer, oldest first.
    pub fn product_plans(&self, customer_id: &str) -> Vec<CustomerProductPlan> {
        lock(&self.accounts).plans(customer_id).to_vec()
    }

    /// The customer's latest product plan (the last one assigned).
    pub fn product_plan(&self, customer_id: &str) -> Option<CustomerProductPlan> {
        lock(&self.accounts).plans(customer_id).last().cloned()
    }

    /// Records a prepaid order (`POST .../customer-prepaid`); ids are unique per customer.
    pub fn add_prepaid_order(
        &self,
        payload: &PrepaidOrderPayload,
    ) -> Result<PrepaidOrder, StoreError> {
        payload.validate()?;
        lock(&self.accounts).add_order(payload)
    }

    /// The customer's prepaid orders for a product, in creation order.
    pub fn prepaid_orders(&self, customer_id: &str, product_id: &str) -> Vec<PrepaidOrder> {
        lock(&self.accounts).orders(customer_id, product_id)
    }

    /// Deletes a customer's prepaid order, returning it.
    pub fn delete_prepaid_order(
        &self,
        customer_id: &str,
        order_id: &str,
    ) -> Result<PrepaidOrder, StoreError> {
        lock(&self.accounts).delete_order(customer_id, order_id)
    }

    /// Records the status of an external payment on the prepaid order whose id is the
    /// payload's `prepaidUri` (or its last `/` segment); the order then carries
    /// `paymentStatus` (and the payment's system, id and time) among its fields.
    pub fn set_prepaid_payment_status(
        &self,
        payload: &PrepaidPaymentStatusPayload,
    ) -> Result<PrepaidPaymentStatus, StoreError> {
        payload.validate()?;
        lock(&self.accounts).set_payment_status(payload)
    }

    /// Every emulated invoice of the customer for the product (see [`crate::invoice`]), oldest
    /// first, with payment status.
    pub fn invoices(&self, customer_id: &str, product_id: &str) -> Vec<Invoice> {
        self.invoices_for(customer_id, product_id, true)
    }

    /// The customer's latest (open) invoice for the product, if it has a product plan.
    pub fn latest_invoice(&self, customer_id: &str, product_id: &str) -> Option<Invoice> {
        self.invoices(customer_id, product_id).pop()
    }

    pub(crate) fn invoices_for(
        &self,
        customer_id: &str,
        product_id: &str,
        with_payment_status: bool,
    ) -> Vec<Invoice> {
        let plans = self.product_plans(customer_id);
        let prices = self.meter_prices();
        let request = InvoiceRequest {
            customer_id,
            product_id,
            with_payment_status,
            prices: &prices,
            now_seconds: amberflo_types::now_seconds(),
        };
        invoice::invoices(lock(&self.records).iter(), &plans, &request)
    }

    /// Picks the invoice an [`InvoiceQuery`] asks for out of `invoices` (oldest first): the
    /// latest one, or the one of the given plan starting on the given date.
    pub(crate) fn select_invoice(
        query: &InvoiceQuery,
        mut invoices: Vec<Invoice>,
    ) -> Option<Invoice> {
        if query.is_latest() {
            return invoices.pop();
        }
        let date = query.start_date()?;
        let plan = query.product_plan_id()?;
        let key = (
            i64::from(date.year()),
            u32::from(date.month().number()),
            u32::from(date.day()),
        );
        invoices
            .into_iter()
            .find(|invoice| invoice::invoice_key(invoice) == Some((key, plan)))
    }

    /// Drops every customer, session, plan and order, and every signal, promotion, meter
    /// definition and price (records stay).
    pub fn clear_accounts(&self) {
        lock(&self.accounts).clear();
        lock(&self.catalog).clear();
    }

    // ----- Counters -----

    /// Ingest requests accepted so far.
    pub fn ingest_batches(&self) -> u64 {
        self.ingest_batches.load(Ordering::Relaxed)
    }

    /// Ingest requests rejected (bad gzip, JSON or record) so far.
    pub fn ingest_rejected(&self) -> u64 {
        self.ingest_rejected.load(Ordering::Relaxed)
    }

    /// Records dropped as duplicates so far.
    pub fn duplicates_dropped(&self) -> u64 {
        self.duplicates.load(Ordering::Relaxed)
    }
}
