//! The facade's errors: [`Error`], which every call converts into, and the small errors of
//! the enqueueing hot path ([`MeterError`], [`CustomPayloadError`]), which hand a refused
//! record or payload back to the caller.

use std::time::Duration;

use amberflo_batcher::{BuildError, FlushError, SendError, ShutdownError};
use amberflo_transport::{ApiError, SharedError, TransportError};
use amberflo_types::{CompactError, MeterRecord, ValidationError};
use http::StatusCode;

/// Everything a facade call can fail with: every fallible call of this crate returns it or
/// converts into it with `?` ([`MeterError`] and [`CustomPayloadError`] included, still
/// holding the refused record or payload), so one function can meter and call the API:
///
/// ```no_run
/// use amberflo::types::{AggregationType, TimeGroupingInterval, TimeRange, UsageQuery};
///
/// async fn bill(client: &amberflo::Client) -> Result<f64, amberflo::Error> {
///     client.meter("ApiCalls", 1.0, "customer-1")?; // MeterError -> Error
///     let query = UsageQuery::builder(
///         "ApiCalls",
///         AggregationType::Sum,
///         TimeGroupingInterval::Day,
///         TimeRange::last(std::time::Duration::from_secs(86_400))?, // ValidationError -> Error
///     )
///     .build()?;
///     let report = client.usage().get(&query).await?;
///     Ok(report.client_meters.iter().map(|meter| meter.group_value).sum())
/// }
/// # let _ = bill;
/// ```
///
/// API errors keep the HTTP status and body:
///
/// ```
/// use amberflo::{Error, StatusCode};
///
/// fn describe(error: &Error) -> String {
///     match error {
///         Error::Api(api) if api.status == StatusCode::NOT_FOUND => "not found".to_owned(),
///         Error::Api(api) => format!("Amberflo said {}: {}", api.status, api.body),
///         Error::Validation(invalid) => format!("bad field {}", invalid.field()),
///         other => other.to_string(),
///     }
/// }
/// # let _ = describe;
/// ```
///
/// Every type it carries is exported by this crate, so any case matches with `amberflo::`
/// names alone:
///
/// ```
/// use amberflo::{BuildError, Error};
///
/// fn advice(error: &Error) -> &'static str {
///     match error {
///         Error::Batching(BuildError::SpoolLocked { .. }) => "another client uses that spool",
///         Error::Decode { .. } => "Amberflo answered in a shape this SDK does not know",
///         Error::Config { field: "api_key", .. } => "set AMBERFLO_API_KEY",
///         _ => "see the message",
///     }
/// }
/// # let _ = advice;
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A payload broke a rule of the API; nothing was sent.
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// Amberflo answered with a non-2xx status.
    #[error(transparent)]
    Api(ApiError),
    /// No complete response came back (connect failure, timeout, broken body, ...).
    #[error(transparent)]
    Transport(TransportError),
    /// The request could not be encoded (JSON body, query string, gzip, URL); nothing was
    /// sent.
    #[error("could not encode the request: {message}")]
    Encode {
        /// What could not be encoded.
        message: String,
        /// The underlying error, if any.
        #[source]
        source: Option<SharedError>,
    },
    /// A 2xx answer's body was not the JSON expected (the call may have taken effect).
    #[error("could not decode the response: {message}; body starts with {snippet:?}")]
    Decode {
        /// What the decoder said.
        message: String,
        /// The start of the body (at most 256 characters).
        snippet: String,
        /// The underlying error, if any.
        #[source]
        source: Option<SharedError>,
    },
    /// S3 answered with a non-2xx status (feature `s3`).
    #[cfg(feature = "s3")]
    #[error(transparent)]
    S3(#[from] amberflo_transport::S3Error),
    /// A meter record was not enqueued (invalid, queue full, or client shut down); a refused
    /// record is inside.
    #[error(transparent)]
    Meter(#[from] MeterError),
    /// A custom-schema payload was not enqueued; the payload is inside.
    #[error(transparent)]
    CustomPayload(#[from] CustomPayloadError),
    /// [`amberflo::meter`](crate::meter) was called before [`amberflo::init`](crate::init)
    /// (or after its guard dropped); the record is inside.
    #[error("amberflo::init has not been called (or its guard was dropped)")]
    NotInitialized(Box<MeterRecord>),
    /// A setting is missing or invalid; `field` names it.
    #[error("invalid configuration for `{field}`: {reason}")]
    Config {
        /// The setting at fault (`api_key`, `AMBERFLO_API_KEY`, `transport`, ...).
        field: &'static str,
        /// Why it is invalid.
        reason: String,
    },
    /// No transport is compiled in and none was given to the builder.
    #[error(
        "no transport: enable the `reqwest` or `hyper` feature, or pass one with \
         `ClientBuilder::transport`"
    )]
    NoTransport,
    /// The batching configuration is invalid (the error names the setting), the spool is
    /// locked by another client, or the worker threads could not start.
    #[error(transparent)]
    Batching(#[from] BuildError),
    /// `flush` did not finish in time (or the client was shut down).
    #[error(transparent)]
    Flush(#[from] FlushError),
    /// `shutdown` did not finish in time.
    #[error(transparent)]
    Shutdown(#[from] ShutdownError),
    /// The SDK's I/O runtime could not run the call.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    /// Bytes given to [`MeterRecord::read_compact`] were not a record's compact form.
    #[error(transparent)]
    Compact(#[from] CompactError),
}

impl Error {
    /// The HTTP status, when Amberflo answered with a non-2xx one.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Api(api) => Some(api.status),
            #[cfg(feature = "s3")]
            Error::S3(s3) => Some(s3.status),
            _ => None,
        }
    }

    /// Whether trying again may succeed (408, 429, 5xx, connect failures, timeouts).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Api(api) => api.is_retryable(),
            Error::Transport(transport) => transport.is_retryable(),
            #[cfg(feature = "s3")]
            Error::S3(s3) => s3.is_retryable(),
            _ => false,
        }
    }

    /// The server's `Retry-After`, if it sent one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Api(api) => api.retry_after,
            #[cfg(feature = "s3")]
            Error::S3(s3) => s3.retry_after,
            _ => None,
        }
    }

    /// The refused meter record, when there is one ([`Error::NotInitialized`], or
    /// [`Error::Meter`] with [`MeterError::Rejected`]).
    pub fn into_record(self) -> Option<MeterRecord> {
        match self {
            Error::NotInitialized(record) => Some(*record),
            Error::Meter(refused) => refused.into_record(),
            _ => None,
        }
    }

    /// The rule a payload or record broke, wherever it was checked.
    pub fn validation(&self) -> Option<&ValidationError> {
        match self {
            Error::Validation(invalid) | Error::Meter(MeterError::Invalid(invalid)) => {
                Some(invalid)
            }
            _ => None,
        }
    }
}

