//! The layer's shared state ([`Shared`]), what a request captures when it arrives
//! ([`Pending`]), and the metering itself: a [`Pending`] meters its records exactly once,
//! when it is dropped.
//!
//! Values taken from the request are made to fit the client's record limits rather than
//! dropping the request's records: a dimension value longer than `max_value_bytes` keeps its
//! first bytes, cut on a character boundary, and ends with `…`; when the dimensions together
//! would still overflow `max_record_bytes`, each is cut the same way to an equal share of the
//! room left (one left blank by a share too small is dropped). A customer id cannot be cut (it would bill someone else): an id that cannot be
//! metered is [`InvalidCustomer`]'s to handle.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Instant, SystemTime};

use amberflo::types::RecordLimits;
use amberflo::{Client, MeterError, MeterRecord};
use http::header::{self, HeaderName, HeaderValue};
use http::request::Parts;
use http::uri::{Authority, PathAndQuery};
use http::{Method, StatusCode};

use crate::config::{
    CustomerFn, InvalidCustomer, MeterValue, MeteringStats, Outcome, RequestSummary,
};

/// Where the customer id comes from.
pub(crate) enum CustomerSource {
    Header(HeaderName),
    Fn(CustomerFn),
}

/// One meter: a record of `name` per request.
pub(crate) struct MeterSpec {
    pub(crate) name: Box<str>,
    pub(crate) value: MeterValue,
}

/// One dimension, its name fixed at build time.
pub(crate) struct DimSpec {
    pub(crate) name: Box<str>,
    pub(crate) kind: DimKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DimKind {
    Method,
    Route,
    Host,
    StatusClass,
    Status,
    Outcome,
    /// An index into [`Shared::header_dims`] and [`Pending::headers`].
    Header(usize),
}

/// The layer's unusual-path counters and its overflow flag.
#[derive(Default)]
pub(crate) struct Counters {
    skipped: AtomicU64,
    rejected: AtomicU64,
    invalid: AtomicU64,
    refused: AtomicU64,
    overflow: OverflowLog,
}

/// Logs a refusal once per overflow episode: the first refusal sets the flag (and logs), the
/// next accepted record clears it.
#[derive(Default)]
pub(crate) struct OverflowLog {
    overflowing: AtomicBool,
}

impl OverflowLog {
    /// A record was refused: whether this starts an episode (and should be logged).
    pub(crate) fn refused(&self) -> bool {
        !self.overflowing.swap(true, Ordering::Relaxed)
    }

    /// A record was accepted: the episode, if any, is over. A plain load first, so the hot
    /// path does not write to the shared cache line.
    pub(crate) fn accepted(&self) {
        if self.overflowing.load(Ordering::Relaxed) {
            self.overflowing.store(false, Ordering::Relaxed);
        }
    }
}

/// Everything the layer's services share, behind one `Arc`.
pub(crate) struct Shared {
    pub(crate) client: Client,
    pub(crate) meters: Box<[MeterSpec]>,
    pub(crate) customer: CustomerSource,
    /// The customer of requests without one; `None` skips them.
    pub(crate) default_customer: Option<Box<str>>,
    pub(crate) dims: Box<[DimSpec]>,
    pub(crate) header_dims: Box<[HeaderName]>,
    pub(crate) unmatched_route: Option<Box<str>>,
    pub(crate) count_request_bytes: bool,
    pub(crate) capture_route: bool,
    pub(crate) capture_host: bool,
    pub(crate) invalid_customer: InvalidCustomer,
    /// The client's record limits, which captured values are made to fit.
    pub(crate) limits: RecordLimits,
    pub(crate) counters: Counters,
}

/// What the layer does with an arriving request.
// Returned once per request and matched at once: boxing `Pending` would allocate per request.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Start {
    /// Meter it.
    Metered(Pending),
    /// Serve it unmetered (no customer and nothing to use instead, or an invalid customer
    /// under [`InvalidCustomer::Serve`]); already counted.
    Unmetered,
    /// Answer it with this status without calling the service; already counted.
    Refused(StatusCode),
}

