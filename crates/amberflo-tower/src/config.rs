//! [`MeteringLayerBuilder`] and what it is made of: meters ([`MeterValue`]), dimensions
//! ([`Dimension`]), the customer lookup and [`MissingCustomer`], and [`ConfigError`].
//!
//! One file on purpose: the builder's setters and the types they take are read together, and
//! much of its length is tests.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use amberflo::{Client, MeterRecord, ValidationError};
use http::header::HeaderName;
use http::request::Parts;
use http::{Method, StatusCode};

use crate::layer::MeteringLayer;
use crate::shared::{Counters, CustomerSource, DimKind, DimSpec, MeterSpec, Shared};

/// The header [`MeteringLayer::new`] reads the customer id from: `x-customer-id`.
pub const DEFAULT_CUSTOMER_HEADER: &str = "x-customer-id";

/// What one meter records for a request.
///
/// ```
/// use amberflo_tower::MeterValue;
///
/// // Bytes sent, but only for successful responses (`None` skips the record).
/// let ok_bytes = MeterValue::custom(|request| {
///     request.status().filter(|status| status.is_success()).map(|_| request.response_bytes() as f64)
/// });
/// # let _ = ok_bytes;
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum MeterValue {
    /// 1 per request.
    Count,
    /// The response body's bytes sent (until the end, or until it was dropped).
    ResponseBytes,
    /// The request body's bytes the service read.
    RequestBytes,
    /// Milliseconds from the request's arrival to the end of its response body (or to the
    /// moment the response was dropped), with fractions.
    LatencyMillis,
    /// A value computed from the finished request; see [`MeterValue::custom`].
    Custom(ValueFn),
}

impl MeterValue {
    /// A value computed from the [`RequestSummary`] once the response is over; `None` meters
    /// nothing for this request. Request body bytes are counted when a layer has a custom
    /// meter.
    ///
    /// ```
    /// use amberflo_tower::MeterValue;
    ///
    /// let seconds = MeterValue::custom(|request| Some(request.latency().as_secs_f64()));
    /// # let _ = seconds;
    /// ```
    pub fn custom<F>(value: F) -> Self
    where
        F: Fn(&RequestSummary<'_>) -> Option<f64> + Send + Sync + 'static,
    {
        MeterValue::Custom(ValueFn(Arc::new(value)))
    }
}

/// The closure of a [`MeterValue::Custom`] meter.
#[derive(Clone)]
pub struct ValueFn(pub(crate) Arc<ValueClosure>);

type ValueClosure = dyn Fn(&RequestSummary<'_>) -> Option<f64> + Send + Sync;

impl fmt::Debug for ValueFn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ValueFn(..)")
    }
}

/// A dimension the layer adds to every record, each with a default name
/// ([`default_name`](Self::default_name)).
///
/// A dimension whose value is unknown for a request (no `Host`, no such header, no status
/// because the service failed or the response was dropped before it came) is left out of that
/// request's records.
///
/// ```
/// use amberflo_tower::Dimension;
///
/// assert_eq!(Dimension::StatusClass.default_name(), "status_class");
/// assert_eq!(Dimension::header("X-Region").default_name(), "X-Region");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Dimension {
    /// `method`: `GET`, `POST`, ...
    Method,
    /// `route`: the route template (axum's `MatchedPath` with the `axum` feature, e.g.
    /// `/users/{id}`), else the request path (without the query); see
    /// [`MeteringLayerBuilder::unmatched_route`].
    Route,
    /// `host`: the `Host` header, else the request URI's authority.
    Host,
    /// `status_class`: `1xx` to `5xx` (`other` beyond).
    StatusClass,
    /// `status`: the status code, e.g. `404`.
    Status,
    /// `outcome`: [`Outcome::Completed`], [`Outcome::Aborted`] or [`Outcome::Error`].
    Outcome,
    /// A request header's value; the dimension is named after the header as given.
    Header(String),
}

