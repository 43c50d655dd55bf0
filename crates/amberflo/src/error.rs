//! The facade's errors: [`Error`] for API calls and client life-cycle, [`MeterError`] for
//! the `meter` hot path (which hands a refused record back to the caller).

use std::time::Duration;

use amberflo_batcher::{FlushError, SendError, ShutdownError};
use amberflo_transport::{ApiError, TransportError};
use amberflo_types::{MeterRecord, ValidationError};

/// Everything a [`Client`](crate::Client) call can fail with.
///
/// API errors keep the HTTP status and body:
///
/// ```
/// use amberflo::Error;
///
/// fn describe(error: &Error) -> String {
///     match error {
///         Error::Api(api) => format!("Amberflo said {}: {}", api.status, api.body),
///         Error::Validation(invalid) => format!("bad field {}", invalid.field()),
///         other => other.to_string(),
///     }
/// }
/// # let _ = describe;
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
    /// The request could not be encoded or the response decoded.
    #[error(transparent)]
    Protocol(amberflo_transport::Error),
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
    /// The batching configuration is invalid (the error names the setting), or its worker
    /// threads could not start.
    #[error(transparent)]
    Batching(#[from] amberflo_batcher::BuildError),
    /// `flush` did not finish in time (or the client was shut down).
    #[error(transparent)]
    Flush(#[from] FlushError),
    /// `shutdown` did not finish in time.
    #[error(transparent)]
    Shutdown(#[from] ShutdownError),
    /// The SDK's I/O runtime could not run the call (it failed to start, or was shut down).
    #[error("the SDK's I/O runtime could not run the call: {0}")]
    Runtime(String),
}

impl Error {
    /// The HTTP status, when Amberflo answered with a non-2xx one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api(api) => Some(api.status.as_u16()),
            _ => None,
        }
    }

    /// Whether trying again may succeed (408, 429, 5xx, connect failures, timeouts).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Api(api) => api.is_retryable(),
            Error::Transport(transport) => transport.is_retryable(),
            _ => false,
        }
    }

    /// The server's `Retry-After`, if it sent one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Api(api) => api.retry_after,
            _ => None,
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
            other => Error::Protocol(other),
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
    /// `amberflo::meter` was called before `amberflo::init` (or after its guard dropped).
    #[error("amberflo::init has not been called (or its guard was dropped)")]
    NotInitialized(Box<MeterRecord>),
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
    /// The refused record, when there is one (`Rejected` and `NotInitialized`).
    pub fn into_record(self) -> Option<MeterRecord> {
        match self {
            MeterError::Rejected(refused) => Some(refused.into_inner()),
            MeterError::NotInitialized(record) => Some(*record),
            MeterError::Invalid(_) => None,
        }
    }
}