/// Why a customer id cannot be metered.
enum BadCustomer {
    /// Over `max_name_bytes`.
    TooLong,
    /// Not UTF-8.
    NotText,
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let meters: Vec<(&str, &MeterValue)> = self
            .meters
            .iter()
            .map(|meter| (&*meter.name, &meter.value))
            .collect();
        let dims: Vec<&str> = self.dims.iter().map(|dim| &*dim.name).collect();
        f.debug_struct("MeteringLayer")
            .field("meters", &meters)
            .field("dimensions", &dims)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

/// A captured string: a header value, a part of the URI, a route template or an owned id;
/// cloning the request's own values is a reference count, not a copy.
pub(crate) enum Text {
    Header(HeaderValue),
    Authority(Authority),
    Path(PathAndQuery),
    Owned(String),
    #[cfg(feature = "axum")]
    Matched(axum::extract::MatchedPath),
}

impl Text {
    /// The text, or `None` when it is not UTF-8 or is blank (dimension values and customer
    /// ids must not be blank).
    fn as_str(&self) -> Option<&str> {
        self.text().ok().flatten()
    }

    /// The text (`None` when blank), or an error when it is not UTF-8.
    fn text(&self) -> Result<Option<&str>, BadCustomer> {
        let text = match self {
            // UTF-8, not only the visible ASCII `HeaderValue::to_str` allows.
            Text::Header(value) => {
                std::str::from_utf8(value.as_bytes()).map_err(|_| BadCustomer::NotText)?
            }
            Text::Authority(authority) => authority.as_str(),
            Text::Path(path) => path.path(),
            Text::Owned(owned) => owned,
            #[cfg(feature = "axum")]
            Text::Matched(matched) => matched.as_str(),
        };
        Ok((!text.trim().is_empty()).then_some(text))
    }
}

/// The marker that ends a value cut to fit.
const CUT_MARKER: &str = "…";

/// `value` cut to at most `max` bytes on a character boundary, ending with [`CUT_MARKER`]
/// when cut (without it when `max` is too small to hold it).
fn fit(value: &str, max: usize) -> Cow<'_, str> {
    if value.len() <= max {
        return Cow::Borrowed(value);
    }
    let marker = if max >= CUT_MARKER.len() {
        CUT_MARKER
    } else {
        ""
    };
    let mut end = max - marker.len();
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!("{}{marker}", &value[..end]))
}

impl Shared {
    pub(crate) fn stats(&self) -> MeteringStats {
        let counters = &self.counters;
        MeteringStats {
            skipped: counters.skipped.load(Ordering::Relaxed),
            rejected: counters.rejected.load(Ordering::Relaxed),
            invalid: counters.invalid.load(Ordering::Relaxed),
            refused: counters.refused.load(Ordering::Relaxed),
        }
    }

    /// `customer` when it can be metered as it is, `None` when it is blank (a missing
    /// customer), or why it cannot be metered; its text is checked once here.
    fn checked_customer(&self, customer: Text) -> Result<Option<Text>, BadCustomer> {
        let present = match customer.text()? {
            None => false,
            Some(id) if id.len() > self.limits.max_name_bytes => {
                return Err(BadCustomer::TooLong);
            }
            Some(_) => true,
        };
        Ok(present.then_some(customer))
    }

