//! The routes table: `Route::resolve` maps a path to a route, `dispatch` checks the method
//! (405 with `Allow` otherwise) and calls the handler of that API area.
//!
//! | method | path | handler |
//! |---|---|---|
//! | POST | `/ingest` | `ingest` (`?schemaDetection=AUTO` for custom records) |
//! | POST | `/usage` | `usage` |
//! | POST | `/usage/batch` | `usage` |
//! | GET | `/usage/all` | `usage` |
//! | GET, POST, PUT | `/customers` | `customers` |
//! | GET, DELETE | `/customers/<id>` | `customers` |
//! | PUT | `/customers/stage` | `customers` |
//! | POST | `/session` | `customers` |
//! | GET, POST | `/payments/pricing/amberflo/customer-pricing` | `billing` |
//! | GET | `/payments/pricing/amberflo/customer-pricing/list` | `billing` |
//! | POST, DELETE | `/payments/pricing/amberflo/customer-prepaid` | `billing` |
//! | POST | `/payments/external/prepaid-payment-status` | `billing` |
//! | POST | `/payments/cost/usage-cost` | `catalog` |
//! | GET, POST, PUT | `/notification` | `catalog` |
//! | GET, DELETE | `/notification/<id>` | `catalog` |
//! | GET | `/payments/pricing/amberflo/account-pricing/promotions` (`?id=`), `.../promotions/list` | `catalog` |
//! | POST, DELETE | `/payments/pricing/amberflo/customer-promotions` | `catalog` |
//! | GET | `/payments/pricing/amberflo/customer-promotions/list` | `catalog` |
//! | GET, POST, PUT | `/meters` | `catalog` |
//! | DELETE | `/meters/<id>` | `catalog` |
//! | GET | `/payments/pricing/amberflo/customer-prepaid/list` | `billing` |
//! | GET | `/payments/billing/customer-product-invoice` | `billing` |
//! | GET | `/payments/billing/customer-product-invoice/all` | `billing` |
//! | GET | `/`, `/favicon.ico` (204, so browsers do not count as API 404s) | `page` |
//! | GET | `/portal/<token>` | `page` |
//! | GET, POST, DELETE | `/_emulator/faults` | `control` |
//! | GET, DELETE | `/_emulator/records` | `control` |
//! | GET | `/_emulator/custom-records`, `/_emulator/stats`, `/_emulator/summary`, `/_emulator/console` | `control` |
//! | GET, POST | `/_emulator/prices`, `/_emulator/promotions`, `/_emulator/client-stats` | `control` |
//!
//! A trailing `/` is ignored (`/ingest/` is `/ingest`).

mod billing;
mod catalog;
mod control;
mod customers;
mod ingest;
mod page;
mod usage;

use amberflo_types::CustomerProductQuery;
use http::{Method, StatusCode};

use crate::server::respond::{self, Failure, Reply};
use crate::server::{ApiRequest, Shared, request};
use crate::store::StoreError;

const PRICING: &str = "/payments/pricing/amberflo/customer-pricing";
const PREPAID: &str = "/payments/pricing/amberflo/customer-prepaid";
const INVOICE: &str = "/payments/billing/customer-product-invoice";
const PROMOTIONS: &str = "/payments/pricing/amberflo/account-pricing/promotions";
const CUSTOMER_PROMOTIONS: &str = "/payments/pricing/amberflo/customer-promotions";

/// Every endpoint the emulator serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    Page,
    Favicon,
    Portal(String),
    Ingest,
    Usage,
    UsageBatch,
    UsageAll,
    Customers,
    Customer(String),
    Session,
    Pricing,
    PricingList,
    Prepaid,
    PrepaidList,
    Invoice,
    Invoices,
    PaymentStatus,
    UsageCost,
    Signals,
    Signal(String),
    Promotions,
    PromotionList,
    CustomerPromotions,
    CustomerPromotionList,
    Meters,
    Meter(String),
    Prices,
    TestPromotions,
    Faults,
    Records,
    CustomRecords,
    Stats,
    Summary,
    Console,
    ClientStats,
}

