//! The layer's shared state ([`Shared`]), what a request captures when it arrives
//! ([`Pending`]), and the metering itself: a [`Pending`] meters its records exactly once,
//! when it is dropped.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Instant, SystemTime};

use amberflo::{Client, MeterError, MeterRecord};
use http::header::{self, HeaderName, HeaderValue};
use http::request::Parts;
use http::uri::{Authority, PathAndQuery};
use http::{Method, StatusCode};

use crate::config::{CustomerFn, MeterValue, MeteringStats, Outcome, RequestSummary};

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
    pub(crate) counters: Counters,
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
        let text = match self {
            Text::Header(value) => value.to_str().ok()?,
            Text::Authority(authority) => authority.as_str(),
            Text::Path(path) => path.path(),
            Text::Owned(owned) => owned,
            #[cfg(feature = "axum")]
            Text::Matched(matched) => matched.as_str(),
        };
        (!text.trim().is_empty()).then_some(text)
    }
}

impl Shared {
    pub(crate) fn stats(&self) -> MeteringStats {
        let counters = &self.counters;
        MeteringStats {
            skipped: counters.skipped.load(Ordering::Relaxed),
            rejected: counters.rejected.load(Ordering::Relaxed),
            invalid: counters.invalid.load(Ordering::Relaxed),
        }
    }

    /// Captures what the records will need from the request head, or `None` when the request
    /// is not metered (no customer and [`MissingCustomer::Skip`](crate::MissingCustomer)).
    pub(crate) fn start(self: &Arc<Self>, parts: &Parts) -> Option<Pending> {
        let customer = match &self.customer {
            CustomerSource::Header(name) => parts.headers.get(name).cloned().map(Text::Header),
            CustomerSource::Fn(find) => find(parts).map(Text::Owned),
        }
        .filter(|customer| customer.as_str().is_some());
        if customer.is_none() && self.default_customer.is_none() {
            self.counters.skipped.fetch_add(1, Ordering::Relaxed);
            return None;
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
        Some(Pending {
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
        let dimensions = self
            .dims
            .iter()
            .filter(|dim| self.dimension_value(dim.kind, pending, &summary).is_some())
            .count();
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
            if dimensions > 0 {
                record = record.dimensions(Pairs {
                    shared: self,
                    pending,
                    summary: &summary,
                    next: 0,
                    remaining: dimensions,
                });
            }
            match record.build() {
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
        match self.client.meter_record(record) {
            Ok(()) => self.counters.overflow.accepted(),
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

/// The dimensions of a record with their exact count, so the record's dimension list is
/// allocated once at its final size.
struct Pairs<'a> {
    shared: &'a Shared,
    pending: &'a Pending,
    summary: &'a RequestSummary<'a>,
    next: usize,
    remaining: usize,
}

impl<'a> Iterator for Pairs<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        while let Some(dim) = self.shared.dims.get(self.next) {
            self.next += 1;
            if let Some(value) = self
                .shared
                .dimension_value(dim.kind, self.pending, self.summary)
            {
                self.remaining = self.remaining.saturating_sub(1);
                return Some((&*dim.name, value));
            }
        }
        None
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
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
    }
}