    /// Applies [`InvalidCustomer`] to a request whose customer id cannot be metered.
    fn bad_customer(&self, bad: &BadCustomer, from_header: bool) -> Start {
        let why = match bad {
            BadCustomer::TooLong => "longer than max_name_bytes",
            BadCustomer::NotText => "not UTF-8",
        };
        tracing::debug!(target: "amberflo_tower", why, "amberflo-tower: a request's customer id cannot be metered");
        match self.invalid_customer {
            InvalidCustomer::Serve => {
                self.counters.invalid.fetch_add(1, Ordering::Relaxed);
                Start::Unmetered
            }
            InvalidCustomer::Refuse => {
                self.counters.refused.fetch_add(1, Ordering::Relaxed);
                Start::Refused(match (bad, from_header) {
                    (BadCustomer::TooLong, true) => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                    _ => StatusCode::BAD_REQUEST,
                })
            }
        }
    }

    /// Captures what the records will need from the request head, or says why the request
    /// is not metered: no customer and [`MissingCustomer::Skip`](crate::MissingCustomer), or a
    /// customer id that cannot be metered ([`InvalidCustomer`]).
    pub(crate) fn start(self: &Arc<Self>, parts: &Parts) -> Start {
        let (customer, from_header) = match &self.customer {
            CustomerSource::Header(name) => {
                (parts.headers.get(name).cloned().map(Text::Header), true)
            }
            CustomerSource::Fn(find) => (find(parts).map(Text::Owned), false),
        };
        let customer = match customer.map(|customer| self.checked_customer(customer)) {
            Some(Err(bad)) => return self.bad_customer(&bad, from_header),
            Some(Ok(customer)) => customer,
            None => None,
        };
        if customer.is_none() && self.default_customer.is_none() {
            self.counters.skipped.fetch_add(1, Ordering::Relaxed);
            return Start::Unmetered;
        }
        let route = if self.capture_route {
            self.route(parts)
        } else {
            None
        };
        let host = if self.capture_host {
            match parts.headers.get(header::HOST) {
                Some(host) => Some(Text::Header(host.clone())),
                None => parts.uri.authority().cloned().map(Text::Authority),
            }
        } else {
            None
        };
        let headers = self
            .header_dims
            .iter()
            .map(|name| parts.headers.get(name).cloned().map(Text::Header))
            .collect();
        let request_bytes = self
            .count_request_bytes
            .then(|| Arc::new(AtomicU64::new(0)));
        Start::Metered(Pending {
            shared: Arc::clone(self),
            customer,
            method: parts.method.clone(),
            route,
            host,
            headers,
            started: Instant::now(),
            started_at: SystemTime::now(),
            status: None,
            request_bytes,
            response_bytes: 0,
            outcome: Outcome::Aborted,
        })
    }