/// The SDK's I/O runtime could not run a call: it failed to start, or it stopped (or the call
/// panicked) before the call finished.
#[derive(Debug, thiserror::Error)]
#[error("the SDK's I/O runtime {what}")]
pub struct RuntimeError {
    what: &'static str,
    #[source]
    source: Box<dyn std::error::Error + Send + Sync>,
}

impl RuntimeError {
    pub(crate) fn new(
        what: &'static str,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        RuntimeError {
            what,
            source: Box::new(source),
        }
    }
}

impl From<amberflo_transport::Error> for Error {
    fn from(error: amberflo_transport::Error) -> Self {
        match error {
            amberflo_transport::Error::Api(api) => Error::Api(api),
            amberflo_transport::Error::Transport(transport) => Error::Transport(transport),
            amberflo_transport::Error::InvalidConfig { field, reason } => {
                Error::Config { field, reason }
            }
            amberflo_transport::Error::Encode { message, source } => {
                Error::Encode { message, source }
            }
            amberflo_transport::Error::Decode {
                message,
                snippet,
                source,
            } => Error::Decode {
                message,
                snippet,
                source,
            },
            #[cfg(feature = "s3")]
            amberflo_transport::Error::S3(s3) => Error::S3(s3),
            // A case the transport crate adds later, until this match learns it.
            other => Error::Encode {
                message: other.to_string(),
                source: None,
            },
        }
    }
}

/// Why `meter` did not enqueue a record. A refused record is handed back, never dropped.
///
/// ```
/// use amberflo::MeterError;
///
/// fn keep(error: MeterError) {
///     match error {
///         MeterError::Invalid(invalid) => eprintln!("not metered: {invalid}"),
///         MeterError::Rejected(refused) => {
///             let record = refused.into_inner(); // queue full or client shut down
///             eprintln!("saving {} for later", record.unique_id());
///         }
///         _ => {}
///     }
/// }
/// # let _ = keep;
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MeterError {
    /// The record broke an ingest rule; nothing was enqueued.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The queue was full or the client shut down; the record is inside (boxed, to keep
    /// `meter`'s result small).
    #[error("record not enqueued: {0}")]
    Rejected(Box<SendError<MeterRecord>>),
}

/// Why `send_custom` did not enqueue a payload; the payload is handed back.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CustomPayloadError {
    /// Custom-schema payloads must be JSON objects.
    #[error("a custom-schema payload must be a JSON object")]
    NotAnObject(serde_json::Value),
    /// The queue was full or the client shut down.
    #[error("payload not enqueued: {0}")]
    Rejected(#[from] SendError<serde_json::Value>),
}

impl CustomPayloadError {
    /// The refused payload.
    pub fn into_payload(self) -> serde_json::Value {
        match self {
            CustomPayloadError::NotAnObject(payload) => payload,
            CustomPayloadError::Rejected(refused) => refused.into_inner(),
        }
    }
}

impl From<SendError<MeterRecord>> for MeterError {
    fn from(refused: SendError<MeterRecord>) -> Self {
        MeterError::Rejected(Box::new(refused))
    }
}

impl MeterError {
    /// The refused record, when there is one (`Rejected`).
    pub fn into_record(self) -> Option<MeterRecord> {
        match self {
            MeterError::Rejected(refused) => Some(refused.into_inner()),
            MeterError::Invalid(_) => None,
        }
    }
}