impl Dimension {
    /// A request header as a dimension (the name is checked by `build`).
    pub fn header(name: impl Into<String>) -> Self {
        Dimension::Header(name.into())
    }

    /// The name the dimension gets unless one is given with
    /// [`MeteringLayerBuilder::dimension_as`].
    pub fn default_name(&self) -> &str {
        match self {
            Dimension::Method => "method",
            Dimension::Route => "route",
            Dimension::Host => "host",
            Dimension::StatusClass => "status_class",
            Dimension::Status => "status",
            Dimension::Outcome => "outcome",
            Dimension::Header(name) => name,
        }
    }
}

/// How a request ended, as the `outcome` dimension says.
///
/// ```
/// assert_eq!(amberflo_tower::Outcome::Aborted.as_str(), "aborted");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Outcome {
    /// The response body was sent to its end.
    Completed,
    /// The response (or its body) was dropped before the end, e.g. the client disconnected.
    Aborted,
    /// The service returned an error instead of a response, or the response body failed.
    Error,
}

impl Outcome {
    /// `completed`, `aborted` or `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::Aborted => "aborted",
            Outcome::Error => "error",
        }
    }
}

/// What to do with a request whose customer cannot be found.
///
/// ```
/// use amberflo_tower::MissingCustomer;
///
/// let anonymous = MissingCustomer::Use("anonymous".to_owned());
/// # let _ = anonymous;
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum MissingCustomer {
    /// Meter nothing for it (the default; counted in [`MeteringStats::skipped`]).
    #[default]
    Skip,
    /// Meter it for this customer id.
    Use(String),
}

/// What the layer does with a request whose customer id cannot be metered: not UTF-8, or
/// longer than the client's [`max_name_bytes`](amberflo::types::RecordLimits) (256 by
/// default). A blank or absent id is a missing customer instead ([`MissingCustomer`]).
///
/// ```
/// use amberflo_tower::InvalidCustomer;
///
/// assert_eq!(InvalidCustomer::default(), InvalidCustomer::Refuse);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidCustomer {
    /// Refuse it without calling the service, with an empty answer: `431 Request Header
    /// Fields Too Large` for a customer header over the limit, `400 Bad Request` otherwise
    /// (counted in [`MeteringStats::refused`]). The default: no request is served unmetered
    /// because of the id it sent.
    #[default]
    Refuse,
    /// Serve it unmetered, counted in [`MeteringStats::invalid`].
    Serve,
}

/// A finished request, as a [`MeterValue::custom`] closure sees it.
#[derive(Debug)]
pub struct RequestSummary<'a> {
    pub(crate) method: &'a Method,
    pub(crate) route: Option<&'a str>,
    pub(crate) customer_id: &'a str,
    pub(crate) status: Option<StatusCode>,
    pub(crate) outcome: Outcome,
    pub(crate) latency: Duration,
    pub(crate) request_bytes: u64,
    pub(crate) response_bytes: u64,
}

impl RequestSummary<'_> {
    /// The request method.
    pub fn method(&self) -> &Method {
        self.method
    }

    /// The route (as the `route` dimension has it), when known.
    pub fn route(&self) -> Option<&str> {
        self.route
    }

    /// The customer the request is metered for.
    pub fn customer_id(&self) -> &str {
        self.customer_id
    }

    /// The response status; `None` when the service failed or the request was dropped
    /// before a response came.
    pub fn status(&self) -> Option<StatusCode> {
        self.status
    }

    /// How the request ended.
    pub fn outcome(&self) -> Outcome {
        self.outcome
    }

    /// From the request's arrival to the end of the response body (or its drop).
    pub fn latency(&self) -> Duration {
        self.latency
    }

    /// Request body bytes the service read.
    pub fn request_bytes(&self) -> u64 {
        self.request_bytes
    }

    /// Response body bytes sent.
    pub fn response_bytes(&self) -> u64 {
        self.response_bytes
    }
}