    /// The request's dimensions, each made to fit the record limits (see the module docs)
    /// for records of `customer` and any of the layer's meters (the longest name counts):
    /// made once per request, shared by its records.
    fn fitted_dimensions<'a>(
        &'a self,
        pending: &'a Pending,
        summary: &RequestSummary<'a>,
        customer: &str,
    ) -> Vec<(&'a str, Cow<'a, str>)> {
        let max_value = self.limits.max_value_bytes;
        let mut dims: Vec<(&str, Cow<'_, str>)> = self
            .dims
            .iter()
            .filter_map(|dim| {
                let value = self.dimension_value(dim.kind, pending, summary)?;
                Some((&*dim.name, fit(value, max_value)))
            })
            .collect();
        let longest_meter = self.meters.iter().map(|meter| meter.name.len()).max();
        let fixed = longest_meter.unwrap_or(0)
            + customer.len()
            + dims.iter().map(|(name, _)| name.len()).sum::<usize>();
        let values: usize = dims.iter().map(|(_, value)| value.len()).sum();
        if fixed + values > self.limits.max_record_bytes && !dims.is_empty() {
            let share = self.limits.max_record_bytes.saturating_sub(fixed) / dims.len();
            for (_, value) in &mut dims {
                if value.len() > share {
                    *value = Cow::Owned(fit(value, share).into_owned());
                }
            }
            // A share too small for any text: the dimension goes, the record stays.
            dims.retain(|(_, value)| !value.trim().is_empty());
        }
        dims
    }

    /// The route template when the router left one, else the fallback or the path.
    fn route(&self, parts: &Parts) -> Option<Text> {
        #[cfg(feature = "axum")]
        if let Some(matched) = parts.extensions.get::<axum::extract::MatchedPath>() {
            return Some(Text::Matched(matched.clone()));
        }
        if self.unmatched_route.is_some() {
            return None; // `unmatched_route` fills it in
        }
        parts.uri.path_and_query().cloned().map(Text::Path)
    }

    /// Meters the records of a finished (or abandoned) request.
    fn emit(&self, pending: &Pending) {
        let customer = match &pending.customer {
            Some(customer) => customer.as_str(),
            None => self.default_customer.as_deref(),
        };
        let Some(customer) = customer else {
            return; // `start` made sure there is one
        };
        let route = pending
            .route
            .as_ref()
            .and_then(Text::as_str)
            .or(self.unmatched_route.as_deref());
        let summary = RequestSummary {
            method: &pending.method,
            route,
            customer_id: customer,
            status: pending.status,
            outcome: pending.outcome,
            latency: pending.started.elapsed(),
            request_bytes: pending
                .request_bytes
                .as_ref()
                .map_or(0, |bytes| bytes.load(Ordering::Relaxed)),
            response_bytes: pending.response_bytes,
        };
        let dimensions = self.fitted_dimensions(pending, &summary, customer);
        for meter in &self.meters {
            let value = match &meter.value {
                MeterValue::Count => 1.0,
                MeterValue::ResponseBytes => summary.response_bytes as f64,
                MeterValue::RequestBytes => summary.request_bytes as f64,
                MeterValue::LatencyMillis => summary.latency.as_secs_f64() * 1000.0,
                MeterValue::Custom(value) => match (value.0)(&summary) {
                    Some(value) => value,
                    None => continue,
                },
            };
            let mut record =
                MeterRecord::builder(&meter.name, value, customer).meter_time(pending.started_at);
            if !dimensions.is_empty() {
                record =
                    record.dimensions(dimensions.iter().map(|(name, value)| (*name, &**value)));
            }
            match record.build_with(&self.limits) {
                Ok(record) => self.send(record),
                Err(invalid) => self.invalid(&invalid),
            }
        }
    }

    fn dimension_value<'a>(
        &'a self,
        kind: DimKind,
        pending: &'a Pending,
        summary: &RequestSummary<'a>,
    ) -> Option<&'a str> {
        match kind {
            DimKind::Method => Some(pending.method.as_str()),
            DimKind::Route => summary.route,
            DimKind::Host => pending.host.as_ref().and_then(Text::as_str),
            DimKind::StatusClass => pending.status.map(status_class),
            DimKind::Status => pending.status.as_ref().map(StatusCode::as_str),
            DimKind::Outcome => Some(pending.outcome.as_str()),
            DimKind::Header(index) => pending.headers.get(index)?.as_ref().and_then(Text::as_str),
        }
    }

    fn send(&self, record: MeterRecord) {
        // Never waits for a disk (a spool under `FsyncPolicy::Always` syncs on its own thread):
        // this runs on the thread serving the request.
        match self.client.meter_record_async(record) {
            Ok(_durability) => self.counters.overflow.accepted(),
            Err(MeterError::Invalid(invalid)) => self.invalid(&invalid),
            Err(refused) => {
                self.counters.rejected.fetch_add(1, Ordering::Relaxed);
                if self.counters.overflow.refused() {
                    tracing::warn!(
                        target: "amberflo_tower",
                        error = %refused,
                        "amberflo-tower: the client refused a request's record (queue full or \
                         client shut down); further refusals are counted in \
                         MeteringLayer::stats until one is accepted again"
                    );
                }
            }
        }
    }

    fn invalid(&self, invalid: &amberflo::ValidationError) {
        self.counters.invalid.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(target: "amberflo_tower", %invalid, "amberflo-tower: a request's record is invalid");
    }
}