impl Route {
    /// The route of a normalised path (no trailing `/`), if there is one.
    pub(crate) fn resolve(path: &str) -> Option<Route> {
        let route = match path {
            "/" => Route::Page,
            "/favicon.ico" => Route::Favicon,
            "/ingest" => Route::Ingest,
            "/usage" => Route::Usage,
            "/usage/batch" => Route::UsageBatch,
            "/usage/all" => Route::UsageAll,
            "/customers" => Route::Customers,
            "/session" => Route::Session,
            PRICING => Route::Pricing,
            "/payments/pricing/amberflo/customer-pricing/list" => Route::PricingList,
            PREPAID => Route::Prepaid,
            "/payments/pricing/amberflo/customer-prepaid/list" => Route::PrepaidList,
            INVOICE => Route::Invoice,
            "/payments/billing/customer-product-invoice/all" => Route::Invoices,
            "/payments/external/prepaid-payment-status" => Route::PaymentStatus,
            "/payments/cost/usage-cost" => Route::UsageCost,
            "/notification" => Route::Signals,
            PROMOTIONS => Route::Promotions,
            "/payments/pricing/amberflo/account-pricing/promotions/list" => Route::PromotionList,
            CUSTOMER_PROMOTIONS => Route::CustomerPromotions,
            "/payments/pricing/amberflo/customer-promotions/list" => Route::CustomerPromotionList,
            "/meters" => Route::Meters,
            "/_emulator/prices" => Route::Prices,
            "/_emulator/promotions" => Route::TestPromotions,
            "/_emulator/faults" => Route::Faults,
            "/_emulator/records" => Route::Records,
            "/_emulator/custom-records" => Route::CustomRecords,
            "/_emulator/stats" => Route::Stats,
            "/_emulator/summary" => Route::Summary,
            "/_emulator/console" => Route::Console,
            "/_emulator/client-stats" => Route::ClientStats,
            _ => return Route::with_segment(path),
        };
        Some(route)
    }

    /// Routes with an id in the path: `/customers/<id>` and `/portal/<token>`.
    fn with_segment(path: &str) -> Option<Route> {
        let single = |prefix: &str| {
            path.strip_prefix(prefix)
                .filter(|rest| !rest.is_empty() && !rest.contains('/'))
                .map(request::percent_decode)
        };
        if let Some(id) = single("/customers/") {
            return Some(Route::Customer(id));
        }
        if let Some(id) = single("/notification/") {
            return Some(Route::Signal(id));
        }
        if let Some(id) = single("/meters/") {
            return Some(Route::Meter(id));
        }
        single("/portal/").map(Route::Portal)
    }

    /// Whether this is an Amberflo API route (authenticated, subject to faults, counted),
    /// rather than one of the emulator's own.
    pub(crate) fn is_api(&self) -> bool {
        !matches!(
            self,
            Route::Page
                | Route::Favicon
                | Route::Portal(_)
                | Route::Prices
                | Route::TestPromotions
                | Route::Faults
                | Route::Records
                | Route::CustomRecords
                | Route::Stats
                | Route::Summary
                | Route::Console
                | Route::ClientStats
        )
    }

    /// The methods the route accepts.
    fn methods(&self) -> &'static [Method] {
        match self {
            Route::Ingest
            | Route::Usage
            | Route::UsageBatch
            | Route::Session
            | Route::PaymentStatus
            | Route::UsageCost => &[Method::POST],
            Route::Prepaid | Route::CustomerPromotions => &[Method::POST, Method::DELETE],
            Route::Customers | Route::Signals | Route::Meters => {
                &[Method::GET, Method::POST, Method::PUT]
            }
            // `/customers/stage` is also `PUT`; any other id is a customer to get or delete.
            Route::Customer(id) if id == "stage" => &[Method::GET, Method::DELETE, Method::PUT],
            Route::Customer(_) | Route::Signal(_) | Route::Records => {
                &[Method::GET, Method::DELETE]
            }
            Route::Meter(_) => &[Method::DELETE],
            Route::Prices | Route::TestPromotions | Route::ClientStats => {
                &[Method::GET, Method::POST]
            }
            Route::Pricing => &[Method::GET, Method::POST],
            Route::Faults => &[Method::GET, Method::POST, Method::DELETE],
            _ => &[Method::GET],
        }
    }
}

/// What a handler returns: its reply, or a refusal (which `?` can return early).
type Handled = Result<Reply, Failure>;