/// Counters of the layer's unusual paths (the records it metered are in the client's
/// [`Stats`](amberflo::Stats)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MeteringStats {
    /// Requests not metered because no customer was found ([`MissingCustomer::Skip`]).
    pub skipped: u64,
    /// Records the client refused (queue full or client shut down); also in the client's
    /// `Stats::rejected`.
    pub rejected: u64,
    /// Records that broke an ingest rule (e.g. a custom value that is not finite) and were not
    /// metered, and requests served unmetered under [`InvalidCustomer::Serve`].
    pub invalid: u64,
    /// Requests refused without calling the service because their customer id could not be
    /// metered ([`InvalidCustomer::Refuse`]).
    pub refused: u64,
}

/// Why [`MeteringLayerBuilder::build`] refused the configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// No meter was added.
    #[error("a metering layer needs at least one meter")]
    NoMeter,
    /// A header name (customer or dimension) is not a valid HTTP header name.
    #[error("`{name}` is not a valid header name")]
    InvalidHeaderName {
        /// The name as given.
        name: String,
    },
    /// Two dimensions have the same name.
    #[error("the dimension `{name}` is configured twice")]
    DuplicateDimension {
        /// The repeated name.
        name: String,
    },
    /// Two meters have the same name.
    #[error("the meter `{name}` is configured twice")]
    DuplicateMeter {
        /// The repeated name.
        name: String,
    },
    /// A meter name, dimension name or the fallback customer id breaks an ingest rule (the
    /// error names the field).
    #[error(transparent)]
    Invalid(#[from] ValidationError),
}

pub(crate) type CustomerFn = Arc<dyn Fn(&Parts) -> Option<String> + Send + Sync>;

enum CustomerChoice {
    Header(String),
    Fn(CustomerFn),
}

/// Configures a [`MeteringLayer`]; start with [`MeteringLayer::builder`].
///
/// Defaults: the customer from the `x-customer-id` header, requests without one skipped;
/// dimensions `method`, `route`, `status_class` and `outcome`; no meter (add at least one).
///
/// ```
/// use amberflo_tower::{Dimension, MeterValue, MeteringLayer, MissingCustomer};
///
/// let client = amberflo::Client::builder().api_key("my-api-key").build()?;
/// let layer = MeteringLayer::builder(client)
///     .meter("api-calls", MeterValue::Count)
///     .meter("api-bytes-out", MeterValue::ResponseBytes)
///     .customer_header("x-api-key")
///     .missing_customer(MissingCustomer::Use("anonymous".to_owned()))
///     .dimension(Dimension::Host)
///     .header_dimension("x-region")
///     .build()?;
/// # let _ = layer;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "a builder does nothing until `build` is called"]
pub struct MeteringLayerBuilder {
    client: Client,
    meters: Vec<(String, MeterValue)>,
    customer: CustomerChoice,
    missing: MissingCustomer,
    invalid_customer: InvalidCustomer,
    dimensions: Vec<(String, Dimension)>,
    unmatched_route: Option<String>,
}

impl fmt::Debug for MeteringLayerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MeteringLayerBuilder")
            .field("meters", &self.meters)
            .field("dimensions", &self.dimensions)
            .field("missing", &self.missing)
            .field("invalid_customer", &self.invalid_customer)
            .finish_non_exhaustive()
    }
}

/// The first name in `named` that an earlier item already has.
fn first_repeated<T>(named: &[(String, T)]) -> Option<String> {
    named
        .iter()
        .enumerate()
        .find(|(index, (name, _))| named[..*index].iter().any(|(seen, _)| seen == name))
        .map(|(_, (name, _))| name.clone())
}