fn status_class(status: StatusCode) -> &'static str {
    match status.as_u16() / 100 {
        1 => "1xx",
        2 => "2xx",
        3 => "3xx",
        4 => "4xx",
        5 => "5xx",
        _ => "other",
    }
}

/// A metered request in progress. It travels from the service call to the response future,
/// then into the response body; whoever holds it last drops it, and the drop meters the
/// records, exactly once, with the outcome set so far ([`Outcome::Aborted`] unless the body
/// ended or the service failed).
pub(crate) struct Pending {
    shared: Arc<Shared>,
    customer: Option<Text>,
    method: Method,
    route: Option<Text>,
    host: Option<Text>,
    headers: Box<[Option<Text>]>,
    started: Instant,
    started_at: SystemTime,
    status: Option<StatusCode>,
    request_bytes: Option<Arc<AtomicU64>>,
    response_bytes: u64,
    outcome: Outcome,
}

impl Pending {
    /// The request body's byte counter, when the layer counts request bytes.
    pub(crate) fn request_counter(&self) -> Option<Arc<AtomicU64>> {
        self.request_bytes.clone()
    }

    pub(crate) fn set_status(&mut self, status: StatusCode) {
        self.status = Some(status);
    }

    pub(crate) fn add_response_bytes(&mut self, bytes: usize) {
        self.response_bytes = self.response_bytes.saturating_add(bytes as u64);
    }

    /// Ends the request with `outcome`, metering its records now.
    pub(crate) fn finish(mut self, outcome: Outcome) {
        self.outcome = outcome;
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        self.shared.emit(self);
    }
}

impl fmt::Debug for Pending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pending")
            .field("method", &self.method)
            .field("status", &self.status)
            .field("response_bytes", &self.response_bytes)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overflow_is_logged_once_per_episode() {
        let log = OverflowLog::default();
        assert!(log.refused(), "the first refusal starts an episode");
        assert!(!log.refused());
        assert!(!log.refused());
        log.accepted();
        log.accepted();
        assert!(
            log.refused(),
            "a refusal after an accepted record starts a new one"
        );
        assert!(!log.refused());
    }

    #[test]
    fn status_classes() {
        assert_eq!(status_class(StatusCode::CONTINUE), "1xx");
        assert_eq!(status_class(StatusCode::OK), "2xx");
        assert_eq!(status_class(StatusCode::FOUND), "3xx");
        assert_eq!(status_class(StatusCode::NOT_FOUND), "4xx");
        assert_eq!(status_class(StatusCode::BAD_GATEWAY), "5xx");
        let odd = StatusCode::from_u16(799).expect("a valid status code");
        assert_eq!(status_class(odd), "other");
    }

    #[test]
    fn blank_and_non_utf8_text_is_missing() {
        assert_eq!(Text::Owned("  ".to_owned()).as_str(), None);
        let binary = HeaderValue::from_bytes(b"\xff\xfe").expect("a valid header value");
        assert_eq!(Text::Header(binary).as_str(), None);
        assert_eq!(
            Text::Header(HeaderValue::from_static("acme")).as_str(),
            Some("acme")
        );
        let accented = HeaderValue::from_bytes("café".as_bytes()).expect("UTF-8 bytes");
        assert_eq!(Text::Header(accented).as_str(), Some("café"));
    }

    #[test]
    fn fit_cuts_on_a_character_boundary_with_the_marker() {
        assert_eq!(fit("short", 10), "short");
        assert_eq!(fit("abcdefghij", 10), "abcdefghij");
        assert_eq!(fit("abcdefghijk", 10), "abcdefg…");
        // `é` is two bytes: a cut at 8 - 3 = 5 would split the third one.
        assert_eq!(fit("éééééé", 8), "éé…");
        assert_eq!(fit("abcdef", 2), "ab");
        assert_eq!(fit("abcdef", 0), "");
    }
}