/// Answers a request for `route`.
pub(crate) fn dispatch(shared: &Shared, route: &Route, request: &ApiRequest) -> Reply {
    let methods = route.methods();
    if !methods.contains(&request.method) {
        return respond::method_not_allowed(&request.method, methods);
    }
    let method = &request.method;
    let handled = match route {
        Route::Page => page::index(),
        Route::Favicon => page::favicon(),
        Route::Portal(token) => page::portal(shared, token),
        Route::Ingest => ingest::ingest(shared, request),
        Route::Usage => usage::one(shared, request),
        Route::UsageBatch => usage::batch(shared, request),
        Route::UsageAll => usage::all(shared, request),
        Route::Customers if method == Method::POST => customers::create(shared, request),
        Route::Customers if method == Method::PUT => customers::replace(shared, request),
        Route::Customers => customers::list_or_get(shared, request),
        // Only `/customers/stage` takes `PUT` (see `Route::methods`).
        Route::Customer(_) if method == Method::PUT => customers::stage(shared, request),
        Route::Customer(id) if method == Method::DELETE => customers::delete(shared, id),
        Route::Customer(id) => customers::get(shared, id),
        Route::Session => customers::session(shared, request),
        Route::Pricing if method == Method::POST => billing::add_plan(shared, request),
        Route::Pricing => billing::latest_plan(shared, request),
        Route::PricingList => billing::plans(shared, request),
        Route::Prepaid if method == Method::DELETE => billing::delete_order(shared, request),
        Route::Prepaid => billing::add_order(shared, request),
        Route::PaymentStatus => billing::payment_status(shared, request),
        Route::UsageCost => catalog::usage_cost(shared, request),
        Route::Signals if method == Method::POST => catalog::create_signal(shared, request),
        Route::Signals if method == Method::PUT => catalog::update_signal(shared, request),
        Route::Signals => catalog::signals(shared),
        Route::Signal(id) if method == Method::DELETE => catalog::delete_signal(shared, id),
        Route::Signal(id) => catalog::signal(shared, id),
        Route::Promotions => catalog::promotion(shared, request),
        Route::PromotionList => catalog::promotions(shared),
        Route::CustomerPromotions if method == Method::DELETE => {
            catalog::remove_promotion(shared, request)
        }
        Route::CustomerPromotions => catalog::apply_promotion(shared, request),
        Route::CustomerPromotionList => catalog::applied_promotions(shared, request),
        Route::Meters if method == Method::POST => catalog::create_meter(shared, request),
        Route::Meters if method == Method::PUT => catalog::update_meter(shared, request),
        Route::Meters => catalog::meters(shared, request),
        Route::Meter(id) => catalog::delete_meter(shared, id),
        Route::Prices => control::prices(shared, request),
        Route::TestPromotions => control::promotions(shared, request),
        Route::PrepaidList => billing::orders(shared, request),
        Route::Invoice => billing::invoice(shared, request),
        Route::Invoices => billing::invoices(shared, request),
        Route::Faults => control::faults(shared, request),
        Route::Records if method == Method::DELETE => control::clear_records(shared),
        Route::Records => control::records(shared, request),
        Route::CustomRecords => control::custom_records(shared),
        Route::Stats => control::stats(shared),
        Route::Summary => control::summary(shared),
        Route::Console => control::console(shared, request),
        Route::ClientStats => control::client_stats(shared, request),
    };
    handled.unwrap_or_else(Failure::into_reply)
}

/// The response for a refused store operation.
/// The `?CustomerId=&ProductId=` of the prepaid order and applied promotion lists.
fn customer_product_query(request: &ApiRequest) -> Result<CustomerProductQuery, Failure> {
    let mut query = CustomerProductQuery::builder(request.param("CustomerId").unwrap_or_default());
    if let Some(product) = request.param("ProductId") {
        query = query.product_id(product);
    }
    query
        .build()
        .map_err(|error| Failure::bad_request(error.to_string()))
}

fn store_error(error: &StoreError) -> Failure {
    let status = match error {
        StoreError::Invalid(_) => StatusCode::BAD_REQUEST,
        StoreError::CustomerExists(_) | StoreError::OrderExists(_) => StatusCode::CONFLICT,
        StoreError::CustomerNotFound(_) | StoreError::NotFound(_) => StatusCode::NOT_FOUND,
        StoreError::Rejected(_) => StatusCode::BAD_REQUEST,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    Failure::new(status, error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_paths() {
        assert_eq!(Route::resolve("/ingest"), Some(Route::Ingest));
        assert_eq!(
            Route::resolve("/customers/a%20b"),
            Some(Route::Customer("a b".to_owned()))
        );
        assert_eq!(Route::resolve("/customers/a/b"), None);
        assert_eq!(Route::resolve("/nope"), None);
        assert!(!Route::Stats.is_api());
        assert_eq!(
            Route::resolve("/_emulator/client-stats"),
            Some(Route::ClientStats)
        );
        assert!(!Route::ClientStats.is_api());
        assert!(Route::Invoices.is_api());
    }
}