impl MeteringLayerBuilder {
    pub(crate) fn new(client: Client) -> Self {
        MeteringLayerBuilder {
            client,
            meters: Vec::new(),
            customer: CustomerChoice::Header(DEFAULT_CUSTOMER_HEADER.to_owned()),
            missing: MissingCustomer::Skip,
            invalid_customer: InvalidCustomer::Refuse,
            dimensions: Vec::new(),
            unmatched_route: None,
        }
        .dimensions([
            Dimension::Method,
            Dimension::Route,
            Dimension::StatusClass,
            Dimension::Outcome,
        ])
    }

    /// Sets what happens to a request whose customer id cannot be metered (default:
    /// [`InvalidCustomer::Refuse`]).
    pub fn invalid_customer(mut self, policy: InvalidCustomer) -> Self {
        self.invalid_customer = policy;
        self
    }

    /// Adds a meter: every request makes one record of `meter_api_name` per meter, all with
    /// the same customer and dimensions.
    pub fn meter(mut self, meter_api_name: impl Into<String>, value: MeterValue) -> Self {
        self.meters.push((meter_api_name.into(), value));
        self
    }

    /// Reads the customer id from this request header (default `x-customer-id`). A missing,
    /// blank or non-UTF-8 value counts as no customer.
    pub fn customer_header(mut self, name: impl Into<String>) -> Self {
        self.customer = CustomerChoice::Header(name.into());
        self
    }

    /// Finds the customer id with a closure over the request head, e.g. an authenticated
    /// user an earlier layer put in the extensions (that layer must run before this one, i.e.
    /// be added after it in axum's `.layer` chain). `None` or a blank id counts as no
    /// customer.
    ///
    /// ```
    /// # let client = amberflo::Client::builder().api_key("k").build()?;
    /// #[derive(Clone)]
    /// struct User { account: String }
    ///
    /// let layer = amberflo_tower::MeteringLayer::builder(client)
    ///     .meter("api-calls", amberflo_tower::MeterValue::Count)
    ///     .customer_fn(|request| request.extensions.get::<User>().map(|user| user.account.clone()))
    ///     .build()?;
    /// # let _ = layer;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn customer_fn<F>(mut self, customer: F) -> Self
    where
        F: Fn(&Parts) -> Option<String> + Send + Sync + 'static,
    {
        self.customer = CustomerChoice::Fn(Arc::new(customer));
        self
    }

    /// What to do when no customer is found (default [`MissingCustomer::Skip`]).
    pub fn missing_customer(mut self, policy: MissingCustomer) -> Self {
        self.missing = policy;
        self
    }

    /// Adds a dimension under its [default name](Dimension::default_name).
    pub fn dimension(self, dimension: Dimension) -> Self {
        let name = dimension.default_name().to_owned();
        self.dimension_as(name, dimension)
    }

    /// Adds a dimension under another name, e.g. `dimension_as("http_method",
    /// Dimension::Method)`.
    pub fn dimension_as(mut self, name: impl Into<String>, dimension: Dimension) -> Self {
        self.dimensions.push((name.into(), dimension));
        self
    }

    /// Adds a request header as a dimension named after it.
    pub fn header_dimension(self, header: impl Into<String>) -> Self {
        self.dimension(Dimension::Header(header.into()))
    }

    /// Replaces the dimensions (the defaults included) with these; an empty list meters
    /// records without dimensions.
    pub fn dimensions(mut self, dimensions: impl IntoIterator<Item = Dimension>) -> Self {
        self.dimensions = dimensions
            .into_iter()
            .map(|dimension| (dimension.default_name().to_owned(), dimension))
            .collect();
        self
    }

    /// The `route` value of requests without a route template (with the `axum` feature:
    /// requests no route matched, such as 404s), instead of their path, which keeps probes
    /// of random URLs from making one dimension value each. Without the `axum` feature
    /// every request gets it.
    pub fn unmatched_route(mut self, route: impl Into<String>) -> Self {
        self.unmatched_route = Some(route.into());
        self
    }

    /// Checks the configuration and builds the layer.
    ///
    /// # Errors
    /// [`ConfigError`] naming the problem: no meter, a bad header name, a name given twice,
    /// or a name (or fallback customer) that breaks an ingest rule.
    pub fn build(self) -> Result<MeteringLayer, ConfigError> {
        if self.meters.is_empty() {
            return Err(ConfigError::NoMeter);
        }
        if let Some(name) = first_repeated(&self.meters) {
            return Err(ConfigError::DuplicateMeter { name });
        }
        if let Some(name) = first_repeated(&self.dimensions) {
            return Err(ConfigError::DuplicateDimension { name });
        }
        // Every name (and the fallback customer) must make a valid record under the client's
        // limits: check them once here rather than on every request.
        let limits = *self.client.record_limits();
        // The fallback customer, and room for the longest customer id a request may bring.
        let longest_customer = "c".repeat(limits.max_name_bytes);
        let fallback = match &self.missing {
            MissingCustomer::Use(customer) => Some(customer.as_str()),
            MissingCustomer::Skip => None,
        };
        for customer in fallback.into_iter().chain([longest_customer.as_str()]) {
            for (meter, _) in &self.meters {
                MeterRecord::builder(meter, 1.0, customer)
                    .dimensions(self.dimensions.iter().map(|(name, _)| (name.as_str(), "v")))
                    .build_with(&limits)?;
            }
        }
        if let Some(route) = &self.unmatched_route {
            MeterRecord::builder("meter", 1.0, "customer")
                .dimension("route", route)
                .build_with(&limits)?;
        }

        let parse_header = |name: &str| {
            HeaderName::from_bytes(name.as_bytes()).map_err(|_| ConfigError::InvalidHeaderName {
                name: name.to_owned(),
            })
        };
        let customer = match self.customer {
            CustomerChoice::Header(name) => CustomerSource::Header(parse_header(&name)?),
            CustomerChoice::Fn(find) => CustomerSource::Fn(find),
        };
        let mut header_dims = Vec::new();
        let mut dims = Vec::with_capacity(self.dimensions.len());
        for (name, dimension) in self.dimensions {
            let kind = match dimension {
                Dimension::Method => DimKind::Method,
                Dimension::Route => DimKind::Route,
                Dimension::Host => DimKind::Host,
                Dimension::StatusClass => DimKind::StatusClass,
                Dimension::Status => DimKind::Status,
                Dimension::Outcome => DimKind::Outcome,
                Dimension::Header(header) => {
                    header_dims.push(parse_header(&header)?);
                    DimKind::Header(header_dims.len() - 1)
                }
            };
            dims.push(DimSpec {
                name: name.into_boxed_str(),
                kind,
            });
        }
        let has_custom = self
            .meters
            .iter()
            .any(|(_, value)| matches!(value, MeterValue::Custom(_)));
        let meters = self
            .meters
            .into_iter()
            .map(|(name, value)| MeterSpec {
                name: name.into_boxed_str(),
                value,
            })
            .collect::<Vec<_>>();
        let count_request_bytes = has_custom
            || meters
                .iter()
                .any(|meter| matches!(meter.value, MeterValue::RequestBytes));
        let capture_route = has_custom || dims.iter().any(|dim| dim.kind == DimKind::Route);
        let capture_host = dims.iter().any(|dim| dim.kind == DimKind::Host);
        let default_customer = match self.missing {
            MissingCustomer::Use(customer) => Some(customer.into_boxed_str()),
            MissingCustomer::Skip => None,
        };
        Ok(MeteringLayer::from_shared(Arc::new(Shared {
            client: self.client,
            meters: meters.into_boxed_slice(),
            customer,
            default_customer,
            dims: dims.into_boxed_slice(),
            header_dims: header_dims.into_boxed_slice(),
            unmatched_route: self.unmatched_route.map(String::into_boxed_str),
            invalid_customer: self.invalid_customer,
            limits,
            count_request_bytes,
            capture_route,
            capture_host,
            counters: Counters::default(),
        })))
    }
}
